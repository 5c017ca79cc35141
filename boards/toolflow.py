"""The one synthesis / place-and-route / pack driver: YoWASP yosys, nextpnr (``--report``,
placement seeds) and icepack / ecppack run as stages in an output folder.

Both the board builds (``boards/flow.py``) and the single-core figures (``boards/synth.py``)
run through :func:`run_tools`. Each stage prints one line (``[n/N] what ... 12.3 s``, with the
elapsed time ticking on a terminal), writes its log beside its outputs and, when it fails,
raises :class:`BuildError` naming that log. Results are cached in ``result.json`` under the
key of the design (:func:`design_key`: its files and the options), so that an unchanged
design is not built again (:func:`cached_result`).

The tools run with the output folder as working directory and relative paths (YoWASP tools
see a private ``/tmp``).
"""

import hashlib
import json
import os
import subprocess
import sys
import threading
import time

from spikefab.errors import Error
from spikefab.toolchain import find

__all__ = ["BuildError", "TimingError", "NEXTPNR", "PACKERS", "SYNTH_OPTS", "pnr_device",
           "say", "stage", "design_key", "cached_result", "save_result", "critical_path",
           "clock_fmax", "run_tools"]

#: Tool variable of nextpnr, by family.
NEXTPNR = {"ice40": "NEXTPNR_ICE40", "ecp5": "NEXTPNR_ECP5"}
#: Tool variable of the bitstream packer, by family.
PACKERS = {"ice40": "ICEPACK", "ecp5": "ECPPACK"}
#: Options of yosys' ``synth_ice40`` / ``synth_ecp5``, by family.
SYNTH_OPTS = {"ice40": "-abc9 -dsp", "ecp5": "-abc9"}
#: nextpnr device and package options (as Amaranth's own build scripts spell them).
_PNR_DEVICE = {"iCE40UP5K": "--up5k", "LFE5U-25F": "--25k", "LFE5U-85F": "--85k",
               "LFE5UM5G-85F": "--um5g-85k"}
_PNR_PACKAGE = {"SG48": "sg48", "BG381": "CABGA381", "MG285": "CSFBGA285", "BG554": "CABGA554"}

STDOUT = object()         # default ``out``: sys.stdout at call time (pytest's capsys swaps it)


class BuildError(Error, RuntimeError):
    """A stage of the flow failed; the message names the stage and its log."""


class TimingError(BuildError):
    """The design was placed and routed but misses its clock constraint."""


def pnr_device(device, package):
    """nextpnr's arguments for ``device`` in ``package`` (amaranth-boards' spelling of both)."""
    return [_PNR_DEVICE[device], "--package", _PNR_PACKAGE[package]]


def say(out, text, end="\n"):
    """Write ``text`` to ``out`` (:data:`STDOUT`: the current ``sys.stdout``; None: nowhere)."""
    if out is STDOUT:
        out = sys.stdout
    if out is not None:
        out.write(text + end)
        out.flush()


def stage(out, n, total, what, cmd, cwd, log):
    """Run ``cmd`` in ``cwd`` with output to ``log``; one line, elapsed time while it runs.

    Returns the seconds it took; raises :class:`BuildError` (``what`` and the log) if it
    fails."""
    label = f"[{n}/{total}] {what}"
    stream = sys.stdout if out is STDOUT else out
    tty = stream is not None and hasattr(stream, "isatty") and stream.isatty()
    t0 = time.monotonic()
    done = threading.Event()

    def tick():
        while not done.wait(1.0):
            say(out, f"\r{label} ... {time.monotonic() - t0:.0f} s", end="")

    ticker = threading.Thread(target=tick, daemon=True) if tty else None
    if ticker:
        ticker.start()
    else:
        say(out, f"{label} ...", end="")
    try:
        with open(os.path.join(cwd, log), "w") as f:
            r = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
    finally:
        done.set()
        if ticker:
            ticker.join()
    dt = time.monotonic() - t0
    if r.returncode:
        say(out, f"\r{label} failed after {dt:.1f} s" if tty else f" failed after {dt:.1f} s")
        raise BuildError(f"{what} failed (exit {r.returncode}); log: "
                         f"{os.path.join(cwd, log)}")
    say(out, f"\r{label} ... {dt:.1f} s" if tty else f" {dt:.1f} s")
    return dt


