"""The ``spikefab`` command line.

Every user error (a bad network file, bad inputs, a missing file, a missing tool, a board that
does not answer) is a :class:`spikefab.errors.Error`, which :func:`main` prints as one line,
``spikefab: error: ...``, with exit status 2 and no traceback. Anything else is a bug and keeps
its traceback: the commands never re-label a plain ``ValueError`` or ``TypeError``.
"""

import argparse
import contextlib
import os
import signal
import sys
import time

import numpy as np

from . import __version__
from .describe import describe, table
from .errors import Error, InvalidValue
from .boardcli import add_board_commands
from .encodecli import add_encode_command
from .nircli import add_nir_commands

__all__ = ["main"]


class CommandError(Error):
    """A user error that the command line found itself, or that it names the file or device
    of (``"IN.npy: Inputs must be 0 or 1, ..."``)."""


@contextlib.contextmanager
def _about(what, unless_named=False):
    """Put ``what`` (the file or device the user named) in front of the message of a user
    error raised inside (with ``unless_named``, only if the message does not name it already:
    the serial port's errors do); any other exception passes unchanged, with its traceback."""
    try:
        yield
    except Error as e:
        if unless_named and what in str(e):
            raise CommandError(str(e)) from None
        raise CommandError(f"{what}: {e}") from None


def _load(path):
    from .golden import load
    with _about(path):
        return load(path)


def cmd_check(args):
    from spikefab.shape.mapping import map_network
    for opt, value in (("--neurons-per-core", args.neurons_per_core),
                       ("--axons-per-core", args.axons_per_core)):
        if not 1 <= value <= 65536:
            raise InvalidValue(f"{opt} must be an integer in [1, 65536], not {value}")
    net = _load(args.net)
    print(describe(net))
    print()
    try:
        print(map_network(net, neurons_per_core=args.neurons_per_core,
                          axons_per_core=args.axons_per_core, pack="small").describe())
    except Error as e:
        # a valid network may still not fit these cores: check reports it and goes on
        print(f"mapping onto cores: does not fit: {e}")
    print(f"ok: {args.net} is valid")


def _load_inputs(path):
    try:
        x = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InvalidValue(f"Inputs file {path!r} does not exist") from None
    except (OSError, ValueError) as e:
        # np.load raises ValueError for a file that is no array (or a pickled one)
        raise InvalidValue(f"Inputs file {path!r} is not a readable .npy array: {e}") from None
    if not isinstance(x, np.ndarray):
        x.close()
        raise InvalidValue(f"Inputs file {path!r} must be a .npy array, not an .npz archive")
    return x


def _check_inputs(net, args, command):
    """The ``(1, T, inputs)`` inputs of ``args.inputs`` (or ``--steps`` silent steps)."""
    from .golden import check_inputs
    if args.inputs is None:
        inputs = np.zeros((0, net.inputs), np.uint8)
    else:
        inputs = _load_inputs(args.inputs)
    with _about(args.inputs or "--steps"):
        x, batched = check_inputs(net, inputs, args.steps)
    if batched:
        raise CommandError(f"{args.inputs}: Inputs must have shape (T, {net.inputs}) for "
                           f"{command}, not a batch {inputs.shape}")
    return x


def _write_npz(path, arrays):
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
        tmp = path + ".part"
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except OSError as e:
        raise InvalidValue(f"Cannot write {path!r}: {e.strerror}") from None


def _intensities(net, args):
    """``--intensities Q.npy`` with ``--steps T`` (presentations), checked; else None."""
    if args.intensities is None:
        return None
    if args.inputs is not None:
        raise CommandError("Give one of --inputs and --intensities")
    if args.steps is None:
        raise CommandError("--intensities needs --steps T (the steps of every image)")
    from .golden.encode import check_intensities
    q = _load_inputs(args.intensities)
    with _about(args.intensities):
        if not net.hardware.rate_bits:
            raise InvalidValue(f"Network {net.name!r} has no rate generator: set rate_bits in "
                               f"its [hardware] table (docs/spec.md section 7)")
        q = check_intensities(q, net.inputs)
    if args.steps < 1:
        raise InvalidValue(f"--steps must be a positive integer, not {args.steps}")
    return q


