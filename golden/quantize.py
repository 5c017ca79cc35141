"""Weights trained elsewhere: float matrices quantised to a network's integer weights.

NumPy only. A projection adds ``W[j][i] << weight_shift`` to ``u`` per delivered spike, with
``W`` a ``weight_bits`` signed integer (``docs/spec.md``). A float matrix ``F`` becomes

    ``W = rint(F * scale / 2**weight_shift)``   (round to nearest, ties to even)

so that ``W << weight_shift`` approximates ``F * scale``: ``scale`` is the number of ``u``
units per unit of the float weights. Per projection, either

- ``scale`` is left to the importer (``None``): the largest magnitude of ``F`` goes to the end
  of the weight range at the given ``weight_shift`` (default: the network's, so the result
  runs on a board built for the network), i.e. ``scale = 2**weight_shift * min(hi / max(F),
  lo / min(F))`` over the signs present, with ``[lo, hi]`` the weight range: the symmetric
  ``+-(2**(weight_bits-1) - 1)``, or ``[w_min, w_max]`` of a plastic projection; or
- ``scale`` is given (to keep the trained model's units, e.g. the same for every projection)
  and ``weight_shift`` is given too, or ``"auto"``: the smallest shift in ``[0, 24]`` at which
  every weight fits the range (the finest resolution; a shift other than the network's needs
  a new build).

Zero stays zero (an absent synapse stays absent). A weight that does not fit the range is an
error, never clipped. The error ``F_hat - F`` of the dequantised ``F_hat = W * 2**weight_shift
/ scale`` is reported in the float units: its maximum (at most half a step, ``2**weight_shift /
scale / 2``) and its root mean square, both also relative to ``max|F|`` and to the RMS of
``F``, and the number of non-zero floats that became zero.
"""

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from spikefab.errors import InvalidType, InvalidValue

from .params import MAX_WEIGHT_SHIFT, Network

__all__ = ["Quantized", "quantize", "projection_keys", "projection_index", "import_weights"]


@dataclass(frozen=True)
class Quantized:
    """One quantised matrix and its error (floats in the units of the trained model).

    Attributes
    ----------
    weights : numpy.ndarray of int64
        ``W``, in ``[lo, hi]``.
    scale : float
        ``u`` units per float unit: ``W << weight_shift ~ F * scale``.
    weight_shift : int
    step : float
        Float value of one integer step, ``2**weight_shift / scale``.
    max_error, rms_error : float
        Of ``F_hat - F``.
    rel_max_error, rel_rms_error : float
        ``max_error / max|F|`` and ``rms_error / rms(F)`` (0 for an all-zero ``F``).
    zeroed : int
        Non-zero floats quantised to 0 (synapses lost).
    nonzero : int
        Non-zero floats.
    """

    weights: np.ndarray
    scale: float
    weight_shift: int
    step: float
    max_error: float
    rms_error: float
    rel_max_error: float
    rel_rms_error: float
    zeroed: int
    nonzero: int


def _check_floats(f, shape, what):
    """``f`` as a float64 array of ``shape`` (None: any 2-D shape), or raise."""
    a = np.asarray(f)
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.floating)
                                   or np.issubdtype(a.dtype, np.integer)):
        raise InvalidType(f"Weights of {what} must be real numbers, not {a.dtype}")
    if shape is None and a.ndim != 2:
        raise InvalidValue(f"Weights of {what} must be a 2-D (source size, target size) array, "
                           f"not {a.ndim}-D")
    if shape is not None and a.shape != tuple(shape):
        raise InvalidValue(f"Weights of {what} must have shape (source size, target size) = "
                           f"{tuple(shape)}, not {a.shape}")
    a = a.astype(np.float64)
    bad = np.argwhere(~np.isfinite(a))
    if len(bad):
        j, i = (int(x) for x in bad[0])
        raise InvalidValue(f"Weights of {what} must be finite numbers, not {a[j, i]} at "
                           f"[{j}][{i}]")
    return a


def _check_scale(scale, what):
    if scale is None:
        return None
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, numbers.Real):
        raise InvalidType(f"Scale of {what} must be a positive finite number, not {scale!r}")
    if not (math.isfinite(scale) and scale > 0):
        raise InvalidValue(f"Scale of {what} must be a positive finite number, not {scale!r}")
    return float(scale)


def _check_shift(shift, what):
    if shift == "auto":
        return shift
    if isinstance(shift, (bool, np.bool_)) or not isinstance(shift, (int, np.integer)):
        raise InvalidType(f"Weight_shift of {what} must be an integer in [0, "
                          f"{MAX_WEIGHT_SHIFT}] or 'auto', not {shift!r}")
    if not 0 <= shift <= MAX_WEIGHT_SHIFT:
        raise InvalidValue(f"Weight_shift of {what} must be an integer in [0, "
                           f"{MAX_WEIGHT_SHIFT}] or 'auto', not {shift}")
    return int(shift)


