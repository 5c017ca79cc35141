"""Whole-network simulator: delivery (``docs/spec.md`` section 3), LIF and STDP, bit-exact.

Vectorised over neurons, synapses and a batch of ``B`` independent runs; the only Python loops
are over time steps, populations and projections. Implemented in hardware by the neuron cores
and the spike router of ``spikefab.hdl``.
"""

from dataclasses import dataclass

import numpy as np

from spikefab.errors import InvalidType, InvalidValue

from . import stdp as _stdp
from .lif import lif_step

__all__ = ["deliver", "Simulator", "SimResult", "simulate", "check_inputs"]


def deliver(events, w, shift, sum_dtype=np.int64):
    """Exact synaptic input of one projection for one step.

    ``a[b, i] = sum_j events[b, j] * (W[j, i] << shift)``, summed exactly (integer addition is
    associative, so the order of the events cannot change the sum). The network's accumulator
    width, at most 48 bits, guarantees that ``int64`` never overflows; the cost is one row of
    ``N`` additions per delivered event, like the hardware's event phase.

    Parameters
    ----------
    events : numpy.ndarray of bool, (B, S)
    w : numpy.ndarray of integers, (S, N) shared by the batch, or (B, S, N) per run
    shift : int
        The projection's ``weight_shift``.
    sum_dtype : numpy dtype
        Integer type of the unshifted row sums; ``int32`` is exact (and faster) when
        ``S * max|W| < 2**31``, which the caller checks.

    Returns
    -------
    numpy.ndarray of int64, (B, N)
    """
    b, j = np.nonzero(events)                 # sorted by run b
    a = np.zeros((events.shape[0], w.shape[-1]), dtype=np.int64)
    if len(b):
        rows = w[j] if w.ndim == 2 else w[b, j]
        if events.shape[0] == 1:
            a[0] = rows.sum(axis=0, dtype=sum_dtype)
        else:
            runs, starts = np.unique(b, return_index=True)
            a[runs] = np.add.reduceat(rows, starts, axis=0, dtype=sum_dtype)
    return a << shift


def check_inputs(net, inputs, steps=None):
    """Validate host input spikes; return them as ``(B, T, inputs)`` bool and the batch flag.

    ``inputs`` is a 0/1 integer or bool array shaped ``(T, inputs)`` or ``(B, T, inputs)``.
    With ``steps``, the run is cut to ``steps`` or padded with silent steps up to it.
    """
    x = np.asarray(inputs)
    if x.dtype != np.bool_ and not np.issubdtype(x.dtype, np.integer):
        raise InvalidType(f"Inputs must be a 0/1 integer array, not {x.dtype}")
    batched = x.ndim == 3
    if x.ndim not in (2, 3) or x.shape[-1] != net.inputs:
        raise InvalidValue(f"Inputs must have shape (T, {net.inputs}) or (B, T, {net.inputs}), "
                           f"not {x.shape}")
    if x.size and x.dtype != np.bool_:
        bad = np.argwhere((x != 0) & (x != 1))
        if len(bad):
            where = "".join(f"[{int(k)}]" for k in bad[0])
            raise InvalidValue(f"Inputs must be 0 or 1, not {int(x[tuple(bad[0])])} at {where}")
    x = x.astype(bool)
    if not batched:
        x = x[None]
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise InvalidValue(f"Steps must be a non-negative integer, not {steps!r}")
        t = x.shape[1]
        if steps <= t:
            x = x[:, :steps]
        else:
            x = np.concatenate([x, np.zeros((x.shape[0], steps - t, x.shape[2]), bool)], 1)
    return x, batched


@dataclass
class SimResult:
    """What a run produced. Arrays carry a leading batch axis only for batched inputs.

    Attributes
    ----------
    spikes : dict of str to numpy.ndarray of uint8, ([B,] T, size)
    u, v : dict of str to numpy.ndarray of int64, ([B,] T, size), or None unless recorded
    weights : list of numpy.ndarray of int64, ([B,] S, N)
        Final weights of every projection, by projection index.
    pre_traces, post_traces : list of numpy.ndarray of int64 or None
        Final traces of every plastic projection (``None`` for a static one).
    theta : dict of str to numpy.ndarray of int64, ([B,] T, size), or None
        With ``u`` and ``v``: the adaptive threshold offsets of every population that has one.
    """

    spikes: dict
    u: "dict | None"
    v: "dict | None"
    weights: list
    pre_traces: list
    post_traces: list
    theta: "dict | None" = None

    def to_npz_dict(self):
        """The arrays as ``spikefab simulate`` writes them: ``spikes/<pop>``,
        ``u/<pop>``, ``v/<pop>`` (when recorded) and ``weights/<k>``."""
        out = {f"spikes/{k}": a for k, a in self.spikes.items()}
        if self.u is not None:
            out.update({f"u/{k}": a for k, a in self.u.items()})
            out.update({f"v/{k}": a for k, a in self.v.items()})
        if self.theta:
            out.update({f"theta/{k}": a for k, a in self.theta.items()})
        out.update({f"weights/{k}": w for k, w in enumerate(self.weights)})
        return out


