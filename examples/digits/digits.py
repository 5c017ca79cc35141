"""Unsupervised STDP learning of handwritten digits, in the golden model.

scikit-learn's 8x8 digits (1,797 images, shipped with the package; first half for training,
second half for testing) are coded into 128 input channels: every pixel drives an ON channel at
a rate proportional to its intensity and an OFF channel at a rate proportional to its darkness,
so that every image carries the same total input. The code is regular, not random: a channel
of intensity ``q`` (0..16) adds ``q`` to an integer accumulator every step and spikes each time
the accumulator passes ``period`` (:func:`encode`).

The network (:func:`build`), all of it within ``docs/spec.md`` and so all of it learnable on
the chip:

- ``exc``: excitatory LIF neurons; the input synapses are plastic (pair-based STDP, section 4);
- ``inh``: one inhibitory neuron that fires whenever an ``exc`` neuron fired in the previous
  step and then inhibits every ``exc`` neuron: winner-take-all. The winner is refractory when
  the inhibition arrives, so it keeps its lead (a direct ``exc -> exc`` projection would act one
  step sooner but costs ``N`` axon slots of the plastic core, ``inh`` costs one);
- ``tonic``: one neuron that fires every step into ``exc`` through a second plastic projection
  whose weights live in ``[-127, 0]`` and only depress (``a_plus = 0``,
  ``(255 * 255) >> 15 = 1``): every spike of a neuron deepens its own inhibition by one step,
  an adaptive threshold made of STDP, so that a neuron that wins often gives the others their
  turn (homeostasis);
- with ``Config.theta_inc`` (``make digits``: 128), ``exc`` has an adaptive threshold too
  (``docs/spec.md`` v1.2, Diehl & Cook's homeostasis): every spike of a neuron adds
  ``theta_inc`` to its threshold offset ``theta``, which is kept from image to image while
  training (the host's RESET clears ``u``, ``v``, ``r`` and the traces, not ``theta``) and is
  off (``theta_inc = 0``, cleared) for the test.

Training (:func:`schedule`, :func:`train`) shows every training image for ``steps`` steps, then
its negative (ON and OFF swapped) for ``negative`` steps with the threshold of ``exc`` raised
out of reach (a parameter write): the winner's synapses from channels that matched the image
were potentiated (pre before post), and the ones from channels that did not are now depressed
by the post trace that the image left (post before pre). Before every image the neuron state
(``u``, ``v``, ``r``) of every population and both projections' STDP traces are cleared and the
threshold is written back. After training the weights are frozen (:func:`frozen`), every
neuron is labelled with the class that it answers most on the training half
(:func:`label`), and the test half is classified by the labelled neurons' spike counts
(:func:`classify`). ``python examples/digits/digits.py --help`` for the options; ``make digits``
runs the defaults of :class:`Config`.

The module is importable (``sys.path`` entry ``examples/digits``, then ``import digits``):
:func:`build`, :func:`encode`, :func:`schedule`, :func:`train`, :func:`frozen`,
:func:`responses`, :func:`label`, :func:`classify`.
"""

import argparse
import os
import sys
import time
from dataclasses import dataclass, fields, replace

import numpy as np

from spikefab.golden import (Hardware, Network, Population, Projection, Simulator, Stdp,
                             dump, simulate)

__all__ = ["HW", "CHANNELS", "RESET", "Config", "Run", "Presentation", "load_split", "encode",
           "build", "schedule", "write_params", "train", "frozen", "responses", "label",
           "classify", "TEST_THRESHOLDS", "choose_test_threshold", "with_params",
           "train_on_device", "replay", "compare_runs", "compare_weights",
           "CHIP_RATE_BITS", "CHIP_THRESHOLDS", "chip_intensities", "on_chip", "chip_responses",
           "chip_responses_on_device",
           "learning_off", "responses_on_device", "baselines", "receptive_fields", "update_result",
           "main"]

HW = Hardware(current_bits=16, voltage_bits=16, weight_bits=8, trace_bits=8,
              refractory_bits=4)
#: Input channels: ON of pixel ``p`` is channel ``p``, OFF of pixel ``p`` is ``64 + p``.
CHANNELS = 128
#: Intensity of a full pixel in scikit-learn's digits.
FULL = 16
#: What :func:`train` clears before every image, as golden's ``Simulator.reset_state`` does.
#: On the board: WRITE_STATE of zeros (``u``, ``v``, ``r`` of every core's STATE space), zeros
#: to the plastic core's PRE and POST spaces, and RESET (which empties the router's queues, so
#: that no spike of the previous image is delivered).
RESET = ("u", "v", "r", "pre traces", "post traces", "spikes in flight")
#: Width of ``exc``'s adaptive threshold offset when ``Config.theta_inc`` is not 0.
THETA_BITS = 16
#: A threshold that ``v`` cannot pass (``v > threshold`` with ``v`` saturated at it).
SILENT = (1 << (HW.voltage_bits - 1)) - 1


