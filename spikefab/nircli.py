"""The NIR commands of the command line: ``import-nir`` and ``export-nir`` (``docs/nir.md``).

They call ``spikefab.interop``; user errors become one line through :mod:`spikefab.cli`.
"""

import os
import re

from .errors import Error, InvalidValue

__all__ = ["add_nir_commands"]


def cmd_import_nir(args):
    from .cli import CommandError, _about, _load_inputs
    from .golden import dump
    from .interop import import_nir, read_nir
    with _about(args.model):
        graph = read_nir(args.model)
    inputs = None if args.inputs is None else _load_inputs(args.inputs)
    name = _network_name(args.name or os.path.splitext(os.path.basename(args.out))[0])
    print(f"importing {args.model} ({len(graph.nodes)} nodes, {len(graph.edges)} edges)"
          + (f" at dt = {args.dt:g} s" if args.dt is not None else ""), flush=True)
    try:
        net, report = import_nir(graph, dt=args.dt, weight_bits=args.weight_bits,
                                 voltage_bits=args.voltage_bits,
                                 current_bits=args.current_bits, units=args.units,
                                 inputs=inputs, probe_steps=args.probe_steps,
                                 probe_rate=args.probe_rate, seed=args.seed, name=name)
    except Error as e:
        # the probe's inputs are checked against the network: name the file they came from
        about = args.inputs if str(e).startswith("Inputs") else args.model
        raise CommandError(f"{about}: {e}") from None
    print(report.describe())
    try:
        written = dump(net, args.out)
    except OSError as e:
        raise InvalidValue(f"Cannot write {args.out!r}: {e.strerror}") from None
    print(f"wrote {args.out} and {len(written) - 1} weight file(s): {len(net.populations)} "
          f"populations, {len(net.projections)} projections ({report.units} units, dt = "
          f"{report.dt:g} s)")


def _network_name(text):
    s = re.sub(r"\W", "_", text) or "nir"
    return "n" + s if s[0].isdigit() else s


def cmd_export_nir(args):
    from .cli import _about, _load
    from .interop import write_nir
    net = _load(args.net)
    with _about(args.net):
        graph = write_nir(net, args.out, dt=args.dt, static=args.static)
    plastic = sum(p.plastic for p in net.projections)
    print(f"wrote {args.out}: {len(graph.nodes)} nodes, {len(graph.edges)} edges (dt = "
          f"{args.dt:g} s)" + (f"; {plastic} plastic projection(s) exported static"
                               if plastic else ""))


def add_nir_commands(sub):
    """Add ``import-nir`` and ``export-nir`` to the subparsers ``sub``."""
    ni = sub.add_parser("import-nir", help="map a NIR graph onto a network file, reporting "
                                           "its fidelity against a float reference")
    ni.add_argument("model", metavar="MODEL.nir")
    ni.add_argument("-o", "--out", required=True, metavar="NET.toml",
                    help="network file to write (weights as .npy files beside it)")
    ni.add_argument("--dt", type=float, metavar="SECONDS",
                    help="the time step (needed unless export-nir wrote the graph)")
    for opt, default in (("weight", 8), ("voltage", 16), ("current", 16)):
        ni.add_argument(f"--{opt}-bits", type=int, metavar="N",
                        help=f"the network's {opt} width (default: the graph's if export-nir "
                             f"wrote it, else {default})")
    ni.add_argument("--units", choices=("auto", "integer", "scaled"), default="auto",
                    help="scaled: a voltage scale per population; integer: the values are "
                         "spikefab integers; auto (default): integer for export-nir's graphs")
    ni.add_argument("--inputs", metavar="X.npy", help="0/1 input spikes (T, inputs) to probe "
                                                      "the fidelity with")
    ni.add_argument("--probe-steps", type=int, default=200, metavar="T",
                    help="steps of the random probe without --inputs (default 200)")
    ni.add_argument("--probe-rate", type=float, default=0.2, metavar="P",
                    help="spike probability per input and step of the probe (default 0.2)")
    ni.add_argument("--seed", type=int, default=0, help="seed of the probe (default 0)")
    ni.add_argument("--name", help="network name (default: from the output file)")
    ni.set_defaults(func=cmd_import_nir)

    ne = sub.add_parser("export-nir", help="write a network as a NIR graph")
    ne.add_argument("net", metavar="NET.toml")
    ne.add_argument("-o", "--out", required=True, metavar="MODEL.nir")
    ne.add_argument("--dt", type=float, default=1e-3, metavar="SECONDS",
                    help="seconds per time step (default 0.001): sets the time constants")
    ne.add_argument("--static", action="store_true",
                    help="export plastic projections with their current weights, as static")
    ne.set_defaults(func=cmd_export_nir)
