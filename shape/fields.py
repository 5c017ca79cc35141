"""Bit fields of a word: the one description of every word that gateware and host exchange.

A :class:`Fields` is an ordered record of unsigned fields, the first in the lowest bits. The
gateware turns it into an Amaranth ``data.StructLayout`` with the same fields in the same order
(``spikefab.hdl.layouts.struct``), the host packs and unpacks integers with it: both read one
definition, so the two sides cannot drift apart.
"""

from dataclasses import dataclass

from spikefab.errors import InvalidValue

__all__ = ["uint_bits", "Field", "Fields"]


def uint_bits(n):
    """Unsigned bits that hold ``0 .. n`` (at least 1)."""
    return max(1, int(n).bit_length())


@dataclass(frozen=True)
class Field:
    """One field: its lowest bit and its width."""

    offset: int
    width: int

    @property
    def mask(self):
        return (1 << self.width) - 1


class Fields:
    """Ordered unsigned bit fields, the first in the lowest bits.

    Parameters
    ----------
    widths : dict
        ``{name: width}`` in order, each width a positive integer.
    """

    def __init__(self, widths):
        self._fields = {}
        offset = 0
        for name, width in widths.items():
            if not isinstance(width, int) or width < 1:
                raise InvalidValue(f"Width of field {name!r} must be a positive integer, not "
                                   f"{width!r}")
            self._fields[name] = Field(offset, width)
            offset += width
        self.size = offset

    def __getitem__(self, name):
        return self._fields[name]

    def __iter__(self):
        return iter(self._fields.items())

    def __contains__(self, name):
        return name in self._fields

    def __eq__(self, other):
        return isinstance(other, Fields) and self._fields == other._fields

    def __hash__(self):
        return hash(tuple(self._fields.items()))

    def __repr__(self):
        return "Fields({" + ", ".join(f"{n!r}: {f.width}" for n, f in self) + "})"

    def widths(self):
        """``{name: width}`` in order."""
        return {n: f.width for n, f in self}

    def pack(self, **values):
        """The word holding ``values`` (missing fields 0; each value cut to its field's width,
        so negative values enter as two's complement)."""
        word = 0
        for name, value in values.items():
            f = self._fields[name]
            word |= (int(value) & f.mask) << f.offset
        return word

    def unpack(self, word):
        """``{name: unsigned value}`` of ``word``."""
        word = int(word)
        return {n: (word >> f.offset) & f.mask for n, f in self}

    def to_json(self):
        return {n: {"offset": f.offset, "width": f.width} for n, f in self}
