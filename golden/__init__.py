"""The bit-exact NumPy golden model of ``docs/spec.md``: the spec in code.

NumPy only; never imports amaranth. ``spikefab.hdl`` reads its parameter dataclasses and every
RTL test compares against its step functions.
"""

from .fixed import DECAY_ONE, decay, sat, signed_max, unsigned_max, usat
from .params import ACC_MAX_BITS, Hardware, Network, Population, Projection, Stdp
from .config import dump, load, loads
from .lif import lif_step
from .simulator import SimResult, Simulator, check_inputs, deliver, present, simulate
from .encode import (SCHEMES, burst_encode, delta_decode, delta_encode, encode, first_spike_time,
                     phase_decode, phase_encode, phase_weights, population_vote, rate_encode,
                     regular_encode, spike_count, ttfs_decode, ttfs_encode, RATE_INTENSITY_BITS,
                     chip_rate_encode, chip_rate_phases)
from .quantize import Quantized, import_weights, quantize

__all__ = [
    "DECAY_ONE", "decay", "sat", "signed_max", "unsigned_max", "usat",
    "ACC_MAX_BITS", "Hardware", "Network", "Population", "Projection", "Stdp",
    "dump", "load", "loads", "lif_step", "SimResult", "Simulator", "check_inputs", "deliver",
    "simulate", "present", "SCHEMES", "encode", "rate_encode", "regular_encode", "ttfs_encode", "burst_encode",
    "phase_encode", "phase_weights", "delta_encode", "spike_count", "first_spike_time",
    "population_vote", "ttfs_decode", "phase_decode", "delta_decode", "RATE_INTENSITY_BITS", "chip_rate_encode", "chip_rate_phases", "Quantized", "import_weights", "quantize",
]
