"""Spike codings: intensities (or a time series) in, 0/1 input spikes for the host to inject out;
and the decoders that read spikes back (``docs/coding.md``).

Every encoder has the same shape of call, ``<scheme>_encode(x, steps, ...)``: ``x`` holds
intensities in ``[0, 1]`` with the channels on its last axis, shape ``(N,)`` or ``(B, N)``
(any leading axes make a batch of independent stimuli), and the result is a ``uint8`` array of
0/1 spikes ``(T, N)`` or ``(B, T, N)``, the layout that :func:`spikefab.golden.simulate` and the
host link take. Only :func:`delta_encode` differs: it codes a time series ``(T, N)`` (or
``(B, T, N)``) into ``(T, 2N)`` ON/OFF channels. The random codes take a ``seed``
(``numpy.random.default_rng``): the same seed gives the same spikes; the others are
deterministic. Floats appear only here, in the stimulus: what the network receives is exact.

========  ==========================  ===========================================================
scheme    function                    what carries the intensity ``x``
========  ==========================  ===========================================================
rate      :func:`rate_encode`         the probability of a spike at every step (Bernoulli)
regular   :func:`regular_encode`      the spike count: an accumulator that spikes on overflow
ttfs      :func:`ttfs_encode`         the time of the one spike: earlier for stronger input
burst     :func:`burst_encode`        the spikes per burst and their interval (Park et al.)
phase     :func:`phase_encode`        which phases of a global oscillation spike (Kim et al.)
delta     :func:`delta_encode`        a spike each time a signal moves by a threshold (ON/OFF)
========  ==========================  ===========================================================

Decoders: :func:`spike_count`, :func:`first_spike_time`, :func:`population_vote`, and the
inverses of three codes, :func:`ttfs_decode`, :func:`phase_decode`, :func:`delta_decode`.
"""

import math

import numpy as np

from spikefab.errors import InvalidValue

__all__ = ["SCHEMES", "encode", "rate_encode", "regular_encode", "ttfs_encode", "burst_encode",
           "phase_encode", "phase_weights", "delta_encode", "spike_count", "first_spike_time",
           "population_vote", "ttfs_decode", "phase_decode", "delta_decode",
           "RATE_INTENSITY_BITS", "check_intensities", "chip_rate_phases", "chip_rate_encode"]

#: The regular code's accumulator: a fraction of a spike in units of ``2**-16``.
_ACC_ONE = 1 << 16


# -- checks ------------------------------------------------------------------------------------

def _intensities(x, what="Intensities"):
    x = np.asarray(x, dtype=float)
    if x.ndim < 1:
        raise InvalidValue(f"{what} must have a channel axis, not shape {x.shape}")
    if x.size and (np.isnan(x).any() or x.min() < 0.0 or x.max() > 1.0):
        raise InvalidValue(f"{what} must be in [0, 1], not values in "
                           f"[{np.nanmin(x)}, {np.nanmax(x)}]")
    return x


def _integer(value, name, low, high=None):
    """``value`` as an int in ``[low, high]`` (``high`` None: no upper bound)."""
    if high is not None:
        kind = f"an integer in [{low}, {high}]"
    else:
        kind = "a non-negative integer" if low == 0 else f"an integer >= {low}"
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low
            or (high is not None and value > high)):
        raise InvalidValue(f"{name} must be {kind}, not {value!r}")
    return int(value)


def _real(value, name, low, high, high_open=False, low_open=False):
    """``value`` as a float in ``[low, high]`` (either end open on request)."""
    span = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"{name} must be a number in {span}, not {value!r}") from None
    if (math.isnan(v) or v < low or v > high or (low_open and v == low)
            or (high_open and v == high)):
        raise InvalidValue(f"{name} must be a number in {span}, not {value!r}")
    return v


def _out_shape(x, steps):
    return x.shape[:-1] + (steps, x.shape[-1])


# -- encoders ----------------------------------------------------------------------------------

