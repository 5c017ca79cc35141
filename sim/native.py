"""The native Verilator harness: a core or a network top compiled with a C++ main
(``harness.cpp``) and driven from Python in bulk.

Where the cocotb testbenches make one Python call per clock, here Python sends a whole step (a
core's events) or a whole run of steps (a network top's input words) and a batch of
configuration commands at a time, over a pipe; the clock loop, the stream handshakes and the
step barrier run in C++. Every step is still compared with the golden model by the same
checks as the cocotb testbenches (:mod:`.scoreboard`), with the same messages.

Like the simulated board, a native build holds no network of its own: it is generated from the
shape alone (``params.shape``, blank run-time values), every network of one shape shares it,
and a run loads its weights, neuron parameters, learning registers and routes through the
configuration port first (in C++, a few clocks each).

:func:`run_core` and :func:`run_network` run a network and return what
:func:`~spikefab.sim.rtl.simulate_rtl` and :func:`~spikefab.sim.network.simulate_network_rtl`
return (they call these for ``sim="verilator"``). ``coverage=True`` builds with Verilator's
line and toggle coverage and writes each run's counts to a ``.dat`` file
(:mod:`spikefab.sim.coverage`).
"""

import json
import os
import struct
import subprocess
import time
from types import SimpleNamespace

import numpy as np
from amaranth.back import verilog
from amaranth.hdl import Module, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from spikefab.errors import InvalidType, InvalidValue
from spikefab.golden import Simulator, simulate
from spikefab.shape.cfg import Space
from spikefab.shape.core import CoreParams, check_weight_ram
from spikefab.shape.image import (CoreMap, RunResult, clear_entries, core_image, network_image,
                                  pack_cfg, pack_input, pack_network_cfg, population_state,
                                  post_addr, projection_traces, trace_addresses, unpack_output,
                                  unpack_state, unpack_traces, weights_from_words)
from spikefab.shape.latency import CYCLES_BITS
from spikefab.shape.latency import update_start as compute_update_start
from spikefab.shape.network import NetworkParams, derive

from .cache import build_folder, key_of, read_index, source_key, write_index
from .runner import PCH_MAKEFLAG
from .scoreboard import (Scoreboard, check_core_state, check_core_step, first_mismatch,
                         golden_checkpoints, network_weights)

__all__ = ["HARNESS", "NATIVE_TOP", "DEFAULT_BUILD_ROOT", "NativeBuild", "native_verilog",
           "build_native", "NativeSim", "run_core", "run_network"]

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
    with open(HARNESS) as f:
        harness = f.read()
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
        with open(cpp, "w") as f:
            f.write(harness)
        defines = " ".join(f"-D{k.upper()}_BYTES={max(1, (widths[k] + 7) // 8)}"
                           for k in ("ev", "out", "cfg", "rd"))
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


def _prob(p, what):
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
            "<BIIIIII", 1 if core else 0, ndone, _prob(valid_prob, "Valid probability"),
            _prob(ready_prob, "Ready probability"), patience, drain, len(words)))
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


def _stack(runs, batched, get):
    arr = np.stack([np.asarray(get(r)) for r in runs])
    return arr if batched else arr[0]


def _what(seed, net):
    return ("" if seed is None else f"seed {seed}: ") + f"network {net.name!r}: "


# -- a core top ------------------------------------------------------------------------------

