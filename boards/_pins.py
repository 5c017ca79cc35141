"""What every board top shares: pin buffers (Amaranth 0.5 ``io.Buffer`` around a requested
port) and the network behind the host link on the PLL's clock."""

from amaranth.lib import io

from spikefab.hdl.clocks import ClockReset
from spikefab.hdl.link import LinkedNetwork

__all__ = ["pin_in", "pin_out", "linked_network"]


def pin_in(m, name, port):
    """The input value of ``port`` (``platform.request(..., dir="-")``), buffered as ``name``."""
    m.submodules[name] = buf = io.Buffer("i", port)
    return buf.i


def pin_out(m, name, port):
    """The output value of ``port``, buffered as ``name``: assign to it."""
    m.submodules[name] = buf = io.Buffer("o", port)
    return buf.o


def linked_network(m, params, board, uart, leds, clk=None, button=None, hfosc=False):
    """Instantiate the design of a board top in ``m``: the PLL (``hdl/clocks.py``) from the
    board's oscillator to its design clock, and the network of ``params`` behind the host
    link (``LinkedNetwork``, ``docs/protocol.md``) at that clock, on the ``uart`` pins.

    Parameters
    ----------
    clk, button : requested ports or None
        The oscillator's pin (None with ``hfosc``: the iCE40's internal oscillator; a pad
        given as the iCE40 PLL's ``pad``) and the reset button (None: no button).
    leds : dict
        ``{signal: requested LED port}``, signals ``"link"`` (a byte in or out), ``"spike"``
        (an output event), ``"busy"`` (a step running), ``"error"`` (an error response),
        ``"locked"`` (the PLL); stretched so that a person sees them.

    Returns
    -------
    LinkedNetwork
    """
    if hfosc:
        clocks = ClockReset(board.family, 48e6, board.target_hz, hfosc=True)
    elif board.family == "ice40":
        clocks = ClockReset(board.family, board.clock_hz, board.target_hz, pad=clk)
    else:
        clocks = ClockReset(board.family, board.clock_hz, board.target_hz)
    m.submodules.clocks = clocks
    if board.family == "ecp5":
        m.d.comb += clocks.clk.eq(pin_in(m, "clk", clk))
    if button is not None:
        m.d.comb += clocks.button.eq(pin_in(m, "button", button))
    m.submodules.design = design = LinkedNetwork(params, clocks.frequency)
    m.d.comb += [design.rx.eq(pin_in(m, "uart_rx", uart.rx)),
                 pin_out(m, "uart_tx", uart.tx).eq(design.tx)]
    sources = {"link": design.led_link, "spike": design.led_spike, "busy": design.led_busy,
               "error": design.led_error, "locked": clocks.locked}
    for what, port in leds.items():
        m.d.comb += pin_out(m, f"led_{what}", port).eq(sources[what])
    return design