def rate_encode(intensities, steps, rate=0.25, seed=0):
    """Bernoulli (discrete-time Poisson) rate code.

    Channel ``c`` spikes at each step independently with probability ``x[c] * rate``: its
    expected count over ``T`` steps is ``x * rate * T``, and it has Poisson-like variance.

    Parameters
    ----------
    intensities : array_like of float, (..., N)
        Values in ``[0, 1]``; a leading axis makes a batch of independent stimuli.
    steps : int
        Number of time steps ``T``.
    rate : float
        Spike probability per step at intensity 1, in ``[0, 1]``.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same spikes.

    Returns
    -------
    numpy.ndarray of uint8, (..., T, N)
    """
    x = _intensities(intensities)
    steps = _integer(steps, "Steps", 0)
    rate = _real(rate, "Rate", 0.0, 1.0)
    rng = np.random.default_rng(seed)
    p = (x * rate)[..., None, :]
    return (rng.random(_out_shape(x, steps)) < p).astype(np.uint8)


def regular_encode(intensities, steps, rate=0.25, phase=0.0):
    """Deterministic (regular) rate code: the same mean rate as :func:`rate_encode`, no noise.

    Channel ``c`` adds ``q = round(x[c] * rate * 2**16)`` to an integer accumulator that starts
    at ``round(phase * 2**16)``, every step; it spikes at step ``t`` when the accumulator passes
    a multiple of ``2**16``, so that over the first ``t + 1`` steps it has spiked exactly
    ``(phase_raw + q * (t + 1)) >> 16`` times: the count is ``x * rate * T`` to within one
    spike, and spikes are evenly spaced (an integrate-and-fire neuron without leak).

    Parameters
    ----------
    intensities : array_like of float, (..., N)
    steps : int
    rate : float
        Spikes per step at intensity 1, in ``[0, 1]`` (1: a spike every step).
    phase : float
        Where every accumulator starts, as a fraction of a spike, in ``[0, 1)``: 0 makes the
        first spike as late as possible, values near 1 as early as possible.

    Returns
    -------
    numpy.ndarray of uint8, (..., T, N)
    """
    x = _intensities(intensities)
    steps = _integer(steps, "Steps", 0)
    rate = _real(rate, "Rate", 0.0, 1.0)
    phase = _real(phase, "Phase", 0.0, 1.0, high_open=True)
    q = np.floor(x * rate * _ACC_ONE + 0.5).astype(np.int64)
    start = int(math.floor(phase * _ACC_ONE + 0.5))
    t = np.arange(steps + 1, dtype=np.int64)[:, None]
    level = (start + t * q[..., None, :]) >> 16                  # spikes so far, (..., T+1, N)
    return np.diff(level, axis=-2).astype(np.uint8)


#: Bits of an intensity of the on-chip rate generator (``docs/spec.md`` section 7).
RATE_INTENSITY_BITS = 4


def check_intensities(intensities, inputs=None):
    """``intensities`` for the on-chip rate generator as an int array ``(N,)`` or ``(B, N)``
    (``(B, inputs)`` when ``inputs`` is given: a single image becomes a batch of one), or
    :class:`InvalidValue` naming the shape or the values and the allowed range. Shared by
    :func:`chip_rate_encode`, ``Device.present`` and the command line."""
    q = np.asarray(intensities)
    top = (1 << RATE_INTENSITY_BITS) - 1
    if inputs is None:
        if q.ndim not in (1, 2):
            raise InvalidValue(f"Intensities must have shape (N,) or (B, N), not {q.shape}")
    else:
        if q.ndim == 1:
            q = q[None]
        if q.ndim != 2 or q.shape[1] != inputs:
            raise InvalidValue(f"Intensities must have shape (B, {inputs}), not "
                               f"{np.shape(intensities)}")
    if q.size and (not np.issubdtype(q.dtype, np.integer) or q.min() < 0 or q.max() > top):
        raise InvalidValue(f"Intensities of the on-chip rate generator must be integers in "
                           f"[0, {top}], not values in [{q.min()}, {q.max()}] ({q.dtype})")
    return q


def chip_rate_phases(channels, bits):
    """Where the on-chip rate generator's accumulators start (``docs/spec.md`` section 7):
    channel ``c``'s phase is the low ``bits`` bits of ``c`` in reverse order, so that channels
    of one intensity spike at evenly spread steps. ``(channels,)`` int64 in ``[0, 2**bits)``."""
    channels = _integer(channels, "Channels", 0)
    bits = _integer(bits, "Rate bits", 4, 16)
    c = np.arange(channels, dtype=np.int64)
    phase = np.zeros(channels, dtype=np.int64)
    for i in range(bits):
        phase |= ((c >> i) & 1) << (bits - 1 - i)
    return phase