def _describe_range(lo, hi, weight_bits, plastic):
    if plastic:
        return f"[w_min, w_max] = [{lo}, {hi}]"
    return f"[{lo}, {hi}] ({weight_bits}-bit signed)"


def quantize(f, weight_bits, scale=None, weight_shift=0, w_range=None, what="the weights"):
    """Quantise one float matrix (see the module docstring for the rule).

    Parameters
    ----------
    f : array_like of real numbers, 2-D
    weight_bits : int
        ``W_BITS`` of the network.
    scale : float or None
        ``u`` units per float unit; None: the largest magnitude fills the range.
    weight_shift : int or "auto"
        ``"auto"`` (only with a ``scale``): the smallest shift at which the weights fit.
    w_range : (int, int) or None
        ``(w_min, w_max)`` of a plastic projection; None: ``+-(2**(weight_bits-1) - 1)``.
    what : str
        Names the matrix in error messages, e.g. ``"projection 0 (input -> exc)"``.

    Returns
    -------
    Quantized

    Raises
    ------
    TypeError, ValueError
        For a non-numeric, non-2-D or non-finite ``f``, a bad ``scale`` or ``weight_shift``,
        or weights that do not fit the range (the message names the weight, its index, the
        range and the shift).
    """
    a = _check_floats(f, None, what)
    scale = _check_scale(scale, what)
    shift = _check_shift(weight_shift, what)
    plastic = w_range is not None
    wmax = (1 << (weight_bits - 1)) - 1
    lo, hi = (int(w_range[0]), int(w_range[1])) if plastic else (-wmax, wmax)
    rng = _describe_range(lo, hi, weight_bits, plastic)
    fmax, fmin = (float(a.max()), float(a.min())) if a.size else (0.0, 0.0)
    if scale is None:
        if shift == "auto":
            raise InvalidValue(f"Weight_shift of {what} can be 'auto' only with a given scale")
        if fmax > 0 and hi <= 0 or fmin < 0 and lo >= 0:
            bad = fmax if fmax > 0 and hi <= 0 else fmin
            j, i = (int(x) for x in np.argwhere(a == bad)[0])
            sign = "<= 0" if bad > 0 else ">= 0"
            raise InvalidValue(f"Weights of {what} must be {sign} to fit {rng}, not {bad:g} at "
                               f"[{j}][{i}]")
        limits = ([hi / fmax] if fmax > 0 else []) + ([lo / fmin] if fmin < 0 else [])
        per_unit = min(limits, default=1.0)
        scale = per_unit * 2.0 ** shift
    if shift == "auto":
        big = float(np.abs(a).max()) * scale if a.size else 0.0
        for shift in range(MAX_WEIGHT_SHIFT + 1):
            q = np.rint(a * (scale / 2.0 ** shift))
            if not a.size or (q.min() >= lo and q.max() <= hi):
                break
        else:
            j, i = (int(x) for x in np.argwhere(np.abs(a) * scale == big)[0])
            raise InvalidValue(f"Weights of {what} times scale {scale:g} must fit {rng} after "
                               f">> weight_shift, for some weight_shift in [0, "
                               f"{MAX_WEIGHT_SHIFT}]; {a[j, i]:g} at [{j}][{i}] is "
                               f"{a[j, i] * scale:g}")
    step = 2.0 ** shift / scale
    q = np.rint(a / step)
    bad = np.argwhere((q < lo) | (q > hi))
    if len(bad):
        j, i = (int(x) for x in bad[0])
        raise InvalidValue(f"Weights of {what} must quantise to integers in {rng}, not "
                           f"{int(q[j, i])} ({a[j, i]:g} at [{j}][{i}] times scale {scale:g} "
                           f">> weight_shift {shift})")
    q = q.astype(np.int64)
    err = q * step - a
    n = max(a.size, 1)
    max_err = float(np.abs(err).max()) if a.size else 0.0
    rms_err = float(np.sqrt((err ** 2).sum() / n))
    amax = float(np.abs(a).max()) if a.size else 0.0
    arms = float(np.sqrt((a ** 2).sum() / n))
    return Quantized(
        weights=q, scale=scale, weight_shift=shift, step=step, max_error=max_err,
        rms_error=rms_err, rel_max_error=max_err / amax if amax else 0.0,
        rel_rms_error=rms_err / arms if arms else 0.0,
        zeroed=int(np.count_nonzero((q == 0) & (a != 0))), nonzero=int(np.count_nonzero(a)))


