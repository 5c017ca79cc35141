"""The words the blocks of a core exchange, as ``lib.data`` layouts of its parameters."""

from amaranth.hdl import Shape, signed, unsigned
from amaranth.lib import data

from spikefab.shape.cfg import cfg_fields
from spikefab.shape.core import CoreParams

from ..layouts import struct

__all__ = ["check_params", "addr_bits", "state_layout", "theta_field", "cfg_layout", "issue_layout",
           "ltp_op_layout"]


def check_params(params):
    """``params``, if it is a :class:`~spikefab.shape.core.CoreParams` (the blocks' check)."""
    if not isinstance(params, CoreParams):
        raise TypeError(f"Params must be a CoreParams, not {params!r}")
    return params


def addr_bits(depth):
    """Address bits of a memory (or range of a counter) of ``depth`` words."""
    return Shape.cast(range(depth)).width


def state_layout(p):
    """One state word: per lane ``{u, v, r}`` (``u`` in the low bits), and ``theta`` above
    them in a core with an adaptive threshold (``p.theta_bits > 0``)."""
    return data.ArrayLayout(data.StructLayout({
        "u": signed(p.current_bits), "v": signed(p.voltage_bits),
        "r": unsigned(p.refractory_bits), **theta_field(p)}), p.lanes)


def theta_field(p):
    """``{"theta": unsigned(theta_bits)}`` in a core with an adaptive threshold, else ``{}``:
    the field that the state word and the LIF pipeline's payloads carry only there."""
    return {"theta": unsigned(p.theta_bits)} if p.theta_bits else {}


def cfg_layout(p):
    """:func:`~spikefab.shape.cfg.cfg_fields` as a layout."""
    return struct(cfg_fields(p))


def issue_layout(p):
    """A row issued to the update sweep: its index and each lane's neuron parameter set."""
    return data.StructLayout({"row": unsigned(addr_bits(p.row_slots)),
                              "set": data.ArrayLayout(unsigned(p.set_bits), p.lanes)})


def ltp_op_layout(p):
    """One op of the LTP column pass: the weight word's address, the lanes to potentiate and
    the plastic group index."""
    return data.StructLayout({"addr": unsigned(addr_bits(p.weight_slots)),
                              "mask": unsigned(p.lanes),
                              "k": unsigned(addr_bits(max(len(p.plastic_groups), 2)))})
