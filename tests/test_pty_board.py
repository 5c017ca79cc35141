"""The free-running simulated board behind a pseudo-terminal (``spikefab simboard --pty``,
``spikefab.sim.ptyboard``): an iCEBreaker build of a small plastic, recurrent, two-core network
served on a pty, run through it with ``spikefab run --port`` and with ``Device.open`` (the host
code of a real board, pyserial included), against the golden model; the first line, SIGTERM,
no orphan, and the command's one-line errors.

The served board runs at the iCEBreaker's 30 MHz and 1 Mbaud (30 clocks per bit, an inter-byte
timeout of 1.5 M clocks), in wall-clock time for the host: hence ``--timeout 5``. The clock rate
and the wall time per step are printed (``pytest -s``) and written in docs/protocol.md.
"""

import os
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import spikefab
import spikefab.host as h
from spikefab.boards import board_params
from spikefab.cli import main
from spikefab.golden import simulate

from .compare import assert_same_array, assert_same_trace
from .netgen import random_inputs
from .test_simboard import plastic_recurrent_network

BOARD = "icebreaker"
SEED = 3
STEPS = 20
#: Seconds the host waits for each response: the simulated board runs ~100-300 times slower
#: than the real one.
HOST_TIMEOUT = 5.0


def _exe():
    return os.path.join(os.path.dirname(sys.executable), "spikefab")


