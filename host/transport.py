"""The byte carriers of :class:`~spikefab.host.Device`: a board's serial port, or a simulated
board.

Every transport has the same calls, ``write(data)``, ``read(timeout)`` (the bytes that arrived
within ``timeout`` seconds, or ``b""``) and ``close()``, so that :class:`~spikefab.host.Device`
runs the same framing, CRC, timeout and retry code over each:

* :class:`SerialTransport`: a board on a serial port (pyserial); a port that cannot be opened
  or used raises :class:`PortError`, which says why and what to do;
* :class:`VerilatorTransport`: the board top compiled with Verilator
  (:mod:`spikefab.sim.board`) behind a pin-level UART model, the default simulated board;
* :class:`AmaranthTransport`: the same gateware in the Amaranth simulator (no compiler).

The simulated boards also have ``idle(seconds)`` (let the board run) and count simulated time
(``now``, ``clocks``), so a silent board makes the host time out after a bounded simulation.
"""

import errno
import os
import select
import stat
import struct
import subprocess
import time
import weakref

from spikefab.errors import InvalidValue
from spikefab.shape.protocol import LinkError
from spikefab.toolchain import ToolNotFound

__all__ = ["SIM_BACKENDS", "PortError", "SerialTransport", "VerilatorTransport",
           "AmaranthTransport", "sim_transport"]

#: Simulated-board backends of :func:`sim_transport`, the default first.
SIM_BACKENDS = ("verilator", "amaranth")


def sim_transport(params, backend="verilator", divisor=4, build_root=None):
    """The simulated board of ``params`` on ``backend`` (one of :data:`SIM_BACKENDS`)."""
    if not isinstance(backend, str) or backend not in SIM_BACKENDS:
        raise InvalidValue(f"Simulated board backend must be one of "
                           f"{', '.join(SIM_BACKENDS)}, not {backend!r}")
    if backend == "verilator":
        return VerilatorTransport(params, divisor, build_root=build_root)
    return AmaranthTransport(params, divisor)


class PortError(LinkError):
    """A serial port that cannot be opened or used, and what to do about it.

    Attributes
    ----------
    port : str
    reason : str
        ``"missing"`` (no such port), ``"not-serial"`` (a file, a directory, or a device that
        is no terminal), ``"busy"`` (another program holds it), ``"denied"`` (no permission),
        ``"vanished"`` (it went away, or was closed, after it was opened) or ``"other"``.
    """

    def __init__(self, port, reason, message):
        super().__init__(message)
        self.port, self.reason = port, reason


#: What a user does about a port that is absent.
_PLUG_IN = ("check that the board is plugged in and give the port it appears as "
            "(ls /dev/ttyUSB* /dev/ttyACM*)")


def _not_serial(port, what):
    return PortError(port, "not-serial", f"{port} is {what}, not a serial port: give the "
                                         f"board's serial port, e.g. /dev/ttyUSB1")


def _check_path(port):
    """Raise :class:`PortError` for a ``port`` that cannot be a serial port, before opening
    anything (POSIX: a serial port is a character device)."""
    try:
        st = os.stat(port)
    except (FileNotFoundError, NotADirectoryError):
        raise PortError(port, "missing", f"Serial port {port} does not exist: "
                                         f"{_PLUG_IN}") from None
    except OSError:
        return                           # pyserial's open says what is wrong
    if stat.S_ISDIR(st.st_mode):
        raise _not_serial(port, "a directory")
    if stat.S_ISREG(st.st_mode):
        raise _not_serial(port, "a regular file")
    if not stat.S_ISCHR(st.st_mode):
        raise _not_serial(port, "no character device")


def _open_error(port, e):
    """The :class:`PortError` of pyserial's ``SerialException`` ``e`` on opening ``port``."""
    no = e.errno
    if no in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return PortError(port, "missing", f"Serial port {port} does not exist: {_PLUG_IN}")
    if no in (errno.EACCES, errno.EPERM):
        return PortError(port, "denied", f"No permission to open serial port {port}: add "
                                         f"yourself to the group that owns it (ls -l {port}; "
                                         f"often 'dialout': sudo usermod -aG dialout $USER, "
                                         f"then log in again)")
    if no in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK):
        return PortError(port, "busy", f"Serial port {port} is in use by another program "
                                       f"(another spikefab, or a terminal such as screen or "
                                       f"minicom): close it and run again")
    # pyserial turns the termios.error of a device that is no terminal (/dev/null) into a
    # SerialException without an errno; the termios.error is its context
    try:
        from termios import error as termios_error
    except ImportError:                  # not POSIX
        termios_error = ()
    ctx = e.__context__
    if isinstance(ctx, termios_error) and ctx.args[:1] == (errno.ENOTTY,):
        return _not_serial(port, "a device that is no terminal")
    return PortError(port, "other", f"Cannot open serial port {port}: {e}")


