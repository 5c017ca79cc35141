"""The command line: outputs, files written, and one-line user errors with exit status 2."""

import importlib
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import spikefab
from spikefab.cli import main
from spikefab.errors import Error, InvalidType, InvalidValue
from spikefab.golden import simulate

ROOT = os.path.join(os.path.dirname(__file__), "..")
DEMO = os.path.join(ROOT, "examples", "demo.toml")
CORE = os.path.join(ROOT, "examples", "core.toml")


def run_cli(*args, cwd=None):
    """Run the installed console script, as a user would (RTL builds under a loaded machine
    take minutes: the timeout only catches a hang)."""
    exe = os.path.join(os.path.dirname(sys.executable), "spikefab")
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=900)


def test_check_prints_the_hardware_needs(capsys):
    assert main(["check", DEMO]) == 0
    out = capsys.readouterr().out
    assert "neurons 40, synapses 1,024" in out
    assert "plastic synapses 512" in out
    assert "memory total: 10,776 b (1.3 KiB)" in out
    assert out.rstrip().endswith("is valid")


def test_simulate_writes_the_golden_npz(tmp_path):
    net = spikefab.load(DEMO)
    x = (np.random.default_rng(4).random((60, 16)) < 0.3).astype(np.uint8)
    np.save(tmp_path / "in.npy", x)
    r = run_cli("simulate", DEMO, "--inputs", tmp_path / "in.npy", "--record-state",
                "--out", tmp_path / "out.npz")
    assert r.returncode == 0, r.stderr
    assert "simulated 60 steps" in r.stdout
    want = simulate(net, x, record_state=True).to_npz_dict()
    with np.load(tmp_path / "out.npz") as got:
        assert sorted(got.files) == sorted(want)
        assert sorted(got.files) == ["spikes/exc", "spikes/inh", "u/exc", "u/inh", "v/exc",
                                     "v/inh", "weights/0", "weights/1", "weights/2"]
        for k in want:
            assert got[k].dtype == want[k].dtype, k
            assert np.array_equal(got[k], want[k]), k
        assert got["spikes/exc"].dtype == np.uint8 and got["spikes/exc"].shape == (60, 32)
        assert got["v/inh"].dtype == np.int64 and got["weights/0"].shape == (16, 32)


def test_simulate_steps_pads_and_cuts(tmp_path):
    x = np.ones((10, 16), np.uint8)
    np.save(tmp_path / "in.npy", x)
    assert main(["simulate", DEMO, "--inputs", str(tmp_path / "in.npy"), "--steps", "25",
                 "--out", str(tmp_path / "a.npz")]) == 0
    assert main(["simulate", DEMO, "--inputs", str(tmp_path / "in.npy"), "--steps", "4",
                 "--out", str(tmp_path / "b.npz")]) == 0
    assert main(["simulate", DEMO, "--steps", "7", "--out", str(tmp_path / "c.npz")]) == 0
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b, \
            np.load(tmp_path / "c.npz") as c:
        assert a["spikes/exc"].shape == (25, 32) and "u/exc" not in a.files
        assert np.array_equal(a["spikes/exc"][:4], b["spikes/exc"])
        assert c["spikes/exc"].shape == (7, 32)


def test_demo_writes_a_raster(tmp_path):
    r = run_cli("demo", DEMO, "--steps", "120", "--out", tmp_path / "demo")
    assert r.returncode == 0, r.stderr
    png = tmp_path / "demo" / "raster.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "plasticity of projection 0 (input -> exc)" in r.stdout
    assert r.stdout.rstrip().splitlines()[-1].startswith("done: demo, 120 steps")


def _bad_net(tmp_path):
    with open(DEMO) as f:
        text = re.sub(r"threshold = \d+", "threshold = 40000", f.read(), count=1)
    (tmp_path / "bad.toml").write_text(text)
    return tmp_path / "bad.toml"


@pytest.mark.parametrize("case", ["bad_threshold", "missing_net", "bad_inputs_shape",
                                  "bad_inputs_values", "missing_inputs", "no_inputs_no_steps",
                                  "demo_bad_net", "not_npy", "inputs_npz", "inputs_folder",
                                  "net_folder", "bad_steps", "demo_no_steps"])
