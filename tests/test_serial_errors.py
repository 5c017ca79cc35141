"""User errors of the serial path (issue #20): a port that is absent, no serial port, in use,
not permitted, a device that does not answer IDENTIFY or runs another build, a port that
vanishes during a run. Each is one line ``spikefab: error: ...`` with exit status 2 and no
traceback on the command line, and a :class:`spikefab.errors.Error` subclass in the API.

The boards here are fakes on the master side of a pty (:class:`FakeBoard`); no Verilator, no
hardware.
"""

import errno
import os
import select
import subprocess
import sys
import threading

import numpy as np
import pytest

import spikefab
from spikefab.boards import board_params
from spikefab.errors import Error
from spikefab.host import (BuildMismatch, Device, IdentifyError, LinkError, PortError,
                           SerialTransport, run)
from spikefab.shape.protocol import (Cmd, FrameDecoder, Status, encode_frame, identify_bytes,
                                     link_info)

serial = pytest.importorskip("serial")

ROOT = os.path.join(os.path.dirname(__file__), "..")
DEMO = os.path.join(ROOT, "examples", "demo.toml")
BOARD = "icebreaker"
CAUSES = ("it is not a spikefab board, its bitstream is not flashed (spikefab flash), it runs "
          "at another baud rate (--baud), or the board is on another port")


@pytest.fixture(scope="module")
def params():
    """The icebreaker build of the demo network: what ``spikefab run --board icebreaker``
    loads (computed without building anything)."""
    return board_params(spikefab.load(DEMO), BOARD)


# -- a fake board -------------------------------------------------------------------------

def frames(decoder, data):
    """The ``(cmd, seq, payload)`` request frames completed by ``data`` (and the response
    below): the only frame code of the fake board, to adapt when the format changes."""
    decoder.feed(data)
    out, decoder.frames = decoder.frames, []
    return out


def answer(cmd, status, payload=b""):
    """A response: ``status`` then ``payload``, framed with the sequence number of the
    request it answers (``answer(...)(seq)``)."""
    return lambda seq: encode_frame(cmd, bytes([status]) + payload, seq)


class FakeBoard:
    """A pty whose master side answers IDENTIFY with ``reply`` (bytes as sent; ``None``:
    silence) from a thread; with ``vanish``, its master closes at the first other request, as
    a board unplugged mid-run. :attr:`port` is the slave's path."""

    def __init__(self, reply=None, vanish=False):
        self.master, self.slave = os.openpty()
        self.port = os.ttyname(self.slave)
        self.reply, self.vanish = reply, vanish
        self.requests = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        dec = FrameDecoder()
        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.02)[0]:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:              # EIO: no slave open at the moment
                self._stop.wait(0.02)
                continue
            for cmd, seq, _ in frames(dec, data):
                self.requests.append(cmd)
                if cmd == Cmd.IDENTIFY and self.reply is not None:
                    os.write(self.master, self.reply(seq) if callable(self.reply)
                             else self.reply)
                elif cmd != Cmd.IDENTIFY and self.vanish:
                    os.close(self.master)
                    self.master = None
                    return

    def close(self):
        self._stop.set()
        self._thread.join()
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)


@pytest.fixture
def board(request):
    """``board(reply=..., vanish=...)``: a :class:`FakeBoard`, closed after the test."""
    made = []

    def make(*args, **kwargs):
        made.append(FakeBoard(*args, **kwargs))
        return made[-1]
    yield make
    for b in made:
        b.close()


def identify_reply(params, build_hash=None):
    info = link_info(params)
    if build_hash is not None:
        info["build_hash"] = build_hash
    return answer(Cmd.IDENTIFY, Status.OK, identify_bytes(info))


# -- the command line ---------------------------------------------------------------------

#: Run ``spikefab.cli.main`` with ``os.open`` of one path refused, as for a port of mode 000
#: (root ignores the mode, so a test run as root cannot rely on chmod).
DENY = """\
import errno, os, sys
from spikefab.cli import main
port, real = sys.argv[1], os.open
def refuse(path, *args, **kwargs):
    if path == port:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return real(path, *args, **kwargs)
os.open = refuse
sys.exit(main(sys.argv[2:]))
"""