class SerialTransport:
    """A serial port (pyserial, imported on use), 8N1, opened for this process alone, with
    the driver's lowest latency where it has one.

    The port is locked (pyserial's ``exclusive=True``, an advisory ``flock``), so that a second
    spikefab on the same port fails at once instead of stealing half the answers. The driver
    is asked for low latency (pyserial's ``set_low_latency_mode``: Linux's
    ``ASYNC_LOW_LATENCY``, which sets an FTDI chip's latency timer to 1 ms instead of its
    16 ms default, ``docs/protocol.md``); a pty or a driver that has no such setting is used
    as it is, and :attr:`low_latency` says which.

    Attributes
    ----------
    name : str
        The port.
    baud : int
    low_latency : bool
        The driver took the low-latency setting.

    Raises
    ------
    ToolNotFound
        pyserial is not installed.
    PortError
        The port does not exist, is no serial port, is in use by another program, or may not
        be opened; or (from :meth:`read` and :meth:`write`) it went away after it was opened.
    InvalidValue
        The port does not accept ``baud``.
    """

    def __init__(self, port, baud=1_000_000):
        try:
            import serial
        except ImportError:
            raise ToolNotFound("pyserial is needed to open a serial port; install it with "
                               "'pip install pyserial'") from None
        self.name, self.baud = port, baud
        if os.name == "posix":
            _check_path(port)
        try:
            self.port = serial.Serial(port, baud, timeout=0.01, exclusive=True)
        except serial.SerialException as e:
            # a port that is absent, busy or not the user's is for the user to fix, not a
            # bug of the host
            raise _open_error(port, e) from None
        except ValueError as e:
            raise InvalidValue(f"Baud rate must be one that serial port {port} accepts, "
                               f"not {baud!r} ({e})") from None
        # bytes that a previous session left unread (on a board, or on a simulated board
        # behind a pty) would be taken for the answers to this one's first commands
        self.port.reset_input_buffer()
        try:
            self.port.set_low_latency_mode(True)
            self.low_latency = True
        except (AttributeError, NotImplementedError, ValueError, OSError):
            # a pty, a driver without ASYNC_LOW_LATENCY, or not Linux: the default latency
            self.low_latency = False

    def _gone(self, e):
        return PortError(self.name, "vanished", f"Serial port {self.name} vanished or was "
                                                f"closed while in use ({e}): reconnect the "
                                                f"board and run again")

    def write(self, data):
        try:
            self.port.write(data)
        except OSError as e:             # pyserial's SerialException is an OSError
            raise self._gone(e) from None

    def read(self, timeout):
        """The bytes that arrived within ``timeout`` seconds: as soon as there are some (at
        least one), or none. pyserial's own ``read(n)`` would wait for ``n`` bytes or its
        whole timeout: on a response shorter than ``n`` that is the timeout on every command."""
        end = time.monotonic() + timeout
        try:
            while True:
                n = self.port.in_waiting
                if n:
                    return self.port.read(n)
                left = end - time.monotonic()
                if left <= 0:
                    return b""
                # wait for the first byte without spinning (a pty, a tty: a file descriptor)
                select.select([self.port.fileno()], [], [], min(left, 0.05))
        except OSError as e:             # SerialException too; select's own on a closed fd
            raise self._gone(e) from None

    def close(self):
        try:
            self.port.close()
        except OSError:
            pass                         # a port that vanished has nothing left to close