@dataclass(frozen=True)
class Config:
    """Every integer of the learning network and of its training schedule.

    The defaults are what ``make digits`` runs. Sizes: ``neurons`` excitatory neurons (one
    population, at most 256: one core), ``steps`` steps of each training image and
    ``negative`` steps of its negative, ``epochs`` passes over the training half. The other
    fields are the LIF parameters of ``exc`` (``threshold``, ``dv``, ``refractory``; ``du`` is
    4096, so ``u`` is the input of the current step), the input code (``period``: a full pixel
    spikes once every ``period / 16`` steps in the image, every step in the negative), the
    initial weights (uniform in ``[0, w_init]``), the winner-take-all inhibition
    (``inhibition << inhibition_shift`` per spike of ``inh``), the input STDP rule and the
    homeostatic inhibition (``1 << hom_shift`` per step per spike of the neuron so far), and
    the threshold of ``exc`` at labelling and test time (``make digits`` and the demo choose
    it from :data:`TEST_THRESHOLDS` on the training half: :func:`choose_test_threshold`).
    """

    neurons: int = 256
    steps: int = 50
    negative: int = 10
    epochs: int = 2
    seed: int = 1
    period: int = 32
    threshold: int = 20000
    dv: int = 64
    refractory: int = 2
    w_init: int = 96
    inhibition: int = -127
    inhibition_shift: int = 8
    a_plus: int = 80
    a_minus: int = 8
    stdp_shift: int = 8
    d_pre: int = 256
    d_post: int = 64
    x_inc: int = 16
    y_inc: int = 64
    hom_shift: int = 6
    theta_inc: int = 0
    test_threshold: int = 14000

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"Config {f.name} must be an integer, not {v!r}")
        for name, lo, hi in (("neurons", 1, 256), ("steps", 1, 1 << 16),
                             ("negative", 0, 1 << 16), ("epochs", 1, 1000),
                             ("period", FULL, 1 << 16), ("w_init", 0, HW.weight_max),
                             ("theta_inc", 0, (1 << THETA_BITS) - 1)):
            v = getattr(self, name)
            if not lo <= v <= hi:
                raise ValueError(f"Config {name} must be an integer in [{lo}, {hi}], not {v}")


@dataclass(frozen=True, eq=False)
class Run:
    """Steps run back to back after writing parameters.

    Attributes
    ----------
    writes : tuple of (str, str, int)
        ``(population, field, value)`` parameter writes before the first step (the host's
        WRITE_PARAMS; ``field`` is a :class:`~spikefab.golden.Population` field).
    inputs : numpy.ndarray of uint8, (steps, CHANNELS)
        The input spikes of every step (0/1).
    """

    writes: tuple
    inputs: np.ndarray


@dataclass(frozen=True, eq=False)
class Presentation:
    """One training image: clear :data:`RESET`, then do the runs in order.

    Attributes
    ----------
    epoch : int
    image : int
        Index of the image in the training half.
    reset : tuple of str
        The state cleared before the first run (:data:`RESET`).
    runs : tuple of Run
        The image, then its negative.
    """

    epoch: int
    image: int
    reset: tuple
    runs: tuple


def load_split():
    """The digits as ``((x_train, y_train), (x_test, y_test))``: first half / second half.

    ``x`` is ``(B, 64)`` int64 in ``0..16``, ``y`` the digit. The baselines use the same split.
    """
    from sklearn.datasets import load_digits
    d = load_digits()
    n = len(d.data) // 2
    x = d.data.astype(np.int64)
    return (x[:n], d.target[:n]), (x[n:], d.target[n:])


def encode(images, steps, period, seed, negative=False):
    """Regular ON/OFF code of ``(B, 64)`` images: ``(B, steps, 128)`` uint8 input spikes.

    Channel ``c`` has intensity ``q`` in ``0..16``: ``q = pixel`` for ON (channel ``p``),
    ``16 - pixel`` for OFF (channel ``64 + p``), swapped if ``negative``. Its accumulator starts
    at a phase drawn uniformly from ``0 .. period - 1`` (``numpy.random.default_rng(seed)``),
    adds ``q`` every step, and the channel spikes in each step where the accumulator reaches
    ``period``, which is then subtracted. Over ``T`` steps from phase ``f`` the channel spikes
    exactly ``(f + q * T) // period`` times; integers only.

    Parameters
    ----------
    images : array_like of int, (B, 64)
        Intensities in ``0..16``.
    steps : int
    period : int
        At least 16, so that a channel spikes at most once per step.
    seed : int
    negative : bool

    Returns
    -------
    numpy.ndarray of uint8, (B, steps, 128)
    """
    x = np.asarray(images)
    if x.ndim != 2 or x.shape[1] != 64:
        raise ValueError(f"Images must have shape (B, 64), not {x.shape}")
    if x.size and (x.min() < 0 or x.max() > FULL):
        raise ValueError(f"Images must be integers in [0, {FULL}], not values in "
                         f"[{x.min()}, {x.max()}]")
    if not FULL <= period:
        raise ValueError(f"Period must be an integer >= {FULL}, not {period}")
    x = x.astype(np.int64)
    q = np.concatenate([x, FULL - x], axis=1)
    if negative:
        q = FULL - q
    phase = np.random.default_rng(seed).integers(0, period, size=q.shape)
    t = np.arange(steps + 1)[None, :, None]
    level = (phase[:, None, :] + t * q[:, None, :]) // period      # spikes so far
    return np.diff(level, axis=1).astype(np.uint8)