def start_simboard(net_path, wait=600.0):
    """``spikefab simboard NET --board icebreaker --pty`` in a child process; ``(proc, path)``
    once it printed the pty's path (a first build of the board takes about a minute)."""
    proc = subprocess.Popen([_exe(), "simboard", str(net_path), "--board", BOARD, "--pty"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ready = select.select([proc.stdout], [], [], wait)[0]
    line = proc.stdout.readline() if ready else ""
    if not line:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"spikefab simboard printed no pty path within {wait} s: {err}")
    return proc, line.strip()


def stop(proc):
    """SIGTERM; the exit status and standard error."""
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("spikefab simboard did not stop within 30 s of SIGTERM")
    return proc.returncode, err


def children(pid):
    """The processes whose parent is ``pid``."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(name))
            except (OSError, IndexError, ValueError):
                pass                                      # gone meanwhile
    return out


class Served:
    def __init__(self, proc, path, folder, net_path):
        self.proc, self.path, self.folder, self.net_path = proc, path, folder, net_path


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pty_board")
    net_path = folder / "net.toml"
    spikefab.golden.dump(plastic_recurrent_network(SEED), net_path)
    t0 = time.perf_counter()
    proc, path = start_simboard(net_path)
    print(f"\nspikefab simboard: pty {path} after {time.perf_counter() - t0:.1f} s")
    yield Served(proc, path, folder, net_path)
    if proc.poll() is None:
        code, err = stop(proc)
        print(f"\nspikefab simboard exit {code}: {err.strip().splitlines()[-1:]}")


def test_first_line_is_the_path_of_a_tty(served):
    assert served.path.startswith("/dev/"), served.path
    fd = os.open(served.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        assert os.isatty(fd)
    finally:
        os.close(fd)


def test_cli_run_on_the_pty_equals_simulate(served, tmp_path):
    from .test_cli import run_cli
    net = spikefab.load(served.net_path)
    x = random_inputs(SEED, net, STEPS, rate=0.5)
    np.save(tmp_path / "in.npy", x)
    t0 = time.perf_counter()
    r = run_cli("run", served.net_path, "--board", BOARD, "--port", served.path, "--inputs",
                tmp_path / "in.npy", "--out", tmp_path / "run.npz", "--timeout", HOST_TIMEOUT)
    dt = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    assert f"on {served.path} in " in r.stdout, r.stdout
    print(f"\nspikefab run --port: {STEPS} steps, load included, in {dt:.1f} s")
    g = run_cli("simulate", served.net_path, "--inputs", tmp_path / "in.npy", "--out",
                tmp_path / "golden.npz")
    assert g.returncode == 0, g.stderr
    outputs = board_params(net, BOARD, simulated=True).mapping.outputs
    assert set(outputs) == {"exc", "inh"}
    with np.load(tmp_path / "run.npz") as got, np.load(tmp_path / "golden.npz") as want:
        assert sorted(got.files) == sorted([f"spikes/{q}" for q in outputs]
                                           + [f"weights/{k}" for k in range(4)])
        assert sum(int(want[f"spikes/{q}"].sum()) for q in outputs) > 0
        for k in got.files:
            assert_same_array(k, got[k], want[k], SEED)
        # the plastic projections learned: the weights read back are not the loaded ones
        assert not np.array_equal(got["weights/1"], net.projections[1].weights)


def test_device_on_the_pty_equals_golden(served):
    """Another network of the same shape, loaded into the running board through the API."""
    net = plastic_recurrent_network(SEED + 1)
    p = board_params(net, BOARD, simulated=True)
    assert p.shape == board_params(spikefab.load(served.net_path), BOARD, simulated=True).shape
    x = random_inputs(SEED + 1, net, STEPS, rate=0.5)
    with h.Device.open(served.path, p, timeout=HOST_TIMEOUT) as dev:
        dev.identify()
        assert dev.matches
        t0 = time.perf_counter()
        dev.load(net)
        t1 = time.perf_counter()
        r = dev.run(x)
        t2 = time.perf_counter()
        weights = dev.read_weights()
    print(f"\nDevice over the pty: load {t1 - t0:.2f} s, {STEPS} steps {t2 - t1:.2f} s "
          f"({1e3 * (t2 - t1) / STEPS:.0f} ms per step), cycles per step "
          f"{r.cycles.mean():.0f}")
    g = simulate(net, x)
    assert sum(int(g.spikes[q].sum()) for q in p.mapping.outputs) > 0
    for q in p.mapping.outputs:
        assert_same_trace("spikes", r.spikes[q], g.spikes[q], SEED + 1, q)
    for k, w in enumerate(weights):
        assert_same_array(f"final weights of projection {k}", w, g.weights[k], SEED + 1)


def test_a_frame_cut_short_times_out_in_simulated_time(served):
    """The server keeps clocking ``QUIET`` (> 2 inter-byte timeouts) after the last byte, so a
    frame that stops half-way is answered TRUNCATED although no byte follows it; the link
    then answers the next command."""
    from spikefab.shape.protocol import Cmd, FrameDecoder, Status, encode_frame
    t = h.SerialTransport(served.path)
    try:
        t.write(encode_frame(Cmd.READ, bytes(4))[:5])
        dec = FrameDecoder()
        deadline = time.monotonic() + 30
        while not dec.frames and time.monotonic() < deadline:
            dec.feed(t.read(0.5))
        assert dec.frames, "no answer to a frame cut short within 30 s"
        assert dec.frames.pop(0)[2][:1] == bytes([Status.TRUNCATED])
        t.write(encode_frame(Cmd.IDENTIFY))
        deadline = time.monotonic() + 30
        while not dec.frames and time.monotonic() < deadline:
            dec.feed(t.read(0.5))
        cmd, _, body = dec.frames.pop(0)
        assert cmd == Cmd.IDENTIFY and body[:3] == bytes([Status.OK]) + b"SF", body
    finally:
        t.close()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        utime, stime = f.read().rsplit(")", 1)[1].split()[11:13]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


def test_sigterm_stops_it_with_status_0_and_no_orphan(served):
    # its own server (the build is the fixture's, cached): the fixture's keeps serving
    proc, path = start_simboard(served.net_path, wait=120.0)
    sims = children(proc.pid)
    assert len(sims) == 1, sims
    with open(f"/proc/{sims[0]}/cmdline") as f:
        assert f.read().split("\0")[:2][1] == "--pty"
    # nothing to do: it sleeps in poll() (a clocking server takes a whole CPU)
    before = cpu_seconds(sims[0])
    time.sleep(1.0)
    assert cpu_seconds(sims[0]) - before < 0.2
    code, err = stop(proc)
    assert code == 0, err
    assert "Traceback" not in err and "error" not in err, err
    assert err.strip().splitlines()[-1].startswith("stopped: "), err
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{sims[0]}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{sims[0]}"), f"simulator {sims[0]} outlived its server"
    assert path != served.path


@pytest.mark.parametrize("argv, message", [
    (["--board", "nosuch", "--pty"], "Board must be one of icebreaker, "),
    (["--board", "icebreaker", "--pty", "--baud", "7000000"],
     "Baud rate must be within 2% of clk / n for an integer n >= 4; 7000000 at 30 MHz is not"),
    (["--board", "icebreaker"], "simboard serves a board only behind a pseudo-terminal for "
                                "now: give --pty"),
], ids=["unknown-board", "bad-baud", "no-pty"])
def test_simboard_errors(argv, message, tmp_path, capsys):
    path = tmp_path / "net.toml"
    spikefab.golden.dump(plastic_recurrent_network(SEED), path)
    assert main(["simboard", str(path), *argv]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    assert cap.err.startswith(f"spikefab: error: {message}"), cap.err
    assert cap.err.count("\n") == 1, cap.err


def test_simboard_missing_file(tmp_path, capsys):
    assert main(["simboard", str(tmp_path / "none.toml"), "--board", BOARD, "--pty"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.count("\n") == 1, cap
    assert cap.err.startswith(f"spikefab: error: {tmp_path / 'none.toml'}: "), cap.err


def test_run_timeout_must_be_positive(tmp_path, capsys):
    path = tmp_path / "net.toml"
    net = plastic_recurrent_network(SEED)
    spikefab.golden.dump(net, path)
    np.save(tmp_path / "in.npy", random_inputs(SEED, net, 2))
    assert main(["run", str(path), "--board", BOARD, "--port", "/dev/null", "--inputs",
                 str(tmp_path / "in.npy"), "--out", str(tmp_path / "o.npz"),
                 "--timeout", "0"]) == 2
    cap = capsys.readouterr()
    assert cap.err == ("spikefab: error: --timeout must be a positive number of seconds, "
                       "not 0.0\n"), cap.err
