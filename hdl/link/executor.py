"""The link's executor: one checked frame run against the network top's ports."""

from contextlib import nullcontext
from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory, ReadPort
from amaranth.lib.wiring import In, Out

from spikefab.shape.cfg import Space
from spikefab.shape.latency import CYCLES_BITS
from spikefab.shape.protocol import MAX_CYCLES, MAX_EVENTS, Cmd, Status, identify_bytes, nbytes
from spikefab.shape.rates import image_bytes, per_frame, rate_slots, rate_stride

from ..memory import NO_RW_CHECK
from ..network import network_cfg_layout
from .receiver import frame_layout
from .runner import pad16

__all__ = ["Executor"]


class Executor(wiring.Component):
    """Runs one checked frame (``i_frame``, its payload in the receiver's frame buffer) on
    the network top's configuration port and the step runner, and emits the response.

    A frame is executed in two passes over its entries: the first checks every field (and
    the length), the second acts, so a rejected frame changes nothing. WRITE_* entries go
    to ``o_cfg``; READ entries too, each answered by a word on ``i_rdata``; INPUT channels go
    to ``o_channel``, RUN counts to ``run``; READ_SPIKES and READ_CYCLES drain the runner's
    queues. IDENTIFY's payload comes from a ROM. The response goes to the transmitter as a
    ``start`` (with ``length`` and ``cmd`` held) and payload bytes (``o_payload``) from a
    word shifter (status, read data, queue entries: at most ``max(R, 5)`` bytes; a shifter
    as wide as the identity would cost ~200 flip-flops).

    RESET clears the runner and resets the network top (``net_reset``). With ``registered``
    (a network of banked weight memories: the die full of block RAM) ``net_reset`` is a
    register, high from power-on too, that alone drives every flip-flop's reset in the
    network: two clocks after the command's decode, while ``clear`` is high in both clocks
    before (so nothing the network sends in its last clock before the reset stays in the
    queues); the queues' heads are then registered too and checked before they are taken.

    **Exactly once** (protocol v2): every request carries a sequence number. A good frame
    whose command and sequence number equal those of the last executed frame (IDENTIFY
    excepted) is a retry of it: it is not executed again, and the response of the first
    execution is sent again from the replay memory, into which every response payload of an
    executed frame is written as it is sent. A response to a broken frame is neither
    written there nor changes what the next frame is compared with.

    Memories: the identity ROM (``len(identify_bytes) + 1`` x 8, registered read; yosys
    keeps it in logic) and the replay memory (256 x 8, registered read: one block RAM; in
    distributed RAM with ``registered``).

    Parameters
    ----------
    params : NetworkParams
    info : dict
        :func:`~spikefab.shape.protocol.link_info` of the link.
    registered : bool

    Members
    -------
    i_frame : In(stream.Signature(frame_layout()))
    buffer : In(ReadPort.Signature(addr_width=8, shape=8))
        The frame buffer's read port.
    start : Out(1)
    length, cmd, seq : Out(8)
        A response begins; its length, command and sequence number, held until it is sent.
    o_payload : Out(stream.Signature(8))
    tx_count, tx_busy, tx_last : In
        The transmitter's payload byte count, busy and last byte.
    o_cfg : Out(stream.Signature(network_cfg_layout(params)))
    i_rdata : In(stream.Signature(params.rdata_bits))
    steps : In(params.step_bits)
        Steps done since reset (the network top's count).
    o_channel : Out(stream.Signature(16))
    run : Out(16)
    running : In(1)
    outstanding : In(16)
    i_events, i_cycles : In(stream.Signature(32))
    event_level, cycle_level : In
        The step runner's queues.
    clear, net_reset : Out(1)
    error : Out(1)
        An error response begins this clock.
    rate_w_addr, rate_w_data, rate_w_en, present, present_steps : Out
        With a rate generator (``params.rate_bits``): PRESENT's intensities into the
        generator's memory, the presentations it queues (a pulse) and their steps.
    presenting : In(1)
    rate_queued, rate_wslot : In
        The generator's state.
    """

    def __init__(self, params, info, registered=False):
        self._p = p = params
        self.info = info
        self.registered = bool(registered)
        out_depth, cycles_depth = info["out_depth"], info["cycles_depth"]
        rates = {}
        if p.rate_bits:
            S = rate_slots(p.inputs)
            rates = {"rate_w_addr": Out(range(S * rate_stride(p.inputs))),
                     "rate_w_data": Out(8), "rate_w_en": Out(1),
                     "present": Out(range(S + 1)), "present_steps": Out(16),
                     "presenting": In(1), "rate_queued": In(range(S + 1)),
                     "rate_wslot": In(range(S))}
        super().__init__({
            **rates,
            "i_frame": In(stream.Signature(frame_layout())),
            "buffer": In(ReadPort.Signature(addr_width=8, shape=8)),
            "start": Out(1),
            "length": Out(8),
            "cmd": Out(8),
            "seq": Out(8),
            "o_payload": Out(stream.Signature(8)),
            "tx_count": In(8),
            "tx_busy": In(1),
            "tx_last": In(1),
            "o_cfg": Out(stream.Signature(network_cfg_layout(p))),
            "i_rdata": In(stream.Signature(p.rdata_bits)),
            "steps": In(p.step_bits),
            "o_channel": Out(stream.Signature(16)),
            "run": Out(16),
            "running": In(1),
            "outstanding": In(16),
            "i_events": In(stream.Signature(32)),
            "i_cycles": In(stream.Signature(CYCLES_BITS)),
            "event_level": In(range(out_depth + 1)),
            "cycle_level": In(range(cycles_depth + 1)),
            "clear": Out(1),
            "net_reset": Out(1),
            "error": Out(1),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        D = nbytes(p.cfg_data_bits)
        R = nbytes(p.rdata_bits)
        ident = identify_bytes(self.info)
        f = self.i_frame.payload
        v = SimpleNamespace(R=R, D=D, ident=ident, f_cmd=f.cmd, f_len=f.length,
                            clear=self.clear, r_cmd=self.cmd,
                            r_len=self.length)
        for name, shape in (("reset_req", 1), ("tx_word", 8 * max(R, 5)),
                            ("tx_left", range(max(len(ident) + 1, R, 5) + 1)), ("tx_rom", 1),
                            ("pos", 8), ("ent", 8 * (4 + D)), ("eidx", range(4 + D + 1)),
                            ("esize", range(4 + D + 1)), ("n", 8),
                            ("phase", 1),            # 0: validate every entry, 1: execute
                            ("status", 8), ("nfifo", 8), ("cb_valid", 1), ("field_ok_r", 1),
                            ("at_end", 1), ("short", 1), ("too_many", 1),
                            # exactly once: the last executed frame, its response's length,
                            # whether this response is written to / read from the replay memory
                            ("last_seq", 8), ("last_cmd", 8), ("last_ok", 1), ("last_len", 8),
                            ("dup", 1), ("capture", 1), ("tx_replay", 1)):
            setattr(v, name, Signal(shape, name=name))
        v.is_write = (v.f_cmd >= Cmd.WRITE_WEIGHTS) & (v.f_cmd <= Cmd.WRITE_STATE)
        self._reset(m, v)
        self._replay(m, v)
        self._response(m, v)
        self._entry(m, v)
        self._snapshots(m, v)
        with m.FSM(name="exec_fsm") as ex:
            self._accept(m, v)
            self._decode(m, v)
            self._entries(m, v)
            self._answer(m, v)
            if self._p.rate_bits:
                self._present(m, v)
        m.d.comb += self.error.eq(ex.ongoing("ERROR"))
        return m

    def _reset(self, m, v):
        if self.registered:
            clear1 = Signal()
            net_rst = Signal(init=1)
            m.d.sync += [clear1.eq(v.reset_req), net_rst.eq(clear1)]
            m.d.comb += [v.clear.eq(clear1 | net_rst), self.net_reset.eq(net_rst)]

    def _replay(self, m, v):
        """The replay memory: the payload of the last executed frame's response."""
        f = self.i_frame.payload
        # written only while a response is captured, read only while one is replayed: the
        # word read in a clock that writes is never used (``hdl/memory.py``)
        m.submodules.replay = mem = Memory(
            shape=8, depth=256, init=[],
            attrs={**NO_RW_CHECK, **({"ram_style": "distributed"} if self.registered else {})})
        wp = mem.write_port()
        v.replay_rd = rd = mem.read_port(transparent_for=())
        out = self.o_payload
        m.d.comb += [wp.addr.eq(self.tx_count), wp.data.eq(out.payload),
                     wp.en.eq(v.capture & out.valid & out.ready), rd.addr.eq(self.tx_count),
                     self.seq.eq(f.seq)]
        # registered: the frame's command and sequence number are held from their bytes on,
        # at least the CRC's two byte times before its verdict
        m.d.sync += v.dup.eq(v.last_ok & (f.seq == v.last_seq) & (v.f_cmd == v.last_cmd)
                             & (v.f_cmd != Cmd.IDENTIFY))
        with m.If(self.tx_last & v.capture):
            m.d.sync += v.last_len.eq(v.r_len)

    def _response(self, m, v):
        """The payload's word shifter and the identity's ROM."""
        # the identity's ROM is read one clock after its address (the transmitter's count
        # settles at least two clocks before the next byte is taken); at ~20 bytes yosys
        # keeps it in logic, but its output is a register
        m.submodules.ident_rom = rom_mem = Memory(
            shape=8, depth=len(v.ident) + 1, init=list(bytes([Status.OK]) + v.ident))
        rom_rd = rom_mem.read_port(transparent_for=())
        out = self.o_payload
        m.d.comb += [rom_rd.addr.eq(self.tx_count),
                     out.valid.eq((v.tx_left != 0) | v.tx_replay),
                     out.payload.eq(Mux(v.tx_replay, v.replay_rd.data,
                                        Mux(v.tx_rom, rom_rd.data, v.tx_word[:8])))]
        with m.If(out.valid & out.ready):
            m.d.sync += [v.tx_word.eq(v.tx_word >> 8), v.tx_left.eq(v.tx_left - 1)]
        with m.If(self.tx_last):
            m.d.sync += [v.tx_rom.eq(0), v.tx_replay.eq(0)]

    def _respond(self, m, v, code, length=1):
        m.d.sync += [v.tx_word.eq(code), v.tx_left.eq(1)]
        self._start(m, v, length)

    def _start(self, m, v, length):
        m.d.sync += v.r_len.eq(length)
        m.d.comb += self.start.eq(1)

    def _entry(self, m, v):
        """The check of an entry's fields (registered for ``ENTRY``), the position's
        comparisons (registered for ``DECIDE``) and the entry's ports."""
        p = self._p
        C = len(p.cores)
        ent, f_cmd = v.ent, v.f_cmd
        m.d.comb += self.buffer.addr.eq(v.pos)
        e_target, e_space = ent[0:8], ent[8:16]
        e_addr, e_data = ent[16:32], ent[32:32 + 8 * v.D]
        addr_ok = (e_addr >> p.cfg_addr_bits) == 0
        # the trace spaces exist on plastic cores only (a static core's space field is two
        # bits wide: PRE would alias WEIGHT there)
        plastic_target = Const(0)
        for c, cp in enumerate(p.cores):
            if cp.plastic:
                plastic_target = plastic_target | (e_target == c)
        trace_ok = plastic_target & ((e_space == Space.PRE) | (e_space == Space.POST))
        field_ok = Signal()
        with m.Switch(f_cmd):
            with m.Case(Cmd.WRITE_WEIGHTS):
                m.d.comb += field_ok.eq((e_target < C) & (e_space == Space.WEIGHT) & addr_ok)
            with m.Case(Cmd.WRITE_PARAMS):
                m.d.comb += field_ok.eq((e_target < C) & (e_space == Space.PARAM) & addr_ok)
            with m.Case(Cmd.WRITE_STATE):
                # the accumulators too: a RESET during a step can leave them part-summed; and
                # the STDP traces, which "reset network state" clears
                m.d.comb += field_ok.eq((e_target < C) & ((e_space == Space.STATE) |
                                                          (e_space == Space.ACC) | trace_ok)
                                        & addr_ok)
            with m.Case(Cmd.WRITE_ROUTES):
                m.d.comb += field_ok.eq((e_target == C) & (e_space < 2) & addr_ok)
            with m.Case(Cmd.READ):
                m.d.comb += field_ok.eq((e_target < C) & ((e_space < 4) | trace_ok) & addr_ok)
            with m.Case(Cmd.INPUT):
                m.d.comb += field_ok.eq(ent[:16] < p.inputs)
            with m.Case(Cmd.RUN):
                m.d.comb += field_ok.eq(1)

        # ``o_cfg`` is valid from a register: the entry stays in ``ent`` (the executor loads
        # no next entry and ends no frame while it is held), so that the network top's
        # step controller, which holds a step back while a command is offered, never sees
        # the executor's state decode in the same clock
        m.d.sync += [v.field_ok_r.eq(field_ok), v.at_end.eq(v.pos == v.f_len),
                     v.short.eq(v.f_len - v.pos < v.esize),
                     v.too_many.eq(v.n > 254 // v.R)]
        cfg = self.o_cfg
        m.d.comb += [cfg.valid.eq(v.cb_valid),
                     cfg.payload.target.eq(e_target), cfg.payload.space.eq(e_space),
                     cfg.payload.addr.eq(e_addr), cfg.payload.data.eq(e_data),
                     cfg.payload.write.eq(f_cmd != Cmd.READ)]
        with m.If(cfg.valid & cfg.ready):
            m.d.sync += v.cb_valid.eq(0)
        m.d.comb += self.o_channel.payload.eq(ent[:16])

    def _snapshots(self, m, v):
        # READ_SPIKES and READ_CYCLES answer from a snapshot of the queues' levels, the step
        # count and the steps left, all taken in the same clock (one before the answer), so
        # that the answer is consistent and the levels' carry chains stay out of its loads
        v.k_spikes = Signal(range(MAX_EVENTS + 1))
        v.k_cycles = Signal(range(MAX_CYCLES + 1))
        v.snap_steps, v.snap_left = Signal(16), Signal(16)
        m.d.sync += [
            v.k_spikes.eq(Mux(self.event_level > MAX_EVENTS, MAX_EVENTS, self.event_level)),
            v.k_cycles.eq(Mux(self.cycle_level > MAX_CYCLES, MAX_CYCLES, self.cycle_level)),
            v.snap_steps.eq(pad16(self.steps)), v.snap_left.eq(self.outstanding)]

    def _accept(self, m, v):
        frame = self.i_frame
        with m.State("IDLE"):
            m.d.comb += frame.ready.eq(1)
            with m.If(frame.valid):
                with m.If(frame.payload.error):
                    m.d.sync += [v.r_cmd.eq(Mux(frame.payload.echo, v.f_cmd, 0xFF)),
                                 v.capture.eq(0)]
                    self._respond(m, v, frame.payload.status)
                    m.next = "FINISH"
                with m.Elif(v.dup):
                    # a retry of the last executed frame: its response again, from the
                    # replay memory (the transmitter counts its length)
                    m.d.sync += [v.r_cmd.eq(v.f_cmd), v.capture.eq(0), v.tx_replay.eq(1)]
                    m.d.sync += v.r_len.eq(v.last_len)
                    m.d.comb += self.start.eq(1)
                    m.next = "FINISH"
                with m.Else():
                    m.d.sync += [v.r_cmd.eq(v.f_cmd), v.pos.eq(0), v.n.eq(0), v.phase.eq(0),
                                 v.last_seq.eq(frame.payload.seq), v.last_cmd.eq(v.f_cmd),
                                 v.last_ok.eq(1), v.capture.eq(1)]
                    m.next = "DECODE"

    def _bad_length(self, m, v):
        """Enter ``ERROR`` with ``BAD_LENGTH`` if the frame has a payload; the context runs
        otherwise."""
        with m.If(v.f_len != 0):
            m.d.sync += v.status.eq(Status.BAD_LENGTH)
            m.next = "ERROR"
        return m.Else()

    def _decode(self, m, v):
        f_cmd = v.f_cmd
        with m.State("DECODE"):
            with m.Switch(f_cmd):
                with m.Case(Cmd.IDENTIFY):
                    with self._bad_length(m, v):
                        m.d.sync += [v.tx_rom.eq(1), v.tx_left.eq(len(v.ident) + 1)]
                        self._start(m, v, len(v.ident) + 1)
                        m.next = "FINISH"
                with m.Case(Cmd.RESET):
                    with self._bad_length(m, v):
                        if self.registered:
                            m.d.comb += v.reset_req.eq(1)
                        else:
                            m.d.comb += [v.clear.eq(1), self.net_reset.eq(1)]
                        self._respond(m, v, Status.OK)
                        m.next = "FINISH"
                with m.Case(Cmd.READ_SPIKES, Cmd.READ_CYCLES):
                    with self._bad_length(m, v):
                        k = Mux(f_cmd == Cmd.READ_SPIKES, v.k_spikes, v.k_cycles)
                        m.d.sync += v.nfifo.eq(k)
                        with m.If(f_cmd == Cmd.READ_SPIKES):
                            m.d.sync += [
                                v.tx_word.eq(Cat(Const(0, 8), v.snap_steps, v.snap_left)),
                                v.tx_left.eq(5)]
                            m.d.sync += v.r_len.eq(5 + (k << 2))
                        with m.Else():
                            m.d.sync += [v.tx_word.eq(0), v.tx_left.eq(1)]
                            m.d.sync += v.r_len.eq(1 + (k << 2))
                        m.d.comb += self.start.eq(1)
                        m.next = "DRAIN"
                if self._p.rate_bits:
                    with m.Case(Cmd.PRESENT):
                        self._present_decode(m, v)
                with m.Case(Cmd.WRITE_WEIGHTS, Cmd.WRITE_PARAMS, Cmd.WRITE_ROUTES,
                            Cmd.WRITE_STATE, Cmd.READ, Cmd.INPUT, Cmd.RUN):
                    with m.If(self.running):
                        m.d.sync += v.status.eq(Status.BUSY)
                        m.next = "ERROR"
                    with m.Else():
                        m.d.sync += v.esize.eq(Mux(v.is_write, 4 + v.D, Mux(
                            f_cmd == Cmd.READ, 4, 2)))
                        m.next = "NEXT"
                with m.Default():
                    m.d.sync += v.status.eq(Status.UNKNOWN)
                    m.next = "ERROR"

    def _entries(self, m, v):
        f_cmd = v.f_cmd
        with m.State("NEXT"):
            # the position's comparisons are registered (``at_end``, ``short``,
            # ``too_many``) and used in DECIDE, one clock later: ``pos`` and ``n`` do not
            # change in between, and no carry chain meets the response's loads in one clock
            with m.If(~v.cb_valid):                  # else the last entry is still offered
                m.next = "DECIDE"
        with m.State("DECIDE"):
            with m.If(v.at_end):
                with m.If(v.phase == 0):
                    with m.If((f_cmd == Cmd.RUN) & (v.f_len != 2)):
                        m.d.sync += v.status.eq(Status.BAD_LENGTH)
                        m.next = "ERROR"
                    with m.Elif((f_cmd == Cmd.READ) & v.too_many):
                        m.d.sync += v.status.eq(Status.BAD_LENGTH)
                        m.next = "ERROR"
                    with m.Else():
                        m.d.sync += [v.phase.eq(1), v.pos.eq(0)]
                        with m.If(f_cmd == Cmd.READ):
                            self._respond(m, v, Status.OK, 1 + v.n * v.R)
                            m.next = "WAIT_SENT"
                        with m.Else():
                            m.next = "NEXT"
                with m.Elif(f_cmd == Cmd.READ):
                    m.next = "FINISH"
                with m.Else():
                    self._respond(m, v, Status.OK)
                    m.next = "FINISH"
            with m.Elif(v.short):
                m.d.sync += v.status.eq(Status.BAD_LENGTH)
                m.next = "ERROR"
            with m.Else():
                m.d.sync += [v.eidx.eq(0), v.ent.eq(0)]
                m.next = "LOAD_A"
        with m.State("WAIT_SENT"):
            with m.If(v.tx_left == 0):
                m.next = "NEXT"
        with m.State("LOAD_A"):
            m.next = "LOAD_B"
        with m.State("LOAD_B"):
            # little-endian fields: byte eidx of the entry
            for i in range(4 + v.D):
                with m.If(v.eidx == i):
                    m.d.sync += v.ent[8 * i:8 * i + 8].eq(self.buffer.data)
            m.d.sync += [v.eidx.eq(v.eidx + 1), v.pos.eq(v.pos + 1)]
            with m.If(v.eidx + 1 == v.esize):
                m.next = "CHECK"
            with m.Else():
                m.next = "LOAD_A"
        with m.State("CHECK"):
            # ``ent`` is whole now; its field check is registered for ENTRY, so the
            # check's comparators never reach the executor's next state in one clock
            m.next = "ENTRY"
        with m.State("ENTRY"):
            with m.If(v.phase == 0):
                with m.If(v.field_ok_r):
                    m.d.sync += v.n.eq(v.n + 1)
                    m.next = "NEXT"
                with m.Else():
                    m.d.sync += v.status.eq(Status.BAD_FIELD)
                    m.next = "ERROR"
            with m.Elif(v.is_write | (f_cmd == Cmd.READ)):
                m.d.sync += v.cb_valid.eq(1)
                with m.If(f_cmd == Cmd.READ):
                    m.next = "RDATA"
                with m.Else():
                    m.next = "NEXT"
            with m.Elif(f_cmd == Cmd.INPUT):
                m.d.comb += self.o_channel.valid.eq(1)
                with m.If(self.o_channel.ready):
                    m.next = "NEXT"
            with m.Else():                           # RUN
                m.d.comb += self.run.eq(v.ent[:16])
                m.next = "NEXT"
        with m.State("RDATA"):
            m.d.comb += self.i_rdata.ready.eq(1)
            with m.If(self.i_rdata.valid):
                m.d.sync += [v.tx_word.eq(self.i_rdata.payload), v.tx_left.eq(v.R)]
                m.next = "WAIT_SENT"

    def _present_decode(self, m, v):
        """PRESENT's checks that need no payload byte: not while RUN's steps are out, a
        length of ``2 + k * image_bytes`` (``1 <= k <= per_frame``), room for ``k`` images."""
        p = self._p
        B, K, S = image_bytes(p.inputs), per_frame(p.inputs), rate_slots(p.inputs)
        k = Signal(range(K + 1))
        for i in range(1, K + 1):
            with m.If(v.f_len == 2 + i * B):
                m.d.comb += k.eq(i)
        v.p_images = Signal(range(K + 1), name="p_images")
        with m.If(self.running & ~self.presenting):
            m.d.sync += v.status.eq(Status.BUSY)
            m.next = "ERROR"
        with m.Elif(k == 0):
            m.d.sync += v.status.eq(Status.BAD_LENGTH)
            m.next = "ERROR"
        with m.Elif(k + self.rate_queued > S):
            m.d.sync += v.status.eq(Status.BUSY)
            m.next = "ERROR"
        with m.Else():
            m.d.sync += [v.p_images.eq(k), v.pos.eq(0)]
            m.next = "P_READ"

    def _present(self, m, v):
        """PRESENT after its length: every byte in one pass (``steps``, then the intensities
        into the generator's free slots from ``wslot`` on: nothing anyone reads until they are
        queued, so writing them before the checks changes nothing), then the checks of
        ``steps`` (not 0; while presentations are queued, theirs), the images queued and the
        answer of READ_SPIKES."""
        p = self._p
        B = image_bytes(p.inputs)
        sb = max(1, (rate_stride(p.inputs) - 1).bit_length())
        t = Signal(16, name="p_steps")
        j = Signal(sb, name="p_byte")
        slot = Signal.like(self.rate_wslot, name="p_slot")
        head = v.pos[1:] == 0                    # the two bytes of ``steps``
        with m.State("P_READ"):
            with m.If(v.pos == 0):
                m.d.sync += [slot.eq(self.rate_wslot), j.eq(0)]
            m.next = "P_WRITE"
        with m.State("P_WRITE"):
            with m.If(head):
                with m.If(v.pos[0]):
                    m.d.sync += t[8:].eq(self.buffer.data)
                with m.Else():
                    m.d.sync += t[:8].eq(self.buffer.data)
            with m.Else():
                m.d.comb += [self.rate_w_addr.eq(Cat(j, slot) if rate_stride(p.inputs) > 1
                                                 else slot),
                             self.rate_w_data.eq(self.buffer.data), self.rate_w_en.eq(1)]
                m.d.sync += j.eq(j + 1)
                with m.If(j == B - 1):
                    m.d.sync += [j.eq(0), slot.eq(slot + 1)]
            m.d.sync += v.pos.eq(v.pos + 1)
            with m.If(v.pos + 1 == v.f_len):
                m.next = "P_CHECK"
            with m.Else():
                m.next = "P_READ"
        with m.State("P_CHECK"):
            with m.If(t == 0):
                m.d.sync += v.status.eq(Status.BAD_FIELD)
                m.next = "ERROR"
            with m.Elif(self.presenting & (t != self.present_steps)):
                m.d.sync += v.status.eq(Status.BUSY)
                m.next = "ERROR"
            with m.Else():
                # ``ent`` cleared: its data field, the configuration port's, is then zero for the
                # generator's clearing writes (``Link`` muxes only their addresses)
                m.d.sync += [self.present_steps.eq(t), v.ent.eq(0)]
                m.next = "P_QUEUE"
        with m.State("P_QUEUE"):
            m.d.comb += self.present.eq(v.p_images)
            m.next = "P_SNAP"
        with m.State("P_SNAP"):
            # the snapshot of the next clock counts the images just queued
            m.next = "P_ANSWER"
        with m.State("P_ANSWER"):
            m.d.sync += [v.nfifo.eq(v.k_spikes),
                         v.tx_word.eq(Cat(Const(0, 8), v.snap_steps, v.snap_left)),
                         v.tx_left.eq(5), v.r_len.eq(5 + (v.k_spikes << 2))]
            m.d.comb += self.start.eq(1)
            m.next = "DRAIN"

    def _answer(self, m, v):
        registered = self.registered
        with m.State("DRAIN"):
            with m.If(v.tx_left == 0):
                with m.If(v.nfifo == 0):
                    m.next = "FINISH"
                with m.Elif((v.f_cmd != Cmd.READ_CYCLES) if self._p.rate_bits else
                            (v.f_cmd == Cmd.READ_SPIKES)):   # READ_SPIKES (and PRESENT)
                    # without registered heads the snapshot's count alone says the head is
                    # there
                    with m.If(self.i_events.valid) if registered else nullcontext():
                        m.d.comb += self.i_events.ready.eq(1)
                        m.d.sync += [v.tx_word.eq(self.i_events.payload), v.tx_left.eq(4),
                                     v.nfifo.eq(v.nfifo - 1)]
                with m.Elif(self.i_cycles.valid) if registered else m.Else():
                    m.d.comb += self.i_cycles.ready.eq(1)
                    m.d.sync += [v.tx_word.eq(self.i_cycles.payload), v.tx_left.eq(4),
                                 v.nfifo.eq(v.nfifo - 1)]
        with m.State("ERROR"):
            self._respond(m, v, v.status)
            m.next = "FINISH"
        with m.State("FINISH"):
            with m.If(~self.tx_busy):
                m.next = "IDLE"
