"""Host-side view of the network top: the bit packing of its ports, and the neurons behind
the numbers (pure Python, no Amaranth).

The cocotb testbench, :func:`spikefab.hdl.generate_network.simulate_network_rtl` and the
benchmark drive the top through these functions, so there is one definition of every word.
"""

import numpy as np

from .core import Space
from .host import learn_addr, learn_values, post_addr, unpack_state, unpack_traces, \
    unpack_weight_word
from .network import input_layout, network_cfg_layout
from .router import dst_layout, host_event_layout, ptr_layout

__all__ = ["pack_input", "pack_network_cfg", "unpack_output", "pointer_words",
           "destination_words", "core_weights", "projection_weights", "population_state",
           "plastic_groups", "learning_words", "trace_addresses", "projection_traces",
           "stray_synapses"]


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


def stray_synapses(mapping, per_core):
    """``[(core, slot, local neuron, weight)]`` of every non-zero synapse that no projection
    owns (a group's rows onto the other populations of a shared core, the dummy slot of a
    core that nothing projects into): STDP and the configuration must leave them 0."""
    net = mapping.net
    out = []
    for core in mapping.cores:
        w = per_core[core.index]
        owned = np.zeros(w.shape, bool)
        for g in core.groups:
            for k in g.projections:
                for s in core.segments:
                    if s.population == net.projections[k].target:
                        owned[g.offset:g.offset + g.size, s.offset:s.offset + s.size] = True
        for slot, n in np.argwhere((w != 0) & ~owned):
            out.append((core.index, int(slot), int(n), int(w[slot, n])))
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



def plastic_groups(mapping, params):
    """``[(core, plastic group index, axon group, projection)]`` of every plastic axon group
    of every core: where the copies of a plastic projection's synapses and traces live."""
    out = []
    for mc, cp in zip(mapping.cores, params):
        for kk, g in enumerate(cp.plastic_groups):
            group = mc.groups[g]
            out.append((mc.index, kk, group, group.projections[0]))
    return out


def learning_words(mapping, params, net=None):
    """``[(core, addr, word)]``: the :attr:`Space.PARAM` writes that load the learning rule
    of every plastic projection of ``net`` (default: the mapped network) into its cores."""
    net = mapping.net if net is None else net
    out = []
    for c, kk, _, k in plastic_groups(mapping, params):
        for field, word in learn_values(params[c], net.projections[k].stdp).items():
            out.append((c, learn_addr(params[c], kk, field), word))
    return out


def trace_addresses(mapping, params):
    """``[(core, space, addr)]`` of every pre- and post-trace word of the plastic groups
    (:attr:`Space.PRE` slots, then :attr:`Space.POST` rows, core by core)."""
    out = []
    for c, kk, group, _ in plastic_groups(mapping, params):
        cp = params[c]
        off = cp.pre_offsets[kk]
        out += [(c, Space.PRE, off + j) for j in range(group.size)]
        out += [(c, Space.POST, post_addr(cp, kk, row)) for row in range(cp.rows)]
    return out


def projection_traces(mapping, params, words):
    """The traces of every plastic projection from the words at :func:`trace_addresses`.

    Parameters
    ----------
    words : dict
        ``{(core, space, addr): word}``.

    Returns
    -------
    pre, post : list of numpy.ndarray or None
        By projection (None for a static one): the pre traces ``(S,)`` (from the first core
        that holds a copy) and the post traces ``(N,)`` of the target population.
    copies : dict
        ``{projection: [(core, pre traces)]}``: every core's copy of the pre traces (they
        must be equal: every copy sees the same delivered spikes).
    """
    net = mapping.net
    pre = [None] * len(net.projections)
    post = [None] * len(net.projections)
    copies = {}
    for c, kk, group, k in plastic_groups(mapping, params):
        cp, mc = params[c], mapping.cores[c]
        off = cp.pre_offsets[kk]
        x = np.array([words[(c, Space.PRE, off + j)] for j in range(group.size)], np.int64)
        copies.setdefault(k, []).append((c, x))
        if pre[k] is None:
            pre[k] = x
            post[k] = np.zeros(net.population(net.projections[k].target).size, np.int64)
        flat = []
        for row in range(cp.rows):
            flat += unpack_traces(cp, words[(c, Space.POST, post_addr(cp, kk, row))])
        for s in mc.segments:
            if s.population == net.projections[k].target:
                post[k][s.start:s.start + s.size] = flat[s.offset:s.offset + s.size]
    return pre, post, copies