def design_key(files, options, sources=()):
    """The cache key of a design: its files (``{name: text or bytes}``), the options that
    change its build (JSON-able) and the source files of any step that rewrites it."""
    digest = hashlib.sha256()
    for fname in sorted(files):
        c = files[fname]
        if fname.endswith(".il") and isinstance(c, str):
            # source locations are not the design: a line moved in a Python file builds the
            # same netlist, and is not built again
            c = "\n".join(ln for ln in c.split("\n")
                          if not ln.lstrip().startswith("attribute \\src"))
        digest.update(fname.encode() + (c if isinstance(c, bytes) else c.encode()))
    digest.update(json.dumps(options).encode())
    for path in sources:
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def cached_result(outdir, key, *outputs):
    """The ``result.json`` in ``outdir`` if it was built from ``key`` and its ``outputs``
    (file names) are still there, else None."""
    path = os.path.join(outdir, "result.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        old = json.load(f)
    if old.get("key") != key or not all(os.path.exists(os.path.join(outdir, o))
                                        for o in outputs):
        return None
    return old


def save_result(outdir, result):
    """Write ``result`` (with its ``key``) as ``outdir/result.json``."""
    with open(os.path.join(outdir, "result.json"), "w") as f:
        json.dump(result, f, indent=1)


def critical_path(log):
    """``"<first source> -> <last sink> (x ns logic, y ns routing)"`` of the first clock's
    critical path in nextpnr's log, or None."""
    try:
        with open(log) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    starts = [i for i, ln in enumerate(lines) if "Critical path report for clock" in ln]
    if not starts:
        return None
    src = sink = None
    for ln in lines[starts[-1] + 1:]:
        if " Source " in ln:
            name = ln.split(" Source ", 1)[1].strip()
            src = src or name
        elif " Sink " in ln:
            sink = ln.split(" Sink ", 1)[1].strip()
        elif "ns logic" in ln:
            return f"{src} -> {sink} ({ln.split('Info:', 1)[-1].strip()})"
    return None


def clock_fmax(rep):
    """``(fmax_mhz, constraint_mhz, clocks)`` of the design clock from nextpnr's report: the
    fastest-constrained clock (a board's PLL output)."""
    clocks = {k: (v["achieved"], v["constraint"]) for k, v in rep["fmax"].items()}
    if not clocks:
        raise BuildError("nextpnr reported no clock: the design clock is not constrained")
    name = max(clocks, key=lambda k: (clocks[k][1], -clocks[k][0]))
    return clocks[name][0], clocks[name][1], clocks


def run_tools(outdir, family, synth, pnr_args, *, netlist="top.json", seed=1, tries=1,
              floor=None, pack=None, after_synth=None, out=None, first=1, total=3):
    """Synthesise, place and route, and (with ``pack``) pack the design in ``outdir``.

    Parameters
    ----------
    outdir : str
        Folder of the design's files, and of every output and log (``yosys.log``,
        ``nextpnr.log``, ``pack.log``, nextpnr's ``report.json``).
    family : str
        ``"ice40"`` or ``"ecp5"``: which nextpnr and packer.
    synth : list of str
        yosys arguments (a script file, or ``-p`` and commands) that write ``top.json``.
    pnr_args : list of str
        nextpnr arguments besides the netlist, report and seed: device, package,
        constraints, the output the packer reads, placer options.
    netlist : str
        The netlist nextpnr reads (``after_synth`` may write it from ``top.json``).
    seed, tries : int
        Placement seeds ``seed``, ``seed + 1``, ... while the design misses its clock
        constraint (:func:`clock_fmax`), at most ``tries`` placements.
    floor : float or None
        The Fmax in MHz that ends the search of seeds instead of the constraint (a core
        placed against a goal above its floor).
    pack : list of str or None
        Packer arguments (its input, the bitstream); None: no bitstream.
    after_synth : callable or None
        Called after synthesis (e.g. the floorplan, ``boards/floorplan.py``).
    out : file, :data:`STDOUT` or None
        Where the stage lines go; ``first`` and ``total`` number them.

    Returns
    -------
    dict
        ``seconds`` (per stage), ``seed`` (of the placement kept), ``report`` (nextpnr's
        report JSON), ``critical_path``.
    """
    nextpnr = find(NEXTPNR[family])
    secs = {"yosys": round(stage(out, first, total, "yosys (synth)", [find("YOSYS"), *synth],
                                 outdir, "yosys.log"), 1)}
    if after_synth is not None:
        after_synth()
    secs["nextpnr"] = 0.0
    for used_seed in range(seed, seed + tries):
        what = f"nextpnr ({family} place & route" + \
            (f", seed {used_seed})" if used_seed != seed else ")")
        cmd = [nextpnr, *pnr_args, "--json", netlist, "--report", "report.json", "--seed",
               str(used_seed), "--timing-allow-fail"]
        secs["nextpnr"] = round(secs["nextpnr"] + stage(out, first + 1, total, what, cmd,
                                                        outdir, "nextpnr.log"), 1)
        with open(os.path.join(outdir, "report.json")) as f:
            rep = json.load(f)
        if used_seed == seed + tries - 1:
            break
        achieved, wanted, _ = clock_fmax(rep)
        wanted = wanted if floor is None else floor
        if achieved >= wanted:
            break
        say(out, f"      Fmax {achieved:.1f} MHz misses {wanted:.1f} MHz with seed "
                 f"{used_seed}: placing again")
    if pack is not None:
        packer = find(PACKERS[family])
        secs["pack"] = round(stage(out, first + 2, total,
                                   f"{os.path.basename(packer)} (bitstream)",
                                   [packer, *pack], outdir, "pack.log"), 1)
    return {"seconds": secs, "seed": used_seed, "report": rep,
            "critical_path": critical_path(os.path.join(outdir, "nextpnr.log"))}