def run_core(net, x, lanes=1, record_state=False, check=False, seed=None, ready_prob=1.0,
             shuffle=False, weight_ram="dual", check_learning_every=1, coverage_file=None,
             build_root=None):
    """Run the one-population network ``net`` on the inputs ``x`` ``(T, inputs)`` on the
    native harness of its core; the result dict of the cocotb core testbench (``spikes``,
    ``u``, ``v``, ``cycles``, and for a plastic core ``weights`` and ``traces``).

    Every step's spikes (in order, at the clock they transfer), its cycle count (against the
    measured span and :func:`~spikefab.shape.latency.step_cycles`) and, with ``check``, its
    state and the plastic weights and traces (every ``check_learning_every`` steps) are
    compared with the golden model, failing with the testbench's messages.
    """
    _prob(ready_prob, "Ready probability")
    cmap = CoreMap(net, lanes=lanes)
    p = cmap.params
    build = build_native(p, weight_ram, coverage=coverage_file is not None,
                         build_root=build_root)
    what = "" if seed is None else f"seed {seed}: "
    rng = np.random.default_rng([0 if seed is None else seed, 17])
    name = cmap.pop.name
    steps, n = x.shape[0], p.neurons
    spikes = np.zeros((steps, n), np.uint8)
    record = record_state or check
    u = np.zeros((steps, n), np.int64) if record else None
    v = np.zeros((steps, n), np.int64) if record else None
    cycles = np.zeros(steps, np.int64)
    golden = Simulator(net) if check else None
    with NativeSim(build, coverage_file) as sim:
        sim.seed(0 if seed is None else seed)
        _load_core(sim, p, what)

        def cfg_reads(entries):
            return sim.config([(True, pack_cfg(p, 0, space, addr)) for space, addr in entries])

        def read_weights():
            return weights_from_words(p, cfg_reads([(Space.WEIGHT, a)
                                                    for a in range(p.weight_depth)]))

        def read_traces():
            out = []
            for k, g in enumerate(p.plastic_groups):
                off, size = p.pre_offsets[k], p.axon_shifts[g][0]
                pre = cfg_reads([(Space.PRE, off + j) for j in range(size)])
                post = []
                for word in cfg_reads([(Space.POST, post_addr(p, k, row))
                                       for row in range(p.rows)]):
                    post += unpack_traces(p, word)
                out.append((pre, post[:n]))
            return out

        prev = np.zeros(n, bool)
        for t in range(steps):
            events = cmap.events(x[t], prev)
            if shuffle:
                events = rng.permutation(events)
            expect = None
            if check:
                # the core takes this step's recurrent spikes with the next step's events
                expect = list(np.flatnonzero(golden.update(x[t][None])[name][0]))
            r = sim.run([int(e) for e in events], 1, core=True, ready_prob=ready_prob)
            assert not r.stalled and r.dones, (
                f"{what}step {t}: no done within {NO_PROGRESS} clocks of the last progress")
            begin_, done_at, cyc, _ = r.dones[0]
            ids = [word for _, _, word in r.outputs]
            clocks = [clock for clock, _, _ in r.outputs]
            if expect is not None:
                for k, nid in enumerate(ids):
                    assert k < len(expect) and expect[k] == nid, (
                        f"{what}step {t}, field spike #{k}: got neuron {nid}, expected "
                        f"{'none' if k >= len(expect) else f'neuron {expect[k]}'} "
                        f"(clock {clocks[k]})")
            ustart = compute_update_start(p, len(events), r.first, r.start, weight_ram)
            begin = r.first if len(events) else r.start
            check_core_step(what, t, p, ids, expect, clocks, ustart, begin, done_at, cyc,
                            len(events), weight_ram)
            cycles[t] = cyc
            spikes[t, ids] = 1
            prev = spikes[t].astype(bool)
            if record:
                uu, vv, rr = [], [], []
                for word in cfg_reads([(Space.STATE, row) for row in range(p.rows)]):
                    a, b, c = unpack_state(p, word)
                    uu += a
                    vv += b
                    rr += c
                u[t], v[t] = uu[:n], vv[:n]
                if check:
                    check_core_state(what, t, n, (uu, vv, rr), golden, name)
            if check and p.plastic and ((t + 1) % check_learning_every == 0
                                        or t == steps - 1):
                w = read_weights()
                for g, (off, (size, _)) in enumerate(zip(p.axon_offsets, p.axon_shifts)):
                    gw = golden.weights[g]
                    gw = gw[0] if gw.ndim == 3 else gw
                    first_mismatch(what, t, f"weight of projection {g}", w[off:off + size], gw)
                for k, (pre, post) in enumerate(read_traces()):
                    g = p.plastic_groups[k]
                    first_mismatch(what, t, f"pre trace of projection {g}", np.array(pre),
                                   golden.pre[g][0])
                    first_mismatch(what, t, f"post trace of projection {g}", np.array(post),
                                   golden.post[g][0])
            if check:
                golden.deliver()
        res = {"spikes": spikes, "u": u, "v": v, "cycles": cycles}
        if p.plastic:
            # the last step's recurrent spikes reach their synapses (accumulated for a step
            # that does not run, and depressed), as a network top's barrier does
            events = cmap.events(np.zeros(net.inputs, bool), prev)
            r = sim.run([int(e) for e in events], 0)
            assert not r.stalled, f"{what}after the last step: recurrent events not taken"
            res["weights"] = read_weights()
            res["traces"] = read_traces()
    return res


