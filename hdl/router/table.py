"""The router's table write port: configuration words into the pointer table or the list."""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.memory import WritePort
from amaranth.lib.wiring import In
from amaranth.utils import ceil_log2

from spikefab.shape.router import (RouterParams, TableSpace, dst_fields, ptr_fields,
                                   router_cfg_fields)

from ..layouts import struct

__all__ = ["TableWritePort"]


class TableWritePort(wiring.Component):
    """Writes ``i_cfg`` words into the pointer table (``space = POINTER``, address a source
    id) or the destination list (``space = DESTINATION``, address an entry).

    A word is taken only while ``empty`` (the router's lookup pipeline holds nothing), so
    that every event sees either the old or the new table; the write takes effect for
    lookups that begin in the next clock.

    Infers no memory: it takes a write port of each table. Combinational; one word per clock.

    Parameters
    ----------
    params : RouterParams

    Members
    -------
    i_cfg : In(stream.Signature(router_cfg_layout(params)))
    empty : In(1)
    ptr : In(WritePort.Signature(addr_width=ceil_log2(sources), shape=ptr_layout(params)))
    dst : In(WritePort.Signature(addr_width=ceil_log2(entries), shape=dst_layout(params)))
    """

    def __init__(self, params):
        if not isinstance(params, RouterParams):
            raise TypeError(f"Params must be a RouterParams, not {params!r}")
        p = params
        self._pl, self._dl = pl, dl = struct(ptr_fields(p)), struct(dst_fields(p))
        super().__init__({
            "i_cfg": In(stream.Signature(struct(router_cfg_fields(p)))),
            "empty": In(1),
            "ptr": In(WritePort.Signature(addr_width=ceil_log2(p.sources), shape=pl)),
            "dst": In(WritePort.Signature(addr_width=ceil_log2(p.entries), shape=dl)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.i_cfg
        m.d.comb += cfg.ready.eq(self.empty)
        go = cfg.valid & cfg.ready
        m.d.comb += [
            self.ptr.addr.eq(cfg.payload.addr),
            self.ptr.data.eq(cfg.payload.data[:self._pl.size]),
            self.dst.addr.eq(cfg.payload.addr),
            self.dst.data.eq(cfg.payload.data[:self._dl.size]),
            self.ptr.en.eq(go & (cfg.payload.space == TableSpace.POINTER)),
            self.dst.en.eq(go & (cfg.payload.space == TableSpace.DESTINATION)),
        ]
        return m
