"""Pair-based, trace-form STDP of ``docs/spec.md`` section 4, split into its ordered parts.

Within a time step the simulator calls, in this order: :func:`depress` (with the delivery of the
step's host inputs, using the post traces of step ``t - 1``), :func:`pre_traces`, the neuron
update, :func:`post_traces`, :func:`potentiate` (using the pre traces of step ``t``), and
:func:`depress` again with the delivery of the step's own spikes (using this step's post
traces: SPEC section 4, step 6). Implemented in
hardware by the learning unit of the neuron core (``spikefab.hdl``): LTD rides on the event
phase, LTP is a column pass after the neuron update.

Array shapes: a batch of ``B`` independent runs, ``S`` sources, ``N`` targets. Weights are
``(B, S, N)``, pre traces ``(B, S)``, post traces ``(B, N)``, event and spike masks boolean.
"""

import numpy as np

from .fixed import decay, usat
from .params import modulated_rate

__all__ = ["depress", "pre_traces", "post_traces", "potentiate"]


def _delta(a, m, trace, shift):
    """``sign(a') * ((|a'| * trace) >> shift)`` per run, with ``a' = modulated_rate(a, m)``
    (``m`` ``(B,)``; None: ``a`` itself, plain STDP), for traces ``(B, n)``."""
    if m is None:
        return (a * trace) >> shift
    eff = modulated_rate(a, m)[:, None]
    return np.sign(eff) * ((np.abs(eff) * trace) >> shift)


def depress(w, events, y, stdp, m=None):
    """LTD, in place: for every delivered source row ``j`` of run ``b``::

        W[b, j, i] = clip(W[b, j, i] - ((a_minus * y[b, i]) >> shift), w_min, w_max)

    ``y`` is unsigned, so the shift is a floor and a truncation alike. A modulated projection
    (third factor, spec v1.2) uses ``a- = sign(m) * ((a_minus * |m|) >> 8)`` of its run's
    modulation ``m[b]`` and ``- sign(a-) * ((|a-| * y) >> shift)``.

    Parameters
    ----------
    w : numpy.ndarray of int64, (B, S, N)
        Modified in place.
    events : numpy.ndarray of bool, (B, S)
        Sources delivered at this step; each ``(b, j)`` at most once.
    y : numpy.ndarray of int64, (B, N)
        Post traces as they are at the delivery: of step ``t - 1`` for host inputs of step
        ``t``, of step ``t`` for the spikes of step ``t``.
    m : numpy.ndarray of int64, (B,), optional
        The modulation of every run (modulated projections only).
    """
    b, j = np.nonzero(events)
    if len(b):
        dw = _delta(stdp.a_minus, m, y, stdp.shift)
        w[b, j] = np.clip(w[b, j] - dw[b], stdp.w_min, stdp.w_max)


def potentiate(w, spikes, x, stdp, m=None):
    """LTP, in place: for every target column ``i`` that spiked in run ``b``::

        W[b, j, i] = clip(W[b, j, i] + ((a_plus * x[b, j]) >> shift), w_min, w_max)

    Parameters
    ----------
    w : numpy.ndarray of int64, (B, S, N)
        Modified in place.
    spikes : numpy.ndarray of bool, (B, N)
        Target spikes of this step.
    x : numpy.ndarray of int64, (B, S)
        Pre traces of this step (already decayed and incremented).
    m : numpy.ndarray of int64, (B,), optional
        The modulation of every run (modulated projections only): ``a+ = sign(m) *
        ((a_plus * |m|) >> 8)`` and ``+ sign(a+) * ((|a+| * x) >> shift)``.
    """
    b, i = np.nonzero(spikes)
    if len(b):
        dw = _delta(stdp.a_plus, m, x, stdp.shift)
        w[b, :, i] = np.clip(w[b, :, i] + dw[b], stdp.w_min, stdp.w_max)


def _trace(t, hits, d, inc, bits):
    t = decay(t, d)
    return np.where(hits, usat(t + inc, bits), t)


def pre_traces(x, events, stdp, hw):
    """``x = decay(x, d_pre)``, then ``x = usat(x + x_inc, T_BITS)`` where a source fired."""
    return _trace(x, events, stdp.d_pre, stdp.x_inc, hw.trace_bits)


def post_traces(y, spikes, stdp, hw):
    """``y = decay(y, d_post)``, then ``y = usat(y + y_inc, T_BITS)`` where a target spiked."""
    return _trace(y, spikes, stdp.d_post, stdp.y_inc, hw.trace_bits)
