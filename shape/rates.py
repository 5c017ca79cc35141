"""The on-chip rate generator's shape (``docs/spec.md`` section 7, ``docs/protocol.md``
PRESENT): how a presentation's intensities travel and where the link keeps them.

Pure Python. The link's gateware (``spikefab.hdl.link.rates``) and the host
(``Device.present``) both use these numbers; the spikes themselves are
:func:`spikefab.golden.chip_rate_encode`.

A presentation's intensities are 4 bits a channel, two channels a byte (channel ``2 i`` in the
low nibble of byte ``i``), ``ceil(inputs / 2)`` bytes an image. The link keeps ``slots`` images
(a ring of slots, ``stride`` bytes apart, a power of two): as many as one 4-kbit block RAM
holds, at least 2 and at most 8. A PRESENT frame carries ``steps(2)`` and up to
``per_frame`` images.
"""

from spikefab.errors import InvalidValue
from spikefab.golden.encode import RATE_INTENSITY_BITS

__all__ = ["MAX_RATE_INPUTS", "image_bytes", "rate_stride", "rate_slots", "per_frame",
           "check_rates", "rate_info", "pack_rates"]

#: The most input channels whose image fits one PRESENT frame (253 bytes after ``steps``).
MAX_RATE_INPUTS = 2 * 253


def image_bytes(inputs):
    """Bytes of one image's intensities: two channels a byte."""
    return (inputs + 1) // 2


def rate_stride(inputs):
    """Bytes between two slots of the link's intensity memory (a power of two)."""
    return 1 << max(0, (image_bytes(inputs) - 1).bit_length())


def rate_slots(inputs):
    """Images the link keeps: what one 512-byte block RAM holds, clamped to ``[2, 8]``."""
    return max(2, min(8, 512 // rate_stride(inputs)))


def per_frame(inputs):
    """Images one PRESENT frame carries at most."""
    return min(rate_slots(inputs), (255 - 2) // image_bytes(inputs))


def check_rates(inputs, rate_bits):
    """Raise :class:`InvalidValue` unless a generator of ``rate_bits`` can serve ``inputs``."""
    if not 4 <= rate_bits <= 16:
        raise InvalidValue(f"Hardware rate_bits must be 0 (no rate generator) or an integer in "
                           f"[4, 16], not {rate_bits}")
    if not 1 <= inputs <= MAX_RATE_INPUTS:
        raise InvalidValue(f"The on-chip rate generator serves 1 to {MAX_RATE_INPUTS} input "
                           f"channels (an image must fit one PRESENT frame), not {inputs}: "
                           f"set rate_bits = 0")


def rate_info(inputs, rate_bits):
    """What the build's shape records of its generator."""
    return {"bits": rate_bits, "intensity_bits": RATE_INTENSITY_BITS,
            "slots": rate_slots(inputs), "stride": rate_stride(inputs),
            "image_bytes": image_bytes(inputs)}


def pack_rates(q):
    """One image's intensities (``inputs`` ints in ``[0, 15]``) as PRESENT's bytes."""
    q = [int(v) for v in q]
    if len(q) % 2:
        q.append(0)
    return bytes(q[i] | (q[i + 1] << 4) for i in range(0, len(q), 2))
