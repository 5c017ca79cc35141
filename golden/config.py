"""The network description: a TOML file turned into a validated :class:`~.params.Network`.

The format (``docs/network-format.md`` has the full reference)::

    [network]       name, inputs
    [hardware]      current_bits, voltage_bits, weight_bits, trace_bits, refractory_bits,
                    rate_bits (optional: the on-chip rate generator, docs/spec.md section 7)
    [[population]]  name, size, threshold, du, dv, bias, refractory, reset, output, and for an
                    adaptive threshold theta_bits, theta_inc, theta_decay
    [[projection]]  source, target, weights, weight_shift, and an optional [projection.stdp]
                    table (a_plus, a_minus, shift, d_pre, d_post, x_inc, y_inc, w_min, w_max,
                    and for a third factor modulated, modulation)

``weights`` is a ``.npy`` path relative to the TOML file, an inline nested list, or an
initialiser table ``{init = "uniform", low, high, seed, density}`` or
``{init = "constant", value, seed, density}``. Every error names the field, the allowed range
and the value; nothing is half-loaded.
"""

import os

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:   # Python 3.10
    import tomli as tomllib

from spikefab.errors import InvalidType, InvalidValue

from .fixed import signed_max
from .params import (MAX_SIZE, MAX_WEIGHT_SHIFT, Hardware, Network, Population, Projection, Stdp,
                     _check_int, check_weights_array)

__all__ = ["load", "loads", "dump", "make_weights"]

_TOP = ("network", "hardware", "population", "projection")
_NETWORK_KEYS = ("name", "inputs")
_HARDWARE_KEYS = ("current_bits", "voltage_bits", "weight_bits", "trace_bits", "refractory_bits",
                  "rate_bits")
_POP_REQUIRED = ("name", "size", "threshold")
_POP_KEYS = _POP_REQUIRED + ("du", "dv", "bias", "refractory", "reset", "output")
#: The adaptive threshold's keys (``docs/spec.md`` v1.2): written only when ``theta_bits > 0``.
_THETA_KEYS = ("theta_bits", "theta_inc", "theta_decay")
_PROJ_REQUIRED = ("source", "target", "weights")
_PROJ_KEYS = _PROJ_REQUIRED + ("weight_shift", "stdp")
_STDP_KEYS = ("a_plus", "a_minus", "shift", "d_pre", "d_post", "x_inc", "y_inc", "w_min",
              "w_max")
#: The third factor's keys (``docs/spec.md`` v1.2): optional, written only when modulated.
_MOD_KEYS = ("modulated", "modulation")
_INIT_KEYS = {"uniform": ("init", "low", "high", "seed", "density"),
              "constant": ("init", "value", "seed", "density")}


def load(path):
    """Load and validate the network file at ``path``.

    Returns
    -------
    Network

    Raises
    ------
    ValueError, TypeError
        For anything out of range, of the wrong kind, missing or unknown; the message names
        the field, the allowed range and the value.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise InvalidValue(f"Network file {path!r} does not exist") from None
    except OSError as e:
        raise InvalidValue(f"Network file {path!r} cannot be read: {e.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidValue(f"Network file {path!r} is not UTF-8 text") from None
    return loads(text, base_dir=os.path.dirname(os.path.abspath(path)))


def loads(text, base_dir="."):
    """Parse and validate a network description given as TOML text.

    ``base_dir`` is where relative ``.npy`` weight paths are looked up.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidValue(f"Network file is not valid TOML: {e}") from None
    return from_dict(doc, base_dir)


def _table(value, what):
    if not isinstance(value, dict):
        raise InvalidType(f"{what} must be a table, not {value!r}")
    return value


def _keys(table, allowed, required, what):
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise InvalidValue(f"Unknown key {unknown[0]!r} in {what}; allowed keys: "
                           f"{', '.join(allowed)}")
    for key in required:
        if key not in table:
            raise InvalidValue(f"Missing key {key!r} in {what}")


def from_dict(doc, base_dir="."):
    """Build a :class:`Network` from the parsed TOML document ``doc``."""
    unknown = sorted(set(doc) - set(_TOP))
    if unknown:
        raise InvalidValue(f"Unknown table {unknown[0]!r}; allowed: [network], [hardware], "
                           f"[[population]], [[projection]]")
    if "network" not in doc:
        raise InvalidValue("Missing table [network] (with name and inputs)")
    net = _table(doc["network"], "[network]")
    _keys(net, _NETWORK_KEYS, _NETWORK_KEYS, "[network]")

    _check_int(net["inputs"], 0, MAX_SIZE, "Network inputs")   # sizes the input weights
    hw_table = _table(doc.get("hardware", {}), "[hardware]")
    _keys(hw_table, _HARDWARE_KEYS, (), "[hardware]")
    hw = Hardware(**hw_table)

    pops = doc.get("population", [])
    if not isinstance(pops, list):
        raise InvalidType("[[population]] must be an array of tables, written [[population]]")
    populations = []
    for n, p in enumerate(pops):
        _table(p, f"population {n}")
        label = f"population {n}" + (f" ({p['name']!r})" if isinstance(p.get("name"), str)
                                     else "")
        _keys(p, _POP_KEYS + _THETA_KEYS, _POP_REQUIRED, label)
        populations.append(Population(**p))

    sizes = {p.name: p.size for p in populations}
    sizes["input"] = net["inputs"]
    projs = doc.get("projection", [])
    if not isinstance(projs, list):
        raise InvalidType("[[projection]] must be an array of tables, written [[projection]]")
    projections = []
    for k, p in enumerate(projs):
        _table(p, f"projection {k}")
        _keys(p, _PROJ_KEYS, _PROJ_REQUIRED, f"projection {k}")
        what = f"projection {k} ({p['source']} -> {p['target']})"
        stdp = None
        if "stdp" in p:
            st = _table(p["stdp"], f"STDP of {what}")
            _keys(st, _STDP_KEYS + _MOD_KEYS, _STDP_KEYS, f"STDP of {what}")
            stdp = Stdp(**st)
        shape = (sizes.get(p["source"]), sizes.get(p["target"]))
        weights = check_weights_array(make_weights(p["weights"], shape, hw, what, base_dir),
                                      what)
        shift = _check_int(p.get("weight_shift", 0), 0, MAX_WEIGHT_SHIFT,
                           f"Weight_shift of {what}")
        projections.append(Projection(source=p["source"], target=p["target"],
                                      weights=weights, weight_shift=shift, stdp=stdp))
    return Network(name=net["name"], inputs=net["inputs"], populations=populations,
                   projections=projections, hardware=hw)