def projection_keys(net):
    """The keys that name projection ``k`` of ``net``: ``"k"`` and, when no other projection
    has the same source and target, ``"source->target"``. A dict of key to index."""
    keys = {}
    pairs = [(pr.source, pr.target) for pr in net.projections]
    for k, (s, t) in enumerate(pairs):
        keys[str(k)] = k
        if pairs.count((s, t)) == 1:
            keys[f"{s}->{t}"] = k
    return keys


def projection_index(net, key, what="Weights"):
    """The index of the projection of ``net`` that ``key`` names (an int, ``"k"`` or
    ``"source->target"``); ValueError naming the keys there are."""
    return _resolve(net, key, projection_keys(net), what)


def _resolve(net, key, keys, what):
    n = len(net.projections)
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        key = str(int(key))
    if isinstance(key, str) and "->" in key:
        s, t = (x.strip() for x in key.split("->", 1))
        key = f"{s}->{t}"
    if isinstance(key, str) and key in keys:
        return keys[key]
    if isinstance(key, str) and "->" in key:
        same = [k for k, pr in enumerate(net.projections) if (pr.source, pr.target) == (s, t)]
        if len(same) > 1:
            raise InvalidValue(f"{what} key {key!r} names projections "
                               f"{', '.join(map(str, same))} of network {net.name!r}; use the "
                               f"index")
    names = ", ".join(repr(k) for k in keys if not k.isdigit())
    raise InvalidValue(f"{what} key must be a projection index in [0, {n - 1}]"
                       + (f" or one of {names}" if names else "")
                       + f" of network {net.name!r}, not {key!r}")


def _per_projection(value, net, keys, imported, what):
    """``{index: value}`` from one value for every imported projection or a dict by key."""
    if not isinstance(value, dict):
        return {k: value for k in imported}
    out = {}
    for key, v in value.items():
        k = _resolve(net, key, keys, what)
        if k not in imported:
            raise InvalidValue(f"{what} is given for projection {k} "
                               f"({net.projections[k].source} -> {net.projections[k].target}), "
                               f"whose weights are not imported")
        out[k] = v
    return out


def import_weights(net, weights, scale=None, weight_shift=None):
    """Quantise float weights into a copy of ``net``.

    Parameters
    ----------
    net : Network
        Gives the populations, the widths, the projections (and their ``weight_shift`` and
        plastic range); projections not named in ``weights`` keep their weights.
    weights : mapping
        Key to float matrix ``(source size, target size)``; a key is the projection index
        (``0`` or ``"0"``) or ``"source->target"`` (when only one projection joins the two).
        A ``numpy.load`` of an ``.npz`` is such a mapping.
    scale : float, None or dict
        ``u`` units per float unit (see the module docstring), for every imported projection
        or a dict by key (projections left out: None); None: each projection's largest
        magnitude fills its range.
    weight_shift : int, "auto", None or dict
        None: the network's (keeps the build); an int; ``"auto"`` (with a scale): the
        smallest that fits; or a dict by key.

    Returns
    -------
    (Network, dict)
        The network with the quantised weights and shifts, and ``{index: Quantized}`` of the
        imported projections.

    Raises
    ------
    TypeError, ValueError
        Naming the projection, the field, the allowed values and the value; nothing is
        returned half-done.
    """
    if not isinstance(net, Network):
        raise InvalidType(f"Network must be a Network, not {net!r}")
    keys = projection_keys(net)
    files = list(weights.keys()) if hasattr(weights, "keys") else None
    if files is None:
        raise InvalidType(f"Weights must be a mapping of projection key to array, not "
                          f"{weights!r}")
    if not files:
        raise InvalidValue("Weights must name at least one projection, not none")
    given = {}
    for key in files:
        k = _resolve(net, key, keys, "Weights")
        if k in given:
            raise InvalidValue(f"Projection {k} ({net.projections[k].source} -> "
                               f"{net.projections[k].target}) is given twice, as "
                               f"{given[k][0]!r} and {key!r}")
        given[k] = (key, weights[key])
    imported = sorted(given)
    scales = _per_projection(scale, net, keys, imported, "Scale")
    shifts = _per_projection(weight_shift, net, keys, imported, "Weight_shift")
    hw = net.hardware
    report = {}
    projs = list(net.projections)
    for k in imported:
        pr = net.projections[k]
        what = f"projection {k} ({pr.source} -> {pr.target})"
        shape = (net.source_size(pr.source), net.population(pr.target).size)
        a = _check_floats(given[k][1], shape, what)
        shift = shifts.get(k)
        q = quantize(a, hw.weight_bits, scales.get(k), pr.weight_shift if shift is None
                     else shift, None if pr.stdp is None else (pr.stdp.w_min, pr.stdp.w_max),
                     what)
        report[k] = q
        projs[k] = replace(pr, weights=q.weights, weight_shift=q.weight_shift)
    return replace(net, projections=projs), report
