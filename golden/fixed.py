"""Fixed-point primitives of ``docs/spec.md`` section 1.

Every function works on integers only: Python ``int`` or ``int64`` NumPy arrays. Nothing here
rounds through a float. The RTL implements the same primitives in ``spikefab.hdl`` (saturating
adders and the decay multiplier of the LIF pipeline and the trace units).
"""

import numpy as np

__all__ = [
    "DECAY_ONE", "DECAY_SHIFT",
    "signed_max", "unsigned_max", "sat", "usat", "decay", "signed_bits_for",
]

#: ``decay(x, d)`` multiplies ``|x|`` by ``DECAY_ONE - d`` and shifts right by ``DECAY_SHIFT``.
DECAY_SHIFT = 12
DECAY_ONE = 1 << DECAY_SHIFT


def signed_max(bits):
    """Largest value of the symmetric signed range of ``bits`` bits, ``2**(bits-1) - 1``.

    The symmetric range is ``[-signed_max(bits), signed_max(bits)]``; ``-2**(bits-1)`` never
    occurs, so the magnitude of a saturated value always fits ``bits - 1`` bits.
    """
    return (1 << (bits - 1)) - 1


def unsigned_max(bits):
    """Largest value of ``bits`` unsigned bits, ``2**bits - 1``."""
    return (1 << bits) - 1


def sat(x, bits):
    """Clip ``x`` to the symmetric signed range ``[-(2**(bits-1) - 1), 2**(bits-1) - 1]``.

    Parameters
    ----------
    x : int or numpy.ndarray of int64
        Exact value, any magnitude that ``int64`` holds.
    bits : int
        Width of the signed result, at least 2.
    """
    m = signed_max(bits)
    if isinstance(x, np.ndarray):
        return np.clip(x, -m, m)
    return max(-m, min(m, x))


def usat(x, bits):
    """Clip ``x`` to the unsigned range ``[0, 2**bits - 1]``."""
    m = unsigned_max(bits)
    if isinstance(x, np.ndarray):
        return np.clip(x, 0, m)
    return max(0, min(m, x))


def decay(x, d):
    """Loihi-style decay: ``sign(x) * ((|x| * (4096 - d)) >> 12)``.

    The magnitude is truncated toward zero, so a decayed value always reaches 0 (``-1`` decays
    to ``0``, never sticks). ``d = 0`` keeps ``x``; ``d = 4096`` clears it.

    Parameters
    ----------
    x : int or numpy.ndarray of int64
        Signed value. ``|x| * 4096`` must fit ``int64``, which holds for every width that the
        configuration accepts (at most 32 bits of state).
    d : int
        Decay constant in ``[0, 4096]``.
    """
    k = DECAY_ONE - d
    if isinstance(x, np.ndarray):
        return np.sign(x) * ((np.abs(x) * k) >> DECAY_SHIFT)
    mag = (abs(x) * k) >> DECAY_SHIFT
    return mag if x >= 0 else -mag


def signed_bits_for(magnitude):
    """Width of the narrowest symmetric signed range that holds ``[-magnitude, magnitude]``."""
    return max(int(magnitude).bit_length() + 1, 2)