def _stop(proc, log):
    """Finaliser of a :class:`VerilatorTransport`: the simulator never outlives its host; an
    empty log (nothing went wrong) is removed."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for f in (proc.stdin, proc.stdout):
        if f is not None:
            f.close()
    log.close()
    if proc.returncode == 0 and os.path.getsize(log.name) == 0:
        os.remove(log.name)


class VerilatorTransport:
    """The board top (:class:`~spikefab.hdl.link.LinkedNetwork` of ``params``) compiled with
    Verilator (:func:`spikefab.sim.board.build_board`, cached under ``build/simboard``) and
    run in a child process that models the UART at its pins (``divisor`` clocks per bit).

    The child clocks the design only while :meth:`read` or :meth:`idle` asks it to, so time is
    simulated time at a nominal :data:`~spikefab.sim.board.SIM_CLK_HZ`: ``timeout`` in
    :meth:`read` is in simulated seconds, and a design that stops answering makes the host time
    out after a bounded number of clocks. The child exits when its pipe closes or its parent
    dies; a child that crashes, or that takes more than ``wall_limit`` seconds of wall time
    (plus one second per :attr:`min_rate` clocks asked for), is stopped and raises
    :class:`LinkError` naming its log.

    Parameters
    ----------
    params : NetworkParams
    divisor : int
        Clocks per UART bit (>= 4).
    timeout_clocks : int
        The link's inter-byte timeout (a frame that stops for longer is answered TRUNCATED).
    build_root : str, optional
        Default ``build/simboard``.
    wall_limit : float
        Seconds of wall time a request may take beyond its clock budget's allowance.

    Attributes
    ----------
    build : spikefab.sim.board.BoardBuild
    now : float
        Simulated seconds since the board came out of reset.
    clocks : int
        Clocks since reset.
    line_gap : int
        Idle bit times that the host leaves after every byte it sends (tests).
    min_rate : float
        Clocks per second of wall time that the watchdog allows for (50,000; the slowest
        build measured runs several times faster).
    log : str
        The child's standard error.
    waves : str or None
        The VCD that a board built with ``WAVES=1`` writes (complete once closed).
    """

    def __init__(self, params, divisor=None, timeout_clocks=None, build_root=None,
                 wall_limit=60.0):
        from spikefab.sim.board import SIM_CLK_HZ, SIM_DIVISOR, SIM_TIMEOUT, build_board
        divisor = SIM_DIVISOR if divisor is None else divisor
        timeout_clocks = SIM_TIMEOUT if timeout_clocks is None else timeout_clocks
        self.build = build_board(params, divisor, timeout_clocks, build_root)
        self.clk_hz = SIM_CLK_HZ
        self.divisor = divisor
        self.wall_limit = float(wall_limit)
        self.min_rate = 50_000.0         # clocks per second that any build runs at, at least
        self.line_gap = 0
        self.clocks = 0
        self.log = os.path.join(self.build.folder, f"run-{os.getpid()}-{id(self):x}.log")
        self.waves = self.log[:-4] + ".vcd" if self.build.waves else None
        logf = open(self.log, "w")
        argv = [self.build.exe] + ([self.waves] if self.waves else [])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=logf, bufsize=0)
        self._finalizer = weakref.finalize(self, _stop, self.proc, logf)

    @property
    def now(self):
        return self.clocks / self.clk_hz

    def _dead(self):
        code = self.proc.poll()
        what = "was stopped" if code is None else f"exited with status {code}"
        self._finalizer()
        return LinkError(f"The simulated board {what}; log {self.log}")

    def _send(self, data):
        try:
            self.proc.stdin.write(data)
        except (BrokenPipeError, ValueError, OSError):
            raise self._dead() from None

    def _recv(self, n, clocks):
        """``n`` reply bytes, waiting at most the wall time allowed for ``clocks`` clocks."""
        limit = self.wall_limit + clocks / self.min_rate
        deadline = time.monotonic() + limit
        fd = self.proc.stdout.fileno()
        out = bytearray()
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.proc.kill()
                self.proc.wait()
                raise LinkError(f"The simulated board did not finish {clocks:,} clocks within "
                                f"{limit:.3g} s of wall time and "
                                f"was stopped; log {self.log}")
            chunk = os.read(fd, n - len(out))
            if not chunk:
                raise self._dead()
            out += chunk
        return bytes(out)

    def write(self, data):
        """Queue ``data`` for the rx pin (sent while the board is clocked)."""
        data = bytes(data)
        if data:
            self._send(b"W" + struct.pack("<II", self.line_gap * self.divisor, len(data))
                       + data)

    def write_line(self, segments):
        """Queue raw levels of the rx pin: ``(level, clocks)`` pairs (breaks, glitches,
        framing errors)."""
        seg = [(int(bool(lv)), int(n)) for lv, n in segments]
        self._send(b"S" + struct.pack("<I", len(seg))
                   + b"".join(struct.pack("<BI", lv, n) for lv, n in seg))

    def read(self, timeout):
        """Simulate until bytes came out of the tx pin and the line then stayed idle for two
        byte times, or ``timeout`` simulated seconds passed; those bytes (maybe none)."""
        budget = max(1, int(round(timeout * self.clk_hz)))
        self._send(b"R" + struct.pack("<QQ", budget, 20 * self.divisor))
        head = self._recv(21, budget)
        if head[:1] != b"r":
            raise LinkError(f"The simulated board sent a malformed reply {head!r}; "
                            f"log {self.log}")
        _, now, n = struct.unpack("<QQI", head[1:])
        self.clocks = now
        return self._recv(n, 0) if n else b""

    def idle(self, seconds):
        """Let the board run for ``seconds`` of simulated time."""
        clocks = max(0, int(round(seconds * self.clk_hz)))
        self._send(b"I" + struct.pack("<Q", clocks))
        head = self._recv(9, clocks)
        if head[:1] != b"i":
            raise LinkError(f"The simulated board sent a malformed reply {head!r}; "
                            f"log {self.log}")
        self.clocks = struct.unpack("<Q", head[1:])[0]

    def close(self):
        """Stop the simulator (it exits on its own when the pipe closes)."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"Q")
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (BrokenPipeError, OSError, ValueError, subprocess.TimeoutExpired):
                pass
        self._finalizer()