def cmd_simulate(args):
    from .golden import simulate
    net = _load(args.net)
    q = _intensities(net, args)
    if q is not None:
        if args.rtl or args.record_state:
            raise CommandError("--intensities runs the golden model's presentations: not with "
                               "--rtl or --record-state")
        from .golden import present
        t0 = time.perf_counter()
        res = present(net, q, args.steps)
        _write_npz(args.out, res.to_npz_dict())
        print(f"presented {len(np.atleast_2d(q)):,} images x {args.steps:,} steps of {net.name} "
              f"in {time.perf_counter() - t0:.2f} s (golden model, the on-chip rate code); "
              f"wrote {args.out}")
        return
    if args.inputs is None and args.steps is None:
        raise CommandError("Give --inputs IN.npy, --steps T, or both")
    inputs = _check_inputs(net, args, "simulate")
    t0 = time.perf_counter()
    if args.rtl:
        # one population: one core (STDP included); several: the network top (cores + router)
        if len(net.populations) == 1:
            from spikefab.sim.rtl import simulate_rtl as sim_rtl
            what = "core"
        else:
            from spikefab.sim.network import simulate_network_rtl as sim_rtl
            what = "network top (cores + router)"
        from spikefab.sim.rtl import choose_harness
        with _about(args.net):
            harness = choose_harness(args.harness, args.sim)
        print(f"generating and building (or reusing) the {what} of {net.name} for {args.sim} "
              f"(lanes {args.lanes}, {harness} harness)", flush=True)
        with _about(args.net):
            res = sim_rtl(net, inputs[0], record_state=args.record_state, sim=args.sim,
                          lanes=args.lanes, check=args.check, harness=harness)
        what = (f"RTL on {args.sim}, {harness} harness"
                + (", every step equal to the golden model" if args.check else ""))
    else:
        res = simulate(net, inputs[0], record_state=args.record_state)
        what = "golden model"
    dt = time.perf_counter() - t0
    _write_npz(args.out, res.to_npz_dict())
    steps = inputs.shape[1]
    spikes = ", ".join(f"{k} {int(s.sum()):,}" for k, s in res.spikes.items())
    print(f"simulated {steps:,} steps of {net.name} in {dt:.2f} s ({what}); "
          f"spikes: {spikes}; wrote {args.out}")


def cmd_run(args):
    from .host import run
    net = _load(args.net)
    if (args.port is None) == (args.sim is None):
        raise CommandError("Give exactly one of --port DEVICE and --sim")
    if args.inputs is None and args.intensities is None:
        raise CommandError("Give --inputs IN.npy (host spikes) or --intensities Q.npy "
                           "(presentations)")
    q = _intensities(net, args)
    x = _check_inputs(net, args, "run") if q is None else None
    if args.baud is None:
        from .boards import get_board
        args.baud = get_board(args.board).baud if args.board is not None else 1_000_000
    if args.baud < 1:
        raise InvalidValue(f"--baud must be a positive integer, not {args.baud}")
    if not (np.isfinite(args.timeout) and args.timeout > 0):
        raise InvalidValue(f"--timeout must be a positive number of seconds, not "
                           f"{args.timeout}")
    if args.sim is not None:
        where = f"the simulated board ({args.sim})"
        print(f"building (or reusing) the simulated board of {net.name} and loading it over "
              f"the host link", flush=True)
    else:
        where = args.port
        print(f"loading {net.name} into {where} over the host link ({args.baud:,} baud)",
              flush=True)
    params = None
    if args.board is not None:
        from .boards import board_params
        params = board_params(net, args.board, simulated=args.sim is not None)
        if args.port is not None:
            # the port may also be the board's simulated build behind a pty (spikefab
            # simboard), whose weight memories differ: the device's build hash chooses
            params = [params, board_params(net, args.board, simulated=True)]
    elif args.port is not None:
        raise CommandError("Give --board NAME with --port: the host loads the build of that "
                           "board")
    t0 = time.perf_counter()
    with _about(where, unless_named=True):
        res = run(net, None if x is None else x[0], steps=args.steps if q is not None else None,
                  port=args.port, sim=args.sim is not None, baud=args.baud,
                  record_state=args.record_state, backend=args.sim or "verilator",
                  params=params, timeout=args.timeout, intensities=q)
    dt = time.perf_counter() - t0
    # the file of `spikefab simulate`: spikes (and u, v) of every population the build
    # reports to the host (a board build: its output populations) and the final weights as
    # read back from the device
    arrays = res.to_npz_dict()
    if params is not None:
        observed = set((params[0] if isinstance(params, list) else params).mapping.outputs)
        arrays = {k: a for k, a in arrays.items()
                  if not k.startswith("spikes/") or k.split("/", 1)[1] in observed}
    _write_npz(args.out, arrays)
    cycles = np.asarray(res.cycles)
    per_step = (f"device cycles per step: mean {cycles.mean():.0f}, max {cycles.max()}"
                if len(cycles) else "no steps")
    if q is not None:
        per_step = (f"device clocks per image: mean {cycles.mean():,.0f}, max {cycles.max():,}")
        print(f"presented {len(cycles):,} images x {args.steps:,} steps of {net.name} on "
              f"{where} in {dt:.1f} s; {per_step}; wrote {args.out}")
        return
    print(f"ran {x.shape[1]:,} steps of {net.name} on {where} in {dt:.1f} s; {per_step}; "
          f"wrote {args.out}")


