"""The update sweep of a core: neuron state and accumulators in, through the LIF pipeline,
state back and spiking rows out."""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory, ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from .emitter import spike_row_layout
from .lif import lif_in_layout, lif_out_layout
from .synapse import acc_layout
from .control import Phase
from .layouts import addr_bits, check_params, issue_layout, state_layout

__all__ = ["UpdateSweep"]


class UpdateSweep(wiring.Component):
    """Owns the neuron state memory and joins it, the accumulators and the LIF pipeline.

    In the update phase the state row and the accumulator row at ``row`` are read (and the
    accumulator row cleared in the same clock); a clock later, when ``i_issue`` carries the
    row, the old ``u, v, r``, the sums and each lane's parameter set leave on ``o_neuron``.
    The LIF pipeline's results (``i_result``) are written back to the state memory, and their
    spike masks leave on ``o_row`` for the spike emitter. Between steps the configuration
    port has the state and accumulator memories (``cfg_*``). No stall anywhere: one row per
    clock.

    Infers one memory: the neuron state, ``rows`` words of ``lanes * (U + V + refractory)``
    bits, registered read (read latency 1).

    Parameters
    ----------
    params : CoreParams

    Members
    -------
    phase : In(Phase)
    row : In(range(rows))
        The row read this clock in the update phase.
    i_issue : In(stream.Signature(issue_layout(params), always_ready=True))
    o_neuron : Out(stream.Signature(lif_in_layout(params), always_ready=True))
    i_result : In(stream.Signature(lif_out_layout(params), always_ready=True))
    o_row : Out(stream.Signature(spike_row_layout(params), always_ready=True))
    acc_rd, acc_wr : In(ReadPort.Signature(...)), In(WritePort.Signature(...))
        The synapse array's accumulators.
    cfg_state_rd, cfg_state_wr : Out(ReadPort.Signature(...)), Out(WritePort.Signature(...))
    cfg_acc_rd, cfg_acc_wr : Out(ReadPort.Signature(...)), Out(WritePort.Signature(...))
        The configuration port's access to the state and the accumulators.
    """

    def __init__(self, params):
        p = self._p = check_params(params)
        rbits = addr_bits(p.row_slots)
        state = dict(addr_width=rbits, shape=state_layout(p))
        acc = dict(addr_width=rbits, shape=acc_layout(p))
        super().__init__({
            "phase": In(Phase),
            "row": In(range(p.row_slots)),
            "i_issue": In(stream.Signature(issue_layout(p), always_ready=True)),
            "o_neuron": Out(stream.Signature(lif_in_layout(p), always_ready=True)),
            "i_result": In(stream.Signature(lif_out_layout(p), always_ready=True)),
            "o_row": Out(stream.Signature(spike_row_layout(p), always_ready=True)),
            "acc_rd": In(ReadPort.Signature(**acc)),
            "acc_wr": In(WritePort.Signature(**acc)),
            "cfg_state_rd": Out(ReadPort.Signature(**state)),
            "cfg_state_wr": Out(WritePort.Signature(**state)),
            "cfg_acc_rd": Out(ReadPort.Signature(**acc)),
            "cfg_acc_wr": Out(WritePort.Signature(**acc)),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        m.submodules.state = state = Memory(shape=state_layout(p), depth=p.row_slots, init=[])
        st_rd = state.read_port()
        st_wr = state.write_port()

        # read state and read-and-clear the accumulator row, one row per clock
        updating = self.phase == Phase.UPDATE
        acc_rd, acc_wr = self.acc_rd, self.acc_wr
        m.d.comb += [
            st_rd.addr.eq(Mux(updating, self.row, self.cfg_state_rd.addr)),
            acc_rd.addr.eq(Mux(updating, self.row, self.cfg_acc_rd.addr)),
            acc_wr.addr.eq(Mux(updating, self.row, self.cfg_acc_wr.addr)),
            self.cfg_state_rd.data.eq(st_rd.data),
            self.cfg_acc_rd.data.eq(acc_rd.data),
        ]
        m.d.comb += [acc_wr.en.eq(updating | self.cfg_acc_wr.en),
                     acc_wr.data.eq(self.cfg_acc_wr.data)]
        issue, lif = self.i_issue, self.o_neuron
        m.d.comb += [lif.valid.eq(issue.valid), lif.payload.row.eq(issue.payload.row)]
        for lane in range(p.lanes):
            li, old = lif.payload.lanes[lane], st_rd.data[lane]
            m.d.comb += [li.u.eq(old.u), li.v.eq(old.v), li.r.eq(old.r),
                         li.a.eq(acc_rd.data[lane]), li.set.eq(issue.payload.set[lane])]
            if p.theta_bits:
                m.d.comb += li.theta.eq(old.theta)

        # results: state write-back and spiking rows
        res = self.i_result.payload
        new = Signal(state_layout(p))
        for lane in range(p.lanes):
            m.d.comb += [new[lane].u.eq(res.lanes[lane].u), new[lane].v.eq(res.lanes[lane].v),
                         new[lane].r.eq(res.lanes[lane].r)]
            if p.theta_bits:
                m.d.comb += new[lane].theta.eq(res.lanes[lane].theta)
        m.d.comb += [
            self.o_row.valid.eq(self.i_result.valid),
            self.o_row.payload.row.eq(res.row),
            self.o_row.payload.mask.eq(Cat(res.lanes[k].s for k in range(p.lanes))),
        ]
        with m.If(self.i_result.valid):
            m.d.comb += [st_wr.addr.eq(res.row), st_wr.data.eq(new), st_wr.en.eq(1)]
        with m.Elif(self.cfg_state_wr.en):
            m.d.comb += [st_wr.addr.eq(self.cfg_state_wr.addr),
                         st_wr.data.eq(self.cfg_state_wr.data), st_wr.en.eq(1)]
        return m
