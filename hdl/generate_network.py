"""Verilog generation of a whole network (one top), and its simulation on Icarus or Verilator.

:func:`generate_network` writes the top with its parameters and metadata;
:func:`simulate_network_rtl` runs it under cocotb and returns the same arrays as
:func:`spikefab.golden.simulate`. :func:`run_networks` runs several networks side by side in one
simulation (one build for many networks: what the test sweeps use).
"""

import contextlib
import fcntl
import hashlib
import json
import os
import pickle

import numpy as np
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from spikefab.golden.params import Network
from spikefab.golden.simulator import check_inputs

from .core import CYCLES_BITS, UPDATE_LATENCY, Param, Space
from .mapping import map_network
from .network import NetworkParams, NetworkTop, input_layout, network_cfg_layout
from .router import QUEUE_LATENCY, ROUTE_LATENCY, TableSpace, host_event_layout
from .rtlsim import SIMULATORS, RtlResult, _verilator_pch_fix, spram_model

__all__ = ["DEFAULT_NETWORK_TOP", "DEFAULT_BUILD", "network_params", "network_verilog",
           "generate_network", "run_networks", "simulate_network_rtl"]

#: Module name of the generated network top.
DEFAULT_NETWORK_TOP = "spikefab_network"

#: The default build's capacity: 4 cores of 256 neurons x 256 axon slots, and a routing table
#: of ``cores * (axons + neurons)`` entries, the most that any network mapped onto those cores
#: can need (every axon slot is fed by exactly one source row; every neuron has at most one
#: host entry), so that the table never limits what fits.
DEFAULT_BUILD = {"neurons_per_core": 256, "axons_per_core": 256, "max_cores": 4,
                 "max_entries": 4 * (256 + 256)}

#: Module name of the simulation wrapper (several tops side by side).
_BUNDLE_TOP = "spikefab_bundle"
_DEFAULT_BUILD_ROOT = os.path.join("build", "rtl-network")
_TOOL = {"icarus": "IVERILOG", "verilator": "VERILATOR"}


def _check_sim(sim):
    if not isinstance(sim, str) or sim not in SIMULATORS:
        raise ValueError(f"Simulator must be one of {', '.join(SIMULATORS)}, not {sim!r}")


def _check_spram_sim(spram, sim):
    if spram and sim != "icarus":
        raise ValueError(f"Simulator for weight RAM 'ice40_spram' (the primitive's own model) "
                         f"must be icarus, not {sim!r}")


def _waves():
    return os.environ.get("WAVES", "") not in ("", "0")


def network_params(net, lanes=1, neurons_per_core=256, axons_per_core=256, max_cores=None,
                   max_entries=None, step_bits=16, outputs=None, weight_ram="dual",
                   pack="small", delay_ram=False):
    """Map ``net`` onto cores and return the :class:`NetworkParams` of its top.

    ``pack`` (:func:`~spikefab.hdl.mapping.map_network`): by default (``"small"``) a small
    population rides along in a larger one's core (a neuron parameter set each; the rows
    every axon event costs grow by at most a quarter); ``True`` packs whenever the
    populations fit (fewest cores, but an event into a shared core costs all its rows);
    ``False`` gives every population its own cores. ``weight_ram`` is the weight memory kind
    of every core, or a tuple with one per core; ``delay_ram`` puts every core's pure
    pipeline delays in block RAM (what the iCE40 boards build).

    Raises
    ------
    ValueError
        If the network does not fit (the message names what does not fit).
    """
    if not isinstance(net, Network):
        raise TypeError(f"Network must be a Network, not {net!r}")
    m = map_network(net, neurons_per_core, axons_per_core, max_cores, max_entries, pack=pack,
                    outputs=outputs)
    return NetworkParams.from_mapping(m, lanes=lanes, step_bits=step_bits,
                                      weight_rams=weight_ram, delay_ram=delay_ram)


def _setup():
    from spikefab.toolchain import setup_environ
    setup_environ()


def network_verilog(params, name=DEFAULT_NETWORK_TOP):
    """The Verilog of :class:`~spikefab.hdl.network.NetworkTop` for ``params``
    (deterministic), and the top component."""
    _setup()
    top = NetworkTop(params)
    return verilog.convert(top, name=name, emit_src=False), top


def _layout_json(layout):
    return {k: {"offset": f.offset, "width": f.width} for k, f in layout}