def test_user_errors_are_one_line_exit_2(case, tmp_path):
    np.save(tmp_path / "narrow.npy", np.zeros((5, 3), np.uint8))
    np.save(tmp_path / "twos.npy", np.full((5, 16), 2, np.uint8))
    (tmp_path / "text.npy").write_text("not an array")
    np.savez(tmp_path / "in.npz", spikes=np.zeros((5, 16), np.uint8))
    out = tmp_path / "o.npz"
    args, message = {
        "bad_threshold": (["check", _bad_net(tmp_path)],
                          "bad.toml: Threshold of population 'exc' must be an integer in "
                          "[0, 32767], not 40000"),
        "missing_net": (["check", tmp_path / "none.toml"], "does not exist"),
        "bad_inputs_shape": (["simulate", DEMO, "--inputs", tmp_path / "narrow.npy", "--out",
                              out], "Inputs must have shape (T, 16) or (B, T, 16), not (5, 3)"),
        "bad_inputs_values": (["simulate", DEMO, "--inputs", tmp_path / "twos.npy", "--out",
                               out], "Inputs must be 0 or 1, not 2 at [0][0]"),
        "missing_inputs": (["simulate", DEMO, "--inputs", tmp_path / "x.npy", "--out", out],
                           "x.npy' does not exist"),
        "no_inputs_no_steps": (["simulate", DEMO, "--out", out],
                               "Give --inputs IN.npy, --steps T, or both"),
        "demo_bad_net": (["demo", _bad_net(tmp_path), "--out", tmp_path / "demo"],
                         "Threshold of population 'exc'"),
        "not_npy": (["simulate", DEMO, "--inputs", tmp_path / "text.npy", "--out", out],
                    "is not a readable .npy array"),
        "inputs_npz": (["simulate", DEMO, "--inputs", tmp_path / "in.npz", "--out", out],
                       "in.npz' must be a .npy array, not an .npz archive"),
        "inputs_folder": (["simulate", DEMO, "--inputs", tmp_path, "--out", out],
                          f"Inputs file {str(tmp_path)!r} is not a readable .npy array: "),
        "net_folder": (["check", tmp_path], f"Network file {str(tmp_path)!r} cannot be read"),
        "bad_steps": (["simulate", DEMO, "--steps", "-3", "--out", out], "--steps: Steps"),
        "demo_no_steps": (["demo", DEMO, "--steps", "0", "--out", tmp_path / "demo"],
                          "Steps must be a positive integer, not 0"),
    }[case]
    r = run_cli(*args)
    assert r.returncode == 2
    assert r.stdout == "" or case.startswith("demo_") and "Traceback" not in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("spikefab: error: ") and message in lines[0]
    assert not out.exists()          # nothing half-written


def _bug(*args, **kwargs):
    raise ValueError("a bug inside spikefab")


@pytest.mark.parametrize("command, target", [
    (["check", DEMO], "spikefab.shape.mapping.map_network"),
    (["simulate", DEMO, "--steps", "3"], "spikefab.golden.simulate"),
    (["run", DEMO, "--sim", "--inputs", "IN"], "spikefab.host.run"),
    (["import-weights", DEMO, "W", "-o", "OUT"], "spikefab.golden.import_weights"),
    (["generate", CORE, "-o", "OUT"], "spikefab.sim.generate.generate"),
    (["build", DEMO, "--board", "icebreaker", "--out", "OUT"], "spikefab.boards.build"),
    (["flash", "--board", "icebreaker", "--dry-run"], "spikefab.boards.flash"),
    (["demo", DEMO, "--steps", "3", "--out", "OUT"], "spikefab.demo.simulate"),
], ids=lambda v: v[0] if isinstance(v, list) else None)
def test_a_library_bug_is_not_a_user_error(command, target, monkeypatch, tmp_path):
    """A plain ValueError from inside a command (not a spikefab.errors.Error) is a bug: main
    lets it through with its traceback instead of printing it as a user error with exit 2."""
    np.save(tmp_path / "in.npy", np.zeros((3, 16), np.uint8))
    np.savez(tmp_path / "w.npz", **{"0": np.ones((16, 32))})
    files = {"IN": tmp_path / "in.npy", "W": tmp_path / "w.npz", "OUT": tmp_path / "out"}
    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(importlib.import_module(module), name, _bug)
    with pytest.raises(ValueError, match="^a bug inside spikefab$") as e:
        main([str(files.get(a, a)) for a in command] + (
            ["--out", str(tmp_path / "o.npz")] if command[0] in ("simulate", "run") else []))
    assert not isinstance(e.value, Error)


