"""Supervised digits learned on the chip: a readout trained by reward-modulated STDP.

The third factor of ``docs/spec.md`` v1.2 turns pair STDP into a supervised rule without any
weight ever written by the host. The network (:func:`build`):

- inputs: the 128 ON/OFF channels of ``digits.encode`` and 10 teacher channels
  (``128 + c`` for class ``c``);
- ``out``: ``10 * per_class`` LIF neurons, neuron ``j`` voting for class ``j % 10``;
- ``teacher``: 10 relay neurons (threshold 0), teacher channel ``128 + c`` to neuron ``c``
  (projection 0), which drives every ``out`` neuron of class ``c`` with ``127 << teach_shift``
  (projection 2): one teacher spike saturates the neuron's current and fires it a step
  later. (A relay, not a second projection from ``input``: ``out``'s core has 256 axon slots,
  and ``input`` already takes 138 of them);
- projection 1, ``readout``: ``input -> out``, plastic, modulated (third factor): LTP only
  (``a_minus = 0``), so a weight moves at an output spike by the presynaptic trace, in the
  direction of the modulation's sign.

Training (:func:`train`) is a closed loop between the host and the chip, one image at a time;
the host writes only inputs, the modulation, the ``out`` threshold and RESET (clear ``u``,
``v``, ``r``, the traces and the spikes in flight):

1. *observe*: modulation 0 (learning off), threshold ``threshold``, ``steps`` steps of the
   image. The host counts the spikes per class; an image whose class leads every other by
   more than ``margin`` spikes is learned: nothing more is done with it.
2. *free*: modulation ``-M`` (anti-STDP), the image again: every output spike depresses the
   synapses of the channels that drove it.
3. *teach*: modulation ``+M``, threshold :data:`TEACH` (only a saturating teacher spike passes),
   the image with its label's teacher channel spiking every ``teach_every`` steps: the label's
   neurons potentiate the synapses of the active channels.

Each weight so moves by about ``M x_j (teacher spikes - free spikes)`` of its neuron: the
perceptron rule, made of the chip's STDP. ``M`` starts at ``modulation`` and is multiplied by
``decay_pct / 100`` every epoch (rounded, at least 1). The test (:func:`evaluate`) freezes the
weights, raises no teacher, counts ``out``'s spikes per class over ``test_steps`` steps and
predicts the class with the most (an image without a spike is wrong); its threshold is chosen
on the training half from ``test_thresholds``.

``python examples/digits/readout.py --help``; ``make digits`` runs it after ``digits.py``.
"""

import argparse
import os
import sys
import time
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from spikefab.golden import Network, Population, Projection, Simulator, Stdp, simulate

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digits as D  # noqa: E402

__all__ = ["ReadoutConfig", "TEACH", "INPUTS", "build", "GoldenChip", "DeviceChip",
           "train", "frozen", "class_counts", "predict", "evaluate", "replay", "main"]

#: The input channels: 128 ON/OFF, then one teacher channel per class.
INPUTS = D.CHANNELS + 10
#: The ``out`` threshold while teaching: below the saturated voltage (so a teacher spike
#: passes), above anything the image alone reaches in practice.
TEACH = D.SILENT - 1
#: Index of the plastic, modulated projection.
READOUT = 1


@dataclass(frozen=True)
class ReadoutConfig:
    """Every number of the readout's network, training and test (integers; defaults: the
    figures of ``docs/benchmarks.md``)."""

    per_class: int = 5
    epochs: int = 14
    seed: int = 1
    steps: int = 20
    teach_steps: int = 20
    teach_every: int = 4
    period: int = 32
    threshold: int = 6000
    teach_shift: int = 10
    dv: int = 1024
    refractory: int = 1
    a_plus: int = 64
    stdp_shift: int = 10
    d_pre: int = 1024
    x_inc: int = 64
    w_init: int = 32
    modulation: int = 64
    decay_pct: int = 90
    margin: int = 3
    test_steps: int = 100
    test_thresholds: tuple = (4000, 6000, 8000)

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            vals = v if f.name == "test_thresholds" else (v,)
            if f.name == "test_thresholds" and (not isinstance(v, tuple) or not v):
                raise TypeError(f"ReadoutConfig test_thresholds must be a non-empty tuple of "
                                f"integers, not {v!r}")
            for x in vals:
                if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
                    raise TypeError(f"ReadoutConfig {f.name} must be an integer, not {x!r}")
        for name, lo, hi in (("per_class", 1, 25), ("epochs", 1, 1000), ("steps", 1, 1000),
                             ("teach_steps", 1, 1000), ("teach_every", 1, 1000),
                             ("period", D.FULL, 1 << 16), ("modulation", 1, 256),
                             ("decay_pct", 1, 100), ("margin", 0, 1000),
                             ("test_steps", 1, 1000), ("w_init", 0, D.HW.weight_max)):
            v = getattr(self, name)
            if not lo <= v <= hi:
                raise ValueError(f"ReadoutConfig {name} must be an integer in [{lo}, {hi}], "
                                 f"not {v}")

    @property
    def neurons(self):
        return 10 * self.per_class


