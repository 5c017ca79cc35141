"""The simulated board: :class:`~spikefab.hdl.link.LinkedNetwork` compiled with Verilator,
behind a pin-level UART model in a small C++ main (``simboard.cpp``).

:func:`build_board` generates the Verilog of the board top (deterministic, ``emit_src=False``)
and compiles it with the harness into one executable, cached in
``build/simboard/<hash of the Verilog, the harness and the build flags>``. The executable is a
lock-step simulator: it clocks the design only when its host asks (requests on stdin, replies
on stdout, described at the top of ``simboard.cpp``), so time is simulated time, a silent
design costs a bounded number of clocks, and an idle board uses no CPU.
:class:`spikefab.host.VerilatorTransport` is the host's side of it. Run with ``--pty``, the
same executable is a free-running board behind a pseudo-terminal (:mod:`.ptyboard`).
"""

import json
import os
import subprocess
import time

from amaranth.back import verilog

from spikefab.errors import InvalidType, InvalidValue
from spikefab.hdl.link import LinkedNetwork
from spikefab.shape.network import NetworkParams

from .cache import build_folder, key_of, read_index, source_key, write_index
from .runner import CPP_INCLUDE, PCH_MAKEFLAG, cpp_main_text

__all__ = ["BOARD_TOP", "DEFAULT_BUILD_ROOT", "HARNESS", "SIM_CLK_HZ", "SIM_DIVISOR",
           "SIM_TIMEOUT", "quiet_clocks", "board_verilog", "build_board", "BoardBuild"]

#: Module name of the generated board top.
BOARD_TOP = "spikefab_board"
#: Where board builds land unless told otherwise.
DEFAULT_BUILD_ROOT = os.path.join("build", "simboard")
#: The C++ main: clock, reset, UART model, request loop.
HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "simboard.cpp")
#: Nominal clock of the simulated board (it turns the host's timeouts into clocks), clocks
#: per UART bit and the link's inter-byte timeout in clocks: a 250 kbaud link at 1 MHz.
SIM_CLK_HZ, SIM_DIVISOR, SIM_TIMEOUT = 1_000_000, 4, 4000

# C++ optimisation of the model: its construction code is large and runs once (-O0); the
# evaluation code runs every clock. Measured on a 2-core, 160-neuron board before the splitting
# below (docs/protocol.md):
# -O1 builds in 42 s and runs 470k clocks/s, -O2 takes 52 s for no more speed, -O0 32 s for
# 95k clocks/s.
_MAKE_OPT = ["OPT_SLOW=-O0", "OPT_GLOBAL=-O1", "OPT_FAST=-O1"]
# The model's evaluation is one function of thousands of lines per clock edge, which the C++
# compiler takes superlinear time over; split into smaller functions and files (compiled two at
# a time) a 7-core board built in 46 s instead of 90 s here, at the same speed within noise.
_SPLIT = ["--output-split", "5000", "--output-split-cfuncs", "2000"]


class BoardBuild:
    """A compiled simulated board.

    Attributes
    ----------
    exe : str
        The simulator executable.
    folder : str
        Its build folder (Verilog, ``params.json``, ``build.log``).
    seconds : float
        Wall time that this call spent building (0 for a cached build).
    divisor, timeout : int
        Clocks per UART bit and the link's inter-byte timeout in clocks.
    waves : bool
        Built with tracing: the executable writes a VCD to the path given as its argument.
    clk_hz : float
        The nominal clock the board was built for (:data:`SIM_CLK_HZ` unless a board's).
    quiet : int
        Clocks that the free-running board (``--pty``) keeps clocking after the last activity
        (:func:`quiet_clocks`).
    """

    def __init__(self, exe, folder, seconds, divisor, timeout, waves=False, clk_hz=SIM_CLK_HZ):
        self.exe, self.folder, self.seconds = exe, folder, seconds
        self.divisor, self.timeout, self.waves = divisor, timeout, waves
        self.clk_hz, self.quiet = clk_hz, quiet_clocks(divisor, timeout)


def quiet_clocks(divisor, timeout):
    """Clocks of silence after which the free-running board stops clocking: twice the link's
    inter-byte timeout (a frame cut short times out, and its TRUNCATED answer goes out,
    before simulated time stops) plus three byte times."""
    return 2 * timeout + 30 * divisor


def board_verilog(params, divisor=SIM_DIVISOR, timeout=SIM_TIMEOUT, name=BOARD_TOP,
                  clk_hz=SIM_CLK_HZ):
    """The Verilog of the board top (:class:`~spikefab.hdl.link.LinkedNetwork` of ``params``
    at ``clk_hz`` with ``divisor`` clocks per UART bit and an inter-byte timeout of
    ``timeout`` clocks), deterministic; ports ``clk, rst, rx, tx`` and the LEDs. The
    simulated board is generated from ``params.shape.params()``: the same hardware with blank
    run-time values."""
    if not isinstance(params, NetworkParams):
        raise InvalidType(f"Params must be a NetworkParams, not {params!r}")
    from spikefab.toolchain import setup_environ
    setup_environ()
    top = LinkedNetwork(params, clk_hz=clk_hz, divisor=divisor, timeout=timeout)
    return verilog.convert(top, name=name, emit_src=False)


