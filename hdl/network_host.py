"""Host-side view of the network top: the bit packing of its ports, and the neurons behind
the numbers (pure Python, no Amaranth).

The cocotb testbench, :func:`spikefab.hdl.generate_network.simulate_network_rtl` and the
benchmark drive the top through these functions, so there is one definition of every word.
"""

import numpy as np

from .host import unpack_state, unpack_weight_word
from .network import input_layout, network_cfg_layout
from .router import dst_layout, host_event_layout, ptr_layout

__all__ = ["pack_input", "pack_network_cfg", "unpack_output", "pointer_words",
           "destination_words", "core_weights",
           "projection_weights", "population_state"]


def pack_input(p, channel=None):
    """An ``i_input`` word: input channel ``channel``, or the end of the step (None)."""
    layout = input_layout(p)
    if channel is None:
        return 1 << layout["end"].offset
    if not 0 <= channel < max(p.mapping.net.inputs, 1):
        raise ValueError(f"Input channel must be an integer in [0, "
                         f"{p.mapping.net.inputs - 1}], not {channel}")
    return int(channel)


def pack_network_cfg(p, target, write, space, addr, data=0):
    """An ``i_cfg`` word of the top (:func:`~spikefab.hdl.network.network_cfg_layout`).

    ``target`` is a core index, or ``p.router_target`` for a write of the router's table."""
    layout = network_cfg_layout(p)
    if not 0 <= target <= p.router_target:
        raise ValueError(f"Configuration target must be an integer in [0, "
                         f"{p.router_target}], not {target}")
    if target == p.router_target and not write:
        raise ValueError("The router's table is write-only; a read must target a core, not "
                         f"{target}")
    abits, dbits = layout["addr"].shape.width, layout["data"].shape.width
    if not 0 <= addr < (1 << abits):
        raise ValueError(f"Address must be an integer in [0, {(1 << abits) - 1}], not {addr}")
    word = int(bool(write)) << layout["write"].offset
    word |= int(space) << layout["space"].offset
    word |= int(addr) << layout["addr"].offset
    word |= (int(data) & ((1 << dbits) - 1)) << layout["data"].offset
    word |= int(target) << layout["target"].offset
    return word


def unpack_output(p, word):
    """``(host id, step)`` of an ``o_output`` word."""
    layout = host_event_layout(p.router)
    n, s = layout["neuron"], layout["step"]
    return ((word >> n.offset) & ((1 << n.shape.width) - 1),
            (word >> s.offset) & ((1 << s.shape.width) - 1))


def pointer_words(rp, pointers):
    """Router table write data (:attr:`TableSpace.POINTER`) of ``(base, count)`` pairs."""
    layout = ptr_layout(rp)
    return [(b << layout["base"].offset) | (n << layout["count"].offset) for b, n in pointers]


def destination_words(rp, destinations):
    """Router table write data (:attr:`TableSpace.DESTINATION`) of ``(port, index)`` pairs."""
    layout = dst_layout(rp)
    return [(q << layout["port"].offset) | (i << layout["index"].offset)
            for q, i in destinations]


def core_weights(cp, words):
    """A core's weight matrix ``(A, N)`` from its ``rows * A`` weight words."""
    w = np.zeros((cp.axons, cp.rows * cp.lanes), np.int64)
    for addr, word in enumerate(words):
        row, a = divmod(addr, cp.axons)
        w[a, row * cp.lanes:(row + 1) * cp.lanes] = unpack_weight_word(cp, word)
    return w[:, :cp.neurons]


def projection_weights(mapping, per_core):
    """Every projection's ``(S, N)`` weights from the cores' weight matrices (``per_core[c]``
    as :func:`core_weights` returns it)."""
    net = mapping.net
    out = [np.zeros_like(pr.weights, dtype=np.int64) for pr in net.projections]
    for core in mapping.cores:
        for g in core.groups:
            for k in g.projections:
                for s in core.segments:
                    if s.population == net.projections[k].target:
                        out[k][:, s.start:s.start + s.size] = \
                            per_core[core.index][g.offset:g.offset + g.size,
                                                 s.offset:s.offset + s.size]
    return out


def population_state(mapping, params, words):
    """``(u, v, r)`` dicts of population name to arrays from the cores' state words
    (``words[c]``: the ``rows`` words of core ``c``, read from ``Space.STATE``)."""
    net = mapping.net
    u = {q.name: np.zeros(q.size, np.int64) for q in net.populations}
    v = {q.name: np.zeros(q.size, np.int64) for q in net.populations}
    r = {q.name: np.zeros(q.size, np.int64) for q in net.populations}
    for core, cp, ws in zip(mapping.cores, params, words):
        uu, vv, rr = [], [], []
        for word in ws:
            a, b, c = unpack_state(cp, word)
            uu += a
            vv += b
            rr += c
        for s in core.segments:
            sl = slice(s.offset, s.offset + s.size)
            u[s.population][s.start:s.start + s.size] = uu[sl]
            v[s.population][s.start:s.start + s.size] = vv[sl]
            r[s.population][s.start:s.start + s.size] = rr[sl]
    return u, v, r