class _Stopped(Exception):
    """SIGTERM arrived: stop serving (an exception, so that ``with`` blocks clean up)."""


def _raise_stopped(signum, frame):
    raise _Stopped


def cmd_simboard(args):
    from .boards import board_params, get_board
    from .hdl.link import link_timing
    from .sim.ptyboard import serve_pty
    if not args.pty:
        raise CommandError("simboard serves a board only behind a pseudo-terminal for now: "
                           "give --pty")
    board = get_board(args.board)
    if args.baud is None:
        args.baud = board.baud
    divisor, timeout = link_timing(board.target_hz, args.baud)
    net = _load(args.net)
    with _about(args.net):
        params = board_params(net, board, simulated=True)

    def say(text):
        print(text, file=sys.stderr, flush=True)

    say(f"building (or reusing) the simulated {board.title} of {net.name} "
        f"({len(params.cores)} cores, {board.target_hz / 1e6:g} MHz, {args.baud:,} baud: "
        f"{divisor} clocks per bit)")
    old = signal.signal(signal.SIGTERM, _raise_stopped)
    served = None
    try:
        served = serve_pty(params, board.target_hz, divisor, timeout)
        print(served.path, flush=True)
        say(f"serving on {served.path}: spikefab run {args.net} --board {board.name} "
            f"--port {served.path} --timeout 5 ...; Ctrl-C or SIGTERM stops it")
        if served.proc.wait() != 0:
            raise CommandError(f"The simulated board exited with status "
                               f"{served.proc.returncode}; log {served.log}")
    except (_Stopped, KeyboardInterrupt):
        pass
    finally:
        signal.signal(signal.SIGTERM, old)
        if served is not None:
            served.close()
    if served is not None and served.clocks is not None:
        rate = served.clocks_per_second or 0
        say(f"stopped: {served.clocks:,} simulated clocks in {served.seconds:.1f} s of "
            f"clocking ({rate:,.0f} clocks/s), {served.served:.1f} s served")


def _key_values(values, opt, parse):
    """``--opt [KEY=]VALUE`` options: one value for every projection, or a dict by key."""
    out = None
    for text in values or ():
        key, sep, val = text.rpartition("=")
        try:
            v = parse(val)
        except ValueError:
            # the parser's own ValueError (float(), int()) says only that the text is bad
            raise InvalidValue(f"{opt} must be [KEY=]VALUE with VALUE {parse.__doc__}, "
                               f"not {text!r}") from None
        if not sep:
            if out is not None:
                raise InvalidValue(f"{opt} without a KEY must be given once, not with "
                                   f"{text!r}")
            out = v
        else:
            if out is not None and not isinstance(out, dict):
                raise InvalidValue(f"{opt} without a KEY applies to every projection; it "
                                   f"cannot be mixed with {text!r}")
            out = out or {}
            out[key] = v
    return out


def _scale_value(text):
    """a positive number"""
    v = float(text)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(text)
    return v


def _shift_value(text):
    """an integer, 'auto' or 'keep'"""
    if text == "keep":
        return None
    if text == "auto":
        return "auto"
    return int(text)


def _load_weights_npz(path):
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InvalidValue(f"Weights file {path!r} does not exist") from None
    except (OSError, ValueError) as e:
        raise InvalidValue(f"Weights file {path!r} is not a readable .npz archive: "
                           f"{e}") from None
    if not hasattr(data, "files"):
        raise InvalidValue(f"Weights file {path!r} must be an .npz archive of arrays named by "
                           f"projection, not a single array")
    out = {}
    with data:
        for key in data.files:
            try:
                out[key] = data[key]
            except ValueError as e:
                # an object array, which np.load refuses to unpickle
                raise InvalidValue(f"Weights file {path!r}: array {key!r} cannot be read: "
                                   f"{e}") from None
    return out


