"""``make demo``: the digits network from learning to a board, in one run.

1. Weights: learned by STDP in the golden model (``digits.py``'s defaults), or loaded from
   ``build/digits/learned-<neurons>-<epochs>.npz`` when the configuration is unchanged; the
   exc threshold for the test is chosen on the training half, for the host's regular code and
   for the board's on-chip rate code (``digits.chip_intensities``: 4-bit intensities).
2. Golden model: test accuracy on the test half with both codes, next to the baselines.
3. The iCEBreaker bitstream of the test network (learning off, the rate generator on:
   ``digits.on_chip``; yosys, nextpnr, icepack; reused when the design is unchanged):
   utilisation and Fmax.
4. The board, over the real protocol: by default the simulated iCEBreaker (the same board top
   in Verilator behind a UART model), with ``--port`` a real board (flashed first, unless
   ``--no-flash``). The learned weights and parameters are loaded over the link and a slice
   of the test set is presented (``Device.present``: the board makes the input spikes from
   each image's intensities and clears the state before each): every output spike equals
   the golden model's, so do the predictions.
5. One summary: accuracy, utilisation, Fmax, synaptic events per second at Fmax (the board's
   own cycle counts), images per second on a real board (modelled from the board's clocks
   and the link's bytes) next to the golden model's, and a raster plot PNG of the slice.

``python examples/digits/demo.py --help`` for the options.
"""

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace

import numpy as np

from spikefab.errors import Error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digits as D  # noqa: E402

BOARD = "icebreaker"
#: Excitatory neurons of the demo's network: the 128 input channels, ``inh``, ``tonic`` and the
#: ``exc -> inh`` projection's 120 sources fit one core's 256 axon slots, so the test network
#: is one core on the UP5K (``make digits`` trains 256: three cores, more than its logic)
NEURONS = 120
#: The adaptive threshold while learning (``digits.Config.theta_inc``): 85.5% against 80.0%
#: without, at 120 neurons and 2 epochs (measured 2026-12-06). The test network has none (it
#: is off for the test), so the bitstream is the same.
THETA_INC = 128


class DemoError(Error):
    """A failed step of the demo: one line, no traceback."""


def _say(text=""):
    print(text, flush=True)


def learned(cfg, split, cache):
    """``(weights, labels, cfg, how)``: the trained weights of every projection, the neuron
    labels and ``cfg`` with the test threshold chosen on the training half
    (``digits.choose_test_threshold``), from ``cache`` if it holds this configuration's, else
    trained now (and saved)."""
    from dataclasses import replace
    (xtr, ytr), _ = split
    key = json.dumps(asdict(cfg), sort_keys=True)
    if os.path.exists(cache):
        z = np.load(cache)
        if str(z["config"]) == key:
            n = int(z["projections"])
            return ([z[f"w{k}"] for k in range(n)], z["labels"],
                    replace(cfg, test_threshold=int(z["test_threshold"])), f"loaded {cache}")
    net = D.build(cfg)
    t0 = time.perf_counter()
    sim = D.train(net, D.schedule(xtr, cfg))
    weights = [w[0] if w.ndim == 3 else w for w in sim.weights]
    t = time.perf_counter() - t0
    chosen, labels, _ = D.choose_test_threshold(net, weights, cfg, (xtr, ytr))
    os.makedirs(os.path.dirname(cache) or ".", exist_ok=True)
    np.savez(cache, config=key, projections=len(weights), labels=labels,
             test_threshold=chosen.test_threshold, **{f"w{k}": w for k, w in enumerate(weights)})
    steps = cfg.epochs * len(xtr) * (cfg.steps + cfg.negative)
    return weights, labels, chosen, (f"learned by STDP in the golden model: {steps:,} steps "
                                     f"in {t:.1f} s (saved to {cache})")