def chip_rate_encode(intensities, steps, bits):
    """The input spikes that the on-chip rate generator (``Hardware.rate_bits = bits``) makes
    from integer intensities (``docs/spec.md`` section 7): bit for bit what a board makes.

    Channel ``c`` of intensity ``q`` in ``[0, 15]`` has a ``bits``-bit accumulator that starts
    at :func:`chip_rate_phases` ``[c]`` and adds ``q`` every step; the channel spikes in each
    step where the sum reaches ``2**bits`` (which is then dropped): over the first ``t`` steps
    it spikes ``(phase + q * t) >> bits`` times. Integers only; no seed.

    Parameters
    ----------
    intensities : array_like of int, (N,) or (B, N)
        In ``[0, 15]`` (:data:`RATE_INTENSITY_BITS`).
    steps : int
    bits : int
        The accumulator's width ``p``, in ``[4, 16]``: a rate of ``q / 2**p`` spikes a step.

    Returns
    -------
    numpy.ndarray of uint8, (T, N) or (B, T, N)
    """
    q = check_intensities(intensities)
    steps = _integer(steps, "Steps", 0)
    bits = _integer(bits, "Rate bits", 4, 16)
    phase = chip_rate_phases(q.shape[-1], bits)
    t = np.arange(steps + 1, dtype=np.int64)[:, None]
    level = (phase + t * q.astype(np.int64)[..., None, :]) >> bits   # spikes so far
    return np.diff(level, axis=-2).astype(np.uint8)


def ttfs_encode(intensities, steps, mode="linear", cutoff=0.0):
    """Time-to-first-spike (latency) code: one spike per channel, earlier for stronger input.

    A channel with ``x <= cutoff`` stays silent. The others spike once, at step

    - ``linear``: ``t = floor((T - 1) * (1 - x) / (1 - cutoff) + 1/2)``: ``x = 1`` at step 0,
      ``x`` just above the cut-off at the last step ``T - 1``;
    - ``log``: ``t = floor((T - 1) * ln(x) / ln(cutoff) + 1/2)`` (``cutoff > 0``): the latency
      grows with the logarithm of the input's weakness, so that the strong end of the range is
      spread over most of the window (the shape of an RC neuron charging to a threshold).

    Both are non-increasing in ``x``. Decode with :func:`first_spike_time` and
    :func:`ttfs_decode`.

    Parameters
    ----------
    intensities : array_like of float, (..., N)
    steps : int
        ``T >= 1``.
    mode : {"linear", "log"}
    cutoff : float
        In ``[0, 1)`` (``(0, 1)`` for ``log``).

    Returns
    -------
    numpy.ndarray of uint8, (..., T, N)
    """
    x = _intensities(intensities)
    steps = _integer(steps, "Steps", 1)
    if mode not in ("linear", "log"):
        raise InvalidValue(f"TTFS mode must be 'linear' or 'log', not {mode!r}")
    if mode == "log":
        cutoff = _real(cutoff, "Cutoff of the log TTFS code", 0.0, 1.0, low_open=True,
                       high_open=True)
    else:
        cutoff = _real(cutoff, "Cutoff", 0.0, 1.0, high_open=True)
    t = _latency(x, steps, mode, cutoff)
    out = np.zeros(_out_shape(x, steps), dtype=np.uint8)
    fire = t < steps
    idx = np.nonzero(fire)
    tt = t[idx]
    out[idx[:-1] + (tt, idx[-1])] = 1
    return out


def _latency(x, steps, mode, cutoff):
    """The TTFS spike step of every channel; ``steps`` where it stays silent."""
    fire = x > cutoff
    safe = np.where(fire, x, 1.0)
    if mode == "linear":
        frac = (1.0 - safe) / (1.0 - cutoff)
    else:
        frac = np.log(safe) / math.log(cutoff)
    t = np.floor((steps - 1) * frac + 0.5).astype(np.int64)
    return np.where(fire, np.clip(t, 0, steps - 1), steps)


def _burst_shape(x, max_spikes, min_isi, max_isi, cutoff):
    """Spikes per burst and their interval for every channel (Park et al.)."""
    # rounded to 1e-9 before the ceiling, so that 5 * 0.6 = 3.0000000000000004 makes 3
    n = np.where(x > cutoff, np.ceil(np.round(max_spikes * x, 9)), 0).astype(np.int64)
    isi = np.where(n > 1, np.ceil(np.round(max_isi - (max_isi - min_isi) * x, 9)),
                   max_isi).astype(np.int64)
    return n, isi


