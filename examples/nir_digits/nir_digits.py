"""``make nir-digits``: a network trained elsewhere, imported from NIR, run on the iCEBreaker.

``digits.nir`` beside this file is a spiking digits classifier trained with Spyx on JAX
(``train.py``, which needs the optional extra ``train``; ``digits.json`` holds its training
figures and the input coding). This script needs nothing beyond spikefab's own dependencies
and scikit-learn (the data):

1. Import: ``spikefab.interop.import_nir`` maps the graph onto a spikefab network (8-bit
   weights, 16-bit ``u`` and ``v``), the training half's spikes as the probe that calibrates
   the scales; its fidelity report.
2. Accuracy on the test half (the second half of scikit-learn's 1,797 images, as
   ``examples/digits``): the graph's own equations in float64 (``spikefab.interop.reference``,
   spikefab's timing) against the quantised network in the bit-exact golden model. The class
   is the one whose output neurons spike most (``spikefab.golden.population_vote``).
3. The iCEBreaker bitstream of the network (skipped with ``--no-build``): utilisation, Fmax.
4. A slice of the test set on the simulated iCEBreaker over the host link, image by image from
   a RESET: every spike of both populations (both are reported to the host) equals the golden
   model's.
5. ``build/nir_digits/result.json`` (``float``, ``quantised``, ``board_slice_equal`` and the
   rest); ``--write docs/nir.md`` puts the measured section into that page.

``python examples/nir_digits/nir_digits.py --help`` for the options.
"""

import argparse
import json
import os
import sys
import time
from dataclasses import replace

import numpy as np

from spikefab.errors import Error

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "digits.nir")
BOARD = "icebreaker"

__all__ = ["MODEL", "training", "load_split", "encode", "import_model", "assignment",
           "float_accuracy", "golden_accuracy", "on_board", "main"]


class NirDigitsError(Error):
    """A failed step: one line, no traceback."""


def training(model=MODEL):
    """What ``train.py`` wrote beside the graph: the coding, the sizes and its float figures."""
    with open(os.path.splitext(model)[0] + ".json") as f:
        return json.load(f)


def load_split():
    """``((x_train, y_train), (x_test, y_test))``: the first and second half of scikit-learn's
    digits, ``x`` the intensities ``pixel / 16``."""
    from sklearn.datasets import load_digits
    d = load_digits()
    n = len(d.data) // 2
    x = d.data / 16.0
    return (x[:n], d.target[:n]), (x[n:], d.target[n:])


def encode(x, info):
    """The input spikes ``(B, T, channels)`` uint8 of intensities ``x`` under the coding that
    the graph was trained on (``info``: :func:`training`); the same as ``train.encode``."""
    from spikefab.golden import regular_encode
    code = info["code"]
    assert code["scheme"] == "regular"
    on = regular_encode(x, info["steps"], rate=code["rate"], phase=code["phase"])
    if not info.get("off_rate"):
        return on
    off = regular_encode(1 - x, info["steps"], rate=info["off_rate"], phase=code["phase"])
    return np.concatenate([on, off], axis=-1)


def import_model(model, info, probe, weight_bits=8, report_all=True):
    """``(net, report, graph)``: the graph imported at the training ``dt`` with ``probe`` (input
    spikes) as the calibration; with ``report_all`` every population is an output (the host
    then sees, and the board slice compares, every spike)."""
    from spikefab.golden import Network
    from spikefab.interop import import_nir, read_nir
    graph = read_nir(model)
    net, report = import_nir(graph, dt=info["dt"], weight_bits=weight_bits, inputs=probe,
                             name="nir_digits")
    if report_all:
        net = Network(net.name, net.inputs, tuple(replace(p, output=True)
                                                  for p in net.populations),
                      net.projections, net.hardware)
    return net, report, graph


def assignment(n_out):
    """The class of each output neuron: ``n // (n_out / 10)`` (``train.scores``)."""
    return np.arange(n_out) // (n_out // 10)


def float_accuracy(graph, info, x, y):
    """Test accuracy of the graph's own equations in float64 (spikefab's timing), and the
    name of its output node."""
    from spikefab.interop import parse, reference
    from spikefab.golden import population_vote
    m = parse(graph)
    out = m.outputs[-1]
    spikes, _ = reference(m, info["dt"], x.astype(bool))
    s = spikes[out]
    pred = population_vote(s, assignment(s.shape[-1]), classes=10)
    return float((pred == y).mean()), out