def spikefab_run(port, tmp_path, deny=False):
    """``spikefab run demo.toml --board icebreaker --port PORT`` as a user runs it (through
    :data:`DENY` with ``deny``); the completed process. The output must not appear."""
    np.save(tmp_path / "in.npy", np.zeros((3, 16), np.uint8))
    args = ["run", DEMO, "--board", BOARD, "--port", port, "--inputs",
            str(tmp_path / "in.npy"), "--out", str(tmp_path / "o.npz")]
    exe = os.path.join(os.path.dirname(sys.executable), "spikefab")
    argv = [sys.executable, "-c", DENY, port, *args] if deny else [exe, *args]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert not (tmp_path / "o.npz").exists()
    return r


def assert_one_line(r, message):
    """Exit status 2, and ``message`` as the one line on standard error."""
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [f"spikefab: error: {message}"]


def test_cli_no_such_port(tmp_path):
    port = str(tmp_path / "ttyUSB9")
    assert_one_line(spikefab_run(port, tmp_path),
                    f"Serial port {port} does not exist: check that the board is plugged in "
                    f"and give the port it appears as (ls /dev/ttyUSB* /dev/ttyACM*)")


@pytest.mark.parametrize("kind", ["file", "directory", "devnull"])
def test_cli_not_a_serial_port(kind, tmp_path):
    port, what = {"file": (tmp_path / "port.txt", "a regular file"),
                  "directory": (tmp_path, "a directory"),
                  "devnull": ("/dev/null", "a device that is no terminal")}[kind]
    if kind == "file":
        port.write_text("not a tty\n")
    port = str(port)
    assert_one_line(spikefab_run(port, tmp_path),
                    f"{port} is {what}, not a serial port: give the board's serial port, "
                    f"e.g. /dev/ttyUSB1")


def test_cli_port_in_use(tmp_path, board):
    b = board(reply=None)
    other = SerialTransport(b.port)          # another spikefab holds the port
    try:
        r = spikefab_run(b.port, tmp_path)
    finally:
        other.close()
    assert_one_line(r, f"Serial port {b.port} is in use by another program (another "
                       f"spikefab, or a terminal such as screen or minicom): close it and run "
                       f"again")
    assert b.requests == []


def _deny_for_real(port):
    """Make ``port`` mode 000; False when the tests run as root (which the mode does not
    stop): then the open is refused by :data:`DENY` instead."""
    if os.geteuid() == 0:
        return False
    os.chmod(port, 0)
    return True


def test_cli_permission_denied(tmp_path, board):
    b = board(reply=None)
    real = _deny_for_real(b.port)
    assert_one_line(spikefab_run(b.port, tmp_path, deny=not real),
                    f"No permission to open serial port {b.port}: add yourself to the group "
                    f"that owns it (ls -l {b.port}; often 'dialout': sudo usermod -aG dialout "
                    f"$USER, then log in again)")


@pytest.mark.parametrize("reply", [None, b"\x00garbage\xff" * 4], ids=["silent", "garbage"])
def test_cli_no_answer_to_identify(reply, tmp_path, board):
    b = board(reply=reply)
    assert_one_line(spikefab_run(b.port, tmp_path),
                    f"The device on {b.port} did not answer IDENTIFY within the timeout "
                    f"(0.5 s, 4 attempts): {CAUSES}")
    assert b.requests == [Cmd.IDENTIFY] * 4


def test_cli_build_mismatch(tmp_path, board, params):
    want = link_info(params)["build_hash"]
    b = board(reply=identify_reply(params, build_hash=want ^ 0x5A5A5A5A))
    assert_one_line(spikefab_run(b.port, tmp_path),
                    f"The device on {b.port} runs build hash 0x{want ^ 0x5A5A5A5A:08x}, but "
                    f"network 'demo' needs 0x{want:08x}: build and flash the board for this "
                    f"network (spikefab build NET.toml --board NAME, then spikefab flash "
                    f"--board NAME)")
    assert b.requests == [Cmd.IDENTIFY]          # nothing was written to the board


def test_cli_port_vanishes_mid_run(tmp_path, board, params):
    b = board(reply=identify_reply(params), vanish=True)
    r = spikefab_run(b.port, tmp_path)
    assert "Traceback" not in r.stderr and r.returncode == 2, r.stderr
    assert len(r.stderr.splitlines()) == 1, r.stderr
    # the rest is pyserial's own words, which differ between its versions
    assert r.stderr.startswith(f"spikefab: error: Serial port {b.port} vanished or was closed "
                               f"while in use (")
    # and what may and what was applied (protocol v2's message of a failed command)
    assert "): reconnect the board and run again; WRITE_WEIGHTS (sequence 2) may or may not " \
        "have been applied, once at most; every command before it was" in r.stderr
    assert b.requests == [Cmd.IDENTIFY, Cmd.WRITE_WEIGHTS]


