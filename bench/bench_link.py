"""End to end over the host link: the demo's test images on a real iCEBreaker (modelled from
the simulated board's bytes and clocks) against the golden model's batched inference on this
machine, side by side in one run.

1. The golden model classifies the 899 test images in one batch, coded as the board's rate
   generator codes them (``digits.chip_responses``): timed.
2. The simulated iCEBreaker (the board's build in Verilator, over the same protocol code a
   serial port gets) presents ``--images`` of them with ``Device.present`` (the intensities
   go out three images to a frame, the board makes the input spikes, keeps up to eight images
   queued and answers each PRESENT with the output events so far); every image's spikes are
   checked against the golden model's. Its clocks per image (the board's own count, from the
   first clearing write to the last barrier) and output events per image give the real
   board's time (:func:`spikefab.host.linkmodel.present_model`): the same host loop against a
   board that runs its queue back to back, 10 bits per byte at the board's 1 Mbaud, 1 ms of
   USB latency per answer (the FT2232H's latency timer at its lowest), the board's clocks at
   its 30 MHz constraint; also at FTDI's default 16 ms latency timer and at 3 Mbaud.
3. The step-by-step way (protocol v2's: INPUT, RUN, READ_SPIKES every step) on ``--step-images``
   images, timed from its traffic (:func:`spikefab.host.linkmodel.model`), plus the same
   compute.

Usage: ``python bench/bench_link.py [--images 100] [--step-images 10] [--write docs/benchmarks.md]``
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
from demo import BOARD, NEURONS, THETA_INC, chip_setup, learned  # noqa: E402

from spikefab.boards import board_params, get_board  # noqa: E402
from spikefab.golden import chip_rate_encode  # noqa: E402
from spikefab.host import Device  # noqa: E402
from spikefab.host.linkmodel import model, present_model  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--step-images", type=int, default=10)
    ap.add_argument("--write", metavar="MD")
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    cfg = D.Config(neurons=NEURONS, theta_inc=THETA_INC)
    split = D.load_split()
    _, (xte, yte) = split
    weights, labels, cfg, how = learned(cfg, split, os.path.join(
        "build", "digits", f"learned-{cfg.neurons}-{cfg.epochs}.npz"))
    chip_cfg, chip_labels = chip_setup(D.build(cfg), weights, cfg, split)
    net = D.on_chip(D.frozen(D.build(cfg), weights, chip_cfg))

    t0 = time.perf_counter()
    counts = D.chip_responses(net, xte, cfg.steps)
    golden = len(xte) / (time.perf_counter() - t0)
    acc = float((D.classify(chip_labels, counts) == yte).mean())

    S = args.images
    board = get_board(BOARD)
    params = board_params(net, BOARD, simulated=True)
    t0 = time.perf_counter()
    with Device.sim(params) as dev:
        dev.check_build()
        got, pres = D.chip_responses_on_device(dev, net, xte[:S], chip_cfg)
        traffic = list(dev.traffic)
    wall = time.perf_counter() - t0
    if not np.array_equal(got, counts[:S]):
        raise SystemExit("the simulated board's spike counts differ from the golden model's")
    clocks = pres.cycles
    events = sum(pres.spikes[k].sum(axis=(1, 2)) for k in params.mapping.outputs)
    rows = []
    for what, baud, lat in ((f"as built: {board.baud / 1e6:g} Mbaud, 1 ms latency "
                             f"(low-latency mode)", board.baud, 1e-3),
                            ("FTDI's default latency timer (16 ms)", board.baud, 16e-3),
                            ("3 Mbaud, 1 ms latency (not built)", 3e6, 1e-3)):
        rows.append((what, present_model(clocks, events, net.inputs, board.target_hz,
                                         baud, lat)))
    link_only = present_model([0] * S, events, net.inputs, board.target_hz, board.baud, 1e-3)
    link3 = present_model([0] * S, events, net.inputs, board.target_hz, 3e6, 1e-3)
    # the real traffic of the presentations (polls of the lock-step board left out) against
    # the model's: the same frames
    sent = sum(t[1] for t in traffic if t[0] == 0x32)
    # protocol v2's way, step by step, on a few images (the regular code: the same work)
    St = args.step_images
    step_net = D.frozen(D.build(cfg), weights, cfg)
    with Device.sim(board_params(step_net, BOARD, simulated=True)) as dev:
        dev.check_build()
        _, _, step_cycles = D.responses_on_device(dev, step_net, xte[:St], cfg, cfg.seed + 200)
        step_traffic = list(dev.traffic)
    old = model(step_traffic, 0, board.target_hz, board.baud, 1e-3).per(St)
    old_total = old.total + clocks.mean() / board.target_hz
    m0 = rows[0][1]
    in_spikes = chip_rate_encode(D.chip_intensities(xte[:S]), cfg.steps,
                                   D.CHIP_RATE_BITS).sum() / S
    rows_per_event = params.cores[0].rows
    syn = in_spikes * rows_per_event
    lines = [
        f"Measured {date.today()} on {machine()}; `python bench/bench_link.py` (in "
        f"`make bench`). The demo's test network ({NEURONS} exc neurons, weights "
        f"{how.split(' (')[0]}, built with the rate generator: `rate_bits = "
        f"{D.CHIP_RATE_BITS}`), {cfg.steps} steps an image, test accuracy {acc:.1%} with "
        f"the on-chip code; {S} images presented on the simulated {board.title} (its build "
        f"in Verilator, {wall:.0f} s of wall time), every spike count equal to the golden "
        f"model's. Load average {os.getloadavg()[0]:.1f} on this machine's cores when it "
        f"ended: the golden model's rate is wall time (it falls under load), the board's is "
        f"modelled.",
        "",
        "| | images/s | per image: commands | bytes | line ms | USB latency ms | "
        "board compute ms | bound |",
        "|---|---|---|---|---|---|---|---|",
        f"| golden model, batched ({len(xte)} images, this machine) | **{golden:,.0f}** "
        f"| | | | | | |",
    ]
    for what, m in rows:
        lines.append(f"| real {board.title} modelled, presentations, {what} | "
                     f"**{m.rate:,.1f}** | {m.commands / S:.2f} | {m.bytes / S:,.0f} | "
                     f"{m.line / S * 1e3:.3f} | {m.latency / S * 1e3:.3f} | "
                     f"{m.compute / S * 1e3:.3f} | {m.bound} |")
    lines.append(f"| the link alone (a board of no compute time), as built | "
                 f"**{link_only.rate:,.0f}** | {link_only.commands / S:.2f} | "
                 f"{link_only.bytes / S:,.0f} | {link_only.line / S * 1e3:.3f} | "
                 f"{link_only.latency / S * 1e3:.3f} | 0 | link |")
    lines.append(f"| real {board.title} modelled, step by step (protocol v2: INPUT, RUN, "
                 f"READ_SPIKES a step; {St} images), {board.baud / 1e6:g} Mbaud, 1 ms latency | "
                 f"**{1 / old_total:,.1f}** | {old.commands:.0f} | {old.bytes:,.0f} | "
                 f"{old.line * 1e3:.2f} | {old.latency * 1e3:.1f} | "
                 f"{clocks.mean() / board.target_hz * 1e3:.3f} | latency |")
    lines += [
        "",
        f"Board clocks per image: {clocks.mean():,.0f} (min {clocks.min():,}, max "
        f"{clocks.max():,}): {clocks.mean() / board.target_hz * 1e3:.2f} ms at "
        f"{board.target_hz / 1e6:.0f} MHz, a compute bound of "
        f"{board.target_hz / clocks.mean():,.0f} images/s. Almost all of it is synaptic work: "
        f"{in_spikes:.0f} input spikes an image, each delivered to the core's "
        f"{rows_per_event} rows one synapse a clock (one lane): {syn:,.0f} clocks. "
        f"(Protocol v2's per-step cycle counts left that work out: the input spikes of a "
        f"step reached the core before the step started, so the 13,706 clocks an image and "
        f"the 2,189 images/s compute bound of the last figures counted only the updates and "
        f"the recurrent spikes.) Per image over the link: {m0.bytes / S:,.0f} bytes, "
        f"{m0.commands / S:.2f} commands (PRESENT requests sent by the simulated run: "
        f"{sent / S:,.0f} bytes an image, the model's the same frames). The link is no "
        f"longer the bound: the board waited for it {m0.board_idle * 1e3:.1f} ms of "
        f"{m0.total * 1e3:.0f} ms, and alone it carries {link_only.rate:,.0f} images/s "
        f"at the board's {board.baud / 1e6:g} Mbaud (three images a PRESENT frame, one 1 ms "
        f"latency each; {link3.rate:,.0f} at 3 Mbaud). Ratio, real board (as built) to the golden model: "
        f"{m0.rate / golden:.2f} (the goal is >= 5: not met); to the step-by-step way: "
        f"{m0.rate * old_total:.0f}x."]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, "link-bench", "## End to end over the host link\n\n" + text)


if __name__ == "__main__":
    main()
