"""Verilog of a neuron core or of a network top, with its parameters and metadata beside it.

Deterministic (``emit_src=False``): the same shape gives the same file, which the build cache
(:mod:`.cache`) keys on.
"""

import json
import os

from amaranth.back import verilog

from spikefab.golden.params import Network
from spikefab.hdl.core import Core, cfg_layout
from spikefab.hdl.network import NetworkTop
from spikefab.shape.cfg import Space, cfg_data_bits, param_map
from spikefab.shape.core import CoreParams
from spikefab.shape.latency import CYCLES_BITS, UPDATE_LATENCY
from spikefab.shape.network import derive, params_json

__all__ = ["DEFAULT_TOP", "DEFAULT_NETWORK_TOP", "verilog_text", "write_core_files", "generate",
           "network_verilog", "write_network_files", "generate_network"]

#: Module name of the generated core.
DEFAULT_TOP = "spikefab_core"
#: Module name of the generated network top.
DEFAULT_NETWORK_TOP = "spikefab_network"


def _setup():
    from spikefab.toolchain import setup_environ
    setup_environ()


def _params(source, population, lanes):
    if isinstance(source, CoreParams):
        return source
    if isinstance(source, Network):
        return CoreParams.from_network(source, population, lanes=lanes)
    raise TypeError(f"Source must be a Network or a CoreParams, not {source!r}")


def verilog_text(params, name=DEFAULT_TOP, weight_ram="dual"):
    """The Verilog of :class:`~spikefab.hdl.core.Core` for ``params`` (deterministic), and the
    core.

    Amaranth's Verilog backend runs Yosys: the one that ``YOSYS`` names, by default the
    YoWASP build that spikefab installs (``spikefab.toolchain``).
    """
    _setup()
    core = Core(params, weight_ram)
    return verilog.convert(core, name=name, emit_src=False), core


def _write(outdir, name, text, info, metadata):
    os.makedirs(outdir, exist_ok=True)
    paths = {"verilog": os.path.join(outdir, f"{name}.v"),
             "params": os.path.join(outdir, "params.json"),
             "metadata": os.path.join(outdir, f"{name}.json")}
    if text is not None:
        with open(paths["verilog"], "w") as f:
            f.write(text)
    with open(paths["params"], "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(paths["metadata"], "w") as f:
        json.dump(metadata, f, indent=1, sort_keys=True)
        f.write("\n")
    return paths


def write_core_files(outdir, p, core, name=DEFAULT_TOP, weight_ram="dual", text=None):
    """Write ``params.json`` and ``<name>.json`` (component metadata) of a core, and
    ``<name>.v`` when ``text`` is given; return the paths."""
    info = p.to_json()
    layout = cfg_layout(p)
    info.update({
        "top": name,
        "weight_ram": weight_ram,
        "update_latency": UPDATE_LATENCY,
        "cycles_bits": CYCLES_BITS,
        "cfg": {"data_bits": cfg_data_bits(p),
                "fields": {k: {"offset": f.offset, "width": f.width} for k, f in layout},
                "spaces": {s.name.lower(): int(s) for s in Space},
                "params": param_map(p.theta_bits > 0)},
        "weights_init": p.weight_words(),
    })
    return _write(outdir, name, text, info, core.metadata.as_json())


def generate(source, outdir, population=None, lanes=1, name=DEFAULT_TOP, weight_ram="dual"):
    """Write ``<name>.v``, ``params.json`` and ``<name>.json`` (component metadata) of a core
    to ``outdir``.

    Parameters
    ----------
    source : Network or CoreParams
        A network with one population (or ``population`` named).
    outdir : str or os.PathLike
        Created if missing. Existing files of the same names are overwritten.
    population : str, optional
    lanes : int
    name : str
        Verilog module name.
    weight_ram : str
        Kind of weight memory (``spikefab.shape.core.WEIGHT_RAMS``).

    Returns
    -------
    dict
        Paths written: ``{"verilog", "params", "metadata"}``.

    Raises
    ------
    ValueError, TypeError
        As :meth:`CoreParams.from_network`.
    """
    p = _params(source, population, lanes)
    text, core = verilog_text(p, name, weight_ram)
    return write_core_files(outdir, p, core, name, weight_ram, text)


def network_verilog(params, name=DEFAULT_NETWORK_TOP):
    """The Verilog of :class:`~spikefab.hdl.network.NetworkTop` for ``params``
    (deterministic), and the top component."""
    _setup()
    top = NetworkTop(params)
    return verilog.convert(top, name=name, emit_src=False), top


def write_network_files(outdir, p, top, name=DEFAULT_NETWORK_TOP, text=None):
    """Write ``params.json`` and ``<name>.json`` of a network top, and ``<name>.v`` when
    ``text`` is given; return the paths."""
    return _write(outdir, name, text, dict(params_json(p), top=name), top.metadata.as_json())


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
        Capacity, as :func:`~spikefab.shape.mapping.map_network`
        (``spikefab.shape.DEFAULT_BUILD`` is the default build's).
    step_bits : int
        Width of the step counter and output step tags.
    name : str
        Verilog module name.
    pack : bool or str
        Which populations share a core (:func:`~spikefab.shape.network.derive`).

    Returns
    -------
    dict
        Paths written: ``{"verilog", "params", "metadata"}``.
    """
    p = derive(net, lanes, neurons_per_core, axons_per_core, max_cores, max_entries,
               step_bits, pack=pack)
    text, top = network_verilog(p, name)
    return write_network_files(outdir, p, top, name, text)