def _longest_burst(max_spikes, min_isi, max_isi):
    """The most steps any burst spans: a burst of ``n`` spikes has the widest interval just
    above ``x = (n - 1) / max_spikes``, where ``ceil(max_spikes * x)`` reaches ``n``."""
    span, at = 1, (1, max_isi)
    for n in range(2, max_spikes + 1):
        x = (n - 1) / max_spikes
        isi = math.ceil(round(max_isi - (max_isi - min_isi) * x, 9))
        if (n - 1) * isi + 1 > span:
            span, at = (n - 1) * isi + 1, (n, isi)
    return span, at


def burst_encode(intensities, steps, max_spikes=5, min_isi=1, max_isi=4, period=None,
                 cutoff=0.0):
    """Burst code (Park et al., DAC 2019): stronger input, more spikes per burst and shorter
    intervals between them.

    A channel with ``x > cutoff`` sends a burst at the start of every ``period`` steps of
    ``N_s = ceil(max_spikes * x)`` spikes, ``ISI = ceil(max_isi - (max_isi - min_isi) * x)``
    steps apart (``max_isi`` for a single spike): spikes at ``k * period + j * ISI`` for
    ``j < N_s``. ``period`` must hold the longest burst any intensity makes; the default is one
    burst in the whole window (``period = T``).

    Parameters
    ----------
    intensities : array_like of float, (..., N)
    steps : int
    max_spikes : int
        Spikes per burst at ``x = 1``, in ``[1, 255]``.
    min_isi, max_isi : int
        Interval at ``x = 1`` and at ``x -> 0``, ``1 <= min_isi <= max_isi <= 255``.
    period : int, optional
        Steps from one burst to the next.
    cutoff : float
        In ``[0, 1)``: channels at or below it stay silent.

    Returns
    -------
    numpy.ndarray of uint8, (..., T, N)
    """
    x = _intensities(intensities)
    steps = _integer(steps, "Steps", 0)
    max_spikes = _integer(max_spikes, "Burst max_spikes", 1, 255)
    min_isi = _integer(min_isi, "Burst min_isi", 1, 255)
    max_isi = _integer(max_isi, "Burst max_isi", min_isi, 255)
    cutoff = _real(cutoff, "Cutoff", 0.0, 1.0, high_open=True)
    span, (n_at, isi_at) = _longest_burst(max_spikes, min_isi, max_isi)
    if period is None:
        period = max(steps, 1)
        if steps and period < span:
            raise InvalidValue(f"Steps must be at least {span} to hold the longest burst "
                               f"({n_at} spikes {isi_at} steps apart), not {steps}")
    else:
        period = _integer(period, "Burst period", 1)
        if period < span:
            raise InvalidValue(f"Burst period must be at least {span} steps to hold the longest "
                               f"burst ({n_at} spikes {isi_at} steps apart), not {period}")
    n, isi = _burst_shape(x, max_spikes, min_isi, max_isi, cutoff)
    t = np.arange(steps, dtype=np.int64)[:, None]
    offset = t % period
    j, rem = np.divmod(offset, isi[..., None, :])
    return ((rem == 0) & (j < n[..., None, :])).astype(np.uint8)


def phase_encode(intensities, steps, bits=8):
    """Phase code with weighted spikes (Kim et al., 2018): the intensity's bits, most
    significant first, against a global oscillation of period ``bits`` steps.

    ``q = min(floor(x * 2**K + 1/2), 2**K - 1)`` with ``K = bits``; at step ``t`` (phase
    ``k = t mod K``) the channel spikes if bit ``K - 1 - k`` of ``q`` is set. A spike at phase
    ``k`` is worth ``2**-(k + 1)`` (:func:`phase_weights`), so one period's weighted sum is
    ``q / 2**K``, within ``2**-(K + 1)`` of ``x`` (:func:`phase_decode`); the code repeats every
    period. The network sees plain spikes: the weighting belongs to the receiver (a synapse
    whose efficacy follows the oscillation), which spikefab's cores do not model.

    Parameters
    ----------
    intensities : array_like of float, (..., N)
    steps : int
        At least one whole period, ``T >= bits``.
    bits : int
        Phases per period ``K``, in ``[1, 16]``.

    Returns
    -------
    numpy.ndarray of uint8, (..., T, N)
    """
    x = _intensities(intensities)
    bits = _integer(bits, "Phase bits", 1, 16)
    steps = _integer(steps, "Steps", 0)
    if steps < bits:
        raise InvalidValue(f"Steps must be at least one period of the phase code ({bits} "
                           f"steps, --bits), not {steps}")
    q = np.minimum(np.floor(x * (1 << bits) + 0.5), (1 << bits) - 1).astype(np.int64)
    k = np.arange(steps, dtype=np.int64)[:, None] % bits
    return ((q[..., None, :] >> (bits - 1 - k)) & 1).astype(np.uint8)