def params_json(p):
    """``params.json`` of a network top: mapping, cores, router, port layouts."""
    m = p.mapping
    cores = []
    for mc, cp, ram in zip(m.cores, p.cores, p.weight_rams):
        info = cp.to_json()
        info["weight_ram"] = ram
        info["segments"] = [{"population": s.population, "start": s.start, "size": s.size,
                             "offset": s.offset} for s in mc.segments]
        info["groups"] = [{"source": g.source, "shift": g.shift, "offset": g.offset,
                           "size": g.size, "projections": list(g.projections)}
                          for g in mc.groups]
        info["weights_init"] = cp.weight_words()
        cores.append(info)
    rp = p.router
    return {
        "network": m.net.name, "inputs": m.net.inputs, "lanes": p.lanes,
        "delay_ram": p.delay_ram,
        "outputs": list(m.outputs),
        "host_ids": {q.name: m.host_id(q.name, 0) for q in m.net.populations},
        "capacity": {"neurons_per_core": m.neurons_per_core,
                     "axons_per_core": m.axons_per_core, "max_cores": m.max_cores,
                     "max_entries": m.max_entries},
        "cores": cores,
        "router": {"inputs": rp.inputs, "core_neurons": list(rp.core_neurons),
                   "core_base": list(rp.core_base), "entries": rp.entries,
                   "index_bits": rp.index_bits, "step_bits": rp.step_bits,
                   "queue_depth": rp.queue_depth, "memory_bits": rp.memory_bits(),
                   "pointers": [list(w) for w in rp.pointers],
                   "destinations": [list(w) for w in rp.destinations],
                   "route_latency": ROUTE_LATENCY, "queue_latency": QUEUE_LATENCY},
        "update_latency": UPDATE_LATENCY, "cycles_bits": CYCLES_BITS,
        "ports": {"input": _layout_json(input_layout(p)),
                  "output": _layout_json(host_event_layout(rp)),
                  "cfg": _layout_json(network_cfg_layout(p)),
                  "rdata_bits": p.rdata_bits, "router_target": p.router_target,
                  "core_spaces": {s.name.lower(): int(s) for s in Space},
                  "router_spaces": {"pointer": TableSpace.POINTER,
                                    "destination": TableSpace.DESTINATION},
                  "params": {q.name.lower(): int(q) for q in Param}},
        "describe": m.describe(),
    }


def generate_network(net, outdir, lanes=1, neurons_per_core=256, axons_per_core=256,
                     max_cores=None, max_entries=None, step_bits=16, name=DEFAULT_NETWORK_TOP,
                     pack="small"):
    """Write ``<name>.v`` (the whole network: cores, router, barrier, host ports),
    ``params.json`` and ``<name>.json`` (component metadata) to ``outdir``.

    Parameters
    ----------
    net : Network
        Every population gets its own cores.
    outdir : str or os.PathLike
        Created if missing; files of the same names are overwritten.
    lanes : int
        Neurons per clock of every core.
    neurons_per_core, axons_per_core, max_cores, max_entries :
        Capacity, as :func:`~spikefab.hdl.mapping.map_network` (:data:`DEFAULT_BUILD` is the
        default build's).
    step_bits : int
        Width of the step counter and output step tags.
    name : str
        Verilog module name.
    pack : bool or str
        Which populations share a core (:func:`network_params`).

    Returns
    -------
    dict
        Paths written: ``{"verilog", "params", "metadata"}``.
    """
    p = network_params(net, lanes, neurons_per_core, axons_per_core, max_cores, max_entries,
                       step_bits, pack=pack)
    text, top = network_verilog(p, name)
    os.makedirs(outdir, exist_ok=True)
    paths = {"verilog": os.path.join(outdir, f"{name}.v"),
             "params": os.path.join(outdir, "params.json"),
             "metadata": os.path.join(outdir, f"{name}.json")}
    with open(paths["verilog"], "w") as f:
        f.write(text)
    with open(paths["params"], "w") as f:
        json.dump(dict(params_json(p), top=name), f, indent=1, sort_keys=True)
        f.write("\n")
    with open(paths["metadata"], "w") as f:
        json.dump(top.metadata.as_json(), f, indent=1, sort_keys=True)
        f.write("\n")
    return paths


# -- simulation ---------------------------------------------------------------------------