def test_a_library_bug_prints_its_traceback(tmp_path):
    script = ("import sys, spikefab.golden\n"
              "def bug(*a, **k):\n"
              "    raise ValueError('a bug inside spikefab')\n"
              "spikefab.golden.simulate = bug\n"
              "from spikefab.cli import main\n"
              f"sys.exit(main(['simulate', {DEMO!r}, '--steps', '3', '--out', "
              f"{str(tmp_path / 'o.npz')!r}]))\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("Traceback (most recent call last):"), r.stderr
    assert r.stderr.rstrip().endswith("ValueError: a bug inside spikefab"), r.stderr
    assert "spikefab: error" not in r.stderr
    assert not (tmp_path / "o.npz").exists()


def test_user_errors_share_one_base():
    """What the command line prints as one line: every error a user can cause, the old bases
    kept for callers that catch those."""
    from spikefab.boards.flow import BuildError, FlashError, TimingError
    from spikefab.host import DeviceError, LinkError
    from spikefab.toolchain import ToolNotFound
    for cls in (LinkError, DeviceError, ToolNotFound, BuildError, FlashError, TimingError):
        assert issubclass(cls, Error) and issubclass(cls, RuntimeError), cls
    assert issubclass(InvalidValue, ValueError) and issubclass(InvalidType, TypeError)


def test_a_port_that_cannot_be_opened_is_one_line(tmp_path):
    np.save(tmp_path / "in.npy", np.zeros((2, 16), np.uint8))
    port = str(tmp_path / "ttyNONE")
    r = run_cli("run", DEMO, "--port", port, "--board", "icebreaker", "--inputs",
                tmp_path / "in.npy", "--out", tmp_path / "o.npz")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"spikefab: error: Serial port {port} does not exist: ")
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "o.npz").exists()


def test_a_board_run_loads_no_gateware(tmp_path):
    """The host speaks the shared protocol and shapes only: a run on a serial board (here one
    that is absent) imports neither the gateware, the simulators nor Amaranth."""
    script = ("import sys, numpy as np, spikefab\n"
              "from spikefab.host import run\n"
              "from spikefab.errors import Error\n"
              "try:\n"
              f"    run(spikefab.load({DEMO!r}), np.zeros((2, 16), np.uint8), "
              f"port={str(tmp_path / 'tty')!r})\n"
              "except Error as e:\n"
              "    print(type(e).__name__)\n"
              "print(sorted(m for m in sys.modules\n"
              "             if m.startswith(('spikefab.hdl', 'spikefab.sim', 'amaranth'))))\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["PortError", "[]"]


def test_version_and_module_entry():
    r = subprocess.run([sys.executable, "-m", "spikefab", "--version"], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.strip() == f"spikefab {spikefab.__version__}"



def test_generate_writes_verilog_params_and_metadata(tmp_path):
    r = run_cli("generate", CORE, "-o", tmp_path / "v", "--lanes", "2")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "v" / "spikefab_core.v").read_text().count("module spikefab_core") == 1
    import json
    params = json.loads((tmp_path / "v" / "params.json").read_text())
    assert params["lanes"] == 2
    assert (tmp_path / "v" / "spikefab_core.json").exists()
    assert r.stdout.rstrip().splitlines()[-1].startswith("done: ")


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
@pytest.mark.parametrize("example, inputs", [("core.toml", 32), ("stdp.toml", 24),
                                             ("demo.toml", 16)])
def test_simulate_rtl_writes_the_same_npz_as_the_golden_model(example, inputs, sim, tmp_path):
    x = (np.random.default_rng(8).random((16, inputs)) < 0.3).astype(np.uint8)
    np.save(tmp_path / "in.npy", x)
    net = os.path.join(ROOT, "examples", example)
    for name, extra in (("gold", []), ("rtl", ["--rtl", "--sim", sim])):
        r = run_cli("simulate", net, "--inputs", tmp_path / "in.npy", "--record-state",
                    "--out", tmp_path / f"{name}.npz", *extra)
        assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "gold.npz") as a, np.load(tmp_path / "rtl.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


WIDE = """
[network]
name = "wide"
inputs = 300
[[population]]
name = "a"
size = 2
threshold = 40
output = true
[[population]]
name = "b"
size = 2
threshold = 30
[[projection]]
source = "input"
target = "a"
weights = {init = "uniform", low = -10, high = 40, seed = 2}
[[projection]]
source = "a"
target = "b"
weights = {init = "uniform", low = -20, high = 40, seed = 3}
"""


def test_rtl_of_a_network_that_does_not_fit_is_a_one_line_error(tmp_path):
    (tmp_path / "wide.toml").write_text(WIDE)
    r = run_cli("generate", tmp_path / "wide.toml", "-o", tmp_path / "v")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"spikefab: error: {tmp_path / 'wide.toml'}: Population 'a' needs 300 axon slots "
        f"(input 300), more than the 256 of a core")
    assert not (tmp_path / "v").exists()