def build(cfg=ReadoutConfig()):
    """The readout's training network with its initial weights (see the module docstring)."""
    n = cfg.neurons
    rng = np.random.default_rng(cfg.seed)
    out = Population("out", n, threshold=cfg.threshold, du=4096, dv=cfg.dv,
                     refractory=cfg.refractory, reset="zero", output=True)
    relay = Population("teacher", 10, threshold=0, du=4096, dv=4096)
    to_relay = np.zeros((INPUTS, 10), np.int64)
    to_relay[D.CHANNELS + np.arange(10), np.arange(10)] = D.HW.weight_max
    teach = np.zeros((10, n), np.int64)
    teach[np.arange(n) % 10, np.arange(n)] = D.HW.weight_max
    w = rng.integers(0, cfg.w_init, size=(INPUTS, n), endpoint=True)
    w[D.CHANNELS:] = 0
    rule = Stdp(a_plus=cfg.a_plus, a_minus=0, shift=cfg.stdp_shift, d_pre=cfg.d_pre,
                d_post=4096, x_inc=cfg.x_inc, y_inc=0, w_min=0, w_max=D.HW.weight_max,
                modulated=True)
    return Network("digits_readout", INPUTS, [out, relay], [
        Projection("input", "teacher", to_relay),
        Projection("input", "out", w, stdp=rule),
        Projection("teacher", "out", teach, weight_shift=cfg.teach_shift)], D.HW)


class GoldenChip:
    """The host's view of the golden model: RESET, the ``out`` threshold, the modulation and
    runs of input spikes, as :class:`DeviceChip` offers them for a board."""

    def __init__(self, net):
        self.sim = Simulator(net)
        self._nets = {}

    def reset(self):
        self.sim.reset_state()

    def threshold(self, value):
        key = int(value)
        if key not in self._nets:
            self._nets[key] = D.with_params(self.sim.net, (("out", "threshold", key),))
        self.sim.net = self._nets[key]

    def modulation(self, m):
        self.sim.set_modulation(READOUT, int(m))

    def run(self, x):
        """``out``'s spikes ``(steps, N)`` uint8 for the input spikes ``x`` ``(steps, INPUTS)``."""
        out = np.zeros((len(x), self.sim.net.populations[0].size), np.uint8)
        for t in range(len(x)):
            out[t] = self.sim.step(x[t][None])["out"][0]
        return out

    def weights(self):
        return [w[0] if w.ndim == 3 else w for w in self.sim.weights]


class DeviceChip:
    """A board (``spikefab.host.Device``, or its simulated board) as :class:`GoldenChip`:
    the network is loaded, and every call is the host link's commands."""

    def __init__(self, dev, net):
        self.dev, self.net = dev, net
        dev.load(net)

    def reset(self):
        self.dev.reset()

    def threshold(self, value):
        self.net = D.with_params(self.net, (("out", "threshold", int(value)),))
        self.dev.write_params(self.net)

    def modulation(self, m):
        self.dev.set_modulation(READOUT, int(m))

    def run(self, x):
        return self.dev.run(np.asarray(x, bool)).spikes["out"]

    def weights(self):
        return self.dev.read_weights()


def _inputs(image, steps, period, seed, teacher=None, every=1):
    """One image's spikes ``(steps, INPUTS)``: its ON/OFF code, and the teacher channel of
    class ``teacher`` every ``every`` steps."""
    x = np.zeros((steps, INPUTS), np.uint8)
    x[:, :D.CHANNELS] = D.encode(np.asarray(image)[None], steps, period, seed)[0]
    if teacher is not None:
        x[every - 1::every, D.CHANNELS + int(teacher)] = 1
    return x