def _load_core(sim, p, what):
    """Write the run-time values of ``p`` into the blank core and clear its state
    (accumulators, neuron state, traces: as a network top's load does); read each back."""
    image = core_image(p) + [(space, row, 0) for space in (Space.STATE, Space.ACC)
                             for row in range(p.rows)]
    for k, g in enumerate(p.plastic_groups):
        image += [(Space.PRE, p.pre_offsets[k] + j, 0) for j in range(p.axon_shifts[g][0])]
        image += [(Space.POST, post_addr(p, k, row), 0) for row in range(p.rows)]
    sim.config([(False, pack_cfg(p, 1, space, addr, word)) for space, addr, word in image])
    got = sim.config([(True, pack_cfg(p, 0, space, addr)) for space, addr, _ in image])
    for (space, addr, word), back in zip(image, got):
        assert back == word, (f"{what}{Space(space).name.lower()} word {addr}: read {back:#x}, "
                              f"wrote {word:#x}")


# -- a network top ---------------------------------------------------------------------------

class _NetworkRun:
    """One run of a network top on the native harness: what the
    :class:`~spikefab.sim.scoreboard.Scoreboard` reads (``what``, ``net``, ``m``, ``p``,
    ``golden``, ``t0``) and the configuration port's reads."""

    def __init__(self, sim, p, net, what, golden):
        self.sim, self.p, self.m, self.net = sim, p, p.mapping, net
        self.what, self.golden, self.t0 = what, golden, 0

    def writes(self, entries):
        p = self.p
        self.sim.config([(False, pack_network_cfg(p, c, 1, space, addr, word))
                         for c, space, addr, word in entries])

    def reads(self, entries):
        p = self.p
        return self.sim.config([(True, pack_network_cfg(p, c, 0, space, addr))
                                for c, space, addr in entries])

    def load(self):
        """Write the network's weights, parameters and routes and clear its state; read the
        parameters and the cleared words (state, accumulators, traces) back."""
        image = network_image(self.p)
        clear = clear_entries(self.p)
        self.writes(image["weights"] + image["params"] + image["routes"] + clear)
        got = self.reads([(c, s, a) for c, s, a, _ in image["params"] + clear])
        for (c, space, addr, word), back in zip(image["params"] + clear, got):
            assert back == word, (f"{self.what}core {c}, {Space(space).name.lower()} word "
                                  f"{addr}: read {back}, wrote {word}")

    def read_state(self):
        rows = [(c, Space.STATE, row) for c, cp in enumerate(self.p.cores)
                for row in range(cp.rows)]
        flat = self.reads(rows)
        words, k = [], 0
        for cp in self.p.cores:
            words.append(flat[k:k + cp.rows])
            k += cp.rows
        return population_state(self.m, self.p.cores, words)

    def read_weights(self, plastic_only=False):
        per_core = []
        for c, cp in enumerate(self.p.cores):
            if plastic_only and not cp.plastic:
                per_core.append(np.zeros((cp.axons, cp.neurons), np.int64))
                continue
            words = self.reads([(c, Space.WEIGHT, a) for a in range(cp.weight_depth)])
            per_core.append(weights_from_words(cp, words))
        return network_weights(self.what, self.p, per_core, plastic_only)

    def read_traces(self):
        addrs = trace_addresses(self.m, self.p.cores)
        words = dict(zip(addrs, self.reads(addrs))) if addrs else {}
        return projection_traces(self.m, self.p.cores, words)


