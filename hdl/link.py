"""The host link: framed commands over a UART to a network top (``docs/protocol.md``).

:class:`Link` parses frames from its UART into a frame buffer, checks length, CRC and every
field before it changes anything, executes the command on the network top's host and
configuration ports and answers with a response frame. :class:`LinkedNetwork` is the drop-in
board component: a :class:`~spikefab.hdl.network.NetworkTop` behind a :class:`Link`, with the
pins ``rx``, ``tx`` and four LEDs.
"""

from contextlib import nullcontext

from amaranth.hdl import (Cat, ClockDomain, ClockSignal, Const, DomainRenamer, Module, Mux,
                          ResetInserter, Signal, Value)
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from spikefab.shape.cfg import Space
from spikefab.shape.latency import CYCLES_BITS
from spikefab.shape.network import NetworkParams
from spikefab.shape.protocol import (CRC_INIT, MAX_CYCLES, MAX_EVENTS, START, Cmd, Status,
                                     identify_bytes, link_info, nbytes)

from .network import NetworkTop, input_layout, network_cfg_layout
from .router import host_event_layout
from .uart import UartRx, UartTx, crc16_update

__all__ = ["Link", "LinkedNetwork"]

def _pad16(v):
    v = Value.cast(v)
    return Cat(v, Const(0, 16 - len(v))) if len(v) < 16 else v


