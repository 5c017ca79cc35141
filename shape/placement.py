"""Placement of a network's populations on cores: slicing, packing and ordering, and the
axon groups that a set of slices needs (``docs/router.md``).
:func:`~spikefab.shape.mapping.map_network` builds the cores and the routing table from them.

Slices are ``(population, start, size)``; a bin is the list of slices of one core.
"""

from spikefab.golden.fixed import signed_max
from spikefab.golden.params import ACC_MAX_BITS

__all__ = ["worst_acc", "axon_groups", "fits", "slice_populations", "pack_slices",
           "order_bins"]


def worst_acc(groups, wmax):
    """Accumulator width for ``(size, shift)`` groups, the way ``CoreParams`` computes it."""
    return max(2, sum(s * (wmax << k) for s, k in groups).bit_length() + 1)


def fits(slices, a_cap, net):
    """Axon groups for ``slices`` (list of (population, start, size)) in one core, or None if
    they need more than ``a_cap`` slots or an accumulator wider than the hardware builds."""
    groups = axon_groups(net, {s[0] for s in slices})
    if sum(net.source_size(src) for src, _, _ in groups) > a_cap:
        return None
    wmax = signed_max(net.hardware.weight_bits)
    if worst_acc([(net.source_size(src), k) for src, k, _ in groups], wmax) > ACC_MAX_BITS:
        return None
    return groups


def axon_groups(net, pops):
    """``[(source, shift, [projection, ...])]``: the axon groups of a core that holds the
    populations ``pops``, in projection order; static projections merge when source and shift
    match and their targets differ; a plastic projection has a group of its own."""
    groups = []
    for k, proj in enumerate(net.projections):
        if proj.target not in pops:
            continue
        for src, shift, members in groups:
            if (not proj.plastic and src == proj.source and shift == proj.weight_shift
                    and not any(net.projections[m].plastic for m in members)
                    and all(net.projections[m].target != proj.target for m in members)):
                members.append(k)
                break
        else:
            groups.append((proj.source, proj.weight_shift, [k]))
    return groups


def slice_populations(net, n_cap):
    """``[(population, start, size)]``: each population in ``ceil(size / n_cap)`` slices of
    near-equal size (the larger ones first), in network order."""
    slices = []
    for pop in net.populations:
        k = -(-pop.size // n_cap)
        q, r = divmod(pop.size, k)
        start = 0
        for i in range(k):
            size = q + (1 if i < r else 0)
            slices.append((pop.name, start, size))
            start += size
    return slices


def pack_slices(slices, net, n_cap, a_cap, pack):
    """The slices in bins (lists of slices, one per core): largest slice first, each into the
    first bin that ``pack`` lets it join and that it fits (neurons, axon slots, accumulator),
    else into a new bin. Two slices of one population never share a bin."""
    order = sorted(range(len(slices)), key=lambda i: -slices[i][2])
    bins = []
    for i in order:
        sl = slices[i]
        placed = False
        if pack:
            for b in bins:
                if pack == "small" and 4 * sl[2] > sum(s[2] for s in b):
                    continue
                if (sum(s[2] for s in b) + sl[2] <= n_cap
                        and all(s[0] != sl[0] for s in b)
                        and fits(b + [sl], a_cap, net) is not None):
                    b.append(sl)
                    placed = True
                    break
        if not placed:
            bins.append([sl])
    return bins


def order_bins(bins, net):
    """The bins in the order of their first slice in the network; each bin's slices in
    network order (population, then start)."""
    pop_index = {p.name: n for n, p in enumerate(net.populations)}

    def key(s):
        return (pop_index[s[0]], s[1])

    return sorted((sorted(b, key=key) for b in bins), key=lambda b: key(b[0]))
