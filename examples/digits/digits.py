"""Unsupervised STDP learning of handwritten digits, in the golden model.

scikit-learn's 8x8 digits (1,797 images, shipped with the package) are rate-coded into input
spikes: each pixel drives an ON channel at a rate proportional to its intensity and an OFF
channel at a rate proportional to its darkness, so every image carries the same total input.
A 129th channel, the gate, strongly inhibits every neuron. The network, all of it within
docs/spec.md and so all of it learnable on the chip:

- ``exc``: excitatory LIF neurons with plastic input synapses (pair-based STDP, section 4);
- winner-take-all: every ``exc`` neuron inhibits every other one (static recurrent weights);
- homeostasis: one ``tonic`` neuron spikes every step into ``exc`` through a second plastic
  projection whose weights live in ``[-127, 0]`` and only depress (``a_plus = 0``,
  ``(255 * 255) >> 15 = 1``): every spike of a neuron deepens its own inhibition by one step,
  an adaptive threshold made of STDP, so a neuron that wins often gives the others their turn.

Training shows each image of the first half of the data, then its negative (ON and OFF
swapped) with the gate on: the winner's synapses from channels that matched the image were
potentiated (pre before post), and the ones from channels that did not are now depressed by the
post trace that the image left (post before pre), which keeps the receptive fields from
growing into everything. The neuron state (not the weights) is cleared between images, as the
host's "reset network state" does. Then the weights are frozen, each neuron is labelled with the
class it answers most on the training half, and the second half is classified by the labelled
neurons' spike counts. ``python examples/digits/digits.py --help`` for the options.
"""

import argparse
import os
import sys
import time

import numpy as np

from spikefab.golden import (Hardware, Network, Population, Projection, Simulator, Stdp,
                             dump, simulate)

HW = Hardware(current_bits=16, voltage_bits=16, weight_bits=8, trace_bits=8,
              refractory_bits=4)


def load_split():
    """The digits, first half for training and second half for testing (as the baselines)."""
    from sklearn.datasets import load_digits
    d = load_digits()
    n = len(d.data) // 2
    x = d.data.astype(np.int64)                     # 0..16
    return (x[:n], d.target[:n]), (x[n:], d.target[n:])


def encode(images, steps, rate, seed, contrast=0, contrast_rate=1.0):
    """ON/OFF Bernoulli rate code, ``(B, steps + contrast, 129)`` 0/1 for ``(B, 64)`` images.

    Channels 0..63 are ON (rate ~ intensity), 64..127 OFF (rate ~ 16 - intensity), channel 128
    is the gate. With ``contrast`` > 0, the image is followed by ``contrast`` steps of its
    negative (ON and OFF swapped) with the gate on, which silences the neurons: the synapses
    of channels that did not match the image are then depressed by the post traces that the
    image left (LTD), while the matching ones were potentiated during the image (LTP).
    """
    on = np.concatenate([images, 16 - images], axis=1) / 16.0 * rate
    off = np.concatenate([16 - images, images], axis=1) / 16.0 * contrast_rate
    rng = np.random.default_rng(seed)
    b = len(images)
    x = np.zeros((b, steps + contrast, 129), np.uint8)
    x[:, :steps, :128] = rng.random((b, steps, 128)) < on[:, None, :]
    if contrast:
        x[:, steps:, :128] = rng.random((b, contrast, 128)) < off[:, None, :]
        x[:, steps:, 128] = 1
    return x