def class_counts(spikes, per_class):
    """Spike counts per class ``(..., 10)`` from ``out``'s counts ``(..., 10 * per_class)``."""
    c = np.asarray(spikes)
    return c.reshape(c.shape[:-1] + (per_class, 10)).sum(axis=-2)


def predict(counts):
    """The class with the most spikes; ``-1`` for an image without any."""
    return np.where(counts.max(axis=-1) > 0, counts.argmax(axis=-1), -1)


def train(chip, cfg, images, labels, limit=None, progress=None, record=None):
    """The closed training loop of the module docstring on ``chip`` (:class:`GoldenChip` or
    :class:`DeviceChip`), over ``cfg.epochs`` epochs of ``images`` (or the first ``limit``
    presentations). Every draw (the order, the codes' seeds) is made whether or not an image
    is learned, so any chip follows the same schedule. ``record`` (a list) receives every
    run's ``{"out": spikes}``.

    Returns
    -------
    dict
        ``learned`` (images per epoch that needed learning), ``modulation`` (``M`` per epoch),
        ``observed_accuracy`` (per epoch: images correct by the margin when observed).
    """
    rng = np.random.default_rng(cfg.seed + 7)
    m = float(cfg.modulation)
    stats = {"learned": [], "modulation": [], "observed_accuracy": []}
    done = 0
    for e in range(cfg.epochs):
        mm = max(1, int(round(m)))
        order = rng.permutation(len(images))
        seeds = rng.integers(0, 1 << 30, size=(len(images), 3))
        learned = correct = 0
        for k, i in enumerate(order):
            if limit is not None and done == limit:
                break
            y = int(labels[i])
            chip.reset()
            chip.threshold(cfg.threshold)
            chip.modulation(0)
            s = chip.run(_inputs(images[i], cfg.steps, cfg.period, seeds[k, 0]))
            if record is not None:
                record.append({"out": s})
            c = class_counts(s.sum(axis=0, dtype=np.int64), cfg.per_class)
            others = np.delete(c, y).max()
            if c[y] - others > cfg.margin:
                correct += 1
            else:
                learned += 1
                chip.reset()
                chip.threshold(cfg.threshold)
                chip.modulation(-mm)
                s = chip.run(_inputs(images[i], cfg.steps, cfg.period, seeds[k, 1]))
                chip.reset()
                chip.threshold(TEACH)
                chip.modulation(mm)
                t = chip.run(_inputs(images[i], cfg.teach_steps, cfg.period, seeds[k, 2],
                                     teacher=y, every=cfg.teach_every))
                if record is not None:
                    record += [{"out": s}, {"out": t}]
            done += 1
            if progress:
                progress(done)
        stats["learned"].append(learned)
        stats["modulation"].append(mm)
        stats["observed_accuracy"].append(round(correct / max(1, learned + correct), 4))
        m *= cfg.decay_pct / 100
        if limit is not None and done == limit:
            break
    return stats


def frozen(net, weights, threshold):
    """The readout with ``weights`` and no plasticity, ``out.threshold = threshold``."""
    projs = [Projection(p.source, p.target, w, p.weight_shift)
             for p, w in zip(net.projections, weights)]
    pops = [replace(p, threshold=threshold) if p.name == "out" else p
            for p in net.populations]
    return Network(net.name, net.inputs, pops, projs, net.hardware)


def _test_counts(net, weights, threshold, images, cfg, seed):
    x = np.zeros((len(images), cfg.test_steps, INPUTS), np.uint8)
    x[:, :, :D.CHANNELS] = D.encode(images, cfg.test_steps, cfg.period, seed)
    res = simulate(frozen(net, weights, threshold), x)
    return class_counts(res.spikes["out"].sum(axis=1, dtype=np.int64), cfg.per_class)


def evaluate(net, weights, cfg, train_set, test_set):
    """``(test accuracy, threshold, [(threshold, training accuracy), ...])``: the test
    threshold chosen on the training half (the first best), then the test half once."""
    (xtr, ytr), (xte, yte) = train_set, test_set
    table = []
    for thr in cfg.test_thresholds:
        acc = float((predict(_test_counts(net, weights, thr, xtr, cfg, cfg.seed + 100))
                     == ytr).mean())
        table.append((thr, acc))
    best = max(table, key=lambda r: r[1])[0]
    pred = predict(_test_counts(net, weights, best, xte, cfg, cfg.seed + 200))
    return float((pred == yte).mean()), best, table