def golden_accuracy(net, x, y):
    """``(accuracy, predictions, output population name, result)`` of the quantised network in
    the golden model."""
    from spikefab.golden import population_vote, simulate
    res = simulate(net, x)
    out = net.populations[-1].name
    pred = population_vote(res.spikes[out], assignment(net.populations[-1].size), classes=10)
    return float((pred == y).mean()), pred, out, res


def on_board(net, x, gold, seed=0):
    """Run images ``x`` ``(B, T, inputs)`` on the simulated iCEBreaker from a RESET each, every
    spike of every population compared with ``gold`` (the golden model's spikes by population,
    ``(B, T, size)``): ``(cycles per image, seconds, board build seconds)``; a mismatch raises
    with the image, step, neuron and both values."""
    from spikefab.boards.flow import board_params
    from spikefab.host.device import Device
    t0 = time.perf_counter()
    dev = Device.sim(board_params(net, BOARD, simulated=True))
    built = time.perf_counter() - t0
    cycles = []
    with dev:
        dev.identify()
        dev.load(net)
        t0 = time.perf_counter()
        for b, xb in enumerate(x):
            dev.reset()
            r = dev.run(xb.astype(bool))
            for pop, want in gold.items():
                got = r.spikes[pop].astype(bool)
                if not np.array_equal(got, want[b].astype(bool)):
                    t, i = np.argwhere(got != want[b].astype(bool))[0]
                    raise NirDigitsError(f"test image {b} (seed {seed}): step {t}, neuron "
                                         f"{pop}[{i}]: board {int(got[t, i])}, golden model "
                                         f"{int(want[b][t, i])}")
            cycles.append(int(r.cycles.sum()))
    return cycles, time.perf_counter() - t0, built