# -- the API ------------------------------------------------------------------------------

def test_api_errors_are_user_errors():
    for cls in (PortError, IdentifyError, BuildMismatch):
        assert issubclass(cls, LinkError) and issubclass(cls, Error), cls


@pytest.mark.parametrize("kind, reason", [("missing", "missing"), ("file", "not-serial"),
                                          ("directory", "not-serial"),
                                          ("devnull", "not-serial")])
def test_api_port_cannot_be_opened(kind, reason, tmp_path, params):
    port = {"missing": tmp_path / "ttyUSB9", "file": tmp_path / "f",
            "directory": tmp_path, "devnull": "/dev/null"}[kind]
    if kind == "file":
        port.write_bytes(b"")
    with pytest.raises(PortError) as e:
        Device.open(str(port), params)
    assert e.value.reason == reason and e.value.port == str(port)
    assert "\n" not in str(e.value)


def test_api_run_on_a_missing_port_writes_nothing(tmp_path):
    with pytest.raises(PortError, match="does not exist"):
        run(DEMO, np.zeros((2, 16), np.uint8), port=str(tmp_path / "tty"), out=str(
            tmp_path / "o.npz"))
    assert not (tmp_path / "o.npz").exists()


def test_api_port_in_use_and_released(board, params):
    b = board(reply=identify_reply(params))
    dev = Device.open(b.port, params, timeout=0.05)
    with pytest.raises(PortError) as e:
        SerialTransport(b.port)
    assert e.value.reason == "busy"
    dev.close()
    SerialTransport(b.port).close()              # closed: free again


def test_api_permission_denied(board, monkeypatch):
    b = board(reply=None)
    if not _deny_for_real(b.port):
        real = os.open

        def refuse(path, *args, **kwargs):
            if path == b.port:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
            return real(path, *args, **kwargs)
        monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PortError) as e:
        SerialTransport(b.port)
    assert e.value.reason == "denied"


@pytest.mark.parametrize("reply, said", [
    (None, "did not answer IDENTIFY within the timeout (0.05 s, 2 attempts)"),
    (lambda seq: b"hello\r\n" * 8, "did not answer IDENTIFY within the timeout (0.05 s, 2 attempts)"),
    (answer(Cmd.IDENTIFY, Status.OK, b"NOPE"),
     "answered IDENTIFY with b'NOPE', not a spikefab board's answer (protocol version 2 or 3)"),
    (answer(Cmd.IDENTIFY, Status.UNKNOWN),
     "answered IDENTIFY with an error (Device rejected IDENTIFY: UNKNOWN)"),
], ids=["silent", "noise", "other-answer", "error-status"])
def test_api_no_spikefab_board(reply, said, board, params):
    b = board(reply=reply)
    with pytest.raises(IdentifyError) as e:
        Device.open(b.port, params, timeout=0.05, retries=1)
    assert str(e.value) == f"The device on {b.port} {said}: {CAUSES}"
    SerialTransport(b.port).close()              # the failed open closed the port


def test_api_build_mismatch(board, params):
    want = link_info(params)["build_hash"]
    b = board(reply=identify_reply(params, build_hash=want + 1))
    with pytest.raises(BuildMismatch) as e:
        Device.open(b.port, params, timeout=0.05)
    assert (e.value.got, e.value.want) == (want + 1, want)
    assert b.requests == [Cmd.IDENTIFY]
    # without the check the device opens, and says it does not match
    with Device.open(b.port, params, timeout=0.05, check=False) as dev:
        dev.identify()
        assert dev.matches is False


def test_api_port_vanishes(board, params):
    b = board(reply=identify_reply(params), vanish=True)
    with Device.open(b.port, params, timeout=0.2) as dev:
        assert dev.matches
        with pytest.raises(PortError) as e:
            dev.load()
    assert e.value.reason == "vanished"


def test_low_latency_is_asked_for_and_optional(board, monkeypatch):
    b = board(reply=None)
    t = SerialTransport(b.port)                  # a pty has no ASYNC_LOW_LATENCY
    assert t.low_latency is False
    t.close()
    asked = []
    monkeypatch.setattr(serial.Serial, "set_low_latency_mode",
                        lambda self, on: asked.append(on), raising=False)
    t = SerialTransport(b.port)
    assert t.low_latency is True and asked == [True]
    t.close()