def replay(dev, net, cfg, images, labels, count):
    """The first ``count`` presentations of training on ``dev`` and in the golden model, from
    ``net``'s initial weights: ``(mismatch or None, runs compared, weights changed)``; the
    mismatch names the run, step, neuron, both values and the seed."""
    golden, board = [], []
    gold = GoldenChip(net)
    train(gold, cfg, images, labels, limit=count, record=golden)
    train(DeviceChip(dev, net), cfg, images, labels, limit=count, record=board)
    w = gold.weights()
    bad = D.compare_runs(golden, board, ["out"], "training run", cfg.seed) or \
        D.compare_weights(w, dev.read_weights(), cfg.seed)
    changed = int(sum((a != p.weights).sum() for a, p in zip(w, net.projections)))
    return bad, len(golden), changed


def main(argv=None):
    """``readout.py``: train, test, check a slice on the simulated board, report."""
    d = ReadoutConfig()
    ap = argparse.ArgumentParser(
        description="A digits readout learned by reward-modulated (three-factor) STDP in the "
                    "golden model, the host turning labels into the modulation.")
    ap.add_argument("--per-class", type=int, default=d.per_class,
                    help=f"output neurons per class, 1..25 (default {d.per_class})")
    ap.add_argument("--epochs", type=int, default=d.epochs,
                    help=f"passes over the training half, 1..1000 (default {d.epochs})")
    ap.add_argument("--seed", type=int, default=d.seed, help=f"default {d.seed}")
    ap.add_argument("--out", default="build/digits", help="folder for result.json")
    ap.add_argument("--replay", type=int, default=20, metavar="N",
                    help="replay the first N training presentations on the simulated board "
                    "and check every spike and weight against the golden model, 0..8980 "
                    "(default 20; 0: skip)")
    ap.add_argument("--write", metavar="MD", help="record the figures in this Markdown file")
    args = ap.parse_args(argv)
    if not 0 <= args.replay <= 8980:
        ap.error(f"--replay must be an integer in [0, 8980], not {args.replay}")
    if args.seed < 0:
        ap.error(f"--seed must be a non-negative integer, not {args.seed}")
    try:
        cfg = replace(d, per_class=args.per_class, epochs=args.epochs, seed=args.seed)
    except ValueError as e:
        ap.error(str(e).replace("ReadoutConfig per_class", "--per-class")
                 .replace("ReadoutConfig epochs", "--epochs"))
    (xtr, ytr), (xte, yte) = D.load_split()
    net = build(cfg)
    print(f"readout: {cfg.neurons} out LIF neurons ({cfg.per_class} per class), "
          f"{INPUTS} inputs (128 ON/OFF + 10 teacher channels), "
          f"{net.plastic_synapses:,} plastic synapses with a third factor")
    t0 = time.perf_counter()
    total = cfg.epochs * len(xtr)
    chip = GoldenChip(net)
    stats = train(chip, cfg, xtr, ytr, progress=D._progress(t0, total))
    t_train = time.perf_counter() - t0
    print(f"trained by modulated STDP in the golden model in {t_train:.1f} s; images learned "
          f"per epoch (the rest was correct by more than {cfg.margin} spikes): "
          f"{stats['learned']}; modulation per epoch {stats['modulation']}")
    t1 = time.perf_counter()
    acc, thr, table = evaluate(net, chip.weights(), cfg, (xtr, ytr), (xte, yte))
    t_test = time.perf_counter() - t1
    print("out threshold for the test, chosen on the training half (training accuracy): "
          + ", ".join(f"{t} ({a:.1%})" for t, a in table) + f" -> {thr}")
    nc, lr = D.baselines((xtr, ytr), (xte, yte))
    print(f"test accuracy: spikefab R-STDP readout {acc:.1%} | nearest centroid {nc:.1%} | "
          f"logistic regression {lr:.1%} (same split)")
    rtl = None
    if args.replay:
        from spikefab.host.device import Device
        from spikefab.shape.network import derive
        t2 = time.perf_counter()
        with Device.sim(derive(net, outputs=["out"])) as dev:
            bad, runs, changed = replay(dev, net, cfg, xtr, ytr, args.replay)
        if bad:
            sys.exit(f"readout: the simulated board differs from the golden model: {bad}")
        rtl = {"presentations": args.replay, "runs": runs, "weights_changed": changed,
               "equal": True, "seconds": round(time.perf_counter() - t2, 1)}
        print(f"RTL replay: the first {args.replay} training presentations ({runs} runs) on the "
              f"simulated board (Verilator, host link): every out spike and all "
              f"{net.synapses:,} weights equal the golden model's ({changed:,} changed) in "
              f"{rtl['seconds']:.0f} s")
    entry = {"accuracy": round(acc, 4), "neurons": cfg.neurons, "epochs": cfg.epochs,
             "seed": cfg.seed, "test_threshold": thr, "synapses": net.synapses,
             "plastic_synapses": net.plastic_synapses, "train_seconds": round(t_train, 1),
             "test_seconds": round(t_test, 1), "learned_per_epoch": stats["learned"],
             "config": {k: list(v) if isinstance(v, tuple) else v
                        for k, v in asdict(cfg).items()},
             "rtl_replay": rtl}
    path = D.update_result(args.out, "supervised", entry,
                           baselines={"nearest_centroid": round(nc, 4),
                                      "logistic_regression": round(lr, 4)})
    print(f"wrote {path}")
    if args.write:
        _report(args.write, cfg, net, acc, thr, table, nc, lr, stats, t_train, t_test, rtl)
        print(f"wrote {args.write}")
    return acc


