"""The network's configuration dispatcher: a register stage, then a command to its target."""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.fields import Fields
from spikefab.shape.network import NetworkParams, network_cfg_fields
from spikefab.shape.router import router_cfg_fields

from ..layouts import struct

__all__ = ["core_cmd_layout", "ConfigDispatcher"]


def core_cmd_layout(p):
    """A command to a core at the top's widths: :func:`network_cfg_fields` without
    ``target`` (each core takes the low bits of each field)."""
    return struct(Fields({name: f.width for name, f in network_cfg_fields(p)
                          if name != "target"}))


class ConfigDispatcher(wiring.Component):
    """Takes a configuration command into a register stage and passes it to its target; the
    read data of the core it read returns on ``o_rdata``.

    A command is taken only ``between`` steps (none starting or running) and while nothing
    is pending: the previous command has been taken by its target, and a read has been
    answered. ``target`` is core ``c`` (``o_core[c]``), :attr:`NetworkParams.router_target`
    (``o_router``, a write of the router's table), or larger (taken, ignored). ``pending``
    holds back the next step's start. From the register, no path from ``i_cfg`` reaches a
    core's or the router's memories in the same clock, and ``i_cfg.ready`` depends on
    registers only.

    No memory; one command register and a one-hot target register. At most one command
    every two clocks.

    Parameters
    ----------
    params : NetworkParams

    Members
    -------
    i_cfg : In(stream.Signature(network_cfg_layout(params)))
    between : In(1)
    pending : Out(1)
        A command is offered, held, or waits for its read data.
    o_core : Out(stream.Signature(core_cmd_layout(params))).array(cores)
    o_router : Out(stream.Signature(router_cfg_layout(params.router)))
    i_rdata : In(stream.Signature(unsigned(rdata_bits))).array(cores)
    o_rdata : Out(stream.Signature(unsigned(rdata_bits)))
    """

    def __init__(self, params):
        if not isinstance(params, NetworkParams):
            raise TypeError(f"Params must be a NetworkParams, not {params!r}")
        self._p = p = params
        n = len(p.cores)
        super().__init__({
            "i_cfg": In(stream.Signature(struct(network_cfg_fields(p)))),
            "between": In(1),
            "pending": Out(1),
            "o_core": Out(stream.Signature(core_cmd_layout(p))).array(n),
            "o_router": Out(stream.Signature(struct(router_cfg_fields(p.router)))),
            "i_rdata": In(stream.Signature(unsigned(p.rdata_bits))).array(n),
            "o_rdata": Out(stream.Signature(unsigned(p.rdata_bits))),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        n = len(p.cores)
        cfg = self.i_cfg
        cmd = cfg.payload
        rd_pending = Signal()
        rd_target = Signal(range(max(2, n)))
        q = Signal(struct(network_cfg_fields(p)))
        q_sel = Signal(n + 1)                   # one bit per core, then the router
        m.d.comb += [
            cfg.ready.eq(self.between & ~rd_pending & ~q_sel.any()),
            self.pending.eq(cfg.valid | rd_pending | q_sel.any()),
        ]
        with m.If(cfg.valid & cfg.ready):       # a target > router_target: taken, ignored
            m.d.sync += q.eq(cmd)
            m.d.sync += [q_sel[c].eq(cmd.target == c) for c in range(n)]
            m.d.sync += q_sel[n].eq(cmd.target == p.router_target)
            with m.If(~cmd.write & (cmd.target < p.router_target)):
                m.d.sync += [rd_pending.eq(1), rd_target.eq(cmd.target)]

        for c, port in enumerate(self.o_core):
            m.d.comb += [
                port.valid.eq(q_sel[c]),
                port.payload.write.eq(q.write),
                port.payload.space.eq(q.space),
                port.payload.addr.eq(q.addr),
                port.payload.data.eq(q.data),
            ]
            with m.If(port.valid & port.ready):
                m.d.sync += q_sel[c].eq(0)
        rc = self.o_router
        m.d.comb += [
            rc.valid.eq(q_sel[n]),
            rc.payload.space.eq(q.space[0]),
            rc.payload.addr.eq(q.addr),
            rc.payload.data.eq(q.data),
        ]
        with m.If(rc.valid & rc.ready):
            m.d.sync += q_sel[n].eq(0)

        rdata, ports = self.o_rdata, self.i_rdata
        r_valid, r_data = ports[-1].valid, ports[-1].payload
        for c in reversed(range(n - 1)):
            r_valid = Mux(rd_target == c, ports[c].valid, r_valid)
            r_data = Mux(rd_target == c, ports[c].payload, r_data)
        m.d.comb += [rdata.valid.eq(r_valid), rdata.payload.eq(r_data)]
        for c, port in enumerate(ports):
            m.d.comb += port.ready.eq(rdata.ready & (rd_target == c))
        with m.If(rdata.valid & rdata.ready):
            m.d.sync += rd_pending.eq(0)
        return m