def build(n_exc=100, seed=0, **kw):
    """The learning network (see the module docstring); ``kw`` overrides the defaults."""
    cfg = dict(threshold=15000, du=4096, dv=64, refractory=2, w_init=64, wta=-127,
               wta_shift=7, a_plus=2, a_minus=1, shift=6, d_pre=256, d_post=64, x_inc=16,
               y_inc=64, hom_shift=6)
    cfg.update(kw)
    rng = np.random.default_rng(seed)
    exc = Population("exc", n_exc, threshold=cfg["threshold"], du=cfg["du"], dv=cfg["dv"],
                     refractory=cfg["refractory"], reset="zero", output=True)
    tonic = Population("tonic", 1, threshold=0, bias=1, du=4096, dv=4096)
    w_in = rng.integers(0, cfg["w_init"], size=(129, n_exc), endpoint=True)
    w_in[128] = 0                                   # the gate learns nothing
    gate = np.zeros((129, n_exc), np.int64)
    gate[128] = -127
    learn = Stdp(a_plus=cfg["a_plus"], a_minus=cfg["a_minus"], shift=cfg["shift"],
                 d_pre=cfg["d_pre"], d_post=cfg["d_post"], x_inc=cfg["x_inc"],
                 y_inc=cfg["y_inc"], w_min=0, w_max=127)
    wta = np.full((n_exc, n_exc), cfg["wta"])
    np.fill_diagonal(wta, 0)
    # (255 * 255) >> 15 == 1: every exc spike deepens its own tonic inhibition by one step
    hom = Stdp(a_plus=0, a_minus=255, shift=15, d_pre=0, d_post=4096, x_inc=0, y_inc=255,
               w_min=-127, w_max=0)
    return Network(
        name="digits", inputs=129, hardware=HW, populations=[exc, tonic],
        projections=[Projection("input", "exc", w_in, weight_shift=0, stdp=learn),
                     Projection("input", "exc", gate, weight_shift=6),
                     Projection("exc", "exc", wta, weight_shift=cfg["wta_shift"]),
                     Projection("tonic", "exc", np.zeros((1, n_exc), np.int64),
                                weight_shift=cfg["hom_shift"], stdp=hom)])


def train(net, images, steps, rate, seed, epochs=1, contrast=20, contrast_rate=1.0,
          progress=None):
    """Present every image (in a seeded order) for ``steps``; return the learned network."""
    sim = Simulator(net)
    rng = np.random.default_rng(seed)
    total = epochs * len(images)
    for e in range(epochs):
        order = rng.permutation(len(images))
        spikes = encode(images[order], steps, rate, seed + 1 + e, contrast,
                        contrast_rate).astype(bool)
        for n in range(len(order)):
            sim.reset_state()
            for t in range(steps + contrast):
                sim.step(spikes[n, t][None])
            if progress:
                progress(e * len(images) + n + 1, total)
    return sim.weights


def frozen(net, weights, homeostasis=False):
    """``net`` with ``weights`` and no plasticity: what the board runs after learning.

    The homeostatic inhibition is a training device: unless ``homeostasis``, its learned
    weights are dropped (set to 0), so every labelled neuron can answer at test time.
    """
    projs = []
    for p, w in zip(net.projections, weights):
        w = w[0] if w.ndim == 3 else w
        if p.source == "tonic" and not homeostasis:
            w = np.zeros_like(w)
        projs.append(Projection(p.source, p.target, w, p.weight_shift))
    return Network(net.name, net.inputs, net.populations, projs, net.hardware)


def responses(net, images, steps, rate, seed):
    """Spike counts ``(B, n_exc)`` of the frozen network to each image (batched)."""
    res = simulate(net, encode(images, steps, rate, seed))
    return res.spikes["exc"].sum(axis=1)


def label_and_classify(train_counts, train_y, test_counts):
    """Label each neuron by its strongest mean response; vote by summed labelled counts."""
    classes = np.arange(10)
    mean = np.stack([train_counts[train_y == c].mean(axis=0) for c in classes])  # (10, N)
    labels = mean.argmax(axis=0)
    votes = np.stack([test_counts[:, labels == c].sum(axis=1) / max(1, (labels == c).sum())
                      for c in classes], axis=1)
    pred = np.where(test_counts.sum(axis=1) > 0, votes.argmax(axis=1), -1)
    return labels, pred


def baselines(train, test):
    import warnings

    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import NearestCentroid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nc = NearestCentroid().fit(*train).score(*test)
        lr = LogisticRegression(max_iter=5000).fit(*train).score(*test)
    return nc, lr


