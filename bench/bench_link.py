"""End to end over the host link: the demo's test images on a real iCEBreaker (modelled from
the simulated board's bytes and clocks) against the golden model's batched inference on this
machine, side by side in one run.

1. The golden model classifies the 899 test images in one batch (``digits.responses``): timed.
2. The simulated iCEBreaker (the board's build in Verilator, over the same protocol code a
   serial port gets) runs ``--images`` of them as the demo does (every image from a RESET, the
   learned weights loaded once); every image's spikes are checked against the golden model's.
   Its commands, bytes and clocks give the real board's time per image
   (:func:`spikefab.host.linkmodel.model`): 10 bits per byte at the link's 1 Mbaud, 1 ms of
   USB latency per answer (the FT2232H's latency timer at its lowest), the board's clocks at
   its 30 MHz constraint. The same traffic is also timed at FTDI's default 16 ms latency
   timer and at 3 Mbaud, to show what bounds it.

Usage: ``python bench/bench_link.py [--images 20] [--write docs/benchmarks.md]``
"""

import argparse
import os
import sys
import time
from datetime import date

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "examples", "digits"))

from report import machine, write_section  # noqa: E402

import digits as D  # noqa: E402
from demo import BOARD, NEURONS, learned  # noqa: E402

from spikefab.boards import board_params, get_board  # noqa: E402
from spikefab.host import Device  # noqa: E402
from spikefab.host.linkmodel import model  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--write", metavar="MD")
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    cfg = D.Config(neurons=NEURONS)
    split = D.load_split()
    _, (xte, yte) = split
    weights, labels, cfg, how = learned(cfg, split, os.path.join(
        "build", "digits", f"learned-{cfg.neurons}-{cfg.epochs}.npz"))
    net = D.frozen(D.build(cfg), weights, cfg)
    seed = cfg.seed + 200

    t0 = time.perf_counter()
    counts = D.responses(net, xte, cfg, seed)
    golden = len(xte) / (time.perf_counter() - t0)

    S = args.images
    board = get_board(BOARD)
    params = board_params(net, BOARD, simulated=True)
    t0 = time.perf_counter()
    with Device.sim(params) as dev:
        dev.check_build()
        got, runs, cycles = D.responses_on_device(dev, net, xte[:S], cfg, seed)
        traffic = list(dev.traffic)
    wall = time.perf_counter() - t0
    if not np.array_equal(got, counts[:S]):
        raise SystemExit("the simulated board's spike counts differ from the golden model's")
    clocks = int(cycles.sum())
    rows = []
    for what, baud, lat in (("as built: 1 Mbaud, 1 ms latency (low-latency mode)", 1e6, 1e-3),
                            ("FTDI's default latency timer (16 ms)", 1e6, 16e-3),
                            ("3 Mbaud, 1 ms latency (not built)", 3e6, 1e-3)):
        m = model(traffic, clocks, board.target_hz, baud, lat).per(S)
        rows.append((what, m))
    resets = sum(1 for t in traffic if t[0] == 0x02) / S
    m0 = rows[0][1]
    lines = [
        f"Measured {date.today()} on {machine()}; `python bench/bench_link.py` (in "
        f"`make bench`). The demo's test network ({NEURONS} exc neurons, weights {how.split(' (')[0]}), "
        f"{cfg.steps} steps an image; {S} images on the simulated {board.title} (its build in "
        f"Verilator, {wall:.0f} s of wall time), every spike count equal to the golden model's. "
        f"Load average {os.getloadavg()[0]:.1f} on this machine's cores when it ended: the golden "
        f"model's rate is wall time (it falls under load), the board's is modelled.",
        "",
        f"| | images/s | per image: commands | bytes | line ms | USB latency ms | "
        f"board compute ms | bound |",
        "|---|---|---|---|---|---|---|---|",
        f"| golden model, batched ({len(xte)} images, this machine) | **{golden:,.0f}** "
        f"| | | | | | |",
    ]
    for what, m in rows:
        lines.append(f"| real {board.title} modelled, {what} | **{1 / m.total:,.1f}** | "
                     f"{m.commands:.0f} | {m.bytes:,.0f} | {m.line * 1e3:.2f} | "
                     f"{m.latency * 1e3:.1f} | {m.compute * 1e3:.3f} | {m.bound} |")
    lines += [
        "",
        f"Board clocks per image: {clocks / S:,.0f} ({clocks / S / board.target_hz * 1e3:.3f} "
        f"ms at {board.target_hz / 1e6:.0f} MHz: a compute bound of "
        f"{board.target_hz * S / clocks:,.0f} images/s). Ratio, real board (as built) to the "
        f"golden model: {1 / m0.total / golden:.4f} (the goal is >= 5: not met). Each image "
        f"costs a RESET and the clearing of every neuron's state ({resets:.0f} RESET), then "
        f"per step an INPUT with its spiking channels, a RUN and a READ_SPIKES; READ_CYCLES "
        f"once per 32 steps."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, "link-bench", "## End to end over the host link\n\n" + text)


if __name__ == "__main__":
    main()
