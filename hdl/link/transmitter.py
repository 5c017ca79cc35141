"""The link's transmitter: a response frame, its CRC appended, out to the UART."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.protocol import CRC_INIT, START

from ..uart import crc16_update

__all__ = ["Transmitter"]


class Transmitter(wiring.Component):
    """Frames a response: ``START``, ``length``, the echoed ``cmd`` and ``seq``, ``length``
    bytes from ``i_payload``, the CRC-16 (``docs/protocol.md``).

    Each byte goes to a one-byte register in front of the UART (``o_byte``), and the CRC
    takes it from there a clock later: neither the UART's state nor the CRC's logic meets
    the payload's byte multiplexer in one clock; a byte takes ten bit times, so the register
    costs no throughput. No memories.

    Members
    -------
    start : In(1)
        Begins a frame (when not ``busy``).
    length, cmd, seq : In(8)
        The payload's length (from the clock after ``start``), the command and the sequence
        number echoed, held until the frame is sent.
    i_payload : In(stream.Signature(8))
        The payload bytes.
    o_byte : Out(stream.Signature(8))
        To the UART.
    count : Out(8)
        Payload bytes sent so far.
    busy : Out(1)
        A frame is being sent (or begins this clock).
    sent : Out(1)
        A byte of the frame goes to the UART register this clock.
    last : Out(1)
        The frame's last byte goes to the UART register this clock.
    """

    start: In(1)
    length: In(8)
    cmd: In(8)
    seq: In(8)
    i_payload: In(stream.Signature(8))
    o_byte: Out(stream.Signature(8))
    count: Out(8)
    busy: Out(1)
    sent: Out(1)
    last: Out(1)

    def elaborate(self, platform):
        m = Module()
        r_len = self.length
        r_start = self.start
        r_crc = Signal(16, init=CRC_INIT)
        r_cnt = Signal(8)
        tb = Signal(8)
        tvalid = Signal()
        tq = Signal(8)
        tq_valid = Signal()
        tq_crc = Signal()                  # tq is covered by the CRC: update it next clock
        m.d.comb += [self.o_byte.payload.eq(tq), self.o_byte.valid.eq(tq_valid),
                     self.count.eq(r_cnt)]
        with m.If(self.o_byte.ready & tq_valid):
            m.d.sync += tq_valid.eq(0)
        sent = self.sent
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
                m.d.comb += [tb.eq(self.cmd), tvalid.eq(1)]
                with m.If(sent):
                    m.d.sync += tq_crc.eq(1)
                    m.next = "SEQ"
            with m.State("SEQ"):
                m.d.comb += [tb.eq(self.seq), tvalid.eq(1)]
                with m.If(sent):
                    m.d.sync += tq_crc.eq(1)
                    with m.If(r_len == 0):
                        m.next = "CRC_HI"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += [tb.eq(self.i_payload.payload), tvalid.eq(self.i_payload.valid),
                             self.i_payload.ready.eq(~tq_valid)]
                with m.If(sent):
                    m.d.sync += [tq_crc.eq(1), r_cnt.eq(r_cnt + 1)]
                    with m.If(r_cnt + 1 == r_len):
                        m.next = "CRC_HI"
            with m.State("CRC_HI"):
                m.d.comb += [tb.eq(r_crc[8:]), tvalid.eq(1)]
                with m.If(sent):
                    m.next = "CRC_LO"
            with m.State("CRC_LO"):
                m.d.comb += [tb.eq(r_crc[:8]), tvalid.eq(1)]
                with m.If(sent):
                    m.d.comb += self.last.eq(1)
                    m.next = "IDLE"
            m.d.comb += self.busy.eq(~tx_fsm.ongoing("IDLE") | r_start)
        return m