def phase_weights(steps, bits=8):
    """The oscillation's weight of a spike at every step: ``2**-(1 + t mod bits)``, ``(T,)``."""
    bits = _integer(bits, "Phase bits", 1, 16)
    steps = _integer(steps, "Steps", 0)
    return 2.0 ** -(1 + np.arange(steps) % bits)


def delta_encode(series, threshold=0.1, steps=None):
    """Temporal-contrast (delta) code of a time series: an ON spike each step the signal has
    risen by ``threshold`` above the level last sent, an OFF spike each step it has fallen by
    as much below it.

    The level starts at ``s[0]`` (no spike at step 0). At every later step, if
    ``s[t] - level >= threshold`` the ON channel spikes and ``level += threshold``; if
    ``level - s[t] >= threshold`` the OFF channel spikes and ``level -= threshold``: at most one
    spike per channel and step (a jump of several thresholds is sent over several steps), and
    the level is what :func:`delta_decode` rebuilds from the spikes. While the signal moves by
    less than ``threshold`` per step, ``|s[t] - level[t]| < threshold`` at every step.

    Parameters
    ----------
    series : array_like of float, (T, N) or (B, T, N)
        Any finite values (a signal, not intensities).
    threshold : float
        Greater than 0.
    steps : int, optional
        If given, must equal ``T`` (the series sets the length).

    Returns
    -------
    numpy.ndarray of uint8, (..., T, 2N)
        ON channels ``0 .. N-1``, OFF channels ``N .. 2N-1``.
    """
    s = np.asarray(series, dtype=float)
    if s.ndim < 2:
        raise InvalidValue(f"A delta-coded series must have shape (T, N) or (B, T, N), not "
                           f"{s.shape}")
    if not np.isfinite(s).all():
        raise InvalidValue("A delta-coded series must hold finite numbers, not NaN or inf")
    if not (isinstance(threshold, (int, float, np.integer, np.floating))
            and not isinstance(threshold, bool) and math.isfinite(threshold) and threshold > 0):
        raise InvalidValue(f"Delta threshold must be a number > 0, not {threshold!r}")
    T = s.shape[-2]
    if steps is not None and steps != T:
        raise InvalidValue(f"Steps must equal the series' length {T} for the delta code, "
                           f"not {steps!r}")
    on = np.zeros(s.shape, dtype=np.uint8)
    off = np.zeros(s.shape, dtype=np.uint8)
    if T:
        level = s[..., 0, :].copy()
        for t in range(1, T):
            up = s[..., t, :] - level >= threshold
            down = level - s[..., t, :] >= threshold
            on[..., t, :] = up
            off[..., t, :] = down
            level += threshold * (up.astype(float) - down)
    return np.concatenate([on, off], axis=-1)


_ENCODERS = {"rate": rate_encode, "regular": regular_encode, "ttfs": ttfs_encode,
             "burst": burst_encode, "phase": phase_encode}
#: The scheme names of :func:`encode` and ``spikefab encode --scheme``.
SCHEMES = ("rate", "regular", "ttfs", "burst", "phase", "delta")


def encode(scheme, x, steps=None, **params):
    """Code ``x`` with the scheme named ``scheme`` (one of :data:`SCHEMES`); ``params`` are that
    encoder's keyword arguments. ``steps`` is required except for ``delta``."""
    if scheme not in SCHEMES:
        raise InvalidValue(f"Scheme must be one of {', '.join(SCHEMES)}, not {scheme!r}")
    if scheme == "delta":
        return delta_encode(x, steps=steps, **params)
    if steps is None:
        raise InvalidValue(f"The {scheme} code needs the number of steps")
    return _ENCODERS[scheme](x, steps, **params)


# -- decoders ----------------------------------------------------------------------------------

