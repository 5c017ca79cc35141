"""Amaranth layouts of the words that ``spikefab.shape`` describes as :class:`Fields`."""

from amaranth.hdl import unsigned
from amaranth.lib import data

__all__ = ["struct"]


def struct(fields):
    """The ``data.StructLayout`` of ``fields`` (unsigned members, in the same order, so at
    the same offsets)."""
    return data.StructLayout({name: unsigned(f.width) for name, f in fields})