def cmd_import_weights(args):
    from .golden import dump, import_weights
    from .golden.quantize import projection_index
    net = _load(args.net)
    arrays = _load_weights_npz(args.weights)
    scale = _key_values(args.scale, "--scale", _scale_value)
    shift = _key_values(args.shift, "--shift", _shift_value)
    print(f"importing {len(arrays)} array(s) from {args.weights} into {net.name} "
          f"(weight_bits {net.hardware.weight_bits})", flush=True)
    with _about(args.weights):
        out, report = import_weights(net, arrays, scale=scale, weight_shift=shift)
    keys = {projection_index(net, key): key for key in arrays}
    rows = []
    for k, q in report.items():
        pr = out.projections[k]
        rows.append((k, keys.get(k, str(k)), f"{pr.source} -> {pr.target}",
                     f"{q.scale:.6g}", q.weight_shift, f"{q.step:.4g}", f"{q.max_error:.4g}",
                     f"{q.rms_error:.4g}", f"{100 * q.rel_max_error:.2f}%",
                     f"{100 * q.rel_rms_error:.2f}%", f"{q.zeroed}/{q.nonzero}"))
    print(table(rows, ("projection", "key", "source -> target", "scale", "shift", "step",
                       "max error", "rms error", "rel max", "rel rms", "zeroed")))
    changed = [k for k, q in report.items() if q.weight_shift != net.projections[k].weight_shift]
    try:
        written = dump(out, args.out)
    except OSError as e:
        raise InvalidValue(f"Cannot write {args.out!r}: {e.strerror}") from None
    note = ("same shapes and shifts as the network: it loads into a board built for it"
            if not changed else
            f"weight_shift changed for projection(s) {', '.join(map(str, changed))}: it needs "
            f"its own build")
    print(f"wrote {args.out} and {len(written) - 1} weight file(s); {note}")


def cmd_generate(args):
    from spikefab.sim.generate import generate, generate_network
    net = _load(args.net)
    out = args.out or os.path.join("build", "verilog", net.name)
    single = len(net.populations) == 1 or args.population is not None
    what = "core" if single else "network top (cores + router)"
    print(f"generating the {what} of {net.name} (lanes {args.lanes}) with Amaranth + Yosys",
          flush=True)
    with _about(args.net):
        if single:
            paths = generate(net, out, population=args.population, lanes=args.lanes)
        else:
            paths = generate_network(net, out, lanes=args.lanes)
    for kind, path in paths.items():
        print(f"  {kind:<9} {path}")
    print(f"done: {paths['verilog']}")


def cmd_demo(args):
    from .demo import run_demo
    net = _load(args.net)
    run_demo(net, steps=args.steps, seed=args.seed, out_dir=args.out)