def _report(md, cfg, net, acc, thr, table, nc, lr, stats, t_train, t_test, rtl):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "bench"))
    from report import machine, write_section
    write_section(md, "digits-readout", "\n".join([
        "## Digits: a readout learned on the chip by reward-modulated STDP",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `make digits` "
        f"(`examples/digits/readout.py`) on {machine()}. The same split and code as above; "
        "the host writes only inputs, the third factor (modulation), the `out` threshold and "
        "RESET; the weights change only by the chip's modulated STDP.",
        "",
        "| classifier | test accuracy |",
        "|---|---|",
        f"| spikefab R-STDP readout (golden model, {cfg.neurons} neurons, labels as "
        f"reward) | {acc:.1%} |",
        f"| nearest centroid (same split) | {nc:.1%} |",
        f"| logistic regression (same split) | {lr:.1%} |",
        "",
        f"Network: {INPUTS} inputs (128 ON/OFF, 10 teacher channels), {cfg.neurons} `out` "
        f"LIF neurons ({cfg.per_class} per class; threshold {cfg.threshold}, dv {cfg.dv}, "
        f"refractory {cfg.refractory}), 10 teacher relay neurons; a static teacher "
        f"projection (127 << {cfg.teach_shift}) and a plastic one with a third factor "
        f"(a_plus {cfg.a_plus}, "
        f"a_minus 0, shift {cfg.stdp_shift}, d_pre {cfg.d_pre}, x_inc {cfg.x_inc}); "
        f"{net.synapses:,} synapses, {net.plastic_synapses:,} plastic.",
        "",
        f"Training: {cfg.epochs} epochs x 898 images; per image: observe ({cfg.steps} steps, "
        f"modulation 0); unless the label leads by more than {cfg.margin} spikes, free "
        f"({cfg.steps} steps, modulation -M) and teach ({cfg.teach_steps} steps, threshold "
        f"{TEACH}, the label's teacher channel every {cfg.teach_every} steps, modulation +M); "
        f"M per epoch {stats['modulation']}; images that needed learning per epoch "
        f"{stats['learned']}. {t_train:.1f} s in the golden model; test {t_test:.1f} s "
        f"({cfg.test_steps} steps per image, out threshold {thr} chosen on the training half: "
        + ", ".join(f"{t} {a:.1%}" for t, a in table) + ")."
        + (f" RTL replay: the first {rtl['presentations']} training presentations "
           f"({rtl['runs']} runs) on the simulated board over the host link; every `out` "
           f"spike and all {net.synapses:,} weights equal the golden model's "
           f"({rtl['weights_changed']:,} changed), {rtl['seconds']:.0f} s." if rtl else ""),
    ]))


if __name__ == "__main__":
    try:
        main()
    except ImportError as e:
        sys.exit(f"readout: {e.name} is missing; run make digits (it installs scikit-learn)")
