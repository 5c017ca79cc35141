"""A NIR graph read into what spikefab can build: neuron nodes and the linear paths between them.

NumPy and ``nir`` only. :func:`parse` checks every node and edge of a ``nir.NIRGraph`` and
returns a :class:`Model`: one Input, the neuron nodes (``LIF``, ``CubaLIF``, ``IF``, ``I``,
``LI``, ``CubaLI``) with their parameters as flat per-neuron float arrays, and every path from
a source (the Input or a neuron node) through linear nodes (``Affine``, ``Linear``, ``Scale``,
``Flatten``) to a neuron node, with its matrix composed. Anything that spikefab cannot build is
refused with one line naming the node (``docs/nir.md``).
"""

import re
from dataclasses import dataclass, field

import numpy as np

from spikefab.errors import InvalidType, InvalidValue

__all__ = ["NEURONS", "LINEAR", "SUPPORTED", "NeuronNode", "Path", "Model", "parse",
           "population_names"]

#: Neuron node types and their parameters (``v_threshold``/``v_reset`` only for spiking ones).
NEURONS = {
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    "IF": ("r", "v_threshold", "v_reset"),
    "LI": ("tau", "r", "v_leak"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
    "I": ("r",),
}
LINEAR = ("Affine", "Linear", "Scale", "Flatten")
SUPPORTED = ("Input", "Output") + LINEAR + tuple(NEURONS)


@dataclass
class NeuronNode:
    """One neuron node: ``kind`` (its NIR type), ``size`` and ``params`` (name to a flat
    float64 array of ``size``)."""

    name: str
    kind: str
    size: int
    params: dict

    @property
    def spiking(self):
        return "v_threshold" in self.params


@dataclass
class Path:
    """A linear path from ``source`` (``"input"`` or a neuron node) to neuron node ``target``:
    the target's input current gains ``matrix @ spikes`` (``matrix`` is (target size, source
    size)). ``nodes`` are the linear nodes passed, from the source on."""

    source: str
    target: str
    matrix: np.ndarray
    nodes: tuple


@dataclass
class Model:
    """What :func:`parse` found: the Input node's name and size, the neuron nodes in graph
    order, the paths, the constant input current of each neuron node (from Affine biases,
    ``{target: (size,) array}``) with the Affine nodes it comes from, and the neuron nodes that
    feed an Output node."""

    input_name: str
    inputs: int
    neurons: dict
    paths: list
    bias: dict
    bias_nodes: dict
    outputs: list
    metadata: dict = field(default_factory=dict)


def _type(node):
    return type(node).__name__


def _refuse(name, kind, why=""):
    raise InvalidValue(f"Node {name!r} is a {kind}{why}, which spikefab cannot import; "
                       f"supported: {', '.join(SUPPORTED)}")


def _array(node, name, param):
    a = np.asarray(getattr(node, param), dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(a)):
        bad = a[~np.isfinite(a)][0]
        raise InvalidValue(f"Parameter {param} of node {name!r} ({_type(node)}) must be finite "
                           f"numbers, not {bad}")
    return a


def _size(shape):
    return int(np.prod(np.asarray(shape, dtype=np.int64))) if shape is not None else None


def _neuron(name, node):
    kind = _type(node)
    params = {p: _array(node, name, p) for p in NEURONS[kind]}
    sizes = {p: a.size for p, a in params.items()}
    n = max(sizes.values())
    for p, a in params.items():
        if a.size == 1 and n > 1:
            params[p] = np.full(n, a[0])
        elif a.size != n:
            raise InvalidValue(f"Parameter {p} of node {name!r} ({kind}) must have one value "
                               f"per neuron ({n}), not {a.size}")
    return NeuronNode(name, kind, n, params)


def _linear(name, node):
    """``(matrix or None for an identity, bias or None, input size, output size)``."""
    kind = _type(node)
    if kind in ("Affine", "Linear"):
        w = np.asarray(node.weight, dtype=np.float64)
        if w.ndim != 2:
            raise InvalidValue(f"Weight of node {name!r} ({kind}) must be a 2-D (output size, "
                               f"input size) matrix, not {w.ndim}-D")
        b = _array(node, name, "bias") if kind == "Affine" else None
        if b is not None and b.size not in (1, w.shape[0]):
            raise InvalidValue(f"Bias of node {name!r} (Affine) must have {w.shape[0]} values, "
                               f"not {b.size}")
        if not np.all(np.isfinite(w)):
            raise InvalidValue(f"Weight of node {name!r} ({kind}) must be finite numbers")
        if b is not None and b.size == 1:
            b = np.full(w.shape[0], b[0])
        return w, b, w.shape[1], w.shape[0]
    if kind == "Scale":
        s = _array(node, name, "scale")
        return np.diag(s), None, s.size, s.size
    n_in = _size(node.input_type.get("input")) if node.input_type else None
    n_out = _size(node.output_type.get("output")) if node.output_type else None
    if n_in is None or n_in != n_out:
        raise InvalidValue(f"Node {name!r} (Flatten) must have a known input shape of as many "
                           f"values as its output, not {n_in} -> {n_out}")
    return None, None, n_in, n_out


def parse(graph):
    """Check ``graph`` (a ``nir.NIRGraph``) and return its :class:`Model`.

    Raises
    ------
    ValueError, TypeError (spikefab.errors)
        One line naming the node (or edge) and what spikefab supports.
    """
    import nir
    if not isinstance(graph, nir.NIRGraph):
        raise InvalidType(f"NIR model must be a nir.NIRGraph or a path, not {graph!r}")
    nodes = dict(graph.nodes)
    for name, node in nodes.items():
        kind = _type(node)
        if kind == "NIRGraph":
            _refuse(name, kind, " (a subgraph)")
        if kind not in SUPPORTED:
            _refuse(name, kind)
    inputs = [n for n, node in nodes.items() if _type(node) == "Input"]
    if len(inputs) != 1:
        raise InvalidValue(f"NIR graph must have exactly one Input node, not {len(inputs)}"
                           + (f" ({', '.join(map(repr, inputs))})" if inputs else ""))
    preds = {n: [] for n in nodes}
    for edge in graph.edges:
        a, b = (str(x) for x in edge)
        for x in (a, b):
            if x not in nodes:
                raise InvalidValue(f"Edge ({a!r}, {b!r}) names node {x!r}, which the graph "
                                   f"does not have")
        if _type(nodes[b]) == "Input":
            raise InvalidValue(f"Edge ({a!r}, {b!r}) enters the Input node")
        preds[b].append(a)
    in_name = inputs[0]
    n_in = _size(nodes[in_name].input_type["input"])
    neurons = {n: _neuron(n, node) for n, node in nodes.items() if _type(node) in NEURONS}
    linear = {n: _linear(n, node) for n, node in nodes.items() if _type(node) in LINEAR}
    sizes = {n: m.size for n, m in neurons.items()}
    sizes[in_name] = n_in
    paths, bias, bias_nodes = [], {}, {}
    for target, neuron in neurons.items():
        acc = np.zeros(neuron.size)
        used = []
        for p in preds[target]:
            _walk(p, target, np.eye(neuron.size), (), nodes, preds, linear, sizes, paths,
                  acc, used, (target,))
        bias[target], bias_nodes[target] = acc, tuple(dict.fromkeys(used))
    outputs = []
    for name, node in nodes.items():
        if _type(node) != "Output":
            continue
        for p in preds[name]:
            if p not in neurons:
                raise InvalidValue(f"Output node {name!r} is fed by node {p!r} "
                                   f"({_type(nodes[p])}); spikefab reports neuron nodes only: "
                                   f"put an LI node before the Output for a readout")
            outputs.append(p)
    meta = dict(graph.metadata) if isinstance(graph.metadata, dict) else {}
    return Model(in_name, n_in, neurons, paths, bias, bias_nodes,
                 list(dict.fromkeys(outputs)), meta)


def _walk(node, target, mat, via, nodes, preds, linear, sizes, paths, acc, used, stack):
    """Follow the edge ``node -> ...`` backwards: ``mat`` maps ``node``'s output into the
    target's input; a source ends a path, a linear node multiplies and goes on."""
    kind = _type(nodes[node])
    if node in sizes:                               # the Input or a neuron node: a source
        if mat.shape[1] != sizes[node]:
            raise InvalidValue(f"Node {node!r} ({kind}) gives {sizes[node]} values where "
                               f"{mat.shape[1]} are expected (on its way to {target!r})")
        paths.append(Path(node, target, mat, via))
        return
    if kind == "Output":
        raise InvalidValue(f"Output node {node!r} must not feed node {stack[-1]!r}")
    if node in stack:
        loop = " -> ".join(repr(n) for n in reversed(stack[stack.index(node):] + (node,)))
        raise InvalidValue(f"Linear nodes {loop} form a loop without a neuron node, which has "
                           f"no solution in discrete time")
    w, b, n_in, n_out = linear[node]
    if mat.shape[1] != n_out:
        raise InvalidValue(f"Node {node!r} ({kind}) gives {n_out} values where {mat.shape[1]} "
                           f"are expected (on its way to {target!r})")
    if b is not None and np.any(b != 0):
        acc += mat @ b
        used.append(node)
    nxt = mat if w is None else mat @ w
    for p in preds[node]:
        _walk(p, target, nxt, (node,) + via, nodes, preds, linear, sizes, paths, acc, used,
              stack + (node,))


def population_names(names):
    """Network population names for NIR node names: identifiers, unique, never ``input``."""
    out, seen = {}, set()
    for n in names:
        s = re.sub(r"\W", "_", str(n)) or "n"
        if s[0].isdigit():
            s = "n" + s
        if s == "input":
            s = "input_"
        base, k = s, 1
        while s in seen:
            s, k = f"{base}_{k}", k + 1
        seen.add(s)
        out[n] = s
    return out