def run_network(net, x, options=None, record_state=False, read_weights=True, check=False,
                seed=None, ready_prob=1.0, valid_prob=1.0, checkpoint=0, chunk=4096,
                coverage_file=None, build_root=None):
    """Run ``net`` on the inputs ``x`` ``(T, inputs)`` on the native harness of its network
    top (``options``: keyword arguments of :func:`~spikefab.shape.network.derive`); the result
    dict of the cocotb network testbench (``spikes``, ``u``, ``v``, ``weights``, ``pre``,
    ``post``, ``cycles``, ``starts``, ``outputs``).

    Steps run ``chunk`` at a time (one at a time with ``record_state`` or ``checkpoint``:
    the state is read between steps), the input words of a step in a random order (``seed``).
    Every output event is checked as it comes (its tag, its neuron spiking in that step in the
    golden model, no duplicate), every step's counters at its barrier, and with ``check`` the
    state, the plastic weights and traces every ``checkpoint`` steps and the final weights,
    with the messages of the cocotb testbench.
    """
    _prob(ready_prob, "Ready probability")
    _prob(valid_prob, "Valid probability")
    options = dict(options or {})
    p = derive(net, **options)
    build = build_native(p, coverage=coverage_file is not None, build_root=build_root)
    what = _what(seed, net)
    rng = np.random.default_rng([0 if seed is None else seed, 31, 0])
    x = np.asarray(x, bool)
    T, pops = x.shape[0], net.populations
    golden = simulate(net, x, record_state=True) if check else None
    plastic = any(pr.plastic for pr in net.projections)
    every = int(checkpoint) if plastic and check else 0
    checkpoints = golden_checkpoints(net, x, every) if every else {}
    spikes = {q.name: np.zeros((T, q.size), np.uint8) for q in pops}
    u = {q.name: np.zeros((T, q.size), np.int64) for q in pops} if record_state else None
    v = {q.name: np.zeros((T, q.size), np.int64) for q in pops} if record_state else None
    cycles = np.zeros(T, np.int64)
    starts = np.zeros(T, np.int64)
    order = []
    step = 1 if record_state or every else max(1, int(chunk))
    with NativeSim(build, coverage_file) as sim:
        sim.seed(0 if seed is None else seed)
        run = _NetworkRun(sim, p, net, what, golden)
        run.load()
        sb = Scoreboard(run)
        for t0 in range(0, T, step):
            t1 = min(T, t0 + step)
            words = []
            for t in range(t0, t1):
                chans = [int(j) for j in rng.permutation(np.flatnonzero(x[t]))]
                words += [pack_input(p, j) for j in chans] + [pack_input(p, None)]
            r = sim.run(words, t1 - t0, valid_prob=valid_prob, ready_prob=ready_prob,
                        drain=DRAIN if t1 == T else 0)
            assert not r.stalled, (f"{what}step {t0 + len(r.dones)}: no progress for "
                                   f"{NO_PROGRESS} clocks")
            for clock, after, word in r.outputs:
                assert after < t1 - t0, (
                    f"{what}after the last step: an output event was offered")
                h, tag = unpack_output(p, word)
                t = t0 + after
                running = clock >= r.dones[after][0]
                pop, i = sb.event(t if running else None, tag, h)
                order.append((t, h))
                spikes[pop][t, i] = 1
            for k, (begin, end, cyc, stp) in enumerate(r.dones):
                t = t0 + k
                sb.step(t)
                starts[t] = begin
                cycles[t] = sb.cycles(t, begin, end, t + 1, cyc, stp)
                if record_state:
                    uu, vv, _ = run.read_state()
                    for q in pops:
                        u[q.name][t], v[q.name][t] = uu[q.name], vv[q.name]
                    if golden is not None:
                        sb.state(t, uu, vv)
                if t in checkpoints:
                    w = run.read_weights(plastic_only=True)
                    sb.learning(t, w, run.read_traces(), checkpoints[t])
        if golden is not None:
            sb.spikes(spikes)
        weights = pre = post = None
        if read_weights:
            weights = run.read_weights()
            if golden is not None:
                sb.weights(weights)
            if plastic:
                traces = run.read_traces()
                pre, post = traces[0], traces[1]
                if golden is not None:
                    sb.learning("final", None, traces,
                                (golden.weights, golden.pre_traces, golden.post_traces))
    return {"spikes": spikes, "u": u, "v": v, "weights": weights, "cycles": cycles,
            "starts": starts, "outputs": order, "pre": pre, "post": post}


def result_of(net, runs, batched, record_state, read_weights=True):
    """The :class:`~spikefab.shape.image.RunResult` of :func:`run_network`'s result dicts (one
    per batch entry)."""
    names = [q.name for q in net.populations]
    spikes = {n: _stack(runs, batched, lambda r, n=n: r["spikes"][n]) for n in names}
    u = v = None
    if record_state:
        u = {n: _stack(runs, batched, lambda r, n=n: r["u"][n]) for n in names}
        v = {n: _stack(runs, batched, lambda r, n=n: r["v"][n]) for n in names}
    nb = len(runs)
    if read_weights:
        weights = [_stack(runs, batched, lambda r, k=k: r["weights"][k])
                   for k in range(len(net.projections))]
    else:
        weights = [np.repeat(pr.weights[None], nb, 0) if batched else pr.weights.copy()
                   for pr in net.projections]
    pre, post = [None] * len(net.projections), [None] * len(net.projections)
    if read_weights:
        for k, pr in enumerate(net.projections):
            if pr.plastic:
                pre[k] = _stack(runs, batched, lambda r, k=k: r["pre"][k])
                post[k] = _stack(runs, batched, lambda r, k=k: r["post"][k])
    return RunResult(spikes, u, v, weights, pre, post,
                     cycles=_stack(runs, batched, lambda r: r["cycles"]))
