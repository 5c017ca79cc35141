"""A NIR graph read into what spikefab can build: neuron nodes and the linear paths between them.

NumPy and ``nir`` only. :func:`parse` checks every node and edge of a ``nir.NIRGraph`` and
returns a :class:`Model`: one Input, the neuron nodes (``LIF``, ``CubaLIF``, ``IF``, ``I``,
``LI``, ``CubaLI``) with their parameters as flat per-neuron float arrays, and every path from
a source (the Input or a neuron node) through linear nodes (``Affine``, ``Linear``, ``Scale``,
``Flatten``, ``Conv1d``, ``Conv2d``, ``SumPool2d``, ``AvgPool2d``) to a neuron node, with its
matrix composed. A convolution or pooling node is unrolled into the dense matrix from its
flattened input to its flattened output (C order); its input shape is the output shape of the
node before it, chained from the Input's shape. Anything that spikefab cannot build is refused
with one line naming the node (``docs/nir.md``).
"""

import re
from dataclasses import dataclass, field

import numpy as np

from spikefab.errors import InvalidType, InvalidValue

__all__ = ["NEURONS", "UNROLLED", "LINEAR", "SUPPORTED", "MAX_UNROLLED", "NeuronNode", "Path",
           "Model", "parse", "unroll_conv", "unroll_pool", "population_names"]

