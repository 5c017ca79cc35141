"""spikefab: open neuromorphic hardware you can generate, prove and flash from Python.

``spikefab.golden`` is the bit-exact NumPy model of ``docs/spec.md``; ``spikefab.hdl`` the
Amaranth RTL; ``spikefab.boards`` the board tops and flows. ``spikefab.load(path)`` reads and
validates a network file.
"""

__version__ = "0.1.0"

from .golden import load, loads, simulate  # noqa: E402

__all__ = ["__version__", "load", "loads", "simulate"]
