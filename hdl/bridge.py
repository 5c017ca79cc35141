"""A minimal UART bridge: every port of a design driven and observed over two pins.

Until the host link of issue 7 lands, the board tops reach the network through this bridge, so
that synthesis keeps the whole design (nothing is trimmed: every input comes from a register
that the UART writes, every output is captured into a register that the UART reads) and a
person can poke the design by hand from a terminal.

Protocol (8N1 bytes, host to board):

* ``0b0ddddddd``: shift 7 data bits into the input shift register, ``7 * ceil(in_bits / 7)``
  bits wide (new bits enter at the top): send the ``ceil(in_bits / 7)`` 7-bit groups of the
  input word, least significant first.
* ``0x80`` (``HOLD``): drive the design's inputs from the shift register, continuously.
* ``0x81`` (``PULSE``): drive them for one clock, then return every input to 0 (a stream
  transfer or a ``start`` pulse happens exactly once).
* ``0x82`` (``READ``): capture every output of the design and send it back, least significant
  byte first, ``ceil(out_bits / 8)`` bytes.

Inputs and outputs are the design's ports in ``signature.flatten`` order, concatenated from
bit 0 (:func:`port_map` gives the offsets).
"""

from amaranth.hdl import Cat, Const, Elaboratable, Module, Signal, Value
from amaranth.lib import wiring

__all__ = ["HOLD", "PULSE", "READ", "port_map", "UartRx", "UartTx", "UartBridge"]

HOLD, PULSE, READ = 0x80, 0x81, 0x82


def port_map(design):
    """``(inputs, outputs)``: lists of ``(name, offset, width)`` of the bridge's words."""
    ins, outs, io, oo = [], [], 0, 0
    for path, member, value in design.signature.flatten(design):
        name = ".".join(str(p) for p in path)
        width = len(Value.cast(value))
        if member.flow == wiring.In:
            ins.append((name, io, width))
            io += width
        else:
            outs.append((name, oo, width))
            oo += width
    return ins, outs


def _divisor(clk_hz, baud):
    div = round(clk_hz / baud)
    if div < 4 or abs(clk_hz / div - baud) / baud > 0.02:
        raise ValueError(f"Baud rate must be within 2% of clk / n for an integer n >= 4; "
                         f"{baud} at {clk_hz / 1e6:g} MHz is not")
    return div