def build(cfg=Config()):
    """The learning network of ``cfg`` (see the module docstring), with its initial weights.

    Projections, by index: 0 ``input -> exc`` (plastic, ``(128, N)``), 1 ``inh -> exc``
    (winner-take-all), 2 ``tonic -> exc`` (plastic homeostasis, starts at 0), 3
    ``exc -> inh``.
    """
    n = cfg.neurons
    rng = np.random.default_rng(cfg.seed)
    exc = Population("exc", n, threshold=cfg.threshold, du=4096, dv=cfg.dv,
                     refractory=cfg.refractory, reset="zero", output=True,
                     theta_bits=THETA_BITS if cfg.theta_inc else 0, theta_inc=cfg.theta_inc)
    inh = Population("inh", 1, threshold=0, du=4096, dv=4096)
    tonic = Population("tonic", 1, threshold=0, bias=1, du=4096, dv=4096)
    w_in = rng.integers(0, cfg.w_init, size=(CHANNELS, n), endpoint=True)
    learn = Stdp(a_plus=cfg.a_plus, a_minus=cfg.a_minus, shift=cfg.stdp_shift,
                 d_pre=cfg.d_pre, d_post=cfg.d_post, x_inc=cfg.x_inc, y_inc=cfg.y_inc,
                 w_min=0, w_max=HW.weight_max)
    # (255 * 255) >> 15 == 1: every exc spike deepens its own tonic inhibition by one step
    hom = Stdp(a_plus=0, a_minus=255, shift=15, d_pre=0, d_post=4096, x_inc=0, y_inc=255,
               w_min=-HW.weight_max, w_max=0)
    return Network(
        name="digits", inputs=CHANNELS, hardware=HW, populations=[exc, inh, tonic],
        projections=[
            Projection("input", "exc", w_in, weight_shift=0, stdp=learn),
            Projection("inh", "exc", np.full((1, n), cfg.inhibition),
                       weight_shift=cfg.inhibition_shift),
            Projection("tonic", "exc", np.zeros((1, n), np.int64), weight_shift=cfg.hom_shift,
                       stdp=hom),
            # any exc spike drives inh over its threshold of 0 in the next step
            Projection("exc", "inh", np.full((n, 1), HW.weight_max), weight_shift=0)])


def schedule(images, cfg=Config()):
    """The training schedule: one :class:`Presentation` per image and epoch, in order.

    Epoch ``e`` shows the images in the order ``default_rng(cfg.seed).permutation`` (drawn
    anew for every epoch from one generator), each coded by :func:`encode` with seed
    ``cfg.seed + 1 + e`` for the epoch, in batch: the image run writes ``exc.threshold =
    cfg.threshold`` and injects the image for ``cfg.steps`` steps; the negative run writes
    ``exc.threshold`` = :data:`SILENT` and injects the negative for ``cfg.negative`` steps
    with a period of 16 (a full channel spikes every step). A generator: a different
    simulator can follow it presentation by presentation.
    """
    images = np.asarray(images)
    rng = np.random.default_rng(cfg.seed)
    for e in range(cfg.epochs):
        order = rng.permutation(len(images))
        pos = encode(images[order], cfg.steps, cfg.period, cfg.seed + 1 + e)
        neg = encode(images[order], cfg.negative, FULL, cfg.seed + 1001 + e, negative=True)
        for k, i in enumerate(order):
            yield Presentation(e, int(i), RESET, (
                Run((("exc", "threshold", cfg.threshold),), pos[k]),
                Run((("exc", "threshold", SILENT),), neg[k])))


def with_params(net, writes):
    """``net`` with the ``(population, field, value)`` parameter writes applied (same
    projections and weights)."""
    if not writes:
        return net
    changes = {}
    for pop, name, value in writes:
        changes.setdefault(pop, {})[name] = value
    pops = [replace(p, **changes.get(p.name, {})) for p in net.populations]
    return Network(net.name, net.inputs, pops, net.projections, net.hardware)


def write_params(sim, writes):
    """Apply ``(population, field, value)`` parameter writes to a running golden ``sim``.

    The model of the host's WRITE_PARAMS between runs: the simulator continues with a network
    that differs only in those parameters (same projections, same learned weights and state).
    """
    if writes:
        sim.net = with_params(sim.net, writes)


def train(net, presentations, progress=None, record=None):
    """Follow ``presentations`` in golden's :class:`~spikefab.golden.Simulator`.

    Before every presentation the simulator's ``reset_state`` clears :data:`RESET`; then each
    run's parameter writes are applied and its steps run one by one. The weights change only
    by the network's own STDP. ``progress(done)`` is called after every presentation. With a
    list ``record``, every run appends its spikes (a dict of population to ``(steps, size)``
    uint8), as :func:`train_on_device` returns them.

    Returns
    -------
    Simulator
        After the last step: ``sim.weights[k]`` are the learned weights of projection ``k``.
    """
    sim = Simulator(net)
    cache = {}          # (network before, writes) -> network after: validated once
    for n, p in enumerate(presentations):
        if p.reset != RESET:
            raise ValueError(f"Reset must be {RESET}, not {p.reset}")
        sim.reset_state(keep_theta=True)
        for run in p.runs:
            key = (id(sim.net), run.writes)
            if key not in cache:
                before = sim.net
                write_params(sim, run.writes)
                cache[key] = (before, sim.net)    # keeps `before` alive, so its id stays
            sim.net = cache[key][1]
            x = run.inputs.astype(bool)
            spk = {q.name: np.zeros((len(x), q.size), np.uint8) for q in net.populations}
            for t in range(len(x)):
                sim.step(x[t][None])
                if record is not None:
                    for name, a in spk.items():
                        a[t] = sim.spikes[name][0]
            if record is not None:
                record.append(spk)
        if progress:
            progress(n + 1)
    return sim