def chip_setup(net, weights, cfg, split):
    """The exc threshold and the neuron labels for the on-chip rate code (``digits.on_chip``),
    chosen on the training half (``digits.choose_test_threshold(..., chip=True)``) and kept
    beside the learned weights' cache. Returns ``(cfg with that threshold, labels)``."""
    (xtr, ytr), _ = split
    key = json.dumps(asdict(cfg), sort_keys=True)
    cache = os.path.join("build", "digits",
                         f"chip-{cfg.neurons}-{cfg.epochs}-{cfg.theta_inc}.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        if str(z["config"]) == key and np.array_equal(z["w0"], weights[0]):
            return replace(cfg, test_threshold=int(z["threshold"])), z["labels"]
    chosen, labels, _ = D.choose_test_threshold(net, weights, cfg, (xtr, ytr),
                                                D.CHIP_THRESHOLDS, chip=True)
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    np.savez(cache, config=key, threshold=chosen.test_threshold, labels=labels, w0=weights[0])
    return chosen, labels


def events_of(net, runs):
    """Synaptic events of runs (``(inputs, spikes)`` pairs, each from a RESET): the sum of
    ``spikefab.demo.synaptic_events`` over them (every spike delivered times its projection's
    fan-out; a run's last step's spikes are dropped by the RESET that follows)."""
    from spikefab.demo import synaptic_events
    return sum(synaptic_events(net, inputs, spikes) for inputs, spikes in runs)


def raster(path, inputs, runs, steps, title):
    """Input and output-population spikes of the test slice, image after image (a board
    reports only its output populations)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = [("input", np.concatenate(inputs))] + \
        [(k, np.concatenate([r[k] for r in runs])) for k in runs[0]]
    heights = [max(a.shape[1], 8) for _, a in panels]
    fig, axes = plt.subplots(len(panels), 1, sharex=True, figsize=(11, 1 + 0.012 * sum(heights)),
                             gridspec_kw={"height_ratios": heights})
    for ax, (name, a) in zip(axes, panels):
        t, n = np.nonzero(a)
        ax.scatter(t, n, s=1.5, marker="|", color="black" if name == "input" else "tab:blue")
        ax.set_ylabel(f"{name}\n({a.shape[1]})")
        ax.set_ylim(-0.5, a.shape[1] - 0.5)
        for b in range(1, len(runs)):
            ax.axvline(b * steps - 0.5, color="0.85", lw=0.5)
    axes[-1].set_xlabel("time step (one test image every %d steps)" % steps)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description="The digits network end to end: learn (or load) "
                                 "the weights, build the iCEBreaker bitstream of the test "
                                 "network, check a slice of the test set on the (simulated) "
                                 "board over the host link against the golden model.")
    ap.add_argument("--port", help="serial port of a real iCEBreaker (default: the simulated "
                    "board)")
    ap.add_argument("--no-flash", action="store_true",
                    help="with --port: the board already runs this build")
    ap.add_argument("--test-slice", type=int, default=50,
                    help="test images presented on the board, 1..899 (default 50)")
    ap.add_argument("--no-build", action="store_true",
                    help="skip the bitstream (the summary then has no utilisation or Fmax)")
    ap.add_argument("--neurons", type=int, default=NEURONS,
                    help=f"excitatory neurons, 10..256 (default {NEURONS}: the test network "
                         f"then fits one core of the iCEBreaker)")
    ap.add_argument("--epochs", type=int, default=D.Config.epochs,
                    help=f"training epochs, 1..100 (default {D.Config.epochs})")
    ap.add_argument("--theta-inc", type=int, default=THETA_INC,
                    help=f"adaptive threshold while learning, 0..65535 (default {THETA_INC}; "
                         f"0: none)")
    ap.add_argument("--out", default="build/demo", help="folder of the PNG and the summary")
    args = ap.parse_args(argv)
    for name, lo, hi in (("test_slice", 1, 899), ("neurons", 10, 256),
                         ("epochs", 1, 100), ("theta_inc", 0, 65535)):
        v = getattr(args, name)
        if not lo <= v <= hi:
            ap.error(f"--{name.replace('_', '-')} must be an integer in [{lo}, {hi}], not {v}")
    cfg = D.Config(neurons=args.neurons, epochs=args.epochs, theta_inc=args.theta_inc)
    os.makedirs(args.out, exist_ok=True)
    split = D.load_split()
    (xtr, ytr), (xte, yte) = split
    net = D.build(cfg)
    D.dump(net, os.path.join(args.out, "digits_train.toml"))
    t_start = time.perf_counter()
    _say(f"spikefab demo: {net.name}, {cfg.neurons} exc + 1 inh + 1 tonic LIF neurons"
         + (" (adaptive thresholds while learning)" if cfg.theta_inc else "") + ", "
         f"{net.inputs} inputs, {net.synapses:,} synapses ({net.plastic_synapses:,} plastic)")

    # 1-2: weights and the golden model's accuracy
    cache = os.path.join("build", "digits", f"learned-{cfg.neurons}-{cfg.epochs}.npz")
    weights, labels, cfg, how = learned(cfg, split, cache)
    _say(f"[1/5] weights {how}; exc threshold for the test {cfg.test_threshold} (chosen on "
         f"the training half)")
    chip_cfg, chip_labels = chip_setup(net, weights, cfg, split)
    _say(f"      on-chip rate code: exc threshold {chip_cfg.test_threshold} (chosen on the "
         f"training half)")
    host_acc = float((D.classify(labels, D.responses(D.frozen(net, weights, cfg), xte, cfg,
                                                     cfg.seed + 200)) == yte).mean())
    test_net = D.on_chip(D.frozen(net, weights, chip_cfg))
    t0 = time.perf_counter()
    counts = D.chip_responses(test_net, xte, cfg.steps)
    golden_rate = len(xte) / (time.perf_counter() - t0)      # batched, on this machine
    labels = chip_labels
    pred = D.classify(labels, counts)
    acc = float((pred == yte).mean())
    nc, lr = D.baselines(split[0], split[1])
    _say(f"[2/5] golden model: test accuracy {acc:.1%} on {len(xte)} test images with the "
         f"board's on-chip rate code ({host_acc:.1%} with the host's regular code; nearest "
         f"centroid {nc:.1%}, logistic regression {lr:.1%}, same split)")

    # 3: the bitstream of the test network: the learned weights (loaded at run time over the
    # link, like every value; the build depends on the network's shape only), learning off,
    # the test threshold. (The learning network itself, with its two plastic projections on
    # one core, needs more logic and multipliers than the UP5K has: `make digits` replays
    # its training on the simulated network top instead.)
    from spikefab.boards.flow import BuildError, TimingError, board_params, build
    result = None
    if args.no_build:
        _say("[3/5] bitstream: skipped (--no-build)")
    else:
        _say(f"[3/5] bitstream for the {BOARD}:")
        try:
            result = build(net=test_net, board=BOARD, outdir=os.path.join("build", f"demo-{BOARD}"))
        except (BuildError, TimingError) as e:
            raise DemoError(str(e))

    # 4: the board over the host link
    from spikefab.boards import get_board
    from spikefab.host.device import Device
    params = board_params(test_net, BOARD, simulated=args.port is None)
    if args.port:
        if not args.no_flash:
            if result is None:
                raise DemoError("--port needs the bitstream: drop --no-build (or give "
                                "--no-flash for a board that runs this build)")
            from spikefab.boards.flow import flash
            flash(BOARD, result["bitstream"])
        dev = Device.open(args.port, params, baud=get_board(BOARD).baud)
        where = f"the {BOARD} on {args.port}"
    else:
        t0 = time.perf_counter()
        dev = Device.sim(params)
        where = f"the simulated {BOARD} (Verilator, built in {time.perf_counter() - t0:.0f} s)"
    outputs = [p.name for p in net.populations if p.output]
    with dev:
        dev.identify()
        if not dev.matches:
            raise DemoError(f"{where} runs another build (its build hash differs): flash it "
                            f"with the demo's bitstream")
        _say(f"[4/5] {where}, over the host link:")
        t0 = time.perf_counter()
        S = args.test_slice
        board_counts, pres = D.chip_responses_on_device(dev, test_net, xte[:S], chip_cfg)
        from spikefab.golden import chip_rate_encode, simulate
        x = chip_rate_encode(D.chip_intensities(xte[:S]), cfg.steps, D.CHIP_RATE_BITS)
        res = simulate(test_net, x)
        golden_runs = [{k: v[b].astype(np.uint8) for k, v in res.spikes.items()}
                       for b in range(S)]
        runs = [{k: v[b] for k, v in pres.spikes.items()} for b in range(S)]
        bad = D.compare_runs(golden_runs, runs, outputs, "test image", cfg.seed)
        if bad:
            raise DemoError(f"the board differs from the golden model: {bad}")
        board_pred = D.classify(labels, board_counts)
        assert (board_pred == pred[:S]).all()       # the counts are equal, so are these
        right = int((board_pred == yte[:S]).sum())
        _say(f"      test: {S} images x {cfg.steps} steps presented with the learned weights: "
             f"every spike of exc equals the golden model; {right}/{S} classified right "
             f"({time.perf_counter() - t0:.0f} s over the link)")
        dev_cycles = pres.cycles

    # 5: figures
    events = events_of(test_net, list(zip(x, runs)))
    cycles = int(np.sum(dev_cycles))
    png = os.path.join(args.out, "raster.png")
    R = min(S, 20)
    raster(png, list(x[:R]), [{k: r[k] for k in outputs} for r in runs[:R]], cfg.steps,
           f"spikefab: {S} digits test images on the {BOARD} "
           f"({'simulated' if args.port is None else args.port}), predicted "
           f"{' '.join(str(int(p)) for p in board_pred[:12])}{' ...' if R > 12 else ''}")
    _say(f"[5/5] raster plot: {png}")
    _say()
    rows = [("test accuracy (golden model, 899 images)", f"{acc:.1%} with the on-chip rate "
             f"code, {host_acc:.1%} with the host's  (nearest centroid {nc:.1%}, logistic "
             f"regression {lr:.1%})"),
            (f"board slice ({S} test images)", f"{right}/{S} right, spikes identical to the "
             f"golden model")]
    if result is not None:
        u = result["utilisation"]
        rows.append(("iCEBreaker utilisation", ", ".join(
            f"{k.replace('ICESTORM_', '')} {a}/{b}" for k, (a, b) in u.items()
            if k.startswith("ICESTORM_"))))
        rows.append(("Fmax", f"{result['fmax_mhz']:.1f} MHz (constraint "
                     f"{result['constraint_mhz']:.1f} MHz, "
                     f"{'met' if result['timing_met'] else 'MISSED'})"))
        rows.append(("synaptic events per second", f"{result['synaptic_ops_per_s'] / 1e6:.1f} M "
                     f"at Fmax (one per clock per lane: {result['lanes']} lane(s) x "
                     f"{result['cores']} core(s)); the test slice delivered {events:,}"))
        rows.append(("image time", f"{cycles / S:,.0f} clocks an image on average "
                     f"({cycles / S / result['fmax_mhz'] / 1e3:.2f} ms at Fmax; the board's own "
                     f"count, from the first clearing write to the last step's barrier)"))
    else:
        rows.append(("image time", f"{cycles / S:,.0f} clocks an image on average (the "
                     f"board's own count); the test slice delivered {events:,} synaptic "
                     f"events"))
    # a real board: the slice's clocks at the constraint, its output events, the link's
    # bytes at the board's baud rate and 1 ms of USB latency per answer, the host loop of
    # Device.present (docs/benchmarks.md, link-bench)
    from spikefab.host.linkmodel import present_model
    board = get_board(BOARD)
    n_events = sum(pres.spikes[k].sum(axis=(1, 2)) for k in params.mapping.outputs)
    real = present_model(dev_cycles, n_events, test_net.inputs, board.target_hz, board.baud)
    rows.append(("images per second", f"{real.rate:,.0f} modelled on a real {BOARD} "
                 f"({real.bytes / S:,.0f} bytes and {real.commands / S:.2f} commands an image "
                 f"at {board.baud / 1e6:g} Mbaud, 1 ms USB latency each: {real.bound}-bound) "
                 f"against {golden_rate:,.0f} for the golden model on this machine (batched)"))
    rows.append(("time", f"{time.perf_counter() - t_start:.0f} s"))
    w = max(len(a) for a, _ in rows)
    _say("summary")
    for a, b in rows:
        _say(f"  {a:<{w}}  {b}")
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump({"accuracy": acc, "slice": [right, S], "events": events, "cycles": cycles,
                   "images_per_s_modelled": real.rate, "images_per_s_golden": golden_rate,
                   "fmax_mhz": result and result["fmax_mhz"],
                   "utilisation": result and result["utilisation"]}, f, indent=1)
    return 0


def _user_errors():
    """The errors that end the demo with one line: every user error of spikefab
    (:class:`spikefab.Error`: a failed step, a missing programmer or board, a serial port that
    does not answer) and a file the system cannot give."""
    return (Error, OSError)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except _user_errors() as e:
        sys.exit(f"demo: {e}")
    except ImportError as e:
        sys.exit(f"demo: {e.name} is missing; run make demo (it installs everything)")