def _section(r):
    """The measured section of ``docs/nir.md``."""
    t = r["training"]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {r['machine']} by `make nir-digits` "
        f"({r['seconds']:.0f} s).",
        "",
        "| | |",
        "|---|---|",
        f"| trained with | {t['library']} (JAX {t['jax']}, Flax {t['flax']}, Optax "
        f"{t['optax']}), CPU, {t['train_seconds']:.0f} s, {t['epochs']} epochs (best held-out "
        f"epoch {t['best_epoch']}), seed {t['seed']} |",
        f"| network | {r['inputs']} inputs -> {r['sizes'][0]} LIF -> {r['sizes'][1]} LIF "
        f"({t['per_class']} per class), no bias, `tau` = {t['dt'] / (1 - t['beta']) * 1e3:g} ms "
        f"at `dt` = {t['dt'] * 1e3:g} ms (`dv` = {r['dv']}), threshold 1, reset to 0; "
        f"{r['synapses']:,} synapses |",
        f"| input | `regular_encode`, {t['steps']} steps, rate {t['code']['rate']:g}, phase "
        f"{t['code']['phase']:g}: a pixel of value k spikes k times |",
        f"| imported | {r['weight_bits']}-bit weights (shifts {r['shifts']}), 16-bit `u`, `v`; "
        f"thresholds {r['thresholds']}; spikes agreeing with the float graph on the training "
        f"half: {r['agreement']} |",
        f"| test accuracy, float (Spyx's own forward pass) | {t['test_accuracy']:.1%} |",
        f"| test accuracy, float (the NIR graph's equations, `interop.reference`) | "
        f"{r['float']:.1%} |",
        f"| test accuracy, quantised (golden model, {r['test_images']} images) | "
        f"{r['quantised']:.1%} ({100 * (r['quantised'] - r['float']):+.1f} points) |",
        f"| for scale, same split | logistic regression {r['logistic_regression']:.1%}, the "
        f"unsupervised STDP network of `examples/digits` 81.9% |",
        f"| simulated iCEBreaker | {r['board_images']} test images, every spike of both "
        f"populations equal to the golden model: {r['board_slice_equal']}; "
        f"{r['board_right']}/{r['board_images']} right; {r['board_step_clocks']:,.0f} step "
        f"clocks per image |",
    ]
    if r.get("fmax_mhz"):
        u = ", ".join(f"{k.replace('ICESTORM_', '')} {a}/{b}"
                      for k, (a, b) in r["utilisation"].items() if k.startswith("ICESTORM_"))
        lines.append(f"| iCEBreaker bitstream | {u}; Fmax {r['fmax_mhz']:.1f} MHz (constraint "
                     f"{r['constraint_mhz']:.1f} MHz) |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=MODEL, metavar="NIR",
                    help="the graph (its training figures in the .json beside it)")
    ap.add_argument("--board-images", type=int, default=10, metavar="N",
                    help="test images run on the simulated iCEBreaker, 0..899 (default 10)")
    ap.add_argument("--no-build", action="store_true", help="skip the bitstream")
    ap.add_argument("--weight-bits", type=int, default=8, metavar="N")
    ap.add_argument("--out", default="build/nir_digits", metavar="DIR")
    ap.add_argument("--write", metavar="MD", help="write the measured section into this file "
                                                  "(docs/nir.md)")
    args = ap.parse_args(argv)
    if not 0 <= args.board_images <= 899:
        ap.error(f"--board-images must be an integer in [0, 899], not {args.board_images}")
    t_start = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    info = training(args.model)
    (xtr, ytr), (xte, yte) = load_split()
    s_tr, s_te = encode(xtr, info), encode(xte, info)

    net, report, graph = import_model(args.model, info, s_tr, args.weight_bits)
    hid, out = net.populations
    print(f"[1/5] imported {args.model}: {net.inputs} inputs -> {hid.name} ({hid.size} LIF) -> "
          f"{out.name} ({out.size} LIF), {net.synapses:,} synapses, {args.weight_bits}-bit "
          f"weights; spikes agree with the float graph on the training half: "
          + ", ".join(f"{a.population} {a.agreement:.2%}" for a in report.agreement),
          flush=True)
    f_acc, _ = float_accuracy(graph, info, s_te, yte)
    q_acc, pred, out_name, res = golden_accuracy(net, s_te, yte)
    print(f"[2/5] test accuracy on {len(yte)} images: float {f_acc:.1%} (the graph's "
          f"equations), quantised {q_acc:.1%} (golden model); Spyx's own forward pass "
          f"{info['test_accuracy']:.1%}", flush=True)

    result = None
    if args.no_build:
        print("[3/5] bitstream: skipped (--no-build)")
    else:
        from spikefab.boards.flow import BuildError, TimingError, build
        print(f"[3/5] bitstream for the {BOARD}:", flush=True)
        try:
            result = build(net=net, board=BOARD, outdir=os.path.join(args.out, BOARD))
        except (BuildError, TimingError) as e:
            raise NirDigitsError(str(e))

    S = args.board_images
    equal, cycles, right = None, [], 0
    if S:
        gold = {p.name: res.spikes[p.name][:S] for p in net.populations}
        cycles, secs, built = on_board(net, s_te[:S], gold)
        equal = True
        right = int((pred[:S] == yte[:S]).sum())
        print(f"[4/5] simulated {BOARD} (built in {built:.0f} s): {S} test images x "
              f"{info['steps']} steps in {secs:.0f} s over the host link, every spike of "
              f"{hid.name} and {out.name} equal to the golden model; {right}/{S} right",
              flush=True)
    else:
        print("[4/5] board slice: skipped (--board-images 0)")

    from sklearn.linear_model import LogisticRegression
    lr = LogisticRegression(max_iter=5000).fit(xtr, ytr).score(xte, yte)
    sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
    from report import machine, write_section
    r = dict(float=f_acc, quantised=q_acc, board_slice_equal=equal, board_images=S,
             board_right=right, board_step_clocks=float(np.mean(cycles)) if cycles else None,
             test_images=len(yte), spyx_float=info["test_accuracy"], logistic_regression=lr,
             inputs=net.inputs, sizes=[hid.size, out.size], synapses=net.synapses,
             dv=hid.dv, weight_bits=args.weight_bits,
             shifts=", ".join(str(p.weight_shift) for p in net.projections),
             thresholds=", ".join(f"{p.name} {p.threshold}" for p in net.populations),
             agreement=", ".join(f"{a.population} {a.agreement:.2%}" for a in report.agreement),
             training=info, machine=machine(), model=os.path.relpath(args.model))
    if result is not None:
        r.update(utilisation=result["utilisation"], fmax_mhz=result["fmax_mhz"],
                 constraint_mhz=result["constraint_mhz"], timing_met=result["timing_met"])
    r["seconds"] = time.perf_counter() - t_start
    path = os.path.join(args.out, "result.json")
    with open(path, "w") as f:
        json.dump(r, f, indent=1)
    print(f"[5/5] wrote {path}")
    if args.write:
        write_section(args.write, "nir-digits", _section(r))
        print(f"wrote {args.write}")
    print(f"summary: float {f_acc:.1%}, quantised {q_acc:.1%}"
          + (f", board slice {S} images bit-exact" if S else "")
          + (f", Fmax {result['fmax_mhz']:.1f} MHz" if result else "")
          + f" ({r['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (Error, OSError) as e:
        sys.exit(f"nir_digits: {e}")