def train_on_device(dev, net, presentations, progress=None):
    """Follow ``presentations`` on a board (``spikefab.host.Device``, or its simulated
    board) over the host link, as :func:`train` does in the golden model.

    ``net`` (the network of :func:`build`, initial weights) is loaded (weights, parameters,
    routes); before every presentation RESET and WRITE_STATE clear :data:`RESET`
    (``Device.reset``); every run's parameter writes go out as WRITE_PARAMS and its steps as
    INPUT and RUN. The weights change only by the cores' STDP.

    Returns
    -------
    list of dict
        Every run's spikes, as ``train(..., record=[])`` records them. The learned weights
        are then ``dev.read_weights()``.
    """
    dev.load(net)
    current, out = net, []
    for n, p in enumerate(presentations):
        if p.reset != RESET:
            raise ValueError(f"Reset must be {RESET}, not {p.reset}")
        dev.reset(keep_theta=True)
        for run in p.runs:
            if run.writes:
                current = with_params(current, run.writes)
                dev.write_params(current)
            out.append(dev.run(run.inputs.astype(bool)).spikes)
        if progress:
            progress(n + 1)
    return out


def replay(dev, net, images, cfg, count):
    """Replay the first ``count`` presentations of training on ``dev`` from ``net``'s initial
    weights and check them against the golden model: every output spike of every step and
    every weight of every projection afterwards.

    Returns
    -------
    (str or None, int, int)
        The first mismatch (:func:`compare_runs`, :func:`compare_weights`) or None, the weights
        that STDP changed, and the network steps replayed.
    """
    pres = []
    for p in schedule(images, cfg):
        if len(pres) == count:
            break
        pres.append(p)
    golden = []
    sim = train(net, pres, record=golden)
    board = train_on_device(dev, net, pres)
    outputs = [p.name for p in net.populations if p.output]
    bad = compare_runs(golden, board, outputs, "training run", cfg.seed) or \
        compare_weights(sim.weights, dev.read_weights(), cfg.seed)
    changed = sum(int((w[0] != p.weights).sum()) for w, p in zip(sim.weights, net.projections))
    return bad, changed, sum(len(r.inputs) for p in pres for r in p.runs)


def compare_runs(golden, board, names, what, seed):
    """None if the runs' spikes of the populations ``names`` (a board reports its output
    populations') agree, else a message naming the run, step, population, neuron, both
    values and the seed."""
    for k, (g, b) in enumerate(zip(golden, board)):
        for name in names:
            diff = np.argwhere(g[name] != b[name])
            if len(diff):
                t, i = diff[0]
                return (f"seed {seed}: {what} {k}, step {t}: {name}[{i}] spiked "
                        f"{int(b[name][t, i])} on the board, {int(g[name][t, i])} in the golden "
                        f"model")
    if len(golden) != len(board):
        return f"seed {seed}: {len(board)} {what}s on the board, {len(golden)} in the golden model"
    return None


def compare_weights(golden, board, seed):
    """None if every projection's weights agree, else a message naming the projection, the
    synapse, both values and the seed."""
    for k, (g, b) in enumerate(zip(golden, board)):
        g = g[0] if g.ndim == 3 else g
        diff = np.argwhere(g != b)
        if len(diff):
            s, n = diff[0]
            return (f"seed {seed}: projection {k}, synapse ({s}, {n}): weight {int(b[s, n])} on "
                    f"the board, {int(g[s, n])} in the golden model")
    return None


def learning_off(net, weights):
    """``net`` with ``weights`` and every STDP rule's rates at 0 (``a_plus = a_minus = 0``):
    what a board built for learning runs to test (same build and mapping; the clipping
    leaves learned weights in their bounds, so nothing changes)."""
    projs = []
    for p, w in zip(net.projections, weights):
        w = w[0] if w.ndim == 3 else w
        st = replace(p.stdp, a_plus=0, a_minus=0) if p.stdp is not None else None
        projs.append(Projection(p.source, p.target, w, p.weight_shift, st))
    pops = [replace(p, theta_inc=0) for p in net.populations]
    return Network(net.name, net.inputs, pops, projs, net.hardware)


def responses_on_device(dev, net, images, cfg, seed):
    """Spike counts ``(B, N)`` of ``exc`` on the board for every image, as :func:`responses`:
    ``net`` (:func:`learning_off`) is loaded with ``exc.threshold = cfg.test_threshold``,
    then every image runs from a RESET. Returns ``(counts, runs, cycles)``: ``runs`` every
    image's spikes, ``cycles`` ``(B, steps)`` the clocks of every step as the board counted
    them; ``dev.traffic`` then holds the commands of the images alone (after the load), for
    :func:`spikefab.host.linkmodel.model`."""
    dev.load(with_params(net, (("exc", "threshold", cfg.test_threshold),)))
    dev.traffic = []                 # from here on: the images' own bytes (linkmodel)
    x = encode(images, cfg.steps, cfg.period, seed)
    runs, cycles = [], []
    for b in range(len(x)):
        dev.reset()
        r = dev.run(x[b].astype(bool))
        runs.append(r.spikes)
        cycles.append(np.asarray(r.cycles))
    return (np.stack([r["exc"].sum(axis=0) for r in runs]).astype(np.int64), runs,
            np.stack(cycles))