class _Bundle(wiring.Component):
    """Several network tops side by side, ports ``n<k>__<port>`` (simulation only: one
    build and one simulator run for many networks)."""

    def __init__(self, params_list):
        self._tops = [NetworkTop(p) for p in params_list]
        super().__init__({f"n{k}": Out(t.signature) for k, t in enumerate(self._tops)})

    def elaborate(self, platform):
        from amaranth.hdl import Module
        m = Module()
        for k, top in enumerate(self._tops):
            m.submodules[f"net_{k}"] = top
            wiring.connect(m, wiring.flipped(getattr(self, f"n{k}")), top)
        return m


def _runner(sim):
    """The cocotb runner of ``sim``. For Verilator, only the top module's signals are public
    (a configuration file instead of ``--public-flat-rw``): the testbench touches only the
    top's ports, and making every internal signal public made a bundle of 40 cores take 3
    minutes to build instead of 1."""
    from cocotb_tools.runner import Verilator, get_runner
    if sim != "verilator":
        return get_runner(sim)

    class _Lean(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            cmds[0] = [a for a in cmds[0] if a != "--public-flat-rw"]
            # the model's slow (construction) code is most of the C++ and runs once; -O1 for
            # the evaluation code halves the build time against -Os and keeps runs fast
            cmds[1] = cmds[1] + ["OPT_SLOW=-O0", "OPT_GLOBAL=-O0", "OPT_FAST=-O1"]
            return cmds

    return _Lean()


def _build(params_list, sim, build_root, waves):
    """Generate and compile the bundle of ``params_list``; reuse an identical build."""
    _check_sim(sim)
    _setup()
    from spikefab.toolchain import find
    find(_TOOL[sim])     # raises ToolNotFound naming the tool, its variable and the install
    bundle = _Bundle(params_list)
    text = verilog.convert(bundle, name=_BUNDLE_TOP, emit_src=False)
    spram = any("ice40_spram" in p.weight_rams for p in params_list)
    _check_spram_sim(spram, sim)
    key = hashlib.sha1(text.encode()).hexdigest()[:16] + ("-waves" if waves else "")
    root = os.path.abspath(build_root or _DEFAULT_BUILD_ROOT)
    bdir = os.path.join(root, sim, key)
    os.makedirs(bdir, exist_ok=True)
    runner = _runner(sim)
    with open(os.path.join(bdir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = os.path.join(bdir, ".built")
        src = os.path.join(bdir, f"{_BUNDLE_TOP}.v")
        with open(src, "w") as f:
            f.write(text)
        sources = [src]
        if spram:
            sources.append(os.path.join(bdir, "sb_spram256ka.v"))
            with open(sources[-1], "w") as f:
                f.write(spram_model())
        args = []
        if sim == "verilator":
            vlt = os.path.join(bdir, "public.vlt")
            with open(vlt, "w") as f:
                f.write(f'`verilator_config\npublic_flat_rw -module "{_BUNDLE_TOP}" '
                        f'-var "*"\n')
            args = ["-Wno-fatal", vlt]
        with _verilator_pch_fix(sim):
            runner.build(sources=sources, hdl_toplevel=_BUNDLE_TOP, build_dir=bdir,
                         always=not os.path.exists(stamp), waves=waves,
                         timescale=("1ns", "1ps"), build_args=args,
                         log_file=os.path.join(bdir, "build.log"))
        open(stamp, "w").close()
    return runner, bdir


def _first_line(path):
    with open(path) as f:
        return f.readline().rstrip("\n")


def run_networks(jobs, sim="icarus", build_root=None, name="run"):
    """Run several networks side by side in one simulation of one build.

    Parameters
    ----------
    jobs : list of dict
        Each: ``net``, ``inputs`` ``(T, inputs)`` bool, ``options`` (keyword arguments of
        :func:`network_params`), and optionally ``record_state``, ``read_weights``, ``check``
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
    params = [network_params(j["net"], **j.get("options", {})) for j in jobs]
    waves = _waves()
    runner, bdir = _build(params, sim, build_root, waves)
    tdir = os.path.join(bdir, f"run-{name}-{os.getpid()}")
    os.makedirs(tdir, exist_ok=True)
    out, err = os.path.join(tdir, "out.pkl"), os.path.join(tdir, "error.txt")
    for f in (out, err):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f)
    jpath = os.path.join(tdir, "job.pkl")
    with open(jpath, "wb") as f:
        pickle.dump({"jobs": jobs, "out": out, "error": err}, f)
    log = os.path.join(tdir, "sim.log")
    try:
        runner.test(test_module="spikefab.hdl.cocotb_network", hdl_toplevel=_BUNDLE_TOP,
                    build_dir=bdir, test_dir=tdir, extra_env={"SPIKEFAB_JOB": jpath},
                    waves=waves, gui=os.environ.get("GUI", "") not in ("", "0"),
                    timescale=("1ns", "1ps"), log_file=log,
                    results_xml=os.path.join(tdir, "results.xml"))
    except SystemExit as e:
        if os.path.exists(err):
            raise AssertionError(f"{_first_line(err)} ({sim}; log {log})") from None
        raise RuntimeError(f"RTL simulation with {sim} failed (exit {e.code}); log {log}") \
            from None
    if not os.path.exists(out):
        if os.path.exists(err):
            raise AssertionError(f"{_first_line(err)} ({sim}; log {log})")
        raise RuntimeError(f"RTL simulation with {sim} produced no results; log {log}")
    with open(out, "rb") as f:
        return pickle.load(f)


def simulate_network_rtl(net, inputs, steps=None, record_state=False, sim="icarus", lanes=1,
                         build_root=None, check=False, seed=None, ready_prob=1.0,
                         valid_prob=1.0, read_weights=True, neurons_per_core=256,
                         axons_per_core=256, max_cores=None, max_entries=None,
                         weight_ram="dual", pack="small", delay_ram=False):
    """Run ``net`` on the generated Verilog of its network top; same arrays as
    ``golden.simulate``.

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
        Capacity, as :func:`~spikefab.hdl.mapping.map_network`.
    pack : bool or str
        Which populations share a core (:func:`network_params`).
    delay_ram : bool
        Pure pipeline delays in block RAM (:func:`network_params`).
    weight_ram : str or tuple of str
        Weight memory kind of every core, or one per core. ``"ice40_spram"`` simulates the
        UP5K primitive on Icarus; its cores start empty, so the network is loaded through
        the configuration port first.

    Returns
    -------
    RtlResult
        ``cycles``: clocks of every step, from its start to its barrier.

    Raises
    ------
    ValueError
        For a network that does not fit, or a bad simulator name.
    """
    if not isinstance(net, Network):
        raise TypeError(f"Network must be a Network, not {net!r}")
    _check_sim(sim)
    options = {"lanes": lanes, "neurons_per_core": neurons_per_core,
               "axons_per_core": axons_per_core, "max_cores": max_cores,
               "max_entries": max_entries, "outputs": [q.name for q in net.populations],
               "weight_ram": weight_ram, "pack": pack, "delay_ram": delay_ram}
    p = network_params(net, **options)    # reject what cannot be built before any tool runs
    _check_spram_sim("ice40_spram" in p.weight_rams, sim)
    x, batched = check_inputs(net, inputs, steps)
    runs = []
    for b in range(x.shape[0]):
        job = {"net": net, "inputs": x[b], "options": options, "record_state": record_state,
               "read_weights": read_weights, "check": check, "seed": seed,
               "ready_prob": ready_prob, "valid_prob": valid_prob, "lockstep": record_state,
               "configure": "ice40_spram" in p.weight_rams}
        runs.append(run_networks([job], sim, build_root, name=f"b{b}")[0])

    def stack(get):
        arr = np.stack([get(r) for r in runs])
        return arr if batched else arr[0]

    names = [q.name for q in net.populations]
    spikes = {n: stack(lambda r, n=n: r["spikes"][n]) for n in names}
    u = v = None
    if record_state:
        u = {n: stack(lambda r, n=n: r["u"][n]) for n in names}
        v = {n: stack(lambda r, n=n: r["v"][n]) for n in names}
    if read_weights:
        weights = [stack(lambda r, k=k: r["weights"][k]) for k in range(len(net.projections))]
    else:
        nb = x.shape[0]
        weights = [np.repeat(pr.weights[None], nb, 0) if batched else pr.weights.copy()
                   for pr in net.projections]
    pre, post = [None] * len(net.projections), [None] * len(net.projections)
    if read_weights:
        for k, pr in enumerate(net.projections):
            if pr.plastic:
                pre[k] = stack(lambda r, k=k: r["pre"][k])
                post[k] = stack(lambda r, k=k: r["post"][k])
    return RtlResult(spikes, u, v, weights, pre, post, cycles=stack(lambda r: r["cycles"]))
