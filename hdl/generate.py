"""Verilog generation of a neuron core, with its parameters and metadata beside it."""

import json
import os

from amaranth.back import verilog

from spikefab.golden.params import Network

from .core import (CYCLES_BITS, UPDATE_LATENCY, Core, Param, Space, cfg_data_bits,
                   cfg_layout)
from .params import CoreParams

__all__ = ["DEFAULT_TOP", "verilog_text", "generate"]

#: Module name of the generated core.
DEFAULT_TOP = "spikefab_core"


def _params(source, population, lanes):
    if isinstance(source, CoreParams):
        return source
    if isinstance(source, Network):
        return CoreParams.from_network(source, population, lanes=lanes)
    raise TypeError(f"Source must be a Network or a CoreParams, not {source!r}")


def verilog_text(params, name=DEFAULT_TOP, weight_ram="dual"):
    """The Verilog of :class:`~spikefab.hdl.core.Core` for ``params`` (deterministic).

    Amaranth's Verilog backend runs Yosys: the one that ``YOSYS`` names, by default the
    YoWASP build that spikefab installs (``spikefab.toolchain``).
    """
    from spikefab.toolchain import setup_environ
    setup_environ()
    core = Core(params, weight_ram)
    return verilog.convert(core, name=name, emit_src=False), core


def generate(source, outdir, population=None, lanes=1, name=DEFAULT_TOP, weight_ram="dual"):
    """Write ``<name>.v``, ``params.json`` and ``<name>.json`` (component metadata) to
    ``outdir``.

    Parameters
    ----------
    source : Network or CoreParams
        A network with one population (or ``population`` named), static projections only.
    outdir : str or os.PathLike
        Created if missing. Existing files of the same names are overwritten.
    population : str, optional
    lanes : int
    name : str
        Verilog module name.
    weight_ram : str
        Kind of weight memory (``spikefab.hdl.synapse.WEIGHT_RAMS``).

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
    os.makedirs(outdir, exist_ok=True)
    paths = {"verilog": os.path.join(outdir, f"{name}.v"),
             "params": os.path.join(outdir, "params.json"),
             "metadata": os.path.join(outdir, f"{name}.json")}
    with open(paths["verilog"], "w") as f:
        f.write(text)
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
                "params": {q.name.lower(): int(q) for q in Param}},
        "weights_init": p.weight_words(),
    })
    with open(paths["params"], "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(paths["metadata"], "w") as f:
        json.dump(core.metadata.as_json(), f, indent=1, sort_keys=True)
        f.write("\n")
    return paths