def frozen(net, weights, cfg=Config()):
    """``net`` with ``weights`` and no plasticity, ``exc.threshold = cfg.test_threshold``.

    What the board runs after learning: every projection static (learning off), the learned
    input and homeostatic weights kept, the threshold of ``exc`` written for the test, and no
    adaptive threshold (off for the test: no state and no logic for it).
    """
    projs = []
    for p, w in zip(net.projections, weights):
        w = w[0] if w.ndim == 3 else w
        projs.append(Projection(p.source, p.target, w, p.weight_shift))
    pops = [replace(p, threshold=cfg.test_threshold, theta_bits=0, theta_inc=0)
            if p.name == "exc" else p for p in net.populations]
    return Network(net.name, net.inputs, pops, projs, net.hardware)


#: The on-chip rate generator of the test network (``docs/spec.md`` section 7): a period of
#: ``2**5 = 32`` steps, :attr:`Config.period`'s.
CHIP_RATE_BITS = 5
#: The exc thresholds tried for the on-chip code (its intensities stop at 15, not 16: the
#: network gets a little less input and its best threshold is lower).
CHIP_THRESHOLDS = (4000, 5000, 6000, 7000, 8000, 10000, 12000, 14000)


def chip_intensities(images):
    """The ON/OFF intensities of ``(B, 64)`` images for the on-chip rate generator:
    ``(B, 128)`` ints in ``[0, 15]``, ``min(pixel, 15)`` for ON and ``min(16 - pixel, 15)``
    for OFF (4 bits a channel, :data:`spikefab.golden.RATE_INTENSITY_BITS`)."""
    x = np.asarray(images, dtype=np.int64)
    return np.minimum(np.concatenate([x, FULL - x], axis=1), 15)


def on_chip(net):
    """``net`` with the on-chip rate generator (:data:`CHIP_RATE_BITS`) in its hardware."""
    return Network(net.name, net.inputs, net.populations, net.projections,
                   replace(net.hardware, rate_bits=CHIP_RATE_BITS))


def chip_responses(net, images, steps):
    """Spike counts ``(B, N)`` of ``exc`` with the on-chip rate code of ``images``: what a
    board's presentations give (:func:`chip_responses_on_device`), in the golden model, all
    images as one batch."""
    from spikefab.golden import chip_rate_encode
    res = simulate(net, chip_rate_encode(chip_intensities(images), steps, CHIP_RATE_BITS))
    return res.spikes["exc"].sum(axis=1).astype(np.int64)


def chip_responses_on_device(dev, net, images, cfg):
    """The board's :meth:`~spikefab.host.Device.present` of ``images`` (``net``, built with
    :func:`on_chip`, loaded with ``exc.threshold = cfg.test_threshold``): ``(counts (B, N),
    DevicePresentation)``; ``dev.traffic`` then holds the presentations' own commands."""
    dev.load(with_params(net, (("exc", "threshold", cfg.test_threshold),)))
    dev.traffic = []
    r = dev.present(chip_intensities(images), cfg.steps)
    return r.spikes["exc"].sum(axis=1).astype(np.int64), r


#: The exc thresholds that :func:`choose_test_threshold` tries.
TEST_THRESHOLDS = (8000, 10000, 12000, 14000, 16000, 18000, 20000)


def choose_test_threshold(net, weights, cfg, train_set, candidates=TEST_THRESHOLDS,
                          chip=False):
    """The exc threshold for the test, chosen on the training half only.

    For every candidate the frozen network labels its neurons on the training half and
    classifies the training half with those labels; the candidate with the best training
    accuracy wins (the first on a tie). The test half is never looked at. With ``chip``, the
    images are coded by the on-chip rate generator (:func:`chip_responses`).

    Returns
    -------
    (Config, numpy.ndarray, list of (int, float))
        ``cfg`` with ``test_threshold`` set, the neuron labels at that threshold, and every
        candidate's training accuracy.
    """
    x, y = train_set
    best, table = None, []
    for thr in candidates:
        c = replace(cfg, test_threshold=thr)
        counts = (chip_responses(frozen(net, weights, c), x, c.steps) if chip else
                  responses(frozen(net, weights, c), x, c, c.seed + 100))
        labels = label(counts, y)
        acc = float((classify(labels, counts) == y).mean())
        table.append((thr, acc))
        if best is None or acc > best[0]:
            best = (acc, c, labels)
    return best[1], best[2], table


def responses(net, images, cfg, seed):
    """Spike counts ``(B, N)`` of ``exc`` in the frozen ``net`` for every image.

    Each image is coded by :func:`encode` (``cfg.steps``, ``cfg.period``, ``seed``) and run
    from the initial state, all images as one golden batch.
    """
    res = simulate(net, encode(images, cfg.steps, cfg.period, seed))
    return res.spikes["exc"].sum(axis=1).astype(np.int64)


def label(counts, y, classes=10):
    """Label of every neuron: the class with the largest mean spike count on ``counts``.

    ``counts`` is ``(B, N)`` (training-half responses), ``y`` the ``B`` classes.
    """
    mean = np.stack([counts[y == c].mean(axis=0) for c in range(classes)])
    return mean.argmax(axis=0)