class Link(wiring.Component):
    """Frame parser, command executor and response framer between a UART and the ports of a
    :class:`~spikefab.hdl.network.NetworkTop` of ``params``.

    One command at a time: bytes that arrive while a command executes or its response is sent
    are dropped (the host waits for each response). A frame is executed only after its CRC and
    every field have been checked, so a rejected frame changes nothing. Steps requested by RUN
    run in the background; their output events and cycle counts queue in two FIFOs that
    READ_SPIKES and READ_CYCLES drain.

    Memories: the 256-byte frame buffer (one block RAM), the output-event FIFO
    (``out_depth`` x (index + step bits)) and the cycle-count FIFO (``cycles_depth`` x 32).
    With ``"banked"`` weight memories in ``params`` (a large ECP5) the FIFOs' heads are
    registered before the transmitter takes them (a clock more per 4 bytes sent).

    Parameters
    ----------
    params : NetworkParams
    divisor : int
        Clocks per UART bit (>= 4).
    timeout : int
        Clocks without a byte after which a partly received frame is answered TRUNCATED.
    out_depth, cycles_depth : int

    Members
    -------
    rx : In(1)
    tx : Out(1)
    o_input, i_output, o_cfg, i_rdata : the network top's streams, flipped
    busy, done, steps, cycles : In, from the network top
    net_reset : Out(1)
        Resets the network top's control state (RESET command; with banked weight
        memories a register, also high from power-on until a clock after it).
    led_link, led_spike, led_error : Out(1)
        Stretched pulses: a byte in or out, an output spike, an error response.
    """

    def __init__(self, params, divisor, timeout=100_000, out_depth=256, cycles_depth=64):
        if not isinstance(params, NetworkParams):
            raise TypeError(f"Params must be a NetworkParams, not {params!r}")
        if params.cfg_addr_bits > 16:
            raise ValueError(f"Configuration address must fit 16 bits, not "
                             f"{params.cfg_addr_bits}")
        if params.router.index_bits > 16 or params.step_bits > 16:
            raise ValueError("Host ids and step tags must fit 16 bits")
        if not isinstance(timeout, int) or timeout < 20 * divisor:
            raise ValueError(f"Timeout must be an integer >= 20 * divisor, not {timeout!r}")
        self._p = p = params
        self.divisor = divisor
        self.timeout = timeout
        self.out_depth, self.cycles_depth = out_depth, cycles_depth
        self.info = link_info(p, out_depth, cycles_depth)
        super().__init__({
            "rx": In(1, init=1),
            "tx": Out(1, init=1),
            "o_input": Out(stream.Signature(input_layout(p))),
            "i_output": In(stream.Signature(host_event_layout(p.router))),
            "o_cfg": Out(stream.Signature(network_cfg_layout(p))),
            "i_rdata": In(stream.Signature(p.rdata_bits)),
            "busy": In(1),
            "done": In(1),
            "steps": In(p.step_bits),
            "cycles": In(CYCLES_BITS),
            "net_reset": Out(1),
            "led_link": Out(1),
            "led_spike": Out(1),
            "led_error": Out(1),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        C = len(p.cores)
        D = nbytes(p.cfg_data_bits)
        R = nbytes(p.rdata_bits)
        max_reads = 254 // R
        ident = identify_bytes(self.info)

        m.submodules.urx = urx = UartRx(self.divisor)
        m.submodules.utx = utx = UartTx(self.divisor)
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]

        # A network on banked weight memories (a large ECP5 whose block RAMs fill the die):
        # the frame buffer in distributed RAM beside the parser, not in a far block RAM
        registered = "banked" in p.weight_rams
        m.submodules.buf = buf = Memory(shape=8, depth=256, init=[],
                                        attrs={"ram_style": "distributed"} if registered else None)
        wp = buf.write_port()
        rp = buf.read_port()

        # RESET clears the link's queues and counters and resets the network top. On a
        # network of banked weight memories (the die full of block RAM) the network's reset
        # is a register (``net_reset``, high from power-on too) that alone drives every
        # flip-flop's reset in the network: two clocks after the command's decode, while the
        # link clears in both clocks before (so nothing the network sends in its last clock
        # before the reset stays in the link's queues).
        reset_req, clear = Signal(), Signal()
        if registered:
            clear1 = Signal()
            net_rst = Signal(init=1)
            m.d.sync += [clear1.eq(reset_req), net_rst.eq(clear1)]
            m.d.comb += [clear.eq(clear1 | net_rst), self.net_reset.eq(net_rst)]
        ofifo = SyncFIFOBuffered(width=32, depth=self.out_depth)
        cfifo = SyncFIFOBuffered(width=CYCLES_BITS, depth=self.cycles_depth)
        m.submodules.ofifo = ResetInserter(clear)(ofifo)
        m.submodules.cfifo = ResetInserter(clear)(cfifo)
        # A network on banked weight memories (a large ECP5 whose block RAMs fill the die)
        # has its FIFOs' block RAMs far from the transmitter: their heads are registered
        # first (``*_ok``: the register holds the head), so that the block RAM's clock-to-out
        # and the trip across the chip get a clock of their own.
        o_head, c_head = ofifo.r_data, cfifo.r_data
        o_ok = c_ok = None
        if registered:
            o_head, c_head = Signal.like(ofifo.r_data), Signal.like(cfifo.r_data)
            o_ok, c_ok = Signal(), Signal()
            m.d.sync += [o_head.eq(ofifo.r_data), c_head.eq(cfifo.r_data),
                         o_ok.eq(ofifo.r_rdy & ~ofifo.r_en), c_ok.eq(cfifo.r_rdy & ~cfifo.r_en)]

        # -- receiver: frame into the buffer, CRC checked -------------------------------------
        exec_idle = Signal()
        frame_ok = Signal()
        frame_err = Signal()
        err_code = Signal(8)
        f_len = Signal(8)
        f_cmd = Signal(8)
        crc = Signal(16, init=CRC_INIT)
        crc_hi = Signal(8)
        count = Signal(8)
        idle_t = Signal(range(self.timeout + 1))
        rx_timeout = Signal()
        m.d.comb += rx_timeout.eq(idle_t == self.timeout)
        byte = urx.o_data.payload
        got = urx.o_data.valid
        m.d.comb += urx.o_data.ready.eq(1)
        m.d.comb += [wp.addr.eq(count), wp.data.eq(byte)]
        with m.FSM(name="rx_fsm") as rx_fsm:
            with m.State("HUNT"):
                with m.If(got & (byte == START) & exec_idle):
                    m.d.sync += [crc.eq(CRC_INIT), count.eq(0), idle_t.eq(0)]
                    m.next = "LEN"
            with m.State("LEN"):
                with m.If(rx_timeout):
                    m.d.comb += [frame_err.eq(1), err_code.eq(Status.TRUNCATED)]
                    m.next = "HUNT"
                with m.Elif(got):
                    m.d.sync += [f_len.eq(byte), crc.eq(crc16_update(crc, byte))]
                    m.next = "CMD"
            with m.State("CMD"):
                with m.If(rx_timeout):
                    m.d.comb += [frame_err.eq(1), err_code.eq(Status.TRUNCATED)]
                    m.next = "HUNT"
                with m.Elif(got):
                    m.d.sync += [f_cmd.eq(byte), crc.eq(crc16_update(crc, byte))]
                    with m.If(f_len == 0):
                        m.next = "CRC_HI"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with m.If(rx_timeout):
                    m.d.comb += [frame_err.eq(1), err_code.eq(Status.TRUNCATED)]
                    m.next = "HUNT"
                with m.Elif(got):
                    m.d.comb += wp.en.eq(1)
                    m.d.sync += [count.eq(count + 1), crc.eq(crc16_update(crc, byte))]
                    with m.If(count + 1 == f_len):
                        m.next = "CRC_HI"
            with m.State("CRC_HI"):
                with m.If(rx_timeout):
                    m.d.comb += [frame_err.eq(1), err_code.eq(Status.TRUNCATED)]
                    m.next = "HUNT"
                with m.Elif(got):
                    m.d.sync += crc_hi.eq(byte)
                    m.next = "CRC_LO"
            with m.State("CRC_LO"):
                with m.If(rx_timeout):
                    m.d.comb += [frame_err.eq(1), err_code.eq(Status.TRUNCATED)]
                    m.next = "HUNT"
                with m.Elif(got):
                    with m.If(Cat(byte, crc_hi) == crc):
                        m.d.comb += frame_ok.eq(1)
                    with m.Else():
                        m.d.comb += [frame_err.eq(1), err_code.eq(Status.BAD_CRC)]
                    m.next = "HUNT"
        with m.If(rx_fsm.ongoing("HUNT")):
            m.d.sync += idle_t.eq(0)
        with m.Elif(got | urx.busy):
            m.d.sync += idle_t.eq(0)
        with m.Elif(~rx_timeout):
            m.d.sync += idle_t.eq(idle_t + 1)

        # -- response: framer pulls payload bytes from a word shifter ---------------------------
        # the payload comes from a word shifter (status, read data, queue entries: at most
        # max(R, 5) bytes) or, for IDENTIFY, from a ROM indexed by the byte count: a shifter
        # as wide as the identity would cost ~200 flip-flops and their load multiplexers
        tx_word = Signal(8 * max(R, 5))
        tx_left = Signal(range(max(len(ident) + 1, R, 5) + 1))
        tx_rom = Signal()
        # the identity's ROM is read one clock after its address (``r_cnt`` settles at least
        # two clocks before the next byte is taken); at ~20 bytes yosys keeps it in logic,
        # but its output is a register
        m.submodules.ident_rom = rom_mem = Memory(
            shape=8, depth=len(ident) + 1, init=list(bytes([Status.OK]) + ident))
        rom_rd = rom_mem.read_port(transparent_for=())
        r_len = Signal(8)
        r_cmd = Signal(8)
        r_start = Signal()
        r_busy = Signal()
        r_crc = Signal(16, init=CRC_INIT)
        r_cnt = Signal(8)
        tb = Signal(8)
        tvalid = Signal()
        # the framer hands each byte to a one-byte register in front of the UART, and the CRC
        # takes the byte from there one clock later: neither the UART's state nor the CRC's
        # logic meets the framer's byte multiplexer (ROM, shifter) in one clock; a byte takes
        # ten bit times, so the register costs no throughput
        tq = Signal(8)
        tq_valid = Signal()
        tq_crc = Signal()                  # tq is covered by the CRC: update it next clock
        m.d.comb += [utx.i_data.payload.eq(tq), utx.i_data.valid.eq(tq_valid),
                     rom_rd.addr.eq(r_cnt)]
        with m.If(utx.i_data.ready & tq_valid):
            m.d.sync += tq_valid.eq(0)
        sent = Signal()
        m.d.comb += sent.eq(tvalid & ~tq_valid)
        with m.If(sent):
            m.d.sync += [tq.eq(tb), tq_valid.eq(1)]
        m.d.sync += tq_crc.eq(0)
        with m.If(tq_crc):
            m.d.sync += r_crc.eq(crc16_update(r_crc, tq))
        with m.FSM(name="tx_fsm") as tx_fsm:
            with m.State("IDLE"):
                with m.If(r_start):
                    m.d.sync += [r_crc.eq(CRC_INIT), r_cnt.eq(0)]
                    m.next = "START"
            with m.State("START"):
                m.d.comb += [tb.eq(START), tvalid.eq(1)]
                with m.If(sent):
                    m.next = "LEN"
            with m.State("LEN"):
                m.d.comb += [tb.eq(r_len), tvalid.eq(1)]
                with m.If(sent):
                    m.d.sync += tq_crc.eq(1)
                    m.next = "CMD"
            with m.State("CMD"):
                m.d.comb += [tb.eq(r_cmd), tvalid.eq(1)]
                with m.If(sent):
                    m.d.sync += tq_crc.eq(1)
                    with m.If(r_len == 0):
                        m.next = "CRC_HI"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += [tb.eq(Mux(tx_rom, rom_rd.data, tx_word[:8])),
                             tvalid.eq(tx_left != 0)]
                with m.If(sent):
                    m.d.sync += [tq_crc.eq(1),
                                 tx_word.eq(tx_word >> 8), tx_left.eq(tx_left - 1),
                                 r_cnt.eq(r_cnt + 1)]
                    with m.If(r_cnt + 1 == r_len):
                        m.next = "CRC_HI"
            with m.State("CRC_HI"):
                m.d.comb += [tb.eq(r_crc[8:]), tvalid.eq(1)]
                with m.If(sent):
                    m.next = "CRC_LO"
            with m.State("CRC_LO"):
                m.d.comb += [tb.eq(r_crc[:8]), tvalid.eq(1)]
                with m.If(sent):
                    m.d.sync += tx_rom.eq(0)
                    m.next = "IDLE"
            m.d.comb += r_busy.eq(~tx_fsm.ongoing("IDLE") | r_start)

        # -- background steps ---------------------------------------------------------------
        pending = Signal(16)
        inflight = Signal(2)
        running = Signal()
        m.d.comb += running.eq((pending != 0) | (inflight != 0) | self.busy)
        room = cfifo.level + inflight < self.cycles_depth - 1
        # ``o_input`` leaves from a one-word buffer, so that the network top's ready (through
        # the router's arbiter) never reaches the executor's state in the same clock: an
        # input word or a step's end word is loaded when the buffer is free
        ob_valid = Signal()
        ob = Signal(input_layout(p))
        push_end = Signal()
        m.d.comb += push_end.eq((pending != 0) & room & ~ob_valid)
        end_taken = push_end
        add_pending = Signal(16)
        with m.If(clear):
            m.d.sync += [pending.eq(0), inflight.eq(0)]
        with m.Else():
            m.d.sync += [pending.eq(pending + add_pending - end_taken),
                         inflight.eq(inflight + end_taken - self.done)]
        done_d = Signal()                  # ``cycles`` holds the step's count one clock later
        m.d.sync += done_d.eq(self.done & ~clear)
        m.d.comb += [cfifo.w_data.eq(self.cycles), cfifo.w_en.eq(done_d)]
        o = self.i_output
        m.d.comb += [ofifo.w_data.eq(Cat(_pad16(o.payload.neuron), _pad16(o.payload.step))),
                     ofifo.w_en.eq(o.valid), o.ready.eq(ofifo.w_rdy)]

        # -- executor -----------------------------------------------------------------------
        pos = Signal(8)
        ent = Signal(8 * (4 + D))
        eidx = Signal(range(4 + D + 1))
        esize = Signal(range(4 + D + 1))
        n = Signal(8)
        phase = Signal()           # 0: validate every entry, 1: execute
        status = Signal(8)
        m.d.comb += rp.addr.eq(pos)

        e_target, e_space = ent[0:8], ent[8:16]
        e_addr, e_data = ent[16:32], ent[32:32 + 8 * D]
        is_write = (f_cmd >= Cmd.WRITE_WEIGHTS) & (f_cmd <= Cmd.WRITE_STATE)
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
        field_ok_r = Signal()
        at_end, short, too_many = Signal(), Signal(), Signal()
        m.d.sync += [field_ok_r.eq(field_ok), at_end.eq(pos == f_len),
                     short.eq(f_len - pos < esize), too_many.eq(n > max_reads)]

        cfg = self.o_cfg
        cb_valid = Signal()
        m.d.comb += [cfg.valid.eq(cb_valid),
                     cfg.payload.target.eq(e_target), cfg.payload.space.eq(e_space),
                     cfg.payload.addr.eq(e_addr), cfg.payload.data.eq(e_data),
                     cfg.payload.write.eq(f_cmd != Cmd.READ)]
        with m.If(cfg.valid & cfg.ready):
            m.d.sync += cb_valid.eq(0)
        inp = self.o_input
        in_load = Signal()
        m.d.comb += [inp.valid.eq(ob_valid), inp.payload.eq(ob)]
        with m.If(inp.valid & inp.ready):
            m.d.sync += ob_valid.eq(0)
        with m.If(push_end):
            m.d.sync += [ob_valid.eq(1), ob.end.eq(1), ob.channel.eq(0)]
        with m.If(in_load):
            m.d.sync += [ob_valid.eq(1), ob.end.eq(0), ob.channel.eq(ent[:16])]
        with m.If(clear):
            m.d.sync += ob_valid.eq(0)
        nfifo = Signal(8)

        def respond(code, length=1):
            m.d.sync += [tx_word.eq(code), tx_left.eq(1), r_len.eq(length)]
            m.d.comb += r_start.eq(1)

        # the receiver's verdict reaches the executor through registers (the CRC comparison
        # never meets the response's loads in one clock); the next frame's first byte is ten
        # bit times away
        frame_ok_r, frame_err_r, err_crc_r = Signal(), Signal(), Signal()
        err_code_r = Signal(8)
        m.d.sync += [frame_ok_r.eq(frame_ok), frame_err_r.eq(frame_err),
                     err_code_r.eq(err_code), err_crc_r.eq(rx_fsm.ongoing("CRC_LO"))]
        # READ_SPIKES and READ_CYCLES answer from a snapshot of the queues' levels, the step
        # count and the steps left, all taken in the same clock (one before the answer), so
        # that the answer is consistent and the levels' carry chains stay out of its loads
        k_spikes = Signal(range(MAX_EVENTS + 1))
        k_cycles = Signal(range(MAX_CYCLES + 1))
        snap_steps, snap_left = Signal(16), Signal(16)
        m.d.sync += [
            k_spikes.eq(Mux(ofifo.r_level > MAX_EVENTS, MAX_EVENTS, ofifo.r_level)),
            k_cycles.eq(Mux(cfifo.r_level > MAX_CYCLES, MAX_CYCLES, cfifo.r_level)),
            snap_steps.eq(_pad16(self.steps)), snap_left.eq((pending + inflight)[:16])]
        with m.FSM(name="exec_fsm") as ex:
            with m.State("IDLE"):
                m.d.comb += exec_idle.eq(1)
                with m.If(frame_err_r):
                    m.d.sync += r_cmd.eq(Mux(err_crc_r, f_cmd, 0xFF))
                    respond(err_code_r)
                    m.next = "FINISH"
                with m.Elif(frame_ok_r):
                    m.d.sync += [r_cmd.eq(f_cmd), pos.eq(0), n.eq(0), phase.eq(0)]
                    m.next = "DECODE"
            with m.State("DECODE"):
                with m.Switch(f_cmd):
                    with m.Case(Cmd.IDENTIFY):
                        with m.If(f_len != 0):
                            m.d.sync += status.eq(Status.BAD_LENGTH)
                            m.next = "ERROR"
                        with m.Else():
                            m.d.sync += [tx_rom.eq(1), tx_left.eq(len(ident) + 1),
                                         r_len.eq(len(ident) + 1)]
                            m.d.comb += r_start.eq(1)
                            m.next = "FINISH"
                    with m.Case(Cmd.RESET):
                        with m.If(f_len != 0):
                            m.d.sync += status.eq(Status.BAD_LENGTH)
                            m.next = "ERROR"
                        with m.Else():
                            if registered:
                                m.d.comb += reset_req.eq(1)
                            else:
                                m.d.comb += [clear.eq(1), self.net_reset.eq(1)]
                            respond(Status.OK)
                            m.next = "FINISH"
                    with m.Case(Cmd.READ_SPIKES, Cmd.READ_CYCLES):
                        with m.If(f_len != 0):
                            m.d.sync += status.eq(Status.BAD_LENGTH)
                            m.next = "ERROR"
                        with m.Else():
                            k = Mux(f_cmd == Cmd.READ_SPIKES, k_spikes, k_cycles)
                            m.d.sync += nfifo.eq(k)
                            with m.If(f_cmd == Cmd.READ_SPIKES):
                                m.d.sync += [
                                    tx_word.eq(Cat(Const(0, 8), snap_steps, snap_left)),
                                    tx_left.eq(5), r_len.eq(5 + (k << 2))]
                            with m.Else():
                                m.d.sync += [tx_word.eq(0), tx_left.eq(1),
                                             r_len.eq(1 + (k << 2))]
                            m.d.comb += r_start.eq(1)
                            m.next = "DRAIN"
                    with m.Case(Cmd.WRITE_WEIGHTS, Cmd.WRITE_PARAMS, Cmd.WRITE_ROUTES,
                                Cmd.WRITE_STATE, Cmd.READ, Cmd.INPUT, Cmd.RUN):
                        with m.If(running):
                            m.d.sync += status.eq(Status.BUSY)
                            m.next = "ERROR"
                        with m.Else():
                            m.d.sync += esize.eq(Mux(is_write, 4 + D, Mux(
                                f_cmd == Cmd.READ, 4, 2)))
                            m.next = "NEXT"
                    with m.Default():
                        m.d.sync += status.eq(Status.UNKNOWN)
                        m.next = "ERROR"
            with m.State("NEXT"):
                # the position's comparisons are registered (``at_end``, ``short``,
                # ``too_many``) and used in DECIDE, one clock later: ``pos`` and ``n`` do not
                # change in between, and no carry chain meets the response's loads in one clock
                with m.If(~cb_valid):                # else the last entry is still offered
                    m.next = "DECIDE"
            with m.State("DECIDE"):
                with m.If(at_end):
                    with m.If(phase == 0):
                        with m.If((f_cmd == Cmd.RUN) & (f_len != 2)):
                            m.d.sync += status.eq(Status.BAD_LENGTH)
                            m.next = "ERROR"
                        with m.Elif((f_cmd == Cmd.READ) & too_many):
                            m.d.sync += status.eq(Status.BAD_LENGTH)
                            m.next = "ERROR"
                        with m.Else():
                            m.d.sync += [phase.eq(1), pos.eq(0)]
                            with m.If(f_cmd == Cmd.READ):
                                respond(Status.OK, 1 + n * R)
                                m.next = "WAIT_SENT"
                            with m.Else():
                                m.next = "NEXT"
                    with m.Elif(f_cmd == Cmd.READ):
                        m.next = "FINISH"
                    with m.Else():
                        respond(Status.OK)
                        m.next = "FINISH"
                with m.Elif(short):
                    m.d.sync += status.eq(Status.BAD_LENGTH)
                    m.next = "ERROR"
                with m.Else():
                    m.d.sync += [eidx.eq(0), ent.eq(0)]
                    m.next = "LOAD_A"
            with m.State("WAIT_SENT"):
                with m.If(tx_left == 0):
                    m.next = "NEXT"
            with m.State("LOAD_A"):
                m.next = "LOAD_B"
            with m.State("LOAD_B"):
                # little-endian fields: byte eidx of the entry
                for i in range(4 + D):
                    with m.If(eidx == i):
                        m.d.sync += ent[8 * i:8 * i + 8].eq(rp.data)
                m.d.sync += [eidx.eq(eidx + 1), pos.eq(pos + 1)]
                with m.If(eidx + 1 == esize):
                    m.next = "CHECK"
                with m.Else():
                    m.next = "LOAD_A"
            with m.State("CHECK"):
                # ``ent`` is whole now; its field check is registered for ENTRY, so the
                # check's comparators never reach the executor's next state in one clock
                m.next = "ENTRY"
            with m.State("ENTRY"):
                with m.If(phase == 0):
                    with m.If(field_ok_r):
                        m.d.sync += n.eq(n + 1)
                        m.next = "NEXT"
                    with m.Else():
                        m.d.sync += status.eq(Status.BAD_FIELD)
                        m.next = "ERROR"
                with m.Elif(is_write | (f_cmd == Cmd.READ)):
                    m.d.sync += cb_valid.eq(1)
                    with m.If(f_cmd == Cmd.READ):
                        m.next = "RDATA"
                    with m.Else():
                        m.next = "NEXT"
                with m.Elif(f_cmd == Cmd.INPUT):
                    with m.If(~ob_valid):
                        m.d.comb += in_load.eq(1)
                        m.next = "NEXT"
                with m.Else():                       # RUN
                    m.d.comb += add_pending.eq(ent[:16])
                    m.next = "NEXT"
            with m.State("RDATA"):
                m.d.comb += self.i_rdata.ready.eq(1)
                with m.If(self.i_rdata.valid):
                    m.d.sync += [tx_word.eq(self.i_rdata.payload), tx_left.eq(R)]
                    m.next = "WAIT_SENT"
            with m.State("DRAIN"):
                with m.If(tx_left == 0):
                    with m.If(nfifo == 0):
                        m.next = "FINISH"
                    with m.Elif(f_cmd == Cmd.READ_SPIKES):
                        with m.If(o_ok) if registered else nullcontext():
                            m.d.comb += ofifo.r_en.eq(1)
                            m.d.sync += [tx_word.eq(o_head), tx_left.eq(4),
                                         nfifo.eq(nfifo - 1)]
                    with m.Elif(c_ok) if registered else m.Else():
                        m.d.comb += cfifo.r_en.eq(1)
                        m.d.sync += [tx_word.eq(c_head), tx_left.eq(4),
                                     nfifo.eq(nfifo - 1)]
            with m.State("ERROR"):
                respond(status)
                m.next = "FINISH"
            with m.State("FINISH"):
                with m.If(~r_busy):
                    m.next = "IDLE"

        # -- LEDs: each pulse stretched to 3-4 ticks of a shared 2**14-clock prescaler
        # (49,152 to 65,536 clocks), so that a person sees it
        tick = Signal()
        pre = Signal(14)
        m.d.sync += pre.eq(pre + 1)
        m.d.comb += tick.eq(pre == (1 << 14) - 1)
        for name, pulse in (("led_link", got | sent), ("led_spike", o.valid & o.ready),
                            ("led_error", ex.ongoing("ERROR") | frame_err)):
            hold = Signal(2, name=f"{name}_hold")
            with m.If(pulse):
                m.d.sync += hold.eq(3)
            with m.Elif(tick & (hold != 0)):
                m.d.sync += hold.eq(hold - 1)
            m.d.comb += getattr(self, name).eq(hold != 0)
        return m


class LinkedNetwork(wiring.Component):
    """A network top behind the host link: what a board top instantiates.

    Parameters
    ----------
    params : NetworkParams
    clk_hz : float
        Frequency of ``sync``.
    baud : int
        Default 1 Mbaud.
    timeout : int or None
        Inter-byte timeout in clocks (default 50 ms).

    Members
    -------
    rx : In(1)
    tx : Out(1)
    led_link, led_spike, led_error, led_busy : Out(1)
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)
    led_link: Out(1)
    led_spike: Out(1)
    led_error: Out(1)
    led_busy: Out(1)

    def __init__(self, params, clk_hz, baud=1_000_000, timeout=None, divisor=None):
        from spikefab.hdl.uart import uart_divisor
        self.params = params
        self.divisor = uart_divisor(clk_hz, baud) if divisor is None else divisor
        self.timeout = int(clk_hz * 0.05) if timeout is None else timeout
        self.link = Link(params, self.divisor, self.timeout)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.link = link = self.link
        net = NetworkTop(self.params)
        if "banked" in self.params.weight_rams:
            # the network in a domain of its own on the same clock, whose reset is only the
            # link's register: no power-on reset OR'ed in, which would cross the die twice
            m.domains.net = cd = ClockDomain("net", local=True)
            m.d.comb += [cd.clk.eq(ClockSignal("sync")), cd.rst.eq(link.net_reset)]
            m.submodules.net = DomainRenamer("net")(net)
        else:
            m.submodules.net = ResetInserter(link.net_reset)(net)
        wiring.connect(m, link.o_input, net.i_input)
        wiring.connect(m, net.o_output, link.i_output)
        wiring.connect(m, link.o_cfg, net.i_cfg)
        wiring.connect(m, net.o_rdata, link.i_rdata)
        m.d.comb += [link.busy.eq(net.busy), link.done.eq(net.done), link.steps.eq(net.steps),
                     link.cycles.eq(net.cycles), link.rx.eq(self.rx), self.tx.eq(link.tx),
                     self.led_link.eq(link.led_link), self.led_spike.eq(link.led_spike),
                     self.led_error.eq(link.led_error), self.led_busy.eq(net.busy)]
        return m