def test_check_prints_the_mapping_onto_cores(capsys):
    assert main(["check", CORE]) == 0
    out = capsys.readouterr().out
    assert "mapping: 1 cores of 256 neurons x 256 axon slots; 96 sources, 160 table entries" \
        in out
    assert main(["check", CORE, "--axons-per-core", "50"]) == 0
    assert ("mapping onto cores: does not fit: Population 'lif' needs 96 axon slots"
            in capsys.readouterr().out)


SMALL = """
[network]
name = "small"
inputs = 6
[[population]]
name = "a"
size = 5
threshold = 40
du = 2048
dv = 1024
output = true
[[population]]
name = "b"
size = 3
threshold = 30
reset = "subtract"
output = true
[[projection]]
source = "input"
target = "a"
weights = {init = "uniform", low = -10, high = 40, seed = 2}
[[projection]]
source = "a"
target = "b"
weights = {init = "uniform", low = -20, high = 40, seed = 3}
"""


def test_run_on_the_simulated_board_writes_the_golden_npz(tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    x = (np.random.default_rng(3).random((10, 6)) < 0.4).astype(np.uint8)
    np.save(tmp_path / "in.npy", x)
    r = run_cli("run", tmp_path / "small.toml", "--sim", "--inputs", tmp_path / "in.npy",
                "--out", tmp_path / "run.npz")
    assert r.returncode == 0, r.stderr
    assert "device cycles per step" in r.stdout
    want = simulate(spikefab.load(tmp_path / "small.toml"), x).to_npz_dict()
    assert sum(int(want[f"spikes/{p}"].sum()) for p in "ab") > 10     # the network is active
    with np.load(tmp_path / "run.npz") as got:
        assert sorted(got.files) == sorted(want)
        for k in want:
            assert got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k]), k


def test_run_of_the_icebreaker_build_learns_as_the_golden_model(tmp_path):
    """The demo network (STDP, two populations sharing one core) as the iCEBreaker builds it
    (weights on a single-port memory), on the simulated board over the host link: the output
    population's spikes and every final weight equal the golden model's."""
    x = (np.random.default_rng(4).random((30, 16)) < 0.3).astype(np.uint8)
    np.save(tmp_path / "in.npy", x)
    r = run_cli("run", DEMO, "--sim", "--board", "icebreaker", "--inputs", tmp_path / "in.npy",
                "--out", tmp_path / "run.npz")
    assert r.returncode == 0, r.stderr
    net = spikefab.load(DEMO)
    want = simulate(net, x)
    assert not np.array_equal(want.weights[0], net.projections[0].weights)   # it learned
    with np.load(tmp_path / "run.npz") as got:
        assert sorted(got.files) == ["spikes/exc"] + [f"weights/{k}" for k in range(3)]
        assert np.array_equal(got["spikes/exc"], want.spikes["exc"])
        for k, w in enumerate(want.weights):
            assert np.array_equal(got[f"weights/{k}"], w), k