def _harness_text():
    try:
        return cpp_main_text(HARNESS)
    except FileNotFoundError:
        raise RuntimeError(f"The simulated board's C++ harness {HARNESS} is missing; "
                           f"reinstall spikefab") from None


def build_board(params, divisor=SIM_DIVISOR, timeout=SIM_TIMEOUT, build_root=None,
                waves=None, clk_hz=SIM_CLK_HZ):
    """Generate and compile the simulated board of ``params`` (built from its shape alone,
    ``params.shape.params()``, so that every network of the same shape shares the build);
    reuse an identical build.

    ``clk_hz``, ``divisor`` and ``timeout`` are the board's nominal clock, clocks per UART bit
    and inter-byte timeout in clocks: the simulated board of a real one is built with that
    board's (``spikefab.hdl.link.link_timing(board.target_hz, baud)``).

    Concurrent builds of the same board (``pytest -n``) wait on a lock instead of racing.
    ``waves`` (default: the ``WAVES`` environment variable) builds with VCD tracing, in its
    own folder.

    Returns
    -------
    BoardBuild

    Raises
    ------
    spikefab.toolchain.ToolNotFound
        Without Verilator (the message names it, ``VERILATOR`` and how to install it).
    RuntimeError
        If the compilation fails (the message names the log).
    """
    from spikefab.toolchain import find, setup_environ
    if not isinstance(divisor, int) or divisor < 4:
        raise InvalidValue(f"Divisor must be an integer >= 4, not {divisor!r}")
    if not isinstance(timeout, int) or timeout < 1:
        raise InvalidValue(f"Timeout must be a positive integer of clocks, not {timeout!r}")
    if not isinstance(clk_hz, (int, float)) or not clk_hz > 0:
        raise InvalidValue(f"Clock must be a positive frequency in Hz, not {clk_hz!r}")
    setup_environ()
    tool = find("VERILATOR")
    if not isinstance(params, NetworkParams):
        raise InvalidType(f"Params must be a NetworkParams, not {params!r}")
    # Like a flashed board, the simulated one holds no network of its own: it is generated
    # from the shape alone (blank weights and parameters), the host loads every value
    # (``Device.load``), and every network of one shape shares one build.
    shape = params.shape
    params = shape.params()
    harness = _harness_text()
    if waves is None:
        waves = os.environ.get("WAVES", "") not in ("", "0")
    defines = f"-DDIVISOR={divisor} -DQUIET={quiet_clocks(divisor, timeout)}"
    flags = [defines] + _MAKE_OPT + _SPLIT + (["--trace"] if waves else [])
    root = os.path.abspath(build_root or DEFAULT_BUILD_ROOT)
    # Generating the Verilog (Yosys) costs seconds: an index keyed by everything it depends
    # on (the shape, the link's settings, the gateware's source, the tool versions) names
    # the build that the Verilog's hash chose before.
    # (``clk_hz`` changes nothing of the Verilog today, but the link is built with it)
    index = source_key(json.dumps(shape.to_json(), sort_keys=True, default=str), divisor,
                       timeout, repr(float(clk_hz)), " ".join(flags), harness)
    key = read_index(root, index)
    text = None
    if key is None:
        text = board_verilog(params, divisor, timeout, clk_hz=clk_hz)
        key = key_of(text, harness, " ".join(flags))
    with build_folder(root, key) as folder:
        bdir = folder.path
        exe = folder.file("simboard")
        if folder.built and os.path.exists(exe):
            write_index(root, index, key)
            return BoardBuild(exe, bdir, 0.0, divisor, timeout, waves, clk_hz)
        t0 = time.perf_counter()
        if text is None:
            text = board_verilog(params, divisor, timeout, clk_hz=clk_hz)
        src = os.path.join(bdir, f"{BOARD_TOP}.v")
        with open(src, "w") as f:
            f.write(text)
        with open(os.path.join(bdir, "params.json"), "w") as f:
            json.dump(dict(shape.to_json(), top=BOARD_TOP, divisor=divisor,
                           timeout=timeout), f, indent=1, sort_keys=True, default=str)
            f.write("\n")
        cpp = os.path.join(bdir, "simboard.cpp")
        with open(HARNESS) as f, open(cpp, "w") as out:
            out.write(f.read())
        obj = os.path.join(bdir, "obj")
        cmd = [tool, "--cc", "--exe", "--build", "-j", "2", "-Wno-fatal", "--no-timing",
               "--top-module", BOARD_TOP, "--prefix", "Vboard", "--Mdir", obj,
               "-CFLAGS", f"{defines} -I{CPP_INCLUDE}",
               "-MAKEFLAGS", " ".join(_MAKE_OPT),
               *_SPLIT, "-o", exe, src, cpp]
        if waves:
            cmd[1:1] = ["--trace", "--timescale", "1ns/1ns"]
        env = dict(os.environ)
        env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " " + PCH_MAKEFLAG).strip()
        log = os.path.join(bdir, "build.log")
        with open(log, "w") as f:
            r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=bdir)
        if r.returncode != 0 or not os.path.exists(exe):
            raise RuntimeError(f"Verilator build of the simulated board failed (exit "
                               f"{r.returncode}); log {log}")
        write_index(root, index, key)
        return BoardBuild(exe, bdir, time.perf_counter() - t0, divisor, timeout, waves,
                          clk_hz)