def classify(labels, counts, classes=10):
    """Predicted class of every image: the label whose neurons spiked most on average.

    Returns ``-1`` for an image that made no neuron spike.
    """
    votes = np.stack([counts[:, labels == c].sum(axis=1) / max(1, int((labels == c).sum()))
                      for c in range(classes)], axis=1)
    return np.where(counts.sum(axis=1) > 0, votes.argmax(axis=1), -1)


def baselines(train_set, test_set):
    """Test accuracy of nearest centroid and logistic regression on the same split."""
    import warnings

    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import NearestCentroid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nc = NearestCentroid().fit(*train_set).score(*test_set)
        lr = LogisticRegression(max_iter=5000).fit(*train_set).score(*test_set)
    return nc, lr


def receptive_fields(path, weights, labels):
    """Save every neuron's learned ON minus OFF weights as an 8x8 image, titled by its label."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = np.asarray(weights[:CHANNELS], dtype=float)
    rf = (w[:64] - w[64:]).T.reshape(-1, 8, 8)
    cols = 16
    rows = -(-len(rf) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.62, rows * 0.72 + 0.4))
    for n, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if n < len(rf):
            ax.imshow(rf[n], cmap="RdBu_r", vmin=-HW.weight_max, vmax=HW.weight_max)
            ax.set_title(str(labels[n]), fontsize=6, pad=1)
    fig.suptitle("learned receptive fields (ON - OFF weights, red positive) and neuron labels",
                 fontsize=9)
    fig.tight_layout(pad=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _progress(t0, total):
    def show(done):
        if done == total or done % max(1, total // 10) == 0:
            bar = "#" * (20 * done // total)
            print(f"  training [{bar:<20}] {done:>5}/{total} images, "
                  f"{time.perf_counter() - t0:6.1f} s", flush=True)
    return show


def main(argv=None):
    """``digits.py``: train, label, test, write the figure, the networks and the report."""
    d = Config()
    ap = argparse.ArgumentParser(
        description="Unsupervised STDP learning of scikit-learn's 8x8 digits in the golden "
                    "model, against classical baselines on the same split.")
    ap.add_argument("--neurons", type=int, default=d.neurons,
                    help=f"excitatory neurons, 10..256 (default {d.neurons})")
    ap.add_argument("--epochs", type=int, default=d.epochs,
                    help=f"passes over the training half (default {d.epochs})")
    ap.add_argument("--seed", type=int, default=d.seed, help=f"default {d.seed}")
    ap.add_argument("--theta-inc", type=int, default=d.theta_inc,
                    help="adaptive threshold: added to a neuron's threshold offset on each of "
                    f"its spikes while training, 0..65535 (default {d.theta_inc}: none)")
    ap.add_argument("--out", default="build/digits", help="folder for the PNG and the networks")
    ap.add_argument("--replay", type=int, default=3, metavar="N",
                    help="replay the first N training images on the simulated network top "
                    "over the host link and check every weight against the golden model, "
                    "0..898 (default 3; 0: skip)")
    ap.add_argument("--scaling", metavar="N,N,...", default="",
                    help="also train and test (no replay, no files) one network per number of "
                    "exc neurons given, 10..256 each, for the accuracy-vs-neurons table")
    ap.add_argument("--write", metavar="MD", help="record the figures in this Markdown file and "
                    "copy the PNG to img/ beside it")
    args = ap.parse_args(argv)
    try:
        sizes = [int(v) for v in args.scaling.split(",")] if args.scaling else []
    except ValueError:
        ap.error(f"--scaling must be comma-separated integers, not {args.scaling!r}")
    for v in sizes:
        if not 10 <= v <= 256:
            ap.error(f"--scaling sizes must be integers in [10, 256], not {v}")
    for name, value, lo, hi in (("neurons", args.neurons, 10, 256),
                                ("epochs", args.epochs, 1, 100), ("replay", args.replay, 0, 898),
                                ("theta-inc", args.theta_inc, 0, (1 << THETA_BITS) - 1)):
        if not lo <= value <= hi:
            ap.error(f"--{name} must be an integer in [{lo}, {hi}], not {value}")
    if args.seed < 0:
        ap.error(f"--seed must be a non-negative integer, not {args.seed}")
    cfg = replace(d, neurons=args.neurons, epochs=args.epochs, seed=args.seed,
                  theta_inc=args.theta_inc)

    (xtr, ytr), (xte, yte) = load_split()
    print(f"digits: {len(xtr)} training and {len(xte)} test images (scikit-learn 8x8 digits, "
          f"first half / second half), regular ON/OFF code, {cfg.steps} + {cfg.negative} steps "
          f"per training image")
    net = build(cfg)
    print(f"network: {cfg.neurons} exc LIF neurons, winner-take-all through 1 inh neuron, "
          f"homeostasis from 1 tonic neuron"
          + (f" and adaptive thresholds (theta_inc {cfg.theta_inc})" if cfg.theta_inc else "")
          + f"; {net.inputs} inputs, "
          f"{net.projections[0].weights.size:,} plastic input synapses, {cfg.neurons} plastic "
          f"homeostatic synapses, {net.synapses:,} synapses in all")
    os.makedirs(args.out, exist_ok=True)
    dump(net, os.path.join(args.out, "digits_train.toml"))
    total = cfg.epochs * len(xtr)
    t0 = time.perf_counter()
    sim = train(net, schedule(xtr, cfg), progress=_progress(t0, total))
    t_train = time.perf_counter() - t0
    steps_run = total * (cfg.steps + cfg.negative)
    print(f"trained by STDP in the golden model: {cfg.epochs} epochs x {len(xtr)} images x "
          f"({cfg.steps} + {cfg.negative}) steps = {steps_run:,} steps in {t_train:.1f} s")
    t1 = time.perf_counter()
    cfg, labels, table = choose_test_threshold(net, sim.weights, cfg, (xtr, ytr))
    print("exc threshold for the test, chosen on the training half (training accuracy): "
          + ", ".join(f"{t} ({a:.1%})" for t, a in table) + f" -> {cfg.test_threshold}")
    test_net = frozen(net, sim.weights, cfg)
    pred = classify(labels, responses(test_net, xte, cfg, cfg.seed + 200))
    acc = float((pred == yte).mean())
    t_test = time.perf_counter() - t1
    nc, lr = baselines((xtr, ytr), (xte, yte))
    print(f"labelled on the training half, tested on the test half ({cfg.steps} steps per "
          f"image, exc threshold {cfg.test_threshold}) in {t_test:.1f} s; neurons per label: "
          f"{np.bincount(labels, minlength=10).tolist()}; silent test images: "
          f"{int((pred < 0).sum())}")
    print(f"test accuracy: spikefab STDP {acc:.1%} | nearest centroid {nc:.1%} | "
          f"logistic regression {lr:.1%} (same split)")
    png = os.path.join(args.out, "receptive_fields.png")
    receptive_fields(png, test_net.projections[0].weights, labels)
    toml = os.path.join(args.out, "digits_learned.toml")
    dump(test_net, toml)
    np.save(os.path.join(args.out, "labels.npy"), labels)
    print(f"wrote {png}, {toml} (learned network), digits_train.toml (initial) and labels.npy")
    rtl = None
    if args.replay:
        from spikefab.shape.network import derive
        from spikefab.host.device import Device
        t2 = time.perf_counter()
        # the network top with the host link, as a board top has it (the learning network's
        # two plastic projections on one core need more logic than the iCEBreaker's UP5K)
        with Device.sim(derive(net, outputs=["exc"])) as dev:
            bad, changed, steps = replay(dev, net, xtr, cfg, args.replay)
        if bad:
            sys.exit(f"digits: the simulated board differs from the golden model: {bad}")
        rtl = (args.replay, steps, changed, net.synapses, time.perf_counter() - t2)
        print(f"RTL replay: the first {args.replay} training images ({steps} steps) learned on "
              f"the simulated network top (Verilator, host link): every exc spike and all "
              f"{net.synapses:,} weights equal the golden model's ({changed:,} changed by "
              f"STDP) in {rtl[-1]:.0f} s")
    table_n = []
    for n in sizes:
        c = replace(cfg, neurons=n)
        t3 = time.perf_counter()
        a = learn_and_test(c, (xtr, ytr), (xte, yte))
        table_n.append({"neurons": n, "accuracy": round(a, 4),
                        "seconds": round(time.perf_counter() - t3, 1)})
        print(f"scaling: {n} exc neurons, {c.epochs} epoch(s): test accuracy {a:.1%} "
              f"({table_n[-1]['seconds']:.0f} s)", flush=True)
    path = update_result(args.out, "unsupervised", {
        "accuracy": round(acc, 4), "neurons": cfg.neurons, "epochs": cfg.epochs,
        "seed": cfg.seed, "theta_inc": cfg.theta_inc, "test_threshold": cfg.test_threshold,
        "synapses": net.synapses, "plastic_synapses": net.plastic_synapses,
        "train_seconds": round(t_train, 1), "test_seconds": round(t_test, 1),
        "rtl_replay": None if rtl is None else {"images": rtl[0], "steps": rtl[1],
                                                 "weights_changed": rtl[2], "equal": True},
        "scaling": table_n},
        baselines={"nearest_centroid": round(nc, 4), "logistic_regression": round(lr, 4)})
    print(f"wrote {path}")
    if args.write:
        _report(args.write, png, cfg, net, acc, nc, lr, pred, steps_run, t_train, t_test, rtl,
                table_n)
        print(f"wrote {args.write}")
    return acc


def learn_and_test(cfg, train_set, test_set):
    """Train :func:`build`'s network of ``cfg`` on ``train_set``, choose the test threshold
    on it, and return the test accuracy on ``test_set``."""
    (xtr, ytr), (xte, yte) = train_set, test_set
    net = build(cfg)
    sim = train(net, schedule(xtr, cfg))
    cfg, labels, _ = choose_test_threshold(net, sim.weights, cfg, (xtr, ytr))
    pred = classify(labels, responses(frozen(net, sim.weights, cfg), xte, cfg, cfg.seed + 200))
    return float((pred == yte).mean())


def update_result(folder, key, entry, baselines=None):
    """Set ``key`` (``"unsupervised"`` or ``"supervised"``) of ``folder/result.json`` to
    ``entry`` (and ``"baselines"``), keeping what the other learner wrote; the path."""
    import json
    path = os.path.join(folder, "result.json")
    result = {}
    if os.path.exists(path):
        with open(path) as f:
            try:
                result = json.load(f)
            except ValueError:
                result = {}
    result[key] = entry
    if baselines is not None:
        result["baselines"] = baselines
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    return path


def _report(md, png, cfg, net, acc, nc, lr, pred, steps_run, t_train, t_test, rtl, table_n):
    import shutil
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "bench"))
    from report import machine, write_section
    img = os.path.join(os.path.dirname(os.path.abspath(md)), "img")
    os.makedirs(img, exist_ok=True)
    shutil.copyfile(png, os.path.join(img, "digits_receptive_fields.png"))
    stdp = net.projections[0].stdp
    write_section(md, "digits", "\n".join([
        "## Digits: unsupervised on-chip-learnable STDP",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `make digits` "
        f"(`examples/digits/digits.py`) on {machine()}.",
        "scikit-learn 8x8 digits, first half (898 images) for training, second half (899) for "
        "testing. Nothing but `docs/spec.md`: LIF populations, static projections and "
        "pair-based trace STDP, 8-bit weights and traces, the adaptive threshold of v1.2; "
        "the host only clears state, writes a threshold and injects spikes; the weights "
        "change only by STDP.",
        "",
        "| classifier | test accuracy |",
        "|---|---|",
        f"| spikefab STDP (golden model, unsupervised, neurons labelled after training) | "
        f"{acc:.1%} |",
        f"| nearest centroid (same split) | {nc:.1%} |",
        f"| logistic regression (same split) | {lr:.1%} |",
        "",
        f"Network: {cfg.neurons} `exc` LIF neurons (threshold {cfg.threshold}, dv {cfg.dv}, "
        f"refractory {cfg.refractory}), one `inh` neuron (winner-take-all, "
        f"{cfg.inhibition} << {cfg.inhibition_shift} per spike), one `tonic` neuron "
        f"(homeostasis: a plastic projection that only depresses, 1 << {cfg.hom_shift} per "
        f"step per spike)"
        + (f", adaptive thresholds on `exc` (theta_inc {cfg.theta_inc} per spike, "
           f"{THETA_BITS} bits, no decay, kept from image to image while training, off for "
           f"the test)" if cfg.theta_inc else "")
        + f"; {net.inputs} input channels (ON/OFF); {net.synapses:,} synapses, "
        f"{net.plastic_synapses:,} plastic. Input STDP: a_plus {stdp.a_plus}, a_minus "
        f"{stdp.a_minus}, shift {stdp.shift}, d_pre {stdp.d_pre}, d_post {stdp.d_post}, "
        f"x_inc {stdp.x_inc}, y_inc {stdp.y_inc}, weights in [{stdp.w_min}, {stdp.w_max}].",
        "",
        f"Schedule: {cfg.epochs} epochs x 898 images; per image: clear u, v, r and the "
        f"traces, {cfg.steps} steps of the image (regular code, a full pixel every "
        f"{cfg.period // FULL} steps), then {cfg.negative} steps of its negative with the "
        f"exc threshold written to {SILENT}. Test: learning off, exc threshold "
        f"{cfg.test_threshold} (chosen on the training half from {list(TEST_THRESHOLDS)}), "
        f"{cfg.steps} steps per image, {int((pred < 0).sum())} silent "
        f"test images.",
        "",
        f"Training: {steps_run:,} network steps in {t_train:.1f} s; labelling and test "
        f"{t_test:.1f} s."
        + (f" RTL replay: the first {rtl[0]} training images ({rtl[1]} steps) on the simulated "
           f"network top (Verilator) over the host link; every exc spike and all {rtl[3]:,} weights equal "
           f"the golden model's ({rtl[2]:,} changed by STDP), {rtl[4]:.0f} s." if rtl else ""),
        "",
        "![learned receptive fields](img/digits_receptive_fields.png)",
    ] + (_scaling_table(cfg, table_n) if table_n else [])))


#: Published unsupervised STDP results on MNIST (28x28, 60,000 training images): a different,
#: larger and harder-to-compare data set than the 8x8 digits here.
PUBLISHED = (
    ("Diehl & Cook 2015 (MNIST, float, 100 exc neurons)", "82.9%"),
    ("Diehl & Cook 2015 (MNIST, float, 400 exc neurons)", "87.0%"),
    ("Diehl & Cook 2015 (MNIST, float, 1,600 exc neurons)", "91.9%"),
    ("Diehl & Cook 2015 (MNIST, float, 6,400 exc neurons)", "95.0%"),
    ("ODIN, Frenkel et al. 2019 (MNIST 16x16, on-chip SDSP, 10 neurons, supervised by "
     "the host)", "84.5%"),
)


def _scaling_table(cfg, table_n):
    rows = ["", "### Accuracy against neurons", "",
            f"The same network, schedule and test ({cfg.epochs} epoch(s), theta_inc "
            f"{cfg.theta_inc}, seed {cfg.seed}) at each size, the test threshold chosen on the "
            f"training half each time; below, published figures on **other data sets** "
            f"(MNIST), for scale only.", "",
            "| network | data set | test accuracy |", "|---|---|---|"]
    rows += [f"| spikefab, {r['neurons']} exc neurons | 8x8 digits (898 / 899) | "
             f"{r['accuracy']:.1%} |" for r in table_n]
    rows += [f"| {name} | MNIST (different) | {acc} |" for name, acc in PUBLISHED]
    return rows


if __name__ == "__main__":
    try:
        main()
    except ImportError as e:
        sys.exit(f"digits: {e.name} is missing; run make digits (it installs scikit-learn)")