def receptive_fields(path, weights, labels):
    """Save the learned ON minus OFF weights of every neuron as 8x8 images, with labels."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = weights[:128].astype(float)
    fields = (w[:64] - w[64:]).T.reshape(-1, 8, 8)
    cols = 10
    rows = -(-len(fields) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.0))
    lim = np.abs(fields).max() or 1
    for n, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if n < len(fields):
            ax.imshow(fields[n], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(str(labels[n]), fontsize=7, pad=1)
    fig.suptitle("learned receptive fields (ON - OFF weights) and neuron labels", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _progress(done, total, t0):
    if done == total or done % max(1, total // 10) == 0:
        bar = "#" * (20 * done // total)
        print(f"  training [{bar:<20}] {done:>4}/{total} images, {time.perf_counter() - t0:5.1f} s",
              flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Unsupervised STDP learning of scikit-learn's 8x8 digits in the golden "
                    "model, against classical baselines on the same split.")
    ap.add_argument("--neurons", type=int, default=100, help="excitatory neurons (default 100)")
    ap.add_argument("--steps", type=int, default=60, help="steps per image (default 60)")
    ap.add_argument("--contrast", type=int, default=20,
                    help="steps of the gated negative after each training image (default 20)")
    ap.add_argument("--rate", type=float, default=0.5, help="spike probability of a full pixel")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--test-threshold", type=int, default=10000,
                    help="threshold of exc at labelling and test time (run-time parameter)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="build/digits", help="folder for the PNG and the network")
    ap.add_argument("--write", metavar="MD", help="record the figures in this Markdown file")
    args = ap.parse_args(argv)
    for name, value, lo in (("neurons", args.neurons, 10), ("steps", args.steps, 1),
                            ("contrast", args.contrast, 0), ("epochs", args.epochs, 1)):
        if value < lo:
            ap.error(f"--{name} must be an integer >= {lo}, not {value}")

    (xtr, ytr), (xte, yte) = load_split()
    print(f"digits: {len(xtr)} training and {len(xte)} test images (scikit-learn 8x8 digits, "
          f"first half / second half), ON/OFF rate code, {args.steps} steps per image")
    net = build(args.neurons, seed=args.seed)
    print(f"network: {args.neurons} exc LIF neurons with winner-take-all, {net.inputs} inputs, "
          f"{net.projections[0].weights.size:,} plastic input synapses, "
          f"{args.neurons} plastic homeostatic synapses")
    t0 = time.perf_counter()
    weights = train(net, xtr, args.steps, args.rate, args.seed, args.epochs, args.contrast,
                    contrast_rate=1.0, progress=lambda d, t: _progress(d, t, t0))
    t_train = time.perf_counter() - t0
    steps_run = args.epochs * len(xtr) * (args.steps + args.contrast)
    print(f"trained on-chip-learnable STDP in the golden model: {steps_run:,} steps in "
          f"{t_train:.1f} s")
    learned = frozen(net, weights, homeostasis=True)
    pops = [Population(**{**p.__dict__, "threshold": args.test_threshold}) if p.name == "exc"
            else p for p in learned.populations]
    test_net = Network(learned.name, learned.inputs, pops, learned.projections,
                       learned.hardware)
    ctr = responses(test_net, xtr, args.steps, args.rate, args.seed + 100)
    cte = responses(test_net, xte, args.steps, args.rate, args.seed + 200)
    labels, pred = label_and_classify(ctr, ytr, cte)
    acc = float((pred == yte).mean())
    nc, lr = baselines((xtr, ytr), (xte, yte))
    print(f"neurons per label: {np.bincount(labels, minlength=10).tolist()}; "
          f"silent test images: {int((pred < 0).sum())}")
    print(f"test accuracy: spikefab STDP {acc:.1%} | nearest centroid {nc:.1%} | "
          f"logistic regression {lr:.1%} (same split)")
    os.makedirs(args.out, exist_ok=True)
    png = os.path.join(args.out, "receptive_fields.png")
    receptive_fields(png, weights[0][0], labels)
    toml = os.path.join(args.out, "digits_learned.toml")
    dump(test_net, toml)
    np.save(os.path.join(args.out, "labels.npy"), labels)
    print(f"wrote {png}, {toml} (learned network) and labels.npy")
    if args.write:
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
        from report import machine, write_section
        write_section(args.write, "digits", "\n".join([
            "## Digits: unsupervised on-chip-learnable STDP",
            "",
            f"Measured {time.strftime('%Y-%m-%d')} by `make digits` "
            f"(`examples/digits/digits.py`) on {machine()}.",
            f"scikit-learn 8x8 digits, first half ({len(xtr)}) for training, second half "
            f"({len(xte)}) for testing; {args.neurons} excitatory neurons, {args.epochs} "
            f"epochs, {args.steps} + {args.contrast} steps per training image.",
            "",
            "| classifier | test accuracy |",
            "|---|---|",
            f"| spikefab STDP (golden model, unsupervised, labelled after training) | "
            f"{acc:.1%} |",
            f"| nearest centroid (same split) | {nc:.1%} |",
            f"| logistic regression (same split) | {lr:.1%} |",
            "",
            f"Training: {steps_run:,} network steps in {t_train:.1f} s.",
        ]))
        print(f"wrote {args.write}")
    return acc


if __name__ == "__main__":
    try:
        main()
    except ImportError as e:
        sys.exit(f"digits: {e.name} is missing; run make digits (it installs scikit-learn)")