class Simulator:
    """Step-by-step golden model of a network, for ``batch`` independent runs.

    The state after :meth:`step` is public, read-only by convention: ``u``, ``v``, ``r``
    (dicts of population name to ``(B, size)`` int64), ``theta`` (the same, for the populations
    with an adaptive threshold only), ``weights`` (list by projection;
    ``(S, N)`` shared for a static projection, ``(B, S, N)`` for a plastic one), ``pre`` and
    ``post`` traces (lists; ``None`` for static projections), ``spikes`` (the last step's
    spikes, dict of ``(B, size)`` bool) and ``t`` (steps done).
    """

    def __init__(self, net, batch=1):
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise InvalidValue(f"Batch must be a positive integer, not {batch!r}")
        self.net = net
        self.batch = int(batch)
        self.reset()

    def reset(self):
        """Return to the initial state: ``u = v = r = 0``, traces 0, configured weights."""
        b = self.batch
        self.t = 0
        zeros = {p.name: np.zeros((b, p.size), np.int64) for p in self.net.populations}
        self.u = {k: z.copy() for k, z in zeros.items()}
        self.v = {k: z.copy() for k, z in zeros.items()}
        self.r = {k: z.copy() for k, z in zeros.items()}
        self.theta = {p.name: zeros[p.name].copy() for p in self.net.populations if p.adaptive}
        self.spikes = {k: z.astype(bool) for k, z in zeros.items()}
        # the next step's input from the spikes delivered so far (see :meth:`deliver`)
        self.pending = {k: z.copy() for k, z in zeros.items()}
        self.weights, self.pre, self.post = [], [], []
        # the third factor of every modulated projection, per run (None: not modulated)
        self.modulation = [np.full(b, proj.stdp.modulation, np.int64)
                           if proj.plastic and proj.stdp.modulated else None
                           for proj in self.net.projections]
        # Delivery reads static weights from an int16 copy (weight_bits <= 16) and sums rows in
        # int32 where that is provably exact: a quarter of the memory traffic, same result.
        self._narrow, self._sum_dtype = [], []
        for proj in self.net.projections:
            s, n = proj.weights.shape
            exact32 = s * self.net.hardware.weight_max < 2**31
            self._sum_dtype.append(np.int32 if exact32 else np.int64)
            self._narrow.append(None if proj.plastic else proj.weights.astype(np.int16))
        for proj in self.net.projections:
            s, n = proj.weights.shape
            if proj.plastic:
                self.weights.append(np.repeat(proj.weights[None], b, axis=0))
                self.pre.append(np.zeros((b, s), np.int64))
                self.post.append(np.zeros((b, n), np.int64))
            else:
                self.weights.append(proj.weights)
                self.pre.append(None)
                self.post.append(None)

    def reset_state(self, keep_theta=False):
        """Clear the neurons, traces and in-flight spikes but keep the (learned) weights.

        This is the host's "reset network state" between independent stimuli: ``u``, ``v``,
        refractory counters, adaptive threshold offsets ``theta`` (unless ``keep_theta``: the
        homeostasis carried from one presentation to the next), STDP traces and last step's
        spikes go to 0, and so does the next step's input that their delivery accumulated;
        ``t`` restarts. Their delivery's LTD stays (a board has applied it by its barrier).
        """
        self.t = 0
        for d in (self.u, self.v, self.r) + (() if keep_theta else (self.theta,)):
            for a in d.values():
                a[...] = 0
        for a in self.spikes.values():
            a[...] = False
        self.pending = {k: np.zeros_like(a) for k, a in self.u.items()}
        for x in self.pre + self.post:
            if x is not None:
                x[...] = 0

    def set_modulation(self, k, m):
        """Write the third factor of modulated projection ``k`` (``docs/spec.md`` section 4,
        v1.2): ``m`` in ``[-256, 256]``, one value for every run or one per run ``(B,)``; it
        holds from the next step until changed (a reset of the state keeps it)."""
        from .params import check_modulation
        if not 0 <= k < len(self.net.projections) or self.modulation[k] is None:
            raise InvalidValue(f"Projection {k} has no third factor (it must be plastic with "
                               f"modulated = true)")
        arr = np.asarray(m)
        if arr.shape not in ((), (self.batch,)):
            raise InvalidValue(f"Modulation of projection {k} must be one value or one per run "
                               f"({self.batch},), not shape {arr.shape}")
        vals = [check_modulation(v.item(), f"Modulation of projection {k}")
                for v in np.broadcast_to(arr, (self.batch,))]
        self.modulation[k][:] = vals

    def step(self, inputs):
        """Run one time step: :meth:`update` with the host spikes of the step, then
        :meth:`deliver` of the spikes it produced.

        Parameters
        ----------
        inputs : numpy.ndarray of bool, (B, inputs)
            Host spikes injected for this step.

        Returns
        -------
        dict of str to numpy.ndarray of bool, (B, size)
            Spikes of every population at this step.
        """
        spikes = self.update(inputs)
        self.deliver()
        return spikes

    def update(self, inputs):
        """Steps 1-5 of step ``t`` (``docs/spec.md`` section 4): deliver the host spikes of
        the step (accumulate, then LTD with the post traces of step ``t - 1``), pre traces
        (every source delivered at ``t``: these inputs and the spikes of ``t - 1``), neurons,
        post traces, LTP. The spikes of ``t - 1`` were accumulated (and depressed) by the
        :meth:`deliver` that ended step ``t - 1``. Use :meth:`step`, unless the state between
        the two halves is wanted (a testbench that delivers spikes itself).

        Returns the spikes of every population at this step (also in ``spikes``).
        """
        if self.pending is None:
            raise RuntimeError("The spikes of the last step must be delivered first")
        net, hw = self.net, self.net.hardware
        x = np.asarray(inputs, bool)
        acc = self.pending
        for k, proj in enumerate(net.projections):
            if proj.source == "input":
                self._deliver(k, x, acc)
        # 2. pre traces: every source delivered at this step
        for k, proj in enumerate(net.projections):
            if proj.plastic:
                events = x if proj.source == "input" else self.spikes[proj.source]
                self.pre[k] = _stdp.pre_traces(self.pre[k], events, proj.stdp, hw)
        # 3. neurons
        spikes = {}
        for pop in net.populations:
            n = pop.name
            if pop.adaptive:
                self.u[n], self.v[n], self.r[n], spikes[n], self.theta[n] = lif_step(
                    self.u[n], self.v[n], self.r[n], acc[n], pop, hw, self.theta[n])
            else:
                self.u[n], self.v[n], self.r[n], spikes[n] = lif_step(
                    self.u[n], self.v[n], self.r[n], acc[n], pop, hw)
        # 4. post traces, 5. LTP
        for k, proj in enumerate(net.projections):
            if proj.plastic:
                s = spikes[proj.target]
                self.post[k] = _stdp.post_traces(self.post[k], s, proj.stdp, hw)
                _stdp.potentiate(self.weights[k], s, self.pre[k], proj.stdp,
                                 self.modulation[k])
        self.spikes = spikes
        self.pending = None
        self.t += 1
        return spikes

    def deliver(self):
        """Step 6 of step ``t``: the spikes of step ``t`` reach their synapses. Every
        projection from a population accumulates them into the next step's input (with the
        weights after this step's LTP), then a plastic one depresses their rows with the post
        traces of this step. What a board has done at its barrier."""
        if self.pending is not None:
            raise RuntimeError("The spikes of this step were delivered already")
        self.pending = {p.name: np.zeros((self.batch, p.size), np.int64)
                        for p in self.net.populations}
        for k, proj in enumerate(self.net.projections):
            if proj.source != "input":
                self._deliver(k, self.spikes[proj.source], self.pending)

    def _deliver(self, k, events, acc):
        """Accumulate ``events`` of projection ``k`` into ``acc``, then depress (plastic)."""
        proj = self.net.projections[k]
        w = self.weights[k] if proj.plastic else self._narrow[k]
        acc[proj.target] += deliver(events, w, proj.weight_shift, self._sum_dtype[k])
        if proj.plastic:
            _stdp.depress(self.weights[k], events, self.post[k], proj.stdp,
                          self.modulation[k])

    def run(self, inputs, record_state=False):
        """Run ``inputs.shape[1]`` steps from the current state.

        Parameters
        ----------
        inputs : numpy.ndarray of bool, (B, T, inputs)
        record_state : bool
            Also record ``u`` and ``v`` (and ``theta``) after every step.

        Returns
        -------
        SimResult
            With a leading batch axis on every array.
        """
        b, steps = inputs.shape[:2]
        pops = self.net.populations
        spikes = {p.name: np.zeros((b, steps, p.size), np.uint8) for p in pops}
        u = v = theta = None
        if record_state:
            u = {p.name: np.zeros((b, steps, p.size), np.int64) for p in pops}
            v = {p.name: np.zeros((b, steps, p.size), np.int64) for p in pops}
            theta = {p.name: np.zeros((b, steps, p.size), np.int64) for p in pops if p.adaptive}
        for t in range(steps):
            out = self.step(inputs[:, t])
            for name, s in out.items():
                spikes[name][:, t] = s
                if record_state:
                    u[name][:, t] = self.u[name]
                    v[name][:, t] = self.v[name]
                    if name in theta:
                        theta[name][:, t] = self.theta[name]
        weights = [w if w.ndim == 3 else np.repeat(w[None], b, axis=0) for w in self.weights]
        return SimResult(spikes, u, v, [w.copy() for w in weights],
                         [None if x is None else x.copy() for x in self.pre],
                         [None if y is None else y.copy() for y in self.post], theta)