class UartRx(Elaboratable):
    """8N1 receiver. ``data`` is valid for the one clock of ``valid`` after each stop bit."""

    def __init__(self, divisor):
        self.divisor = divisor
        self.rx = Signal(init=1)
        self.data = Signal(8)
        self.valid = Signal()
        self.busy = Signal()

    def elaborate(self, platform):
        m = Module()
        div = self.divisor
        rx_s = Signal(2, init=0b11)
        m.d.sync += rx_s.eq(Cat(self.rx, rx_s[0]))
        rx = rx_s[1]
        timer = Signal(range(div * 3 // 2 + 1))
        bit = Signal(range(10))
        shreg = Signal(8)
        m.d.sync += self.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    # first sample in the middle of bit 0: one and a half bit times away
                    m.d.sync += [timer.eq(div * 3 // 2 - 1), bit.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += self.busy.eq(1)
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(bit == 8):
                    # the middle of the stop bit: a framing error drops the byte
                    m.d.sync += [self.data.eq(shreg), self.valid.eq(rx)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += [shreg.eq(Cat(shreg[1:], rx)), bit.eq(bit + 1),
                                 timer.eq(div - 1)]
        return m


class UartTx(Elaboratable):
    """8N1 transmitter: ``data`` is taken when ``valid & ready``."""

    def __init__(self, divisor):
        self.divisor = divisor
        self.tx = Signal(init=1)
        self.data = Signal(8)
        self.valid = Signal()
        self.ready = Signal()

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        shreg = Signal(10, init=0x3FF)
        bits = Signal(range(11))
        m.d.comb += [self.tx.eq(shreg[0]), self.ready.eq(bits == 0)]
        with m.If(bits == 0):
            with m.If(self.valid):
                m.d.sync += [shreg.eq(Cat(Const(0, 1), self.data, Const(1, 1))), bits.eq(10),
                             timer.eq(self.divisor - 1)]
        with m.Elif(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.Else():
            m.d.sync += [shreg.eq(Cat(shreg[1:], Const(1, 1))), bits.eq(bits - 1),
                         timer.eq(self.divisor - 1)]
        return m


class UartBridge(Elaboratable):
    """``design`` behind a UART: see the module docstring for the protocol.

    Parameters
    ----------
    design : wiring.Component
        Instantiated as the submodule ``design``.
    clk_hz : float
        Frequency of ``sync``.
    baud : int
        Line rate, default 1 Mbaud (as the host link of issue 7).
    status : str or None
        Name (``port_map`` spelling, e.g. ``"busy"``) of a one-bit output shown on
        ``led_status``, stretched so that a one-clock pulse is visible.

    Members
    -------
    rx : Signal, in
    tx : Signal, out
    led_rx, led_tx, led_link, led_status : Signal, out
        Bytes received, bytes sent, either, and the design's status, stretched to ~20 ms
        (3 to 4 ticks of a ~6 ms prescaler).
    """

    def __init__(self, design, clk_hz, baud=1_000_000, status=None):
        self.design = design
        try:
            self.divisor = _divisor(clk_hz, baud)
            self.in_map, self.out_map = port_map(design)
            names = [n for n, _, _ in self.out_map]
            if status is not None and status not in names:
                raise ValueError(f"Status must be one of the design's outputs "
                                 f"({', '.join(names)}), not {status!r}")
        except Exception:
            self._MustUse__silence = True     # a rejected bridge is not an unused design
            raise
        self.clk_hz = clk_hz
        self.status = status
        self.rx = Signal(init=1)
        self.tx = Signal(init=1)
        self.led_rx = Signal()
        self.led_tx = Signal()
        self.led_link = Signal()
        self.led_status = Signal()

    @property
    def in_bits(self):
        return sum(w for _, _, w in self.in_map)

    @property
    def out_bits(self):
        return sum(w for _, _, w in self.out_map)

    def _stretch(self, m, name, pulse, out):
        # 3 to 4 ticks of the shared prescaler: short counters only, off the critical path
        hold = Signal(2, name=f"{name}_hold")
        with m.If(pulse):
            m.d.sync += hold.eq(3)
        with m.Elif(self._tick & (hold != 0)):
            m.d.sync += hold.eq(hold - 1)
        m.d.comb += out.eq(hold != 0)

    def elaborate(self, platform):
        m = Module()
        m.submodules.design = design = self.design
        m.submodules.uart_rx = urx = UartRx(self.divisor)
        m.submodules.uart_tx = utx = UartTx(self.divisor)
        m.d.comb += [urx.rx.eq(self.rx), self.tx.eq(utx.tx)]

        ins, outs = [], []
        for path, member, value in design.signature.flatten(design):
            (ins if member.flow == wiring.In else outs).append(Value.cast(value))
        in_bits = max(1, self.in_bits)
        out_bytes = max(1, -(-self.out_bits // 8))
        shreg = Signal(7 * -(-in_bits // 7))
        held = Signal(in_bits)
        sout = Signal(out_bytes * 8)
        left = Signal(range(out_bytes + 1))
        m.d.comb += Cat(*ins).eq(held)

        with m.If(urx.valid):
            with m.If(~urx.data[7]):
                m.d.sync += shreg.eq(Cat(shreg[7:], urx.data[:7]))
            with m.Elif(urx.data == HOLD):
                m.d.sync += held.eq(shreg[:in_bits])
            with m.Elif(urx.data == PULSE):
                m.d.sync += held.eq(shreg[:in_bits])
            with m.Elif((urx.data == READ) & (left == 0)):
                m.d.sync += [sout.eq(Cat(*outs)), left.eq(out_bytes)]
        pulse = Signal()
        m.d.sync += pulse.eq(urx.valid & (urx.data == PULSE))
        with m.If(pulse):
            m.d.sync += held.eq(0)

        m.d.comb += [utx.data.eq(sout[:8]), utx.valid.eq(left != 0)]
        with m.If(utx.valid & utx.ready):
            m.d.sync += [sout.eq(sout >> 8), left.eq(left - 1)]

        # prescaler: one tick every 2**k clocks, ~6 ms
        k = max(1, int(self.clk_hz * 0.006).bit_length() - 1)
        prescaler = Signal(k)
        self._tick = Signal()
        m.d.sync += Cat(prescaler, self._tick).eq(prescaler + 1)
        self._stretch(m, "rx", urx.valid, self.led_rx)
        self._stretch(m, "tx", utx.valid & utx.ready, self.led_tx)
        self._stretch(m, "link", urx.valid | (utx.valid & utx.ready), self.led_link)
        status = Const(0, 1)
        if self.status is not None:
            off = {n: o for n, o, _ in self.out_map}[self.status]
            status = Cat(*outs)[off]
        self._stretch(m, "status", status, self.led_status)
        return m
