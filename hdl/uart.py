"""8N1 UART receiver and transmitter with stream byte ports, and the CRC-16 of the host link.

``divisor`` is the number of ``sync`` clocks per bit (at least 4); :func:`uart_divisor` picks
it from a clock and a baud rate.
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.errors import InvalidValue
from spikefab.shape.protocol import CRC_POLY

__all__ = ["uart_divisor", "crc16_update", "UartRx", "UartTx"]


def uart_divisor(clk_hz, baud):
    """Clocks per bit: ``round(clk_hz / baud)``, at least 4 and within 2% of ``baud``."""
    if not isinstance(baud, int) or baud <= 0:
        raise InvalidValue(f"Baud rate must be a positive integer, not {baud!r}")
    div = round(clk_hz / baud)
    if div < 4 or abs(clk_hz / div - baud) / baud > 0.02:
        raise InvalidValue(f"Baud rate must be within 2% of clk / n for an integer n >= 4; "
                           f"{baud} at {clk_hz / 1e6:g} MHz is not")
    return div


def crc16_update(crc, byte):
    """The CRC-16/CCITT-FALSE register after ``byte``: an Amaranth expression, the same
    recurrence as ``spikefab.host.protocol.crc16``. Each output bit is a flat XOR of input
    bits, found by running the 8 shift steps on sets of bit names."""
    # state bit k as a set of terms ("c", i) / ("b", i); XOR is symmetric difference
    c = [{("c", i)} for i in range(16)]
    for i in range(8):
        c[8 + i] = c[8 + i] ^ {("b", i)}
    for _ in range(8):
        top = c[15]
        c = [set()] + c[:15]
        for k in range(16):
            if (CRC_POLY >> k) & 1:
                c[k] = c[k] ^ top
    bits = []
    for terms in c:
        v = Const(0, 1)
        for kind, i in sorted(terms):
            v = v ^ (crc[i] if kind == "c" else byte[i])
        bits.append(v)
    return Cat(*bits)


class UartRx(wiring.Component):
    """8N1 receiver. Each byte whose stop bit is high is offered on ``o_data`` for one clock
    (no backpressure: a byte not taken is lost); a framing error drops the byte.

    The line goes through a two-flop synchroniser; the start bit is confirmed in its middle,
    each bit is sampled in its middle.

    Members
    -------
    rx : In(1)
    o_data : Out(stream.Signature(8))
    busy : Out(1)
        A byte is being received.
    """

    rx: In(1, init=1)
    o_data: Out(stream.Signature(8))
    busy: Out(1)

    def __init__(self, divisor):
        if not isinstance(divisor, int) or divisor < 4:
            raise ValueError(f"Divisor must be an integer >= 4, not {divisor!r}")
        self.divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        div = self.divisor
        sync_ = Signal(2, init=0b11)
        m.d.sync += sync_.eq(Cat(self.rx, sync_[0]))
        rx = sync_[1]
        timer = Signal(range(div))
        bit = Signal(range(10))
        shreg = Signal(8)
        m.d.sync += self.o_data.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += [timer.eq(div // 2 - 1), bit.eq(0)]
                    m.next = "START"
            with m.State("START"):
                m.d.comb += self.busy.eq(1)
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(rx):
                    m.next = "IDLE"                       # a glitch, not a start bit
                with m.Else():
                    m.d.sync += timer.eq(div - 1)
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += self.busy.eq(1)
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(bit == 8):
                    m.d.sync += [self.o_data.payload.eq(shreg), self.o_data.valid.eq(rx)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [shreg.eq(Cat(shreg[1:], rx)), bit.eq(bit + 1),
                                 timer.eq(div - 1)]
        return m


class UartTx(wiring.Component):
    """8N1 transmitter; takes a byte from ``i_data`` when idle.

    Members
    -------
    i_data : In(stream.Signature(8))
    tx : Out(1)
    busy : Out(1)
    """

    i_data: In(stream.Signature(8))
    tx: Out(1, init=1)
    busy: Out(1)

    def __init__(self, divisor):
        if not isinstance(divisor, int) or divisor < 4:
            raise ValueError(f"Divisor must be an integer >= 4, not {divisor!r}")
        self.divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        shreg = Signal(10, init=0x3FF)
        bits = Signal(range(11))
        m.d.comb += [self.tx.eq(shreg[0]), self.i_data.ready.eq(bits == 0),
                     self.busy.eq(bits != 0)]
        with m.If(bits == 0):
            with m.If(self.i_data.valid):
                m.d.sync += [shreg.eq(Cat(Const(0, 1), self.i_data.payload, Const(1, 1))),
                             bits.eq(10), timer.eq(self.divisor - 1)]
        with m.Elif(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.Else():
            m.d.sync += [shreg.eq(Cat(shreg[1:], Const(1, 1))), bits.eq(bits - 1),
                         timer.eq(self.divisor - 1)]
        return m
