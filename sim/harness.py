"""The native Verilator harness's build and process: a core or network top behind a uniform
wrapper, compiled with the C++ main ``harness.cpp`` (clock loop, stream handshakes, step barrier
in C++), and :class:`NativeSim`, the pipe to a running one (see the protocol at the top of
``harness.cpp``). :mod:`.native` runs networks on it against the golden model.

Like the simulated board, a native build holds no network of its own: it is generated from the
shape alone (``params.shape``, blank run-time values), every network of one shape shares it
(an index keyed by the shape and the sources finds it without generating the Verilog), and a
run loads its values through the configuration port. ``coverage=True`` builds with
Verilator's line and toggle coverage; the harness writes the counts when it closes
(:mod:`.coverage`).
"""

import json
import os
import struct
import subprocess
import time
from types import SimpleNamespace

from amaranth.back import verilog
from amaranth.hdl import Module, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from spikefab.errors import InvalidType, InvalidValue
from spikefab.shape.core import CoreParams, check_weight_ram
from spikefab.shape.latency import CYCLES_BITS
from spikefab.shape.network import NetworkParams

from .cache import build_folder, key_of, read_index, source_key, write_index
from .runner import CPP_INCLUDE, PCH_MAKEFLAG, cpp_main_text

__all__ = ["HARNESS", "NATIVE_TOP", "DEFAULT_BUILD_ROOT", "NO_PROGRESS", "DRAIN", "NativeBuild",
           "native_verilog", "build_native", "NativeSim", "check_prob"]

#: The C++ main.
HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness.cpp")
#: Module name of the uniform wrapper around the top.
NATIVE_TOP = "spikefab_native"
#: Where native builds land unless told otherwise (``build/native[-coverage]/<key>``).
DEFAULT_BUILD_ROOT = os.path.join("build", "native")

# The model's construction code runs once (-O0); its evaluation every clock (-O1: measured on
# the simulated board, -O2 builds slower for no more speed). Large evaluation functions split
# into smaller ones and files (the C++ compiler takes superlinear time over one huge function).
_MAKE_OPT = ["OPT_SLOW=-O0", "OPT_GLOBAL=-O1", "OPT_FAST=-O1"]
_SPLIT = ["--output-split", "5000", "--output-split-cfuncs", "2000"]
_COVERAGE = ["--coverage-line", "--coverage-toggle"]

#: Clocks without a transfer or a step boundary after which a run fails (as the cocotb
#: testbenches).
NO_PROGRESS = 200000
#: Clocks after a run's last step in which nothing may come out.
DRAIN = 20
_ALWAYS = 0xFFFFFFFF


def _width(port):
    return Value.cast(port).shape().width


class _Uniform(wiring.Component):
    """A core or network top behind ports of uniform names (what ``harness.cpp`` drives):
    ``ev_*`` its input stream, ``out_*`` its output stream, ``cfg_*`` and ``rd_*`` its
    configuration port, ``start``, ``done``, ``busy``, ``cycles``, ``steps``."""

    def __init__(self, top, core):
        self._top, self._core = top, core
        self._ev = top.i_event if core else top.i_input
        self._out = top.o_spike if core else top.o_output
        self.widths = {"ev": _width(self._ev.payload), "out": _width(self._out.payload),
                       "cfg": _width(top.i_cfg.payload), "rd": _width(top.o_rdata.payload),
                       "steps": 1 if core else _width(top.steps)}
        w = self.widths
        super().__init__({
            "ev_valid": In(1), "ev_ready": Out(1), "ev_data": In(w["ev"]),
            "out_valid": Out(1), "out_ready": In(1), "out_data": Out(w["out"]),
            "cfg_valid": In(1), "cfg_ready": Out(1), "cfg_data": In(w["cfg"]),
            "rd_valid": Out(1), "rd_ready": In(1), "rd_data": Out(w["rd"]),
            "start": In(1), "done": Out(1), "busy": Out(1), "cycles": Out(CYCLES_BITS),
            "steps": Out(w["steps"]),
        })

    def elaborate(self, platform):
        m = Module()
        top = self._top
        m.submodules.top = top
        for ours, theirs, inward in (("ev", self._ev, True), ("out", self._out, False),
                                     ("cfg", top.i_cfg, True), ("rd", top.o_rdata, False)):
            valid, ready = getattr(self, f"{ours}_valid"), getattr(self, f"{ours}_ready")
            data = getattr(self, f"{ours}_data")
            if inward:
                m.d.comb += [theirs.valid.eq(valid), Value.cast(theirs.payload).eq(data),
                             ready.eq(theirs.ready)]
            else:
                m.d.comb += [valid.eq(theirs.valid), data.eq(Value.cast(theirs.payload)),
                             theirs.ready.eq(ready)]
        m.d.comb += [self.done.eq(top.done), self.busy.eq(top.busy),
                     self.cycles.eq(top.cycles)]
        if self._core:
            m.d.comb += top.start.eq(self.start)
        else:
            m.d.comb += self.steps.eq(top.steps)
        return m