def build_parser():
    """The parser of every command; ``args.func(args)`` runs the chosen one."""
    p = argparse.ArgumentParser(
        prog="spikefab",
        description="Bit-exact spiking networks from a TOML file to the golden model, "
                    "Verilog and FPGA boards.")
    p.add_argument("--version", action="version", version=f"spikefab {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_network_commands(sub)
    add_board_commands(sub)
    _add_tool_commands(sub)
    return p


def _add_network_commands(sub):
    """The commands on a network and its data: check, simulate, run, import-weights,
    import-nir, export-nir, encode."""
    c = sub.add_parser("check", help="validate a network file and print what it needs")
    c.add_argument("net", metavar="NET.toml")
    c.add_argument("--neurons-per-core", type=int, default=256, metavar="N")
    c.add_argument("--axons-per-core", type=int, default=256, metavar="A")
    c.set_defaults(func=cmd_check)

    s = sub.add_parser("simulate", help="run the golden model on input spikes, write an .npz")
    s.add_argument("net", metavar="NET.toml")
    s.add_argument("--inputs", metavar="IN.npy", help="0/1 array (T, inputs) of host spikes")
    s.add_argument("--intensities", metavar="Q.npy",
                   help="ints (B, inputs) in 0..15: present every image for --steps steps on "
                        "the network's rate generator (rate_bits; docs/spec.md section 7)")
    s.add_argument("--steps", type=int, metavar="T",
                   help="run T steps (inputs cut, or padded with silent steps)")
    s.add_argument("--record-state", action="store_true",
                   help="also write u/<pop> and v/<pop> after every step")
    s.add_argument("--out", required=True, metavar="OUT.npz")
    s.add_argument("--rtl", action="store_true",
                   help="run the generated Verilog in a simulator instead of the golden model")
    s.add_argument("--sim", choices=("icarus", "verilator"), default="verilator",
                   help="simulator for --rtl (default verilator)")
    s.add_argument("--harness", choices=("native", "cocotb"),
                   help="what drives the RTL: native (Verilator's default: the clock loop in "
                        "C++) or cocotb (Icarus's default)")
    s.add_argument("--no-check", dest="check", action="store_false",
                   help="with --rtl, do not compare every step with the golden model")
    s.add_argument("--lanes", type=int, default=1, help="neurons per clock of the core")
    s.set_defaults(func=cmd_simulate)

    r = sub.add_parser("run", help="run a network on a board (or the simulated board) over "
                                   "the host link, write the same .npz as simulate")
    r.add_argument("net", metavar="NET.toml")
    r.add_argument("--port", metavar="DEVICE", help="serial port of the board, e.g. /dev/ttyUSB1")
    r.add_argument("--sim", nargs="?", const="verilator", choices=("verilator", "amaranth"),
                   metavar="BACKEND",
                   help="use the simulated board: the board top compiled with Verilator "
                        "(default) or in the Amaranth simulator (amaranth)")
    r.add_argument("--inputs", metavar="IN.npy", help="0/1 array (T, inputs) of host spikes")
    r.add_argument("--intensities", metavar="Q.npy",
                   help="ints (B, inputs) in 0..15: present every image for --steps steps on "
                        "the board's rate generator (Device.present)")
    r.add_argument("--steps", type=int, metavar="T")
    r.add_argument("--record-state", action="store_true",
                   help="also read u/<pop> and v/<pop> back after every step")
    r.add_argument("--board", metavar="NAME",
                   help="the board's build (needed with --port; with --sim, simulate exactly "
                        "that build): its output populations are reported")
    r.add_argument("--baud", type=int, default=None,
                   help="baud rate of the port (default: the board's build, 1 Mbaud without "
                        "--board)")
    r.add_argument("--timeout", type=float, default=0.5, metavar="SECONDS",
                   help="wait this long for each response of the board on --port (default "
                        "0.5; a simulated board behind a pty needs a few seconds)")
    r.add_argument("--out", required=True, metavar="OUT.npz")
    r.set_defaults(func=cmd_run)

    iw = sub.add_parser("import-weights",
                        help="quantise float weights (an .npz by projection) into a network "
                             "file, reporting the quantisation error")
    iw.add_argument("net", metavar="NET.toml")
    iw.add_argument("weights", metavar="WEIGHTS.npz",
                    help="float arrays named by projection index ('0') or 'source->target'")
    iw.add_argument("-o", "--out", required=True, metavar="OUT.toml",
                    help="network file to write (weights as .npy files beside it)")
    iw.add_argument("--scale", action="append", metavar="[KEY=]X",
                    help="u units per float unit (default: each projection's largest weight "
                         "fills the weight range)")
    iw.add_argument("--shift", action="append", metavar="[KEY=]N|auto|keep",
                    help="weight_shift (default keep: the network's; auto: the smallest that "
                         "fits, with --scale)")
    iw.set_defaults(func=cmd_import_weights)

    add_nir_commands(sub)
    add_encode_command(sub)


def _add_tool_commands(sub):
    """The commands that turn a network into Verilog, or show it running: generate, demo."""
    g = sub.add_parser("generate", help="write the Verilog, params.json and metadata JSON")
    g.add_argument("net", metavar="NET.toml")
    g.add_argument("-o", "--out", metavar="DIR", help="default build/verilog/<network name>")
    g.add_argument("--lanes", type=int, default=1, help="neurons per clock (default 1)")
    g.add_argument("--population", help="generate one core for this population only")
    g.set_defaults(func=cmd_generate)

    sb = sub.add_parser("simboard",
                        help="serve a board's build of a network, simulated in Verilator, "
                             "behind a pseudo-terminal (--pty, required for now) for "
                             "'spikefab run --port'")
    sb.add_argument("net", metavar="NET.toml")
    sb.add_argument("--board", required=True, metavar="NAME",
                    help="the board whose build (clock, cores) is simulated")
    sb.add_argument("--pty", action="store_true",
                    help="free-running, behind a pseudo-terminal whose path is the first line "
                         "on stdout; serves until Ctrl-C or SIGTERM (required for now)")
    sb.add_argument("--baud", type=int, default=None,
                    help="the link's rate (default: the board's, as its build has it)")
    sb.set_defaults(func=cmd_simboard)

    d = sub.add_parser("demo", help="run a network on seeded rate-coded input, "
                                    "print a summary and write a raster plot")
    d.add_argument("net", metavar="NET.toml", nargs="?", default="examples/demo.toml")
    d.add_argument("--steps", type=int, default=300)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--out", default="build/demo", metavar="DIR")
    d.set_defaults(func=cmd_demo)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except Error as e:
        print(f"spikefab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("spikefab: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
