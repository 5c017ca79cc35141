"""Pin buffers for the board tops: Amaranth 0.5 ``io.Buffer`` around a requested port."""

from amaranth.lib import io

__all__ = ["pin_in", "pin_out"]


def pin_in(m, name, port):
    """The input value of ``port`` (``platform.request(..., dir="-")``), buffered as ``name``."""
    m.submodules[name] = buf = io.Buffer("i", port)
    return buf.i


def pin_out(m, name, port):
    """The output value of ``port``, buffered as ``name``: assign to it."""
    m.submodules[name] = buf = io.Buffer("o", port)
    return buf.o