def _top_of(params, weight_ram):
    """The gateware of ``params``: a :class:`~spikefab.hdl.core.Core` for a
    :class:`CoreParams`, a :class:`~spikefab.hdl.network.NetworkTop` for a
    :class:`NetworkParams`; True for a core."""
    if isinstance(params, CoreParams):
        from spikefab.hdl.core import Core
        return Core(params, weight_ram), True
    if isinstance(params, NetworkParams):
        from spikefab.hdl.network import NetworkTop
        return NetworkTop(params), False
    raise InvalidType(f"Params must be a CoreParams or a NetworkParams, not {params!r}")


def native_verilog(params, weight_ram="dual"):
    """The Verilog of the uniform wrapper around the top of ``params`` (deterministic) and its
    port widths ``{"ev", "out", "cfg", "rd", "steps"}``."""
    from spikefab.toolchain import setup_environ
    setup_environ()
    top, core = _top_of(params, weight_ram)
    wrapper = _Uniform(top, core)
    return verilog.convert(wrapper, name=NATIVE_TOP, emit_src=False), wrapper.widths


class NativeBuild:
    """A compiled native harness.

    Attributes
    ----------
    exe, folder : str
        The executable and its build folder (Verilog, ``params.json``, ``build.log``).
    core : bool
        A core top (else a network top).
    widths : dict
        Port widths in bits: ``ev``, ``out``, ``cfg``, ``rd``, ``steps``.
    coverage : bool
        Built with line and toggle coverage.
    seconds : float
        Wall time this call spent building (0 for a cached build).
    """

    def __init__(self, exe, folder, core, widths, coverage, seconds):
        self.exe, self.folder, self.core = exe, folder, core
        self.widths, self.coverage, self.seconds = widths, coverage, seconds

    @property
    def verilog(self):
        """Path of the generated Verilog."""
        return os.path.join(self.folder, f"{NATIVE_TOP}.v")


