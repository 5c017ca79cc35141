"""Every spike coding on one task: the 8x8 digits, each coding feeding the same kind of network.

The network (:func:`build`): the 64 pixel intensities (``pixel / 16`` in ``[0, 1]``) coded into
64 input channels (for ``delta``, the ON half of its 128 channels: the image is switched on at
step 1 and held, so its OFF channels stay silent), all-to-all into ``out``, 10 LIF neurons
whose current follows the input (``du = 4096``), whose voltage leaks (``dv``, a time constant
of about 16 steps) and resets by subtraction. The class is the output neuron with the most
spikes (:func:`spikefab.golden.population_vote`; no spike at all is no decision, counted
wrong); the steps to a decision are the step of the first output spike.

Why not the STDP network of ``examples/digits``: it learns without labels from rate-like input
statistics (a winner-take-all whose weights follow the inputs' mean rates), so a time-to-first-
spike code, one spike per channel, gives it almost nothing to learn from; the comparison would
measure STDP's fit to each code, not the code. Here every code gets a readout trained for it:
the output weights are a logistic regression (no intercept: a population has one bias) on the
input spikes filtered the way the output neuron's voltage filters them,
``f = sum_t k**(T-1-t) s_t`` with ``k = 1 - dv/4096``, on the training half; quantised to 8
bits; the threshold is chosen on the training half in the golden model. Everything is then
measured in the bit-exact golden model on the test half, and a slice runs on the simulated
iCEBreaker over the host link (every spike compared with the golden model; the board's own
clock counts give the cycles per image).

``python examples/coding/compare.py [--write docs/coding.md]``; ``make coding``.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from spikefab.errors import Error
from spikefab.golden import (Hardware, Network, Population, Projection, encode, population_vote,
                             simulate, spike_count)

__all__ = ["STEPS", "CODES", "HW", "DYNAMICS", "load_split", "code", "response", "features",
           "fit", "build", "decide", "choose", "evaluate", "on_board", "main"]

STEPS = 32
HW = Hardware(current_bits=16, voltage_bits=20, weight_bits=8)
#: The readout's time constants tried for every code, ``(name, du, dv)``: a leaky voltage
#: (``k_v = 0.9375``, 16 steps), a perfect integrator of the input, and an integrator of an
#: integrated current (the voltage ramps with the time since each spike: what a latency code
#: needs to weigh early spikes more).
DYNAMICS = (("leaky", 4096, 256), ("integrator", 4096, 0), ("ramp", 0, 0))
#: Every code with its parameters (``spikefab.golden.encode``); the seed goes to ``rate``.
CODES = {
    "rate": dict(rate=0.25),
    "regular": dict(rate=0.25),
    "ttfs": dict(mode="linear"),
    "ttfs-log": dict(mode="log", cutoff=0.02),
    "burst": dict(max_spikes=5, min_isi=1, max_isi=4, period=16),
    "phase": dict(bits=8),
    "delta": dict(threshold=1 / 8),
}
#: Thresholds tried, as fractions of the largest training-half voltage the readout reaches.
THRESHOLD_FRACTIONS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6)


def load_split():
    """The digits as ``((x_train, y_train), (x_test, y_test))``, ``x`` in ``[0, 1]``: the first
    half of scikit-learn's 1,797 images for training, the second for testing (as
    ``examples/digits``)."""
    from sklearn.datasets import load_digits
    d = load_digits()
    n = len(d.data) // 2
    x = d.data / 16.0
    return (x[:n], d.target[:n]), (x[n:], d.target[n:])


def code(name, x, seed=0):
    """The input spikes ``(B, STEPS, 64)`` of images ``x`` ``(B, 64)`` under code ``name``."""
    scheme = name.split("-")[0]
    params = dict(CODES[name])
    if scheme == "rate":
        params["seed"] = seed
    if scheme == "delta":
        series = np.zeros((len(x), STEPS, x.shape[1]))
        series[:, 1:] = x[:, None, :]                # switched on at step 1, held
        return encode("delta", series, **params)[..., :x.shape[1]]
    return encode(scheme, x, STEPS, **params)


def response(du, dv):
    """The output voltage at the last step per input spike at step ``t``, ``(STEPS,)``: the
    float form of the LIF recurrence (``u' = k_u u + a``, ``v' = k_v v + u'``) for the
    readout's time constants."""
    ku, kv = 1.0 - du / 4096, 1.0 - dv / 4096
    h = np.zeros(STEPS)
    for t in range(STEPS):
        u = v = 0.0
        for s in range(t, STEPS):
            u = ku * u + (1.0 if s == t else 0.0)
            v = kv * v + u
        h[t] = v
    return h


def features(spikes, du, dv):
    """What the output voltage integrates by the last step: ``sum_t h(t) s_t``, ``(B, 64)``."""
    return np.einsum("btn,t->bn", spikes.astype(float), response(du, dv))


def fit(spikes, y, du, dv):
    """8-bit output weights ``(64, 10)`` trained on the filtered spikes: logistic regression,
    no intercept, its ``C`` by 3-fold cross-validation on the training half."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    f = features(spikes, du, dv)
    f = f / (f.max() or 1.0)
    best = max((cross_val_score(LogisticRegression(C=c, fit_intercept=False, max_iter=5000),
                                f, y, cv=3).mean(), c) for c in (0.1, 1.0, 10.0, 100.0))
    w = LogisticRegression(C=best[1], fit_intercept=False, max_iter=5000).fit(f, y).coef_.T
    return np.round(w / np.abs(w).max() * 127).astype(np.int64)


def build(weights, threshold, du, dv, name="coding"):
    """The network: 64 inputs -> 10 ``out`` neurons with ``weights``, ``threshold`` and the
    decays ``du``, ``dv``."""
    out = Population("out", 10, threshold=int(threshold), du=du, dv=dv, reset="subtract",
                     output=True)
    return Network(name, weights.shape[0], (out,),
                   (Projection("input", "out", weights),), HW)


def decide(out_spikes):
    """Class per image (``-1``: no output spike) and the step from which that answer no longer
    changes (the running vote's leader is the final class from then on; ``STEPS`` when there
    is no answer)."""
    pred = population_vote(out_spikes, np.arange(10), classes=10)
    silent = spike_count(out_spikes).sum(axis=-1) == 0
    pred = np.where(silent, -1, pred)
    running = np.cumsum(out_spikes.astype(np.int64), axis=-2)          # (B, T, 10)
    leader = np.where(running.sum(axis=-1) > 0, running.argmax(axis=-1), -1)
    wrong = leader != pred[:, None]
    last_wrong = np.where(wrong.any(axis=-1), STEPS - 1 - wrong[:, ::-1].argmax(axis=-1), -1)
    return pred, np.where(silent, STEPS, last_wrong + 1)


def choose(spikes, y):
    """The readout for one code, chosen on the training half: for each of :data:`DYNAMICS`,
    weights by :func:`fit`, then every threshold of :data:`THRESHOLD_FRACTIONS`; the best
    training accuracy wins (the earlier candidate on a tie). Returns ``(accuracy, dynamics
    name, weights, threshold, du, dv)``."""
    best = None
    for dyn, du, dv in DYNAMICS:
        w = fit(spikes, y, du, dv)
        top = max(int((features(spikes, du, dv) @ w).max()), 1)
        for frac in THRESHOLD_FRACTIONS:
            th = max(1, int(top * frac))
            pred, _ = decide(simulate(build(w, th, du, dv), spikes).spikes["out"])
            acc = float((pred == y).mean())
            if best is None or acc > best[0]:
                best = (acc, dyn, w, th, du, dv)
    return best


def evaluate(name, split, seed=0):
    """Train the readout of code ``name`` and measure it on the test half: a dict of figures,
    the network and the test spikes."""
    (xtr, ytr), (xte, yte) = split
    s_tr, s_te = code(name, xtr, seed), code(name, xte, seed + 1)
    train_acc, dyn, w, th, du, dv = choose(s_tr, ytr)
    net = build(w, th, du, dv)
    res = simulate(net, s_te)
    pred, settled = decide(res.spikes["out"])
    spikes = s_te.reshape(len(s_te), -1).sum(axis=1)
    fanout = (w != 0).sum(axis=1)                       # synapses of each input channel
    events = (s_te.sum(axis=1) * fanout).sum(axis=1)
    decided = pred >= 0
    return dict(
        code=name, accuracy=float((pred == yte).mean()), train_accuracy=train_acc,
        readout=dyn, du=du, dv=dv, threshold=int(th), no_decision=float((~decided).mean()),
        input_spikes_per_image=float(spikes.mean()),
        synaptic_events_per_image=float(events.mean()),
        output_spikes_per_image=float(res.spikes["out"].sum(axis=(1, 2)).mean()),
        steps_to_decision=float(settled[decided].mean()) if decided.any() else float(STEPS),
        steps_to_decision_median=float(np.median(settled[decided])) if decided.any()
        else float(STEPS)), net, s_te


def on_board(nets, slices, events, seed):
    """Run every code's slice on the simulated iCEBreaker over the host link, every output
    spike compared with the golden model (a mismatch names the code, image, step, neuron, both
    values and the seed). Per image: the board's own clock counts of its steps (the LIF updates
    and the output spikes' delivery: the input events of a step are accumulated as they arrive
    over the link, before the step starts, at one synaptic event per clock, so ``events`` of
    them are added for the total), the bytes and commands over the link, and the time the same
    traffic takes on a real iCEBreaker (:func:`spikefab.host.linkmodel.model`)."""
    from spikefab.boards import get_board
    from spikefab.boards.flow import board_params
    from spikefab.host.device import Device
    from spikefab.host.linkmodel import model
    first = next(iter(nets.values()))
    dev = Device.sim(board_params(first, "icebreaker", simulated=True))
    clk = get_board("icebreaker").target_hz
    out = {}
    with dev:
        for name, net in nets.items():
            dev.load(net)
            dev.traffic = []
            gold = simulate(net, slices[name]).spikes["out"]
            cycles = []
            for b, x in enumerate(slices[name]):
                dev.reset()
                r = dev.run(x.astype(bool))
                got = r.spikes["out"].astype(bool)
                if not np.array_equal(got, gold[b]):
                    t, i = np.argwhere(got != gold[b])[0]
                    raise Error(f"code {name}, test image {b} (seed {seed}): step {t}, neuron "
                                f"out[{i}]: board {int(got[t, i])}, golden model "
                                f"{int(gold[b][t, i])}")
                cycles.append(int(r.cycles.sum()))
            n = len(cycles)
            step_clocks = float(np.mean(cycles))
            real = model(dev.traffic, sum(cycles) + events[name] * n, clk).per(n)
            out[name] = dict(board_images=n, board_step_clocks_per_image=step_clocks,
                             board_clocks_per_image=step_clocks + events[name],
                             link_bytes_per_image=float(real.bytes),
                             link_commands_per_image=float(real.commands),
                             real_board_ms_per_image=1e3 * real.total)
    return out


def plot_codes(path, x, seed):
    """One digit under every code: a raster per code."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(CODES) + 1, figsize=(2.1 * (len(CODES) + 1), 3.2))
    axes[0].imshow(x.reshape(8, 8), cmap="gray_r")
    axes[0].set_title("image")
    axes[0].axis("off")
    for ax, name in zip(axes[1:], CODES):
        s = code(name, x[None], seed)[0]
        t, c = np.nonzero(s)
        ax.scatter(t, c, s=3, marker="|", color="k")
        ax.set_xlim(-1, STEPS)
        ax.set_ylim(-1, 64)
        ax.set_title(f"{name}\n{len(t)} spikes", fontsize=9)
        ax.set_xlabel("step")
        if ax is axes[1]:
            ax.set_ylabel("pixel channel")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_ramp(path):
    """Every scheme on a ramp of 21 intensities (0 to 1, one channel each), and the delta code
    on a slow sine: what each code does with its input, channel by channel."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x = np.linspace(0, 1, 21)
    panels = [("rate (p = 0.25 x)", encode("rate", x, STEPS, rate=0.25, seed=1)),
              ("regular (0.25 x per step)", encode("regular", x, STEPS, rate=0.25)),
              ("ttfs linear", encode("ttfs", x, STEPS)),
              ("ttfs log (cutoff 0.02)", encode("ttfs", x, STEPS, mode="log", cutoff=0.02)),
              ("burst (5 spikes, ISI 1-4, period 16)", encode("burst", x, STEPS, period=16)),
              ("phase (8 bits)", encode("phase", x, STEPS, bits=8))]
    t = np.arange(STEPS)
    series = 0.5 + 0.45 * np.sin(2 * np.pi * t / STEPS)[:, None] * np.ones((1, 3)) \
        * np.array([1.0, 0.5, 0.2])
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(2.3 * (len(panels) + 1), 3.6))
    for ax, (title, s) in zip(axes, panels):
        tt, c = np.nonzero(s)
        ax.scatter(tt, x[c], s=4, marker="|", color="k")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("step")
        ax.set_xlim(-1, STEPS)
    axes[0].set_ylabel("intensity of the channel")
    ax = axes[-1]
    d = encode("delta", series, threshold=0.1)
    for ch in range(3):
        ax.plot(t, series[:, ch] + 1.2 * ch, color="0.6", lw=1)
        for k, (mark, col) in enumerate((("^", "tab:red"), ("v", "tab:blue"))):
            on = np.nonzero(d[:, ch + 3 * k])[0]
            ax.scatter(on, series[on, ch] + 1.2 * ch, marker=mark, color=col, s=10)
    ax.set_title("delta (threshold 0.1):\nON up, OFF down", fontsize=8)
    ax.set_xlabel("step")
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_comparison(path, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for r in rows:
        ax.scatter(r["synaptic_events_per_image"], 100 * r["accuracy"], s=30)
        ax.annotate(f"{r['code']} ({r['steps_to_decision']:.1f} steps)",
                    (r["synaptic_events_per_image"], 100 * r["accuracy"]),
                    textcoords="offset points", xytext=(5, 3), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("synaptic events per image (log)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("digits, 64 -> 10 LIF readout, 32 steps: accuracy against work")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(rows, lr):
    lines = ["| code | readout (du, dv) | test accuracy | input spikes / image | synaptic "
             "events / image | steps to a decision (mean, median) | board clocks / image "
             "(step counts + input events) | link bytes / image | real iCEBreaker ms / image "
             "(modelled) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "board_clocks_per_image" in r:
            board = (f"{r['board_clocks_per_image']:,.0f} ({r['board_step_clocks_per_image']:,.0f}"
                     f" + {r['synaptic_events_per_image']:,.0f})")
            link = f"{r['link_bytes_per_image']:,.0f}"
            ms = f"{r['real_board_ms_per_image']:.1f}"
        else:
            board = link = ms = "not run"
        lines.append(f"| {r['code']} | {r['readout']} ({r['du']}, {r['dv']}) | "
                     f"{r['accuracy']:.1%}{' (' + format(r['no_decision'], '.1%') + ' silent)' if r['no_decision'] else ''} | "
                     f"{r['input_spikes_per_image']:.1f} | "
                     f"{r['synaptic_events_per_image']:,.0f} | {r['steps_to_decision']:.1f}, "
                     f"{r['steps_to_decision_median']:.0f} | {board} | {link} | {ms} |")
    lines.append(f"\nFor scale: logistic regression on the float intensities of the same "
                 f"split, {lr:.1%}.")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="build/coding", metavar="DIR")
    p.add_argument("--write", metavar="MD", help="write the table into this file's "
                                                 "coding-compare section (docs/coding.md)")
    p.add_argument("--board-images", type=int, default=3, metavar="N",
                   help="test images of each code run on the simulated iCEBreaker (0: none)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if args.board_images < 0:
        print(f"compare.py: error: --board-images must be >= 0, not {args.board_images}",
              file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()
    split = load_split()
    from sklearn.linear_model import LogisticRegression
    lr = LogisticRegression(max_iter=5000).fit(*split[0]).score(*split[1])
    rows, nets, slices = [], {}, {}
    for name in CODES:
        r, net, s_te = evaluate(name, split, args.seed)
        rows.append(r)
        nets[name], slices[name] = net, s_te[:args.board_images]
        print(f"{name:9s} accuracy {r['accuracy']:.1%}, {r['input_spikes_per_image']:.1f} input "
              f"spikes and {r['synaptic_events_per_image']:,.0f} synaptic events per image, "
              f"decision after {r['steps_to_decision']:.1f} steps", flush=True)
    if args.board_images:
        t1 = time.perf_counter()
        events = {r["code"]: r["synaptic_events_per_image"] for r in rows}
        board = on_board(nets, slices, events, args.seed)
        for r in rows:
            r.update(board[r["code"]])
        print(f"simulated iCEBreaker: {args.board_images} test images per code, every output "
              f"spike equal to the golden model ({time.perf_counter() - t1:.0f} s)", flush=True)
    img = os.path.join(os.path.dirname(args.write), "img") if args.write else args.out
    os.makedirs(img, exist_ok=True)
    plot_ramp(os.path.join(img, "coding-schemes.png"))
    plot_codes(os.path.join(img, "coding-examples.png"), split[1][0][0], args.seed)
    plot_comparison(os.path.join(img, "coding-comparison.png"), rows)
    result = dict(codes=rows, logistic_regression=lr, steps=STEPS, seed=args.seed,
                  seconds=time.perf_counter() - t0)
    with open(os.path.join(args.out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    text = table(rows, lr)
    print()
    print(text)
    if args.write:
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
        from report import machine, write_section
        write_section(args.write, "coding-compare",
                      f"Measured {time.strftime('%Y-%m-%d')} on {machine()} by `make coding` "
                      f"({result['seconds']:.0f} s; seed {args.seed}; {args.board_images} test "
                      f"images per code on the simulated iCEBreaker).\n\n{text}")
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