#: Neuron node types and their parameters (``v_threshold``/``v_reset`` only for spiking ones).
NEURONS = {
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    "IF": ("r", "v_threshold", "v_reset"),
    "LI": ("tau", "r", "v_leak"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
    "I": ("r",),
}
#: Linear nodes over (channels, *spatial) inputs, unrolled into one dense matrix each.
UNROLLED = ("Conv1d", "Conv2d", "SumPool2d", "AvgPool2d")
LINEAR = ("Affine", "Linear", "Scale", "Flatten") + UNROLLED
SUPPORTED = ("Input", "Output") + LINEAR + tuple(NEURONS)
#: The most entries (output size times input size) a node of ``UNROLLED`` may unroll to.
MAX_UNROLLED = 2 ** 22


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
    order, the paths, the constant input current of each neuron node (from the biases of
    Affine and convolution nodes, ``{target: (size,) array}``) with the nodes it comes from,
    the neuron nodes that feed an Output node, and every node's NIR type (``kinds``)."""

    input_name: str
    inputs: int
    neurons: dict
    paths: list
    bias: dict
    bias_nodes: dict
    outputs: list
    metadata: dict = field(default_factory=dict)
    kinds: dict = field(default_factory=dict)


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


def _linear(name, node, shape_in):
    """``(matrix or None for an identity, bias or None, input size, output size, output
    shape)``; ``shape_in`` is the output shape of the node before (None: unknown)."""
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
        return w, b, w.shape[1], w.shape[0], (w.shape[0],)
    if kind == "Scale":
        s = _array(node, name, "scale")
        shape = shape_in if shape_in is not None and _size(shape_in) == s.size else (s.size,)
        return np.diag(s), None, s.size, s.size, shape
    if kind in ("Conv1d", "Conv2d"):
        return _conv(name, node, shape_in, int(kind[-2]))
    if kind in ("SumPool2d", "AvgPool2d"):
        return _pool(name, node, shape_in)
    declared = _shape(node.input_type.get("input")) if node.input_type else None
    shape = declared if declared is not None else shape_in
    n_in = _size(shape)
    n_out = _size(node.output_type.get("output")) if node.output_type else None
    if declared is None and n_in is not None:
        n_out = n_in                    # NIR leaves the output of an unknown input unknown
    if n_in is None or n_in != n_out:
        raise InvalidValue(f"Node {name!r} (Flatten) must have a known input shape of as many "
                           f"values as its output, not {n_in} -> {n_out}")
    return None, None, n_in, n_out, _flatten(shape, node.start_dim, node.end_dim)


def _shape(shape):
    """A NIR shape as a tuple of ints, or None."""
    if shape is None:
        return None
    return tuple(int(x) for x in np.asarray(shape).reshape(-1))


def _flatten(shape, start, end):
    """The output shape of NIR's Flatten (``start``, ``end`` not counting a batch axis)."""
    nd = len(shape)
    a, e = (int(x) + nd if int(x) < 0 else int(x) for x in (start, end))
    if not 0 <= a <= e < nd:
        return (_size(shape),)
    return shape[:a] + (_size(shape[a:e + 1]),) + shape[e + 1:]


def _ints(node, name, param, nd, low, value=None):
    """Parameter ``param`` as ``nd`` integers of at least ``low`` (one integer: every
    dimension)."""
    x = getattr(node, param) if value is None else value
    a = np.asarray(x).reshape(-1) if x is not None else np.zeros(0, bool)
    if not (a.size in (1, nd) and np.issubdtype(a.dtype, np.number)
            and np.all(np.isfinite(a)) and np.all(a == np.round(a)) and np.all(a >= low)):
        what = "an integer" if nd == 1 else f"an integer or {nd} integers"
        shown = a.tolist() if isinstance(x, np.ndarray) else x
        raise InvalidValue(f"Parameter {param} of node {name!r} ({_type(node)}) must be {what} "
                           f">= {low}, not {shown!r}")
    return tuple(int(v) for v in np.broadcast_to(a, (nd,)))


def _padding(node, name, nd, kernel, stride, dilation):
    """``(before, after)`` per dimension: an integer pads both sides; ``'valid'`` is 0;
    ``'same'`` (stride 1 only) pads ``dilation * (kernel - 1)`` in all, the odd one after, as
    PyTorch and JAX do."""
    p = node.padding
    if isinstance(p, np.ndarray) and p.dtype.kind in "SU" and p.ndim == 0:
        p = p.item()
    if isinstance(p, bytes):
        p = p.decode()
    if isinstance(p, str):
        if p == "valid":
            return ((0, 0),) * nd
        if p != "same":
            raise InvalidValue(f"Parameter padding of node {name!r} ({_type(node)}) must be "
                               f"'same', 'valid' or integers >= 0, not {p!r}")
        if any(s != 1 for s in stride):
            raise InvalidValue(f"Parameter padding of node {name!r} ({_type(node)}) may be "
                               f"'same' with stride 1 only (its output has the input's "
                               f"shape), not stride {_dims(stride)}")
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((t // 2, t - t // 2) for t in total)
    return tuple((q, q) for q in _ints(node, name, "padding", nd, 0, p))


def _dims(t):
    return str(t[0]) if len(t) == 1 else "(" + ", ".join(map(str, t)) + ")"


def _taps(n_in, n_out, kernel, stride, dilation, before):
    """``(n_out, kernel, n_in)`` of 0/1: output ``o`` reads input ``o * stride + j * dilation
    - before`` at tap ``j``, nothing where that falls in the (zero) padding."""
    i = np.arange(n_out)[:, None] * stride + np.arange(kernel)[None, :] * dilation - before
    t = np.zeros((n_out, kernel, n_in))
    o, j = np.nonzero((i >= 0) & (i < n_in))
    t[o, j, i[o, j]] = 1.0
    return t


def _out_size(n, k, s, d, pad):
    return (n + pad[0] + pad[1] - d * (k - 1) - 1) // s + 1


def unroll_conv(weight, spatial, stride, padding, dilation, groups=1):
    """The dense matrix of a convolution (cross-correlation, as PyTorch's and NIR's).

    Parameters
    ----------
    weight : numpy.ndarray, (out channels, in channels / groups, *kernel)
    spatial : tuple of int
        The input's spatial shape; the input is ``(in channels, *spatial)``, flattened in C
        order, and so is the output ``(out channels, *output spatial)``.
    stride, dilation : tuple of int, one per spatial dimension
    padding : tuple of (int, int)
        Zeros before and after, per spatial dimension.

    Returns
    -------
    (numpy.ndarray, tuple)
        The ``(output size, input size)`` matrix, each entry one weight or 0 (exact), and the
        output shape.
    """
    nd = len(spatial)
    out_c, icg = weight.shape[:2]
    kernel = weight.shape[2:]
    out_sp = tuple(_out_size(*a) for a in zip(spatial, kernel, stride, dilation, padding))
    taps = [_taps(n, o, k, s, d, p[0])
            for n, o, k, s, d, p in zip(spatial, out_sp, kernel, stride, dilation, padding)]
    ks, os_, is_ = "jkl"[:nd], "xyz"[:nd], "uvw"[:nd]
    spec = f"ab{ks}," + ",".join(o + k + i for o, k, i in zip(os_, ks, is_)) + f"->a{os_}b{is_}"
    m = np.zeros((out_c, *out_sp, icg * groups, *spatial))
    ocg = out_c // groups
    for g in range(groups):
        rows, cols = slice(g * ocg, (g + 1) * ocg), slice(g * icg, (g + 1) * icg)
        m[(rows,) + (slice(None),) * nd + (cols,)] = np.einsum(spec, weight[rows], *taps)
    return m.reshape(out_c * _size(out_sp), icg * groups * _size(spatial)), (out_c, *out_sp)


def unroll_pool(shape, kernel, stride, padding, average=False):
    """The dense matrix of a 2-D sum (or, ``average``, mean) pooling over the last two axes of
    ``shape`` (every leading axis is a channel): a window's sum over the zero-padded input,
    divided for a mean by the window's full size (padding included, PyTorch's default).
    Returns the matrix and the output shape."""
    lead, spatial = tuple(shape[:-2]), tuple(shape[-2:])
    ones = np.ones((1, 1) + tuple(kernel))
    m, out = unroll_conv(ones, spatial, stride, padding, (1, 1))
    if average:
        m = m / (kernel[0] * kernel[1])
    return np.kron(np.eye(_size(lead)), m), lead + out[1:]


def _unrollable(name, node, n_out, n_in):
    if n_out * n_in > MAX_UNROLLED:
        raise InvalidValue(f"Node {name!r} ({_type(node)}) would unroll to a {n_out} x {n_in} "
                           f"matrix ({n_out * n_in:,} entries); spikefab imports a "
                           f"convolution or pooling node as a dense matrix of at most "
                           f"{MAX_UNROLLED:,} (2**22) entries")


def _conv(name, node, shape_in, nd):
    kind = _type(node)
    w = np.asarray(node.weight, dtype=np.float64)
    dims = "length" if nd == 1 else "height, width"
    axes = f"(out channels, in channels / groups, {dims})"
    if w.ndim != nd + 2 or 0 in w.shape:
        raise InvalidValue(f"Weight of node {name!r} ({kind}) must be a {nd + 2}-D {axes} "
                           f"array, not of shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise InvalidValue(f"Weight of node {name!r} ({kind}) must be finite numbers")
    (groups,) = _ints(node, name, "groups", 1, 1)
    out_c, in_c = w.shape[0], w.shape[1] * groups
    if out_c % groups:
        raise InvalidValue(f"Parameter groups of node {name!r} ({kind}) must divide its "
                           f"{out_c} output channels, not {groups}")
    stride = _ints(node, name, "stride", nd, 1)
    dilation = _ints(node, name, "dilation", nd, 1)
    if node.input_shape is not None:
        spatial = _ints(node, name, "input_shape", nd, 1)
    elif shape_in is not None and len(shape_in) > nd:
        spatial = tuple(shape_in[-nd:])
    elif nd == 1 and shape_in is not None and len(shape_in) == 1 and shape_in[0] % in_c == 0:
        spatial = (shape_in[0] // in_c,)
    else:
        raise InvalidValue(f"Node {name!r} ({kind}) must have an input_shape or follow a node "
                           f"of known (channels, {dims}) "
                           f"shape, not {'unknown' if shape_in is None else shape_in}")
    padding = _padding(node, name, nd, w.shape[2:], stride, dilation)
    out_sp = tuple(_out_size(*a) for a in zip(spatial, w.shape[2:], stride, dilation, padding))
    if min(out_sp) < 1:
        raise InvalidValue(f"Node {name!r} ({kind}) has no output: its kernel {_dims(w.shape[2:])}"
                           f" at dilation {_dims(dilation)} is larger than its padded input "
                           f"{_dims(spatial)}")
    n_in, n_out = in_c * _size(spatial), out_c * _size(out_sp)
    _unrollable(name, node, n_out, n_in)
    m, shape = unroll_conv(w, spatial, stride, padding, dilation, groups)
    b = None
    if getattr(node, "bias", None) is not None:
        b = _array(node, name, "bias")
        if b.size not in (1, out_c):
            raise InvalidValue(f"Bias of node {name!r} ({kind}) must have {out_c} values (one "
                               f"per output channel), not {b.size}")
        b = np.repeat(np.broadcast_to(b, (out_c,)), _size(out_sp))
    return m, b, n_in, n_out, shape


def _pool(name, node, shape_in):
    kind = _type(node)
    declared = _shape(node.input_type.get("input")) if node.input_type else None
    shape = shape_in
    if (shape is None or len(shape) < 2) and declared is not None and len(declared) >= 2:
        shape = declared
    if shape is None or len(shape) < 2:
        raise InvalidValue(f"Node {name!r} ({kind}) must follow a node of known (channels, "
                           f"height, width) shape, not {'unknown' if shape is None else shape}")
    kernel = _ints(node, name, "kernel_size", 2, 1)
    stride = kernel if node.stride is None else _ints(node, name, "stride", 2, 1)
    padding = _padding(node, name, 2, kernel, stride, (1, 1))
    out_sp = tuple(_out_size(*a) for a in zip(shape[-2:], kernel, stride, (1, 1), padding))
    if min(out_sp) < 1:
        raise InvalidValue(f"Node {name!r} ({kind}) has no output: its kernel {_dims(kernel)} "
                           f"is larger than its padded input {_dims(shape[-2:])}")
    n_in, n_out = _size(shape), _size(shape[:-2]) * _size(out_sp)
    _unrollable(name, node, n_out, n_in)
    m, out = unroll_pool(shape, kernel, stride, padding, average=kind == "AvgPool2d")
    return m, None, n_in, n_out, out


class _Chain:
    """Shapes chained from the Input on: a node's input shape is the output shape of the node
    before it (a neuron node keeps the shape of its parameters, or else of what feeds it), and
    the linear nodes' matrices, which may need it. A cycle (through a neuron node) leaves a
    shape that depends on itself unknown."""

    def __init__(self, nodes, preds, neurons):
        self.nodes, self.preds, self.neurons = nodes, preds, neurons
        self.shapes, self.linear = {}, {}

    def matrix(self, name):
        """:func:`_linear` of linear node ``name``."""
        if name not in self.linear:
            shape_in, _ = self._input(name, frozenset((name,)))
            self.linear[name] = _linear(name, self.nodes[name], shape_in)
        return self.linear[name]

    def output(self, name, open_=frozenset()):
        """``(shape or None, nodes at which a cycle cut the chain)``."""
        if name in self.shapes:
            return self.shapes[name], frozenset()
        if name in open_:
            return None, frozenset((name,))
        shape, cut = self._output(name, open_ | {name})
        cut = cut - {name}
        if not cut:
            self.shapes[name] = shape
        return shape, cut

    def _input(self, name, open_):
        best, cut = None, frozenset()
        for p in self.preds[name]:
            s, c = self.output(p, open_)
            cut |= c
            if s is not None and (best is None or len(s) > len(best)):
                best = s
        return best, cut

    def _output(self, name, open_):
        node, kind = self.nodes[name], _type(self.nodes[name])
        if kind == "Input":
            return _shape(node.input_type["input"]), frozenset()
        if name in self.neurons:
            size = self.neurons[name].size
            own = _shape(node.output_type.get("output")) if node.output_type else None
            if own is not None and len(own) > 1 and _size(own) == size:
                return own, frozenset()
            shape, cut = self._input(name, open_)
            return (shape if shape is not None and len(shape) > 1 and _size(shape) == size
                    else (size,)), cut
        if kind not in LINEAR:
            return None, frozenset()
        if name in self.linear:
            return self.linear[name][4], frozenset()
        shape_in, cut = self._input(name, open_)
        if cut:
            return ((np.shape(node.weight)[0],) if kind in ("Affine", "Linear") else None), cut
        self.linear[name] = _linear(name, node, shape_in)
        return self.linear[name][4], frozenset()


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
    chain = _Chain(nodes, preds, neurons)
    linear = {n: chain.matrix(n) for n, node in nodes.items() if _type(node) in LINEAR}
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
                 list(dict.fromkeys(outputs)), meta, {n: _type(node) for n, node in nodes.items()})


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
    w, b, n_in, n_out, _ = linear[node]
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