def build_native(params, weight_ram="dual", coverage=False, build_root=None):
    """Generate and compile the native harness of ``params`` (a :class:`CoreParams` or a
    :class:`NetworkParams`) from its shape alone; reuse an identical build.

    Concurrent builds of one design wait on a lock (:mod:`.cache`); an index keyed by the
    shape and the sources finds a cached build without generating the Verilog again.

    Returns
    -------
    NativeBuild

    Raises
    ------
    spikefab.toolchain.ToolNotFound
        Without Verilator.
    RuntimeError
        If the compilation fails (the message names the log).
    """
    from spikefab.toolchain import find, setup_environ
    if not isinstance(params, (CoreParams, NetworkParams)):
        raise InvalidType(f"Params must be a CoreParams or a NetworkParams, not {params!r}")
    if isinstance(params, CoreParams):
        check_weight_ram(weight_ram, params.lanes * params.weight_bits, params.weight_slots,
                         params.plastic)
        if weight_ram == "ice40_spram":
            raise InvalidValue("Simulator for weight RAM 'ice40_spram' (the primitive's own "
                               "model) must be icarus, not 'verilator'")
    elif "ice40_spram" in params.weight_rams:
        raise InvalidValue("Simulator for weight RAM 'ice40_spram' (the primitive's own model) "
                           "must be icarus, not 'verilator'")
    setup_environ()
    tool = find("VERILATOR")
    shape = params.shape
    blank = shape.params()
    harness = cpp_main_text(HARNESS)
    flags = _MAKE_OPT + _SPLIT + (_COVERAGE if coverage else [])
    root = os.path.abspath(build_root or (DEFAULT_BUILD_ROOT + ("-coverage" if coverage
                                                                 else "")))
    shape_text = json.dumps(shape.to_json(), sort_keys=True, default=str)
    index = source_key(type(params).__name__, shape_text, weight_ram, " ".join(flags), harness)
    key = read_index(root, index)
    text = widths = None
    if key is None:
        text, widths = native_verilog(blank, weight_ram)
        key = key_of(text, harness, " ".join(flags))
    with build_folder(root, key) as folder:
        exe = folder.file("native")
        meta = folder.file("ports.json")
        core = isinstance(params, CoreParams)
        if folder.built and os.path.exists(exe) and os.path.exists(meta):
            with open(meta) as f:
                widths = json.load(f)
            write_index(root, index, key)
            return NativeBuild(exe, folder.path, core, widths, coverage, 0.0)
        t0 = time.perf_counter()
        if text is None:
            text, widths = native_verilog(blank, weight_ram)
        src = folder.file(f"{NATIVE_TOP}.v")
        with open(src, "w") as f:
            f.write(text)
        with open(folder.file("params.json"), "w") as f:
            json.dump(dict(json.loads(shape_text), weight_ram=weight_ram, top=NATIVE_TOP), f,
                      indent=1, sort_keys=True)
            f.write("\n")
        cpp = folder.file("harness.cpp")
        with open(HARNESS) as f, open(cpp, "w") as out:
            out.write(f.read())
        defines = " ".join(f"-D{k.upper()}_BYTES={max(1, (widths[k] + 7) // 8)}"
                           for k in ("ev", "out", "cfg", "rd")) + f" -I{CPP_INCLUDE}"
        cmd = [tool, "--cc", "--exe", "--build", "-j", "2", "-Wno-fatal", "--no-timing",
               "--top-module", NATIVE_TOP, "--prefix", "Vnative", "--Mdir", folder.file("obj"),
               "-CFLAGS", defines, "-MAKEFLAGS", " ".join(_MAKE_OPT), *_SPLIT,
               *(_COVERAGE if coverage else []), "-o", exe, src, cpp]
        env = dict(os.environ)
        env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " " + PCH_MAKEFLAG).strip()
        log = folder.file("build.log")
        with open(log, "w") as f:
            r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env,
                               cwd=folder.path)
        if r.returncode != 0 or not os.path.exists(exe):
            raise RuntimeError(f"Verilator build of the native harness failed (exit "
                               f"{r.returncode}); log {log}")
        with open(meta, "w") as f:
            json.dump(widths, f)
        write_index(root, index, key)
        return NativeBuild(exe, folder.path, core, widths, coverage,
                           time.perf_counter() - t0)