def _spikes(spikes):
    s = np.asarray(spikes)
    if s.ndim < 2:
        raise InvalidValue(f"Spikes must have shape (T, N) or (B, T, N), not {s.shape}")
    return s


def spike_count(spikes):
    """Spikes of every channel over the whole run: ``(..., T, N) -> (..., N)`` int64."""
    return _spikes(spikes).astype(np.int64).sum(axis=-2)


def first_spike_time(spikes):
    """The step of every channel's first spike, ``T`` for a channel that never spiked:
    ``(..., T, N) -> (..., N)`` int64 (so that ``argmin`` picks the earliest channel)."""
    s = _spikes(spikes).astype(bool)
    T = s.shape[-2]
    return np.where(s.any(axis=-2), s.argmax(axis=-2), T).astype(np.int64)


def population_vote(spikes, assignment, classes=None):
    """Classify by population vote: each neuron is assigned to a class (``assignment[n]``, or
    -1 for none); a class's score is the mean spike count of its neurons and the answer is
    the class with the highest score (the lowest class on a tie; a class without neurons
    scores 0).

    Parameters
    ----------
    spikes : array_like, (..., T, N)
    assignment : array_like of int, (N,)
    classes : int, optional
        Number of classes (default: the largest assigned class + 1).

    Returns
    -------
    numpy.ndarray of int64, (...)
    """
    counts = spike_count(spikes).astype(float)
    a = np.asarray(assignment)
    if a.shape != counts.shape[-1:]:
        raise InvalidValue(f"Assignment must have one class per neuron, shape "
                           f"({counts.shape[-1]},), not {a.shape}")
    if a.size and a.min() < -1:
        raise InvalidValue(f"Assignment must hold classes >= 0 or -1 (none), not {a.min()}")
    if classes is None:
        classes = int(a.max()) + 1 if a.size else 0
    classes = _integer(classes, "Classes", 1)
    if a.size and a.max() >= classes:
        raise InvalidValue(f"Assignment holds class {a.max()}, but classes is {classes}")
    onehot = (a[:, None] == np.arange(classes)[None, :]).astype(float)      # (N, C)
    members = onehot.sum(axis=0)
    scores = counts @ onehot / np.maximum(members, 1)
    return scores.argmax(axis=-1).astype(np.int64)


def ttfs_decode(spikes, mode="linear", cutoff=0.0):
    """The intensities that :func:`ttfs_encode` (same ``mode`` and ``cutoff``) codes to these
    spikes' first-spike times, ``(..., N)``; 0 for silent channels. Exact to within the rounding
    of the step: a strong-input channel of the ``linear`` code within ``(1 - cutoff) / (2(T-1))``."""
    t = first_spike_time(spikes).astype(float)
    T = np.asarray(spikes).shape[-2]
    frac = t / max(T - 1, 1)
    if mode == "linear":
        x = 1.0 - frac * (1.0 - cutoff)
    elif mode == "log":
        x = np.exp(frac * math.log(cutoff))
    else:
        raise InvalidValue(f"TTFS mode must be 'linear' or 'log', not {mode!r}")
    return np.where(t < T, x, 0.0)


def phase_decode(spikes, bits=8):
    """The intensities of a :func:`phase_encode` code: the weighted spike sum per whole period,
    averaged over the whole periods, ``(..., N)``."""
    s = _spikes(spikes).astype(float)
    T = s.shape[-2]
    periods = T // _integer(bits, "Phase bits", 1, 16)
    if periods == 0:
        raise InvalidValue(f"Spikes must span at least one period of {bits} steps, not {T}")
    w = phase_weights(periods * bits, bits)
    return np.einsum("...tn,t->...n", s[..., :periods * bits, :], w) / periods


def delta_decode(spikes, threshold, start=0.0):
    """The level that :func:`delta_encode` tracked, rebuilt from its ON/OFF spikes:
    ``start + threshold * (ON spikes so far - OFF spikes so far)``, ``(..., T, N)``."""
    s = _spikes(spikes).astype(np.int64)
    if s.shape[-1] % 2:
        raise InvalidValue(f"Delta spikes must have ON and OFF channels (an even number), "
                           f"not {s.shape[-1]}")
    n = s.shape[-1] // 2
    net = np.cumsum(s[..., :n] - s[..., n:], axis=-2)
    start = np.asarray(start, dtype=float)
    if start.ndim:
        start = start[..., None, :]
    return start + threshold * net
