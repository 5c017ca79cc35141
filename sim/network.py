"""Network tops on Icarus or Verilator under cocotb, against the golden model.

:func:`simulate_network_rtl` runs a network on the generated Verilog of its network top and
returns the same arrays as :func:`spikefab.golden.simulate`; :func:`run_networks` runs several
networks side by side in one simulation (one build for many networks: what the test sweeps
use).
"""

import os

from amaranth.back import verilog
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from spikefab.errors import InvalidType, InvalidValue
from spikefab.golden.params import Network
from spikefab.golden.simulator import check_inputs
from spikefab.hdl.network import NetworkTop
from spikefab.shape.network import derive

from .native import result_of
from .rtl import choose_harness
from .runner import check_sim, compile_design, run_job

__all__ = ["DEFAULT_BUILD_ROOT", "run_networks", "simulate_network_rtl"]

#: Module name of the simulation wrapper (several tops side by side).
_BUNDLE_TOP = "spikefab_bundle"
#: Where builds land unless told otherwise.
DEFAULT_BUILD_ROOT = os.path.join("build", "rtl-network")


def check_spram_sim(sim):
    if sim != "icarus":
        raise InvalidValue(f"Simulator for weight RAM 'ice40_spram' (the primitive's own "
                           f"model) must be icarus, not {sim!r}")


class _Bundle(wiring.Component):
    """Several network tops side by side, ports ``n<k>__<port>`` (simulation only: one
    build and one simulator run for many networks)."""

    def __init__(self, params_list):
        self._tops = [NetworkTop(p) for p in params_list]
        super().__init__({f"n{k}": Out(t.signature) for k, t in enumerate(self._tops)})

    def elaborate(self, platform):
        m = Module()
        for k, top in enumerate(self._tops):
            m.submodules[f"net_{k}"] = top
            wiring.connect(m, wiring.flipped(getattr(self, f"n{k}")), top)
        return m


def _build(params_list, sim, build_root):
    """Generate and compile the bundle of ``params_list``; reuse an identical build."""
    check_sim(sim)
    from spikefab.toolchain import setup_environ
    setup_environ()
    text = verilog.convert(_Bundle(params_list), name=_BUNDLE_TOP, emit_src=False)
    return compile_design(text, _BUNDLE_TOP, sim, build_root or DEFAULT_BUILD_ROOT,
                          spram=any("ice40_spram" in p.weight_rams for p in params_list),
                          lean=True)


def run_networks(jobs, sim="icarus", build_root=None, name="run"):
    """Run several networks side by side in one simulation of one build.

    Parameters
    ----------
    jobs : list of dict
        Each: ``net``, ``inputs`` ``(T, inputs)`` bool, ``options`` (keyword arguments of
        :func:`~spikefab.shape.network.derive`), and optionally ``record_state``,
        ``read_weights``, ``check``
        (compare every step with the golden model as it runs), ``seed``, ``ready_prob``
        (host output backpressure), ``valid_prob`` (gaps in the host input),
        ``lockstep`` (send a step's inputs only after the previous step ended),
        ``checkpoint`` (in lock-step runs of plastic networks, compare every plastic weight
        and trace every ``checkpoint`` steps), ``configure`` (load the first run through the
        configuration port: needed when a core's weights are in SPRAM), ``runs``
        (more runs on the same top: a list of ``{"net", "inputs"}`` with the shape of ``net``
        and their own weights and neuron parameters, which the testbench writes through
        the configuration port, with the routing table, after clearing the state).
    sim : str
        ``"icarus"`` or ``"verilator"``.

    Returns
    -------
    list
        Per job: a dict with ``spikes``, ``u``, ``v`` (dicts by population), ``weights``,
        ``cycles``, ``starts`` (the testbench's clock of each step's first busy clock),
        ``outputs`` (``(step, host id)`` in arrival order); a list of such dicts,
        one per run, for a job with ``runs``.

    Raises
    ------
    AssertionError
        With the testbench's first failure (step, population, neuron, both values, seed).
    RuntimeError
        If the simulation itself fails.
    """
    params = [derive(j["net"], **j.get("options", {})) for j in jobs]
    runner, bdir = _build(params, sim, build_root)
    return run_job(runner, bdir, "spikefab.sim.cocotb.network", _BUNDLE_TOP, {"jobs": jobs},
                   sim, name)


