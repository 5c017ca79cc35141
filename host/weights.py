"""Checks of the weights that :meth:`spikefab.host.Device.load_weights` writes into a running
board: only values change at run time, so a new network must have the build's populations,
projections, weight width and shifts, and every array its projection's shape and range.

Every check raises :class:`~spikefab.errors.InvalidValue` naming the projection, what the
build has and the value, before anything is written.
"""

import numpy as np

from spikefab.errors import InvalidValue

__all__ = ["network_weights", "updated_weights"]


def network_weights(net, other):
    """``{projection index: weights}`` of network ``other``, which must have the populations,
    projections, weight width and shifts of the build's network ``net`` (those are fixed at
    generation time)."""
    if [(q.name, q.size) for q in other.populations] != \
            [(q.name, q.size) for q in net.populations]:
        raise InvalidValue(f"Populations of network {other.name!r} must be the build's "
                           f"{[(q.name, q.size) for q in net.populations]}, not "
                           f"{[(q.name, q.size) for q in other.populations]}")
    if other.hardware.weight_bits != net.hardware.weight_bits:
        raise InvalidValue(f"Weight_bits of network {other.name!r} must be the build's "
                           f"{net.hardware.weight_bits}, not {other.hardware.weight_bits}")
    if len(other.projections) != len(net.projections):
        raise InvalidValue(f"Network {other.name!r} must have the build's "
                           f"{len(net.projections)} projections, not "
                           f"{len(other.projections)}")
    given = {}
    for k, (a, b) in enumerate(zip(other.projections, net.projections)):
        what = f"projection {k} ({b.source} -> {b.target})"
        if (a.source, a.target) != (b.source, b.target):
            raise InvalidValue(f"Projection {k} of network {other.name!r} must be "
                               f"{b.source} -> {b.target} as in the build, not "
                               f"{a.source} -> {a.target}")
        if a.weight_shift != b.weight_shift:
            raise InvalidValue(f"Weight_shift of {what} must be the build's "
                               f"{b.weight_shift}, not {a.weight_shift} (a different "
                               f"shift needs a new build)")
        given[k] = a.weights
    return given


def updated_weights(net, current, given):
    """``current`` (the weights of every projection of ``net``) with the arrays of ``given``
    (``{projection index: array}``) checked against their projection and put in."""
    from spikefab.golden.params import check_weights_array
    hw = net.hardware
    full = list(current)
    n = len(net.projections)
    for k, w in given.items():
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < n:
            raise InvalidValue(f"Projection index must be an integer in [0, {n - 1}], "
                               f"not {k!r}")
        pr = net.projections[k]
        what = f"projection {k} ({pr.source} -> {pr.target})"
        w = check_weights_array(w, what)
        if w.shape != pr.weights.shape:
            raise InvalidValue(f"Weights of {what} must have shape {pr.weights.shape}, "
                               f"not {w.shape}")
        lo, hi = ((pr.stdp.w_min, pr.stdp.w_max) if pr.plastic
                  else (-hw.weight_max, hw.weight_max))
        bad = np.argwhere((w < lo) | (w > hi))
        if len(bad):
            j, i = (int(x) for x in bad[0])
            raise InvalidValue(f"Weights of {what} must be integers in [{lo}, {hi}], not "
                               f"{int(w[j, i])} at [{j}][{i}]")
        full[int(k)] = np.asarray(w, np.int64)
    return full