class AmaranthTransport:
    """The link gateware and the network top of ``params`` in the Amaranth simulator, driven
    through its ``rx`` / ``tx`` pins by a bit-level UART model (``divisor`` clocks per bit).

    About 200 times slower than :class:`VerilatorTransport` but needs no compiler (numbers in
    ``docs/protocol.md``). Time is simulated time: :meth:`read`'s ``timeout`` is in simulated
    seconds, so a silent device makes the host time out after a bounded amount of simulation.

    Parameters
    ----------
    params : NetworkParams
    divisor : int
        Clocks per UART bit (>= 4).
    timeout_clocks : int
        The link's inter-byte timeout (a frame that stops for longer is answered TRUNCATED).

    Attributes
    ----------
    now : float
        Simulated seconds since reset (a 1 MHz clock, :attr:`PERIOD`).
    clocks : int
        Clocks since reset.
    line_gap : int
        Idle bit times that the host leaves after every byte it sends (tests).
    """

    PERIOD = 1e-6

    def __init__(self, params, divisor=4, timeout_clocks=4000):
        from amaranth.sim import Simulator
        from spikefab.hdl.link import LinkedNetwork
        self.dut = dut = LinkedNetwork(params, clk_hz=1e6, divisor=divisor,
                                       timeout=timeout_clocks)
        self.divisor = divisor
        self.to_dev = bytearray()
        self.from_dev = bytearray()
        self.sim = sim = Simulator(dut)
        sim.add_clock(self.PERIOD)
        sim.add_testbench(self._driver, background=True)
        sim.add_testbench(self._monitor, background=True)
        self.now = 0.0
        self.line_gap = 0                # extra idle bit times between bytes (tests)

    @property
    def clocks(self):
        return int(round(self.now / self.PERIOD))

    async def _driver(self, ctx):
        bit = self.divisor * self.PERIOD
        ctx.set(self.dut.rx, 1)
        while True:
            if not self.to_dev:
                await ctx.delay(bit)
                continue
            byte = self.to_dev.pop(0)
            for level in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                ctx.set(self.dut.rx, level)
                await ctx.delay(bit)
            if self.line_gap:
                await ctx.delay(bit * self.line_gap)

    async def _monitor(self, ctx):
        bit = self.divisor * self.PERIOD
        while True:
            await ctx.negedge(self.dut.tx)
            await ctx.delay(bit / 2)                       # middle of the start bit
            if ctx.get(self.dut.tx):
                continue
            value = 0
            for i in range(8):
                await ctx.delay(bit)
                value |= ctx.get(self.dut.tx) << i
            await ctx.delay(bit)
            if ctx.get(self.dut.tx):
                self.from_dev.append(value)

    def write(self, data):
        self.to_dev += bytes(data)

    def read(self, timeout):
        """Simulate until some bytes came back, or ``timeout`` simulated seconds."""
        step = self.PERIOD * self.divisor * 10 * 4
        end = self.now + timeout
        while not self.from_dev and self.now < end:
            self.now += step
            self.sim.run_until(self.now)
        out = bytes(self.from_dev)
        self.from_dev.clear()
        return out

    def idle(self, seconds):
        """Let the device run for ``seconds`` of simulated time."""
        self.now += seconds
        self.sim.run_until(self.now)

    def close(self):
        pass
