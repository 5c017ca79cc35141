"""spikefab: open neuromorphic hardware you can generate, prove and flash from Python.

``spikefab.golden`` is the bit-exact NumPy model of ``docs/spec.md``; ``spikefab.shape`` what
gateware and host agree on (``derive``: a network's hardware shape); ``spikefab.hdl`` the
Amaranth gateware; ``spikefab.sim`` its simulations; ``spikefab.boards`` the board tops and
flows; ``spikefab.host`` the device link; ``spikefab.interop`` NIR graphs in and out
(``docs/architecture.md``). ``spikefab.load(path)`` reads and validates a network file;
:class:`Error` is the base of every error that a user's input causes.
"""

__version__ = "0.1.0"

from .errors import Error  # noqa: E402
from .golden import load, loads, simulate  # noqa: E402

__all__ = ["__version__", "Error", "load", "loads", "simulate"]