def simulate_network_rtl(net, inputs, steps=None, record_state=False, sim="icarus", lanes=1,
                         build_root=None, check=False, seed=None, ready_prob=1.0,
                         valid_prob=1.0, read_weights=True, neurons_per_core=256,
                         axons_per_core=256, max_cores=None, max_entries=None,
                         weight_ram="dual", pack="small", delay_ram=False, harness=None):
    """Run ``net`` on the generated Verilog of its network top; same arrays as
    ``golden.simulate``.

    On Verilator the run goes through the native harness (:mod:`spikefab.sim.native`: the
    clock loop in C++, a whole run per call, or a step per call with ``record_state``);
    ``harness="cocotb"`` runs the cocotb testbench instead, as on Icarus.

    Every population's spikes are routed to the host in the simulated build (so that all of
    them can be returned); ``u`` and ``v`` are read through the configuration port after each
    step when ``record_state``; the final weights are read back when ``read_weights``
    (otherwise the network's own).

    Parameters
    ----------
    net : Network
        Any number of populations; plastic projections learn on the chip (their final
        weights and traces are read back when ``read_weights``).
    inputs, steps, record_state :
        As :func:`spikefab.golden.simulate`; a batch ``(B, T, inputs)`` runs ``B`` times.
    sim : str
        ``"icarus"`` or ``"verilator"``.
    lanes : int
        Neurons per clock of every core.
    build_root : str, optional
        Default ``build/rtl-network``.
    check : bool
        Compare with the golden model inside the testbench, failing at the first difference
        (the message names step, population, neuron, both values and the seed).
    seed : int, optional
        Seeds the input order and the backpressure; named in failure messages.
    ready_prob, valid_prob : float
        Probability that the host takes an output / offers an input word in a clock.
    neurons_per_core, axons_per_core, max_cores, max_entries :
        Capacity, as :func:`~spikefab.shape.mapping.map_network`.
    pack : bool or str
        Which populations share a core (:func:`~spikefab.shape.network.derive`).
    delay_ram : bool
        Pure pipeline delays in block RAM (:func:`~spikefab.shape.network.derive`).
    weight_ram : str or tuple of str
        Weight memory kind of every core, or one per core. ``"ice40_spram"`` simulates the
        UP5K primitive on Icarus; its cores start empty, so the network is loaded through
        the configuration port first.
    harness : str, optional
        ``"native"`` (Verilator only; the default there) or ``"cocotb"`` (the default on
        Icarus).

    Returns
    -------
    RunResult
        ``cycles``: clocks of every step, from its start to its barrier.

    Raises
    ------
    ValueError
        For a network that does not fit, or a bad simulator name.
    """
    if not isinstance(net, Network):
        raise InvalidType(f"Network must be a Network, not {net!r}")
    check_sim(sim)
    options = {"lanes": lanes, "neurons_per_core": neurons_per_core,
               "axons_per_core": axons_per_core, "max_cores": max_cores,
               "max_entries": max_entries, "outputs": [q.name for q in net.populations],
               "weight_ram": weight_ram, "pack": pack, "delay_ram": delay_ram}
    p = derive(net, **options)    # reject what cannot be built before any tool runs
    if "ice40_spram" in p.weight_rams:
        check_spram_sim(sim)
    harness = choose_harness(harness, sim)
    x, batched = check_inputs(net, inputs, steps)
    runs = []
    for b in range(x.shape[0]):
        if harness == "native":
            from .native import run_network
            runs.append(run_network(net, x[b], options, record_state=record_state,
                                    read_weights=read_weights, check=check, seed=seed,
                                    ready_prob=ready_prob, valid_prob=valid_prob,
                                    build_root=build_root))
            continue
        job = {"net": net, "inputs": x[b], "options": options, "record_state": record_state,
               "read_weights": read_weights, "check": check, "seed": seed,
               "ready_prob": ready_prob, "valid_prob": valid_prob, "lockstep": record_state,
               "configure": "ice40_spram" in p.weight_rams}
        runs.append(run_networks([job], sim, build_root, name=f"b{b}")[0])

    return result_of(net, runs, batched, record_state, read_weights)

