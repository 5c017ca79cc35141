"""Plastic-group arithmetic shared by the learning blocks: which group and pre-trace slot an
axon is, which lanes of a row a group reaches, and a learning register of a group."""

from amaranth.hdl import Cat, Const, Mux

__all__ = ["select", "slot_of", "group_of_slot", "columns"]


def select(learn, index, field):
    """``learn[index].field`` for a plastic group index ``index`` (a Value).

    Plain expressions, not ``m.Switch``: Icarus never evaluates an ``always @*`` block whose
    inputs never change (the index of a core with one plastic group).
    """
    out = learn[0][field]
    for k in range(1, len(learn)):
        out = Mux(index == k, learn[k][field], out)
    return out


def slot_of(p, axon):
    """``(is plastic, plastic group index, pre slot)`` of an axon id (a Value)."""
    hit, idx, slot = 0, 0, 0
    for k, g in enumerate(p.plastic_groups):
        off, size = p.axon_offsets[g], p.axon_shifts[g][0]
        inside = (axon >= off) & (axon < off + size)
        hit = hit | inside
        idx = Mux(inside, k, idx)
        slot = Mux(inside, axon - off + p.pre_offsets[k], slot)
    return hit, idx, slot


def group_of_slot(p, slot):
    """``(plastic group index, axon)`` of a pre slot (a Value)."""
    idx, axon = 0, slot
    for k, g in enumerate(p.plastic_groups):
        above = slot >= p.pre_offsets[k]
        idx = Mux(above, k, idx)
        axon = Mux(above, slot - p.pre_offsets[k] + p.axon_offsets[g], axon)
    return idx, axon


def columns(p, row, index):
    """Lanes of row ``row`` (a Value) inside the columns of plastic group ``index`` (a Value):
    the target population's neurons, when the core holds several."""
    lanes = p.lanes
    out = None
    for k, g in enumerate(p.plastic_groups):
        lo, hi = p.columns[g]
        if (lo, hi) == (0, p.neurons):
            mask = Const((1 << lanes) - 1, lanes)
        else:
            # neuron row * lanes + l is in [lo, hi) iff ceil((lo - l) / lanes) <= row
            # < ceil((hi - l) / lanes)
            mask = Cat((row >= max(0, -(-(lo - l) // lanes)))
                       & (row < max(0, -(-(hi - l) // lanes))) for l in range(lanes))
        out = mask if out is None else Mux(index == k, mask, out)
    return out
