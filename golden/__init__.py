"""The bit-exact NumPy golden model of ``docs/spec.md``: the spec in code.

NumPy only; never imports amaranth. ``spikefab.hdl`` reads its parameter dataclasses and every
RTL test compares against its step functions.
"""

from .fixed import DECAY_ONE, decay, sat, signed_max, unsigned_max, usat
from .params import ACC_MAX_BITS, Hardware, Network, Population, Projection, Stdp
from .config import dump, load, loads
from .lif import lif_step
from .simulator import SimResult, Simulator, check_inputs, deliver, simulate
from .encode import rate_encode
from .quantize import Quantized, import_weights, quantize

__all__ = [
    "DECAY_ONE", "decay", "sat", "signed_max", "unsigned_max", "usat",
    "ACC_MAX_BITS", "Hardware", "Network", "Population", "Projection", "Stdp",
    "dump", "load", "loads", "lif_step", "SimResult", "Simulator", "check_inputs", "deliver",
    "simulate", "rate_encode", "Quantized", "import_weights", "quantize",
]