def make_weights(spec, shape, hw, what, base_dir="."):
    """Turn a projection's ``weights`` value into an integer array.

    ``shape`` is ``(source size, target size)``, with ``None`` for a source or target that the
    network does not have (the :class:`Network` then reports the unknown name). The shape and
    range of the result are checked by :class:`Network`.
    """
    if isinstance(spec, str):
        return _load_npy(spec, what, base_dir)
    if isinstance(spec, list):
        try:
            w = np.array(spec)
        except ValueError:
            raise InvalidValue(f"Weights of {what} must be a rectangular nested list of "
                               f"integers") from None
        return w
    if isinstance(spec, dict):
        return _init_weights(spec, shape, hw, what)
    raise InvalidType(f"Weights of {what} must be a .npy path, a nested list or an init table, "
                      f"not {spec!r}")


def _load_npy(name, what, base_dir):
    path = os.path.join(base_dir, name)
    if not name.endswith(".npy"):
        raise InvalidValue(f"Weights file of {what} must be a .npy file, not {name!r}")
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InvalidValue(f"Weights file {name!r} of {what} does not exist (looked for "
                           f"{os.path.abspath(path)})") from None
    except (OSError, ValueError) as e:
        raise InvalidValue(f"Weights file {name!r} of {what} is not a readable .npy array: "
                           f"{e}") from None


def _init_weights(spec, shape, hw, what):
    kind = spec.get("init")
    if kind not in _INIT_KEYS:
        raise InvalidValue(f"Weights init of {what} must be one of 'uniform', 'constant', "
                           f"not {kind!r}")
    _keys(spec, _INIT_KEYS[kind], _INIT_KEYS[kind][:-2], f"weights of {what}")
    if None in shape:
        return np.zeros((0, 0), np.int64)   # unknown source or target: Network says which
    wmax = signed_max(hw.weight_bits)
    seed = _check_int(spec.get("seed", 0), 0, 2**63 - 1, f"Weights seed of {what}")
    density = spec.get("density", 1.0)
    if isinstance(density, bool) or not isinstance(density, (int, float)) \
            or not 0.0 <= density <= 1.0:
        raise InvalidValue(f"Weights density of {what} must be a number in [0, 1], "
                           f"not {density!r}")
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        low = _check_int(spec["low"], -wmax, wmax, f"Weights low of {what}")
        high = _check_int(spec["high"], low, wmax, f"Weights high of {what}")
        w = rng.integers(low, high, size=shape, endpoint=True, dtype=np.int64)
    else:
        value = _check_int(spec["value"], -wmax, wmax, f"Weights value of {what}")
        w = np.full(shape, value, np.int64)
    if density < 1.0:
        w[rng.random(shape) >= density] = 0
    return w


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(int(v))


def dump(net, path):
    """Write ``net`` as a network file at ``path``, its weights as ``.npy`` files beside it.

    Projection ``k``'s weights go to ``<stem>.w<k>.npy``; :func:`load` of the result gives a
    network equal to ``net`` (same parameters, same weights). Returns the paths written.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    stem = os.path.splitext(os.path.basename(path))[0]
    os.makedirs(folder, exist_ok=True)
    hw = net.hardware
    lines = ["[network]", f"name = {_toml_value(net.name)}", f"inputs = {net.inputs}", "",
             "[hardware]"]
    lines += [f"{k} = {getattr(hw, k)}" for k in _HARDWARE_KEYS
              if k != "rate_bits" or hw.rate_bits]
    for p in net.populations:
        lines += ["", "[[population]]"]
        lines += [f"{k} = {_toml_value(getattr(p, k))}"
                  for k in _POP_KEYS + (_THETA_KEYS if p.adaptive else ())]
    written = [path]
    for k, proj in enumerate(net.projections):
        wname = f"{stem}.w{k}.npy"
        np.save(os.path.join(folder, wname), proj.weights)
        written.append(os.path.join(folder, wname))
        lines += ["", f"[[projection]]  # {k}", f"source = {_toml_value(proj.source)}",
                  f"target = {_toml_value(proj.target)}", f"weights = {_toml_value(wname)}",
                  f"weight_shift = {proj.weight_shift}"]
        if proj.stdp is not None:
            lines += ["[projection.stdp]"]
            lines += [f"{k2} = {_toml_value(getattr(proj.stdp, k2))}"
                      for k2 in _STDP_KEYS + (_MOD_KEYS if proj.stdp.modulated else ())]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return written
