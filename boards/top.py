"""The one board top: the network behind the host link on a board's pins, from its pin / clock
table (:class:`~spikefab.boards.catalog.Pins`).

Every board gets the same design: the PLL and reset (``ClockReset``, ``hdl/clocks.py``: it
creates and drives ``sync``, the top only adds it) from the board's oscillator pin, the iCE40
PLL pad or the internal oscillator; the reset button if the board has one;
``LinkedNetwork`` (``hdl/link/``, ``docs/protocol.md``) at the PLL's frequency on the UART
pins; and the LEDs of the table, each showing one of link activity, spikes, a step running,
an error response, PLL locked.
Pins go through Amaranth 0.5 ``io.Buffer`` around ports requested with the table's ``dir``.
"""

from amaranth.hdl import Elaboratable, Module
from amaranth.lib import io

from spikefab.hdl.clocks import ClockReset
from spikefab.hdl.link import LinkedNetwork

__all__ = ["BoardTop"]

#: Reference of the PLL when a board uses the iCE40's internal oscillator (``SB_HFOSC``).
HFOSC_HZ = 48e6


def _pin_in(m, name, port):
    """The input value of ``port``, buffered as ``name``."""
    m.submodules[name] = buf = io.Buffer("i", port)
    return buf.i


def _pin_out(m, name, port):
    """The output value of ``port``, buffered as ``name``: assign to it."""
    m.submodules[name] = buf = io.Buffer("o", port)
    return buf.o


class BoardTop(Elaboratable):
    """The network of ``params`` behind the host link on the pins of ``board``.

    A platform top: it has no ports of its own (it requests the board's resources), hence an
    ``Elaboratable`` rather than a ``wiring.Component``.

    Parameters
    ----------
    params : NetworkParams
        The network's shape on this board (``boards/design.py``).
    board : Board
        Its :attr:`~spikefab.boards.catalog.Board.pins` say what to request; its ``family``,
        ``clock_hz`` and ``target_hz`` set the PLL.
    """

    def __init__(self, params, board):
        self.params, self.board = params, board

    def _request(self, platform, cache, resource):
        """The port of ``resource`` (``(name, number[, subsignal])``), each resource
        requested once."""
        key = tuple(resource[:2])
        if key not in cache:
            cache[key] = platform.request(*key, dir=self.board.pins.dir)
        port = cache[key]
        return getattr(port, resource[2]) if len(resource) > 2 else port

    def _clocks(self, m, platform, cache):
        board, pins = self.board, self.board.pins
        if pins.clock_source == "hfosc":
            clocks = ClockReset(board.family, HFOSC_HZ, board.target_hz, hfosc=True)
        elif pins.clock_source == "pad":
            clocks = ClockReset(board.family, board.clock_hz, board.target_hz,
                                pad=self._request(platform, cache, pins.clock))
        else:
            clocks = ClockReset(board.family, board.clock_hz, board.target_hz)
        m.submodules.clocks = clocks
        m.domains += clocks.clock_domain
        if pins.clock_source == "pin":
            m.d.comb += clocks.clk.eq(_pin_in(m, "clk", self._request(platform, cache,
                                                                      pins.clock)))
        if pins.reset is not None:
            m.d.comb += clocks.button.eq(_pin_in(m, "button", self._request(platform, cache,
                                                                            pins.reset)))
        return clocks

    def elaborate(self, platform):
        pins = self.board.pins
        m = Module()
        if pins.resources:
            platform.add_resources(list(pins.resources))
        cache = {}
        leds = {what: self._request(platform, cache, res) for what, res in pins.leds.items()}
        uart = self._request(platform, cache, pins.uart)
        clocks = self._clocks(m, platform, cache)
        m.submodules.design = design = LinkedNetwork(self.params, clocks.frequency,
                                                      baud=self.board.baud)
        m.d.comb += [design.rx.eq(_pin_in(m, "uart_rx", uart.rx)),
                     _pin_out(m, "uart_tx", uart.tx).eq(design.tx)]
        sources = {"link": design.led_link, "spike": design.led_spike,
                   "busy": design.led_busy, "error": design.led_error, "locked": clocks.locked}
        for what, port in leds.items():
            m.d.comb += _pin_out(m, f"led_{what}", port).eq(sources[what])
        return m