def simulate(net, inputs, steps=None, record_state=False):
    """Run the golden model of ``net`` from its initial state.

    Parameters
    ----------
    net : Network
    inputs : array_like of 0/1, (T, inputs) or (B, T, inputs)
        Host spikes injected for each step; a batch runs ``B`` independent copies.
    steps : int, optional
        Run this many steps: the inputs are cut, or padded with silent steps.
    record_state : bool
        Record ``u`` and ``v`` (and ``theta``) of every neuron after every step.

    Returns
    -------
    SimResult
        With a leading batch axis only when ``inputs`` had one.
    """
    x, batched = check_inputs(net, inputs, steps)
    sim = Simulator(net, batch=x.shape[0])
    res = sim.run(x, record_state=record_state)
    if not batched:
        def first(d):
            return None if d is None else {k: a[0] for k, a in d.items()}
        res = SimResult(first(res.spikes), first(res.u), first(res.v),
                        [w[0] for w in res.weights],
                        [None if x is None else x[0] for x in res.pre_traces],
                        [None if y is None else y[0] for y in res.post_traces],
                        first(res.theta))
    return res


def present(net, intensities, steps):
    """The golden model of a board's presentations (``docs/spec.md`` section 7): every image
    of ``intensities`` ``(B, inputs)`` (ints in ``[0, 15]``) coded by
    :func:`~spikefab.golden.chip_rate_encode` with ``net.hardware.rate_bits`` and run for
    ``steps`` steps from a cleared state (``Simulator.reset_state``), image after image, the
    weights carried from one to the next (a plastic network learns; a static one runs as one
    batch, which is the same).

    Returns
    -------
    SimResult
        ``spikes`` ``(B, T, size)``; ``weights`` the final ones (no batch axis); traces as
        left by the last image.
    """
    from .encode import chip_rate_encode
    from spikefab.errors import InvalidValue
    if not net.hardware.rate_bits:
        raise InvalidValue(f"Network {net.name!r} has no rate generator: set rate_bits in its "
                           f"[hardware] table (docs/spec.md section 7)")
    q = np.asarray(intensities)
    if q.ndim == 1:
        q = q[None]
    x = chip_rate_encode(q, steps, net.hardware.rate_bits).astype(bool)
    if x.shape[-1] != net.inputs:
        raise InvalidValue(f"Intensities must have shape (B, {net.inputs}), not "
                           f"{np.shape(intensities)}")
    if not any(p.stdp is not None for p in net.projections):
        res = Simulator(net, batch=len(x)).run(x)
        return SimResult(res.spikes, None, None, [w[0] for w in res.weights],
                         [None] * len(net.projections), [None] * len(net.projections))
    sim = Simulator(net)
    spikes = {p.name: np.zeros((len(x), x.shape[1], p.size), np.uint8)
              for p in net.populations}
    for b in range(len(x)):
        sim.reset_state()
        r = sim.run(x[b:b + 1])
        for name in spikes:
            spikes[name][b] = r.spikes[name][0]
    return SimResult(spikes, None, None, [w[0] if w.ndim == 3 else w.copy() for w in sim.weights],
                     [None if a is None else a[0].copy() for a in sim.pre],
                     [None if a is None else a[0].copy() for a in sim.post])
