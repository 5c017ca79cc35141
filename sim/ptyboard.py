"""The free-running simulated board behind a pseudo-terminal (``docs/protocol.md``, "Free-running
simulated board behind a pty").

:func:`serve_pty` builds (or reuses) the simulated board of ``params``
(:func:`~spikefab.sim.board.build_board`) and runs its executable with ``--pty``: the
executable opens a pseudo-terminal, clocks the design continuously while anything is active
and feeds the pty's bytes to the ``rx`` pin and the ``tx`` pin's bytes back, so that any serial
client (``spikefab run --port``, :meth:`spikefab.host.Device.open`, a terminal) talks to it as
to a board on a serial port. Unlike the lock-step board, time is wall-clock time for the host:
its timeouts are real seconds, and the simulated board runs 100-300 times slower than a real
one.
"""

import os
import re
import select
import signal
import subprocess
import time
import weakref

from spikefab.shape.protocol import LinkError

from .board import SIM_CLK_HZ, SIM_DIVISOR, SIM_TIMEOUT, build_board

__all__ = ["PtyBoard", "serve_pty"]

# the executable's last line on stderr when it stops (simboard.cpp, serve_pty)
_STATS = re.compile(r"simboard: (\d+) clocks in ([0-9.]+) s of clocking \(\d+ clocks/s\), "
                    r"([0-9.]+) s served")


def _kill(proc, logf):
    """Finaliser of a :class:`PtyBoard` that was not closed: the server never outlives it."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    logf.close()


class PtyBoard:
    """A running free-running simulated board; see :func:`serve_pty`.

    Attributes
    ----------
    path : str
        The pseudo-terminal's slave: the board's "serial port".
    proc : subprocess.Popen
        The simulator process.
    build : spikefab.sim.board.BoardBuild
    log : str
        The simulator's standard error (the clocks it ran, once stopped).
    clocks, seconds, served : int, float, float or None
        After :meth:`close`: simulated clocks run, wall seconds spent clocking them, and wall
        seconds served (quiescent time included).
    """

    def __init__(self, build, proc, path, log, logf):
        self.build, self.proc, self.path, self.log = build, proc, path, log
        self.clocks = self.seconds = self.served = None
        self._finalizer = weakref.finalize(self, _kill, proc, logf)

    @property
    def clocks_per_second(self):
        """Simulated clocks per wall second while clocking (after :meth:`close`)."""
        return self.clocks / self.seconds if self.seconds else None

    def close(self, timeout=10.0):
        """Stop the simulator (SIGTERM; SIGKILL if it has not exited after ``timeout``
        seconds) and read the clocks it ran from its log; its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._finalizer()
        with open(self.log) as f:
            m = _STATS.search(f.read())
        if m:
            self.clocks = int(m.group(1))
            self.seconds, self.served = float(m.group(2)), float(m.group(3))
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serve_pty(params, clk_hz=SIM_CLK_HZ, divisor=SIM_DIVISOR, timeout=SIM_TIMEOUT,
              build_root=None, start_timeout=30.0):
    """Build (or reuse) the simulated board of ``params`` at ``clk_hz`` with ``divisor``
    clocks per UART bit and an inter-byte timeout of ``timeout`` clocks, and serve it on a
    pseudo-terminal until :meth:`PtyBoard.close`.

    The board of a real one is built with that board's numbers:
    ``clk_hz = board.target_hz`` and ``divisor, timeout = link_timing(clk_hz, baud)``
    (:func:`spikefab.hdl.link.link_timing`) for
    ``params = spikefab.boards.board_params(net, board, simulated=True)``.

    Returns
    -------
    PtyBoard

    Raises
    ------
    spikefab.shape.protocol.LinkError
        The simulator did not name its pseudo-terminal within ``start_timeout`` seconds (the
        message names its log).
    """
    build = build_board(params, divisor, timeout, build_root, clk_hz=clk_hz)
    log = os.path.join(build.folder, f"pty-{os.getpid()}-{time.monotonic_ns():x}.log")
    logf = open(log, "w")
    argv = [build.exe, "--pty"] + ([log[:-4] + ".vcd"] if build.waves else [])
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=logf)
    board = PtyBoard(build, proc, None, log, logf)
    line = b""
    deadline = time.monotonic() + start_timeout
    fd = proc.stdout.fileno()
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        chunk = os.read(fd, 256) if left > 0 and select.select([fd], [], [], left)[0] else b""
        if not chunk:
            board.close()
            raise LinkError(f"The simulated board did not open a pseudo-terminal (exit status "
                            f"{proc.returncode}); log {log}")
        line += chunk
    board.path = line.decode().strip()
    return board