@pytest.mark.parametrize("args, message", [
    ([], "Give exactly one of --port DEVICE and --sim"),
    (["--sim", "--port", "/dev/null"], "Give exactly one of --port DEVICE and --sim"),
    (["--port", "/dev/ttyUSB9"], "Give --board NAME with --port: the host loads the build of "
                                 "that board"),
])
def test_run_needs_one_device(args, message, tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    np.save(tmp_path / "in.npy", np.zeros((2, 6), np.uint8))
    r = run_cli("run", tmp_path / "small.toml", "--inputs", tmp_path / "in.npy", "--out",
                tmp_path / "o.npz", *args)
    assert r.returncode == 2 and r.stderr.strip() == f"spikefab: error: {message}"


def test_boards_lists_every_board_with_its_device():
    r = run_cli("boards")
    assert r.returncode == 0, r.stderr
    for name, device in (("icebreaker", "iCE40UP5K"), ("upduino3", "iCE40UP5K"),
                         ("ulx3s-85f", "LFE5U-85F"), ("ulx3s-25f", "LFE5U-25F"),
                         ("orangecrab-25f", "LFE5U-25F"), ("ecpix5-85f", "LFE5UM5G-85F")):
        assert any(ln.startswith(name) and device in ln for ln in r.stdout.splitlines()), name


def test_flash_dry_run_and_unknown_board():
    r = run_cli("flash", "--board", "icebreaker", "--dry-run")
    assert r.returncode == 0 and r.stdout.strip() == "iceprog build/icebreaker/top.bin"
    r = run_cli("flash", "--board", "nope", "--dry-run")
    assert r.returncode == 2 and r.stderr.strip() == (
        "spikefab: error: Board must be one of icebreaker, upduino3, ulx3s-85f, ulx3s-25f, "
        "orangecrab-25f, ecpix5-85f, not 'nope'")


@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_simulate_rtl_of_several_populations_uses_the_network_top(sim, tmp_path):
    (tmp_path / "small.toml").write_text(SMALL)
    x = (np.random.default_rng(5).random((12, 6)) < 0.4).astype(np.uint8)
    np.save(tmp_path / "in.npy", x)
    r = run_cli("simulate", tmp_path / "small.toml", "--inputs", tmp_path / "in.npy", "--rtl",
                "--sim", sim, "--record-state", "--out", tmp_path / "rtl.npz")
    assert r.returncode == 0, r.stderr
    assert "network top (cores + router)" in r.stdout
    want = simulate(spikefab.load(tmp_path / "small.toml"), x, record_state=True).to_npz_dict()
    with np.load(tmp_path / "rtl.npz") as got:
        assert sorted(got.files) == sorted(want)
        for k in want:
            assert got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k]), k
    r = run_cli("generate", tmp_path / "small.toml", "-o", tmp_path / "v")
    assert r.returncode == 0 and (tmp_path / "v" / "spikefab_network.v").exists()


def test_check_reports_adaptive_thresholds_and_the_third_factor(tmp_path, capsys):
    (tmp_path / "ad.toml").write_text(
        '[network]\nname = "ad"\ninputs = 4\n[[population]]\nname = "exc"\nsize = 8\n'
        'threshold = 100\ntheta_bits = 8\ntheta_inc = 20\ntheta_decay = 30\n'
        '[[projection]]\nsource = "input"\ntarget = "exc"\n'
        'weights = {init = "uniform", low = 0, high = 50, seed = 1}\n[projection.stdp]\n'
        'a_plus = 4\na_minus = 3\nshift = 6\nd_pre = 512\nd_post = 512\nx_inc = 64\n'
        'y_inc = 64\nw_min = 0\nw_max = 127\nmodulated = true\nmodulation = -128\n')
    assert main(["check", str(tmp_path / "ad.toml")]) == 0
    out = capsys.readouterr().out
    assert "8 b +20 d30" in out and "yes, 3rd factor" in out
    assert "adaptive thresholds 64 b" in out and "state 384)" in out    # 8 x (16+16+8+8)


def test_report_seed_sweep_options_are_checked(capsys, tmp_path):
    """``spikefab report --seeds N --jobs J``: a bad count or job number is a one-line error
    before any build."""
    for args, message in ((["--seeds", "-2"], "Seeds must be a positive count"),
                          (["--seeds", "2", "--jobs", "0"], "Jobs must be a positive integer")):
        assert main(["report", "--board", "icebreaker", "--write", str(tmp_path / "b.md"),
                     *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("spikefab: error: ") and message in err[0]
    assert not os.path.exists(tmp_path / "b.md")
