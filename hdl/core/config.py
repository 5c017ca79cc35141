"""The configuration port of a core: run-time parameter registers, command decode, readback."""

from amaranth.hdl import Cat, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from spikefab.golden.fixed import DECAY_ONE
from spikefab.shape.cfg import (LEARN_STRIDE, Learn, Param, Space, cfg_data_bits, learn_base,
                                learn_fields, param_addr, row_bits)
from spikefab.shape.image import learn_values
from spikefab.shape.latency import read_latency

from .stdp import learn_layout
from .synapse import WeightPortSignature, acc_layout
from .layouts import addr_bits, cfg_layout, check_params, state_layout

__all__ = ["ConfigPort"]


class ConfigPort(wiring.Component):
    """Takes the commands of ``i_cfg`` between steps and answers reads on ``o_rdata``.

    It holds the run-time registers (each neuron parameter set's ``Param``, each plastic
    group's ``Learn`` registers, reset to the values of ``params``) and drives them to the LIF
    pipeline and the learning unit. A command is taken while ``idle`` and no read is being
    answered (``go`` marks its transfer clock); it reaches the memories through their owners'
    ports: a write takes effect in its transfer clock; a read's data goes into capture
    registers in the next clock (block RAM clock-to-out leaves no room for the space
    multiplexer in the same clock), and the weight word :func:`read_latency` ``- 1`` clocks
    later still; the space multiplexer then loads ``o_rdata``, three clocks after the transfer
    (three more on ``"banked"`` weights), held until taken.

    Infers no memory; latency as above, one command at a time.

    Parameters
    ----------
    params : CoreParams
    weight_ram : str
        Kind of weight memory (its read latency).
    mux_first : bool
        Load ``o_rdata`` through the space multiplexer straight from the read data, without
        capture registers (the same latency; the iCE40 builds, whose ``delay_ram`` says a
        flip-flop costs a logic cell there).

    Members
    -------
    i_cfg : In(stream.Signature(cfg_layout(params)))
    o_rdata : Out(stream.Signature(unsigned(cfg_data_bits(params))))
    idle : In(1)
        The core is between steps with nothing in flight.
    go : Out(1)
        A command transfers this clock.
    k_u, k_v, bias, threshold, refractory, reset_subtract : Out(ArrayLayout(..., S))
        The neuron parameter registers, as :class:`~spikefab.hdl.core.lif.LifPipeline` takes them.
    learn : Out(ArrayLayout(learn_layout(W_BITS, T_BITS), plastic groups))
        The learning registers (plastic cores).
    weight : In(WeightPortSignature(...))
        The weights (:class:`~spikefab.hdl.core.synapse.SynapseArray`).
    state_rd, state_wr : In(ReadPort.Signature(...)), In(WritePort.Signature(...))
        The neuron state (:class:`~.sweep.UpdateSweep`).
    acc_rd, acc_wr : In(ReadPort.Signature(...)), In(WritePort.Signature(...))
        The accumulators (through :class:`~.sweep.UpdateSweep`).
    pre_rd, pre_wr : In(ReadPort.Signature(...)), In(WritePort.Signature(...))
        Plastic cores: the pre traces (:class:`~.traces.PreTraces`).
    post_rd, post_wr : In(ReadPort.Signature(...)).array(plastic groups), likewise
        Plastic cores: the post traces of each plastic group (:class:`~.traces.PostTraces`).

    The memory ports are the users' side (``addr`` out, ``data`` in); a read port's ``en`` is
    high in a command's transfer clock, a write port's in the transfer clock of a write to its
    space.
    """

    def __init__(self, params, weight_ram="dual", mux_first=False):
        p = self._p = check_params(params)
        self._ram = weight_ram
        self._mux_first = bool(mux_first)
        n = len(p.neuron_sets)
        rbits, lanes = addr_bits(p.row_slots), p.lanes
        members = {
            "i_cfg": In(stream.Signature(cfg_layout(p))),
            "o_rdata": Out(stream.Signature(unsigned(cfg_data_bits(p)))),
            "idle": In(1), "go": Out(1),
            "k_u": Out(data.ArrayLayout(unsigned(13), n)),
            "k_v": Out(data.ArrayLayout(unsigned(13), n)),
            "bias": Out(data.ArrayLayout(signed(p.voltage_bits), n)),
            "threshold": Out(data.ArrayLayout(unsigned(max(1, p.voltage_bits - 1)), n)),
            "refractory": Out(data.ArrayLayout(unsigned(p.refractory_bits), n)),
            "reset_subtract": Out(data.ArrayLayout(unsigned(1), n)),
            **({"k_theta": Out(data.ArrayLayout(unsigned(13), n)),
                "theta_inc": Out(data.ArrayLayout(unsigned(p.theta_bits), n))}
               if p.theta_bits else {}),
            "weight": In(WeightPortSignature(addr_width=addr_bits(p.weight_slots),
                                             width=lanes * p.weight_bits)),
            "state_rd": In(ReadPort.Signature(addr_width=rbits, shape=state_layout(p))),
            "state_wr": In(WritePort.Signature(addr_width=rbits, shape=state_layout(p))),
            "acc_rd": In(ReadPort.Signature(addr_width=rbits, shape=acc_layout(p))),
            "acc_wr": In(WritePort.Signature(addr_width=rbits, shape=acc_layout(p))),
        }
        if p.plastic:
            npl, tb = len(p.plastic_groups), p.trace_bits
            pbits = addr_bits(p.pre_slots)
            members.update({
                "learn": Out(data.ArrayLayout(learn_layout(p.weight_bits, tb, p.modulated),
                                              npl)),
                "pre_rd": In(ReadPort.Signature(addr_width=pbits, shape=tb)),
                "pre_wr": In(WritePort.Signature(addr_width=pbits, shape=tb)),
                "post_rd": In(ReadPort.Signature(addr_width=rbits,
                                                 shape=lanes * tb)).array(npl),
                "post_wr": In(WritePort.Signature(addr_width=rbits,
                                                  shape=lanes * tb)).array(npl),
            })
        super().__init__(members)

    def elaborate(self, platform):
        p = self._p
        m = Module()
        cfg, rdata = self.i_cfg, self.o_rdata
        cmd = cfg.payload
        go = self.go
        # the state of a read being answered
        rd_pending = Signal()
        rd_wait = Signal(read_latency(self._ram) - 1)
        rd_select = Signal()
        rd_space = Signal(len(cmd.space))
        rd_param = Signal(cfg_data_bits(p))
        m.d.comb += [
            cfg.ready.eq(self.idle & ~rd_pending & ~rd_wait.any() & ~rd_select & ~rdata.valid),
            go.eq(cfg.valid & cfg.ready),
        ]
        sets = self._neuron_params(m)
        rd_k = self._accesses(m, sets)
        with m.If(go & ~cmd.write):
            m.d.sync += [rd_pending.eq(1), rd_space.eq(cmd.space)]
            self._read_params(m, sets, rd_param)
        if p.plastic:
            self._learn_params(m, rd_param)

        if self._mux_first:
            self._answer_mux_first(m, rd_pending, rd_wait, rd_select, rd_space, rd_param, rd_k)
            return m
        # The memories' read data go straight into capture registers (block RAM clock-to-out
        # leaves no room for the space multiplexer in the same clock); the multiplexer works
        # one clock later. A weight memory with a longer read latency (``"banked"``) delivers
        # its word ``rd_wait`` clocks after the others.
        cap_w = Signal.like(self.weight.data)
        caps = {"weight": cap_w, "param": rd_param}
        with m.If(rd_pending):
            m.d.sync += rd_pending.eq(0)
            for name, port in self._read_ports():
                caps[name] = Signal(len(Value.cast(port.data)), name=f"cap_{name}")
                m.d.sync += caps[name].eq(port.data)
        if len(rd_wait):
            m.d.sync += rd_wait.eq(Cat(rd_pending, rd_wait[:-1]))
        with m.If(rd_wait[-1] if len(rd_wait) else rd_pending):
            m.d.sync += [rd_select.eq(1), cap_w.eq(self.weight.data)]
        with m.If(rd_select):
            m.d.sync += [rd_select.eq(0), rdata.valid.eq(1)]
            with m.Switch(rd_space):
                for space, name in ((Space.WEIGHT, "weight"), (Space.STATE, "state"),
                                    (Space.ACC, "acc"), (Space.PARAM, "param")):
                    with m.Case(space):
                        m.d.sync += rdata.payload.eq(caps[name])
        with m.Elif(rdata.valid & rdata.ready):
            m.d.sync += rdata.valid.eq(0)
        if p.plastic:
            # the trace spaces in a block of their own, as before the split into components:
            # yosys then builds the same netlist (one select chain per block)
            with m.If(rd_select):
                with m.Switch(rd_space):
                    with m.Case(Space.PRE):
                        m.d.sync += rdata.payload.eq(caps["pre"])
                    with m.Case(Space.POST):
                        with m.Switch(rd_k):
                            for k in range(len(p.plastic_groups)):
                                with m.Case(k):
                                    m.d.sync += rdata.payload.eq(caps[f"post{k}"])
        return m

    def _answer_mux_first(self, m, rd_pending, rd_wait, rd_select, rd_space, rd_param, rd_k):
        """A read's answer without capture registers: the space multiplexer loads ``o_rdata``
        straight from the memories' read data (the weight word when it arrives), and
        ``valid`` rises when it would after the capture registers: the same latency, about
        ``state + acc + trace + weight bits`` fewer flip-flops (on the iCE40 each a logic
        cell; its 33 ns clock leaves room for block RAM clock-to-out and the multiplexer)."""
        p = self._p
        rdata = self.o_rdata
        with m.If(rd_pending):
            m.d.sync += rd_pending.eq(0)
            with m.Switch(rd_space):
                with m.Case(Space.STATE):
                    m.d.sync += rdata.payload.eq(self.state_rd.data)
                with m.Case(Space.ACC):
                    m.d.sync += rdata.payload.eq(self.acc_rd.data)
                with m.Case(Space.PARAM):
                    m.d.sync += rdata.payload.eq(rd_param)
                if p.plastic:
                    with m.Case(Space.PRE):
                        m.d.sync += rdata.payload.eq(self.pre_rd.data)
                    with m.Case(Space.POST):
                        with m.Switch(rd_k):
                            for k, port in enumerate(self.post_rd):
                                with m.Case(k):
                                    m.d.sync += rdata.payload.eq(port.data)
        if len(rd_wait):
            m.d.sync += rd_wait.eq(Cat(rd_pending, rd_wait[:-1]))
        with m.If(rd_wait[-1] if len(rd_wait) else rd_pending):
            m.d.sync += rd_select.eq(1)
            with m.If(rd_space == Space.WEIGHT):
                m.d.sync += rdata.payload.eq(self.weight.data)
        with m.If(rd_select):
            m.d.sync += [rd_select.eq(0), rdata.valid.eq(1)]
        with m.Elif(rdata.valid & rdata.ready):
            m.d.sync += rdata.valid.eq(0)

    def _read_ports(self):
        """``(name, port)`` of the read ports whose data are captured in the clock after a
        read's transfer."""
        yield "state", self.state_rd
        yield "acc", self.acc_rd
        if self._p.plastic:
            yield "pre", self.pre_rd
            for k, port in enumerate(self.post_rd):
                yield f"post{k}", port

    def _accesses(self, m, sets):
        """Drive the memory ports from the command: addresses and data always, the write
        enables in the transfer clock of a write to their space (neuron parameters: the
        registers of ``sets``). Returns the plastic group
        of the last read (a register; None in a static core)."""
        p = self._p
        cmd, go = self.i_cfg.payload, self.go
        ports = [(self.state_rd, self.state_wr, cmd.addr)]
        m.d.comb += [self.acc_rd.addr.eq(cmd.addr), self.acc_rd.en.eq(go),
                     self.acc_wr.addr.eq(cmd.addr)]
        if p.plastic:
            rbits = row_bits(p)
            cfg_row, cfg_k = cmd.addr[:rbits], cmd.addr[rbits:]
            ports.append((self.pre_rd, self.pre_wr, cmd.addr))
            ports += [(rd, wr, cfg_row) for rd, wr in zip(self.post_rd, self.post_wr)]
        m.d.comb += [self.weight.addr.eq(cmd.addr), self.weight.w_data.eq(cmd.data)]
        for rd, wr, addr in ports:
            m.d.comb += [rd.addr.eq(addr), rd.en.eq(go), wr.addr.eq(addr),
                         wr.data.eq(cmd.data)]
        wr = go & cmd.write
        # Plain expressions for the write enables and data, not m.Switch: Icarus never runs an
        # ``always @*`` block whose inputs never change (a core of a network top that gets no
        # configuration command), so its outputs would stay x.
        acc_en = wr & (cmd.space == Space.ACC)
        m.d.comb += [self.weight.w_en.eq(wr & (cmd.space == Space.WEIGHT)),
                     self.acc_wr.en.eq(acc_en), self.acc_wr.data.eq(Mux(acc_en, cmd.data, 0))]
        with m.If(wr & (cmd.space == Space.PARAM)):
            self._write_params(m, sets)
        m.d.comb += self.state_wr.en.eq(wr & (cmd.space == Space.STATE))
        if p.plastic:
            m.d.comb += self.pre_wr.en.eq(wr & (cmd.space == Space.PRE))
            for k, port in enumerate(self.post_wr):
                m.d.comb += port.en.eq(wr & (cmd.space == Space.POST) & (cfg_k == k))
        if not p.plastic:
            return None
        rd_k = Signal.like(cfg_k)
        with m.If(go & ~cmd.write):
            m.d.sync += rd_k.eq(cfg_k)
        return rd_k

    def _neuron_params(self, m):
        """The neuron parameter registers, one set per population of the core, driven to the
        LIF pipeline. Returns the sets (``{Param: register}``)."""
        p = self._p
        sets = []
        for k, ns in enumerate(p.neuron_sets):
            sets.append({
                Param.THRESHOLD: Signal(unsigned(max(1, p.voltage_bits - 1)),
                                        init=ns.threshold, name=f"threshold{k}"),
                Param.BIAS: Signal(signed(p.voltage_bits), init=ns.bias, name=f"bias{k}"),
                Param.DU: Signal(unsigned(13), init=DECAY_ONE - ns.du, name=f"k_u{k}"),
                Param.DV: Signal(unsigned(13), init=DECAY_ONE - ns.dv, name=f"k_v{k}"),
                Param.REFRACTORY: Signal(unsigned(p.refractory_bits), init=ns.refractory,
                                         name=f"refractory{k}"),
                Param.RESET_SUBTRACT: Signal(init=int(ns.reset_subtract),
                                             name=f"reset_sub{k}"),
            })
            if p.theta_bits:
                sets[-1].update({
                    Param.THETA_INC: Signal(unsigned(p.theta_bits), init=ns.theta_inc,
                                            name=f"theta_inc{k}"),
                    Param.THETA_DECAY: Signal(unsigned(13), init=DECAY_ONE - ns.theta_decay,
                                              name=f"k_theta{k}")})
        for k, regs in enumerate(sets):
            m.d.comb += [self.threshold[k].eq(regs[Param.THRESHOLD]),
                         self.bias[k].eq(regs[Param.BIAS]), self.k_u[k].eq(regs[Param.DU]),
                         self.k_v[k].eq(regs[Param.DV]),
                         self.refractory[k].eq(regs[Param.REFRACTORY]),
                         self.reset_subtract[k].eq(regs[Param.RESET_SUBTRACT])]
            if p.theta_bits:
                m.d.comb += [self.k_theta[k].eq(regs[Param.THETA_DECAY]),
                             self.theta_inc[k].eq(regs[Param.THETA_INC])]
        return sets

    def _write_params(self, m, sets):
        """A write to a neuron parameter register (``sets``)."""
        cmd = self.i_cfg.payload
        with m.Switch(cmd.addr):
            for k, regs in enumerate(sets):
                for q, reg in regs.items():
                    with m.Case(param_addr(self._p, k, q)):
                        if q in (Param.DU, Param.DV, Param.THETA_DECAY):
                            m.d.sync += reg.eq(DECAY_ONE - cmd.data[:13])
                        else:
                            m.d.sync += reg.eq(cmd.data)

    def _read_params(self, m, sets, rd_param):
        """A read's neuron parameter (0 at any other address), in ``rd_param`` (called in the
        read's transfer clock)."""
        p = self._p
        cmd = self.i_cfg.payload
        with m.Switch(cmd.addr):
            for k, regs in enumerate(sets):
                for q, reg in regs.items():
                    with m.Case(param_addr(p, k, q)):
                        if q in (Param.DU, Param.DV, Param.THETA_DECAY):
                            m.d.sync += rd_param.eq(DECAY_ONE - reg)
                        else:
                            m.d.sync += rd_param.eq(reg.as_unsigned())
            with m.Default():
                m.d.sync += rd_param.eq(0)

    def _learn_params(self, m, rd_param):
        """The learning registers of each plastic group: writes, and reads into
        ``rd_param`` (after :meth:`_read_params`, so that they win at their addresses)."""
        p = self._p
        cmd = self.i_cfg.payload
        layout = learn_layout(p.weight_bits, p.trace_bits, p.modulated)
        learn = []
        for k, g in enumerate(p.plastic_groups):
            r = p.stdp[g]
            vals = learn_values(p, r)      # the effective rates in a modulated core
            learn.append(Signal(layout, name=f"learn{k}", init={
                "a_plus": vals[Learn.A_PLUS], "a_minus": vals[Learn.A_MINUS], "shift": r.shift,
                "k_pre": DECAY_ONE - r.d_pre, "k_post": DECAY_ONE - r.d_post,
                "x_inc": r.x_inc, "y_inc": r.y_inc, "w_min": r.w_min, "w_max": r.w_max,
                **({"neg_plus": vals[Learn.NEG_PLUS], "neg_minus": vals[Learn.NEG_MINUS]}
                   if p.modulated else {})}))
            m.d.comb += self.learn[k].eq(learn[k])
        param = cmd.space == Space.PARAM
        with m.If(self.go & cmd.write & param):
            for k, regs in enumerate(learn):
                base = learn_base(p) + LEARN_STRIDE * k
                with m.Switch(cmd.addr):
                    for f in learn_fields(p.modulated):
                        with m.Case(base + f):
                            name = f.name.lower()
                            if f in (Learn.D_PRE, Learn.D_POST):
                                m.d.sync += regs["k_" + name[2:]].eq(DECAY_ONE - cmd.data[:13])
                            else:
                                m.d.sync += regs[name].eq(cmd.data)
        with m.If(self.go & ~cmd.write & param):
            for k, regs in enumerate(learn):
                base = learn_base(p) + LEARN_STRIDE * k
                with m.Switch(cmd.addr):
                    for f in learn_fields(p.modulated):
                        with m.Case(base + f):
                            name = f.name.lower()
                            if f in (Learn.D_PRE, Learn.D_POST):
                                val = DECAY_ONE - regs["k_" + name[2:]]
                            elif f in (Learn.W_MIN, Learn.W_MAX):
                                val = regs[name].as_unsigned()
                            else:
                                val = regs[name]
                            m.d.sync += rd_param.eq(val)
