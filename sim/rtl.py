"""Run a network that fits one core on the generated Verilog (Icarus or Verilator, via cocotb).

:func:`simulate_rtl` returns the same arrays as :func:`spikefab.golden.simulate`, so the two
can be compared or written to the same npz (``SimResult.to_npz_dict``).
"""

import os

import numpy as np

from spikefab.errors import InvalidType, InvalidValue
from spikefab.golden.params import Network
from spikefab.golden.simulator import check_inputs
from spikefab.shape.core import CoreParams, check_weight_ram
from spikefab.shape.image import RunResult

from .generate import DEFAULT_TOP, verilog_text, write_core_files
from .runner import check_sim, compile_design
from .runner import run_job as _run_cocotb

__all__ = ["DEFAULT_BUILD_ROOT", "HARNESSES", "build", "choose_harness", "run_job", "simulate_rtl"]

#: Where builds land unless told otherwise: one folder per simulator and generated design.
DEFAULT_BUILD_ROOT = os.path.join("build", "rtl")


def build(params, sim="icarus", build_root=None, weight_ram="dual"):
    """Generate and compile the core for ``params``; reuse an existing identical build
    (``<build_root>/<sim>/<hash of the Verilog>``, :mod:`.cache`).

    Returns
    -------
    runner, str
        The cocotb runner and the build folder.
    """
    check_sim(sim)
    text, core = verilog_text(params, weight_ram=weight_ram)
    return compile_design(text, DEFAULT_TOP, sim, build_root or DEFAULT_BUILD_ROOT,
                          spram=weight_ram == "ice40_spram",
                          write_extra=lambda d: write_core_files(d, params, core, DEFAULT_TOP,
                                                                 weight_ram, text=None))


#: The harnesses that drive an RTL run: the native one (Verilator only) and cocotb.
HARNESSES = ("native", "cocotb")


def choose_harness(harness, sim):
    """The harness of a run: ``harness``, or by default native on Verilator, cocotb on
    Icarus."""
    if harness is None:
        return "native" if sim == "verilator" else "cocotb"
    if harness not in HARNESSES:
        raise InvalidValue(f"Harness must be one of {', '.join(HARNESSES)}, not {harness!r}")
    if harness == "native" and sim != "verilator":
        raise InvalidValue(f"Simulator for the native harness must be verilator, not {sim!r}")
    return harness


def stack_fn(runs, batched, get):
    """``get(run)`` of every run, stacked on a batch axis when the inputs had one."""
    arr = np.stack([np.asarray(get(r), np.int64) for r in runs])
    return arr if batched else arr[0]


def run_job(params, job, sim="icarus", build_root=None, name="run", weight_ram="dual"):
    """Run the cocotb job ``job`` (see ``spikefab.sim.cocotb.core``) on a build of ``params``.

    Returns the results dict. Raises ``AssertionError`` with the testbench's first failure
    message when the run fails a check, ``RuntimeError`` when the simulation itself fails.
    """
    runner, bdir = build(params, sim, build_root, weight_ram=weight_ram)
    return _run_cocotb(runner, bdir, "spikefab.sim.cocotb.core", DEFAULT_TOP,
                       dict(job, weight_ram=weight_ram), sim, name)


def simulate_rtl(net, inputs, steps=None, record_state=False, sim="icarus", lanes=1,
                 build_root=None, check=False, seed=None, ready_prob=1.0, configure=False,
                 shuffle=False, weight_ram="dual", check_learning_every=1, harness=None):
    """Run ``net`` on the generated Verilog of its core; same arrays as ``golden.simulate``.

    On Verilator the run goes through the native harness (:mod:`spikefab.sim.native`: the
    clock loop in C++, a step per call; its build is made from the core's shape and loaded
    through the configuration port, so ``configure`` is implied); ``harness="cocotb"`` runs
    the cocotb testbench instead, as on Icarus.

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
        Kind of weight memory (``spikefab.shape.core.WEIGHT_RAMS``). ``"ice40_spram"``
        simulates the ``SB_SPRAM256KA`` primitives with yosys's own model (Icarus only); they
        have no initial contents, so it needs ``configure=True``.

    Returns
    -------
    RunResult

    check_learning_every : int
        With ``check``, compare every weight and trace with the golden model after every
        this many steps (and after the last).
    harness : str, optional
        ``"native"`` (Verilator only; the default there) or ``"cocotb"`` (the default on
        Icarus).

    Raises
    ------
    ValueError
        For a network with more than one population, or a bad simulator name.
    """
    if not isinstance(net, Network):
        raise InvalidType(f"Network must be a Network, not {net!r}")
    check_sim(sim)
    if len(net.populations) != 1:
        raise InvalidValue(f"RTL simulation runs networks of one population (one core), not "
                           f"{len(net.populations)}")
    params = CoreParams.from_network(net, lanes=lanes)
    check_weight_ram(weight_ram, params.lanes * params.weight_bits, params.weight_slots)
    if weight_ram == "ice40_spram" and not configure:
        raise InvalidValue("Weight RAM 'ice40_spram' has no initial contents: configure must be "
                           "True")
    harness = choose_harness(harness, sim)
    x, batched = check_inputs(net, inputs, steps)
    runs = []
    for b in range(x.shape[0]):
        if harness == "native":
            from .native import run_core
            runs.append(run_core(net, x[b], lanes=lanes, record_state=record_state,
                                 check=check, seed=seed, ready_prob=ready_prob,
                                 shuffle=shuffle, weight_ram=weight_ram,
                                 check_learning_every=check_learning_every,
                                 build_root=build_root))
            continue
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
    return RunResult(spikes, u, v, weights, pre, post,
                     cycles=stack("cycles"))