def _nbytes(bits):
    return max(1, (bits + 7) // 8)


def check_prob(p, what):
    if not isinstance(p, (int, float)) or not 0 < p <= 1:
        raise InvalidValue(f"{what} must be a probability in (0, 1], not {p!r}")
    return _ALWAYS if p >= 1 else int(p * 2 ** 32)


class NativeSim:
    """A running native harness (a child process; see the protocol at the top of
    ``harness.cpp``). Use as a context manager, or :meth:`close` it.

    Parameters
    ----------
    build : NativeBuild
    coverage_file : str, optional
        With a coverage build, where the counts go when it closes.
    """

    def __init__(self, build, coverage_file=None):
        self.build = build
        w = build.widths
        self.ev, self.out = _nbytes(w["ev"]), _nbytes(w["out"])
        self.cfg_bytes, self.rd = _nbytes(w["cfg"]), _nbytes(w["rd"])
        args = [build.exe] + ([os.path.abspath(coverage_file)] if coverage_file else [])
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.now = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """End the harness (a coverage build writes its counts) and wait for it."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"Q")
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def _send(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise RuntimeError(f"The native harness {self.build.exe} exited (code "
                               f"{self.proc.wait()})") from None

    def _read(self, n):
        data = self.proc.stdout.read(n)
        if len(data) < n:
            raise RuntimeError(f"The native harness {self.build.exe} exited (code "
                               f"{self.proc.wait()})")
        return data

    def _reply(self, tag):
        got = self._read(1)
        if got != tag:
            raise RuntimeError(f"The native harness answered {got!r}, not {tag!r}")

    def seed(self, seed):
        """Seed the random gaps and backpressure."""
        self._send(b"P" + struct.pack("<Q", int(seed) & (2 ** 64 - 1)))

    def config(self, commands):
        """Send configuration commands ``[(read, word)]`` in order; the read data of the reads
        (ints), in order.

        Raises
        ------
        AssertionError
            When a command is not taken, or a read not answered, within a million clocks.
        """
        body = bytearray(b"C" + struct.pack("<I", len(commands)))
        for read, word in commands:
            body += bytes([1 if read else 0]) + int(word).to_bytes(self.cfg_bytes, "little")
        self._send(bytes(body))
        self._reply(b"c")
        status, n = struct.unpack("<BI", self._read(5))
        data = self._read(n * self.rd)
        self.now, = struct.unpack("<Q", self._read(8))
        assert status == 0, (f"configuration command {n + 1} of {len(commands)} not taken or "
                             f"not answered within a million clocks (clock {self.now})")
        return [int.from_bytes(data[k * self.rd:(k + 1) * self.rd], "little") for k in range(n)]

    def run(self, words, ndone, core=False, valid_prob=1.0, ready_prob=1.0,
            patience=NO_PROGRESS, drain=0):
        """Run until ``ndone`` step barriers (see ``'X'`` in ``harness.cpp``): ``words`` into
        the input stream, start pulsed after the last (a core, with ``core``).

        Returns
        -------
        SimpleNamespace
            ``stalled`` (``patience`` clocks without progress), ``first``, ``last``,
            ``start`` (clocks or None), ``dones`` (``[(begin, end, cycles, steps)]``),
            ``outputs`` (``[(clock, dones before, word)]``), ``now``.
        """
        body = bytearray(b"X" + struct.pack(
            "<BIIIIII", 1 if core else 0, ndone, check_prob(valid_prob, "Valid probability"),
            check_prob(ready_prob, "Ready probability"), patience, drain, len(words)))
        nb = self.ev
        body += b"".join(int(w).to_bytes(nb, "little") for w in words)
        self._send(bytes(body))
        self._reply(b"x")
        status, first, last, start, nd = struct.unpack("<BQQQI", self._read(29))
        raw = self._read(24 * nd)
        dones = [struct.unpack_from("<QQII", raw, 24 * k) for k in range(nd)]
        no, = struct.unpack("<I", self._read(4))
        rec = 12 + self.out
        raw = self._read(rec * no)
        outputs = []
        for k in range(no):
            clock, after = struct.unpack_from("<QI", raw, rec * k)
            outputs.append((clock, after, int.from_bytes(raw[rec * k + 12:rec * (k + 1)],
                                                         "little")))
        self.now, = struct.unpack("<Q", self._read(8))
        none = 2 ** 64 - 1
        return SimpleNamespace(stalled=status != 0, first=None if first == none else first,
                               last=None if last == none else last,
                               start=None if start == none else start, dones=dones,
                               outputs=outputs, now=self.now)

    def idle(self, clocks):
        self._send(b"I" + struct.pack("<Q", clocks))
        self._reply(b"i")
        self.now, = struct.unpack("<Q", self._read(8))
