"""Synthesis and place-and-route of the default core (256 neurons x 256 axons x 8-bit weights,
2 lanes) behind ``SerialTop``: it must fit, keep every memory bit it needs, and meet the Fmax
floor."""

import os

import pytest

from spikefab.boards.synth import core_memory_bits, default_params, plastic_params, run_flow

FLOOR = {"up5k": 30.0, "ecp5-85f": 90.0}


def check_memories(p, res):
    want = core_memory_bits(p)
    got = sorted(res["memory_bits_rtl"].values())
    assert got == sorted(want.values()), (
        f"memories kept by synthesis {res['memory_bits_rtl']}, core needs {want}")


@pytest.mark.synth
def test_default_core_fits_ecp5_85f():
    p = default_params()
    res = run_flow(p, "ecp5-85f", os.path.join("build", "synth", "test-ecp5-85f"))
    check_memories(p, res)
    used, avail = res["utilisation"]["DP16KD"]
    # 512 Kbit of weights need at least 29 DP16KD (18 Kbit each); all of it must be there
    assert 29 <= used <= avail, res["utilisation"]
    assert res["utilisation"]["MULT18X18D"][0] >= 4, res["utilisation"]   # 2 decays x 2 lanes
    assert res["fmax_mhz"] >= FLOOR["ecp5-85f"], res


@pytest.mark.synth
def test_default_core_fits_up5k():
    """The weights (512 Kbit) live in two SB_SPRAM256KA tiles (16384 x 16 bits each: 2 lanes x
    8 bits x 128 rows x 256 axons); everything else in EBR."""
    p = default_params()
    res = run_flow(p, "up5k", os.path.join("build", "synth", "test-up5k"))
    check_memories(p, res)
    util = res["utilisation"]
    assert util["ICESTORM_SPRAM"][0] == 2, util
    assert util["ICESTORM_RAM"][0] <= util["ICESTORM_RAM"][1], util
    assert util["ICESTORM_DSP"][0] >= 4, util   # 2 decays x 2 lanes
    assert res["fmax_mhz"] >= FLOOR["up5k"], res


# -- plastic cores: the iCEBreaker floor (>= 64k synapses with STDP at >= 30 MHz) -------------

def check_plastic(p):
    assert p.plastic and p.pre_count == p.axons, p
    assert p.neurons * p.axons >= 65536, p


@pytest.mark.synth
def test_plastic_core_fits_up5k():
    """256 neurons x 256 plastic axons x 8-bit weights (64k synapses with STDP), one lane (two
    lanes need 9 of the 8 DSPs and 97% of the LCs): the 65536 x 8-bit weights in the four
    two SB_SPRAM256KA tiles (two 8-bit weights a 16-bit tile word, written through the nibble
    mask; single-port: 2 clocks per row for LTD, 2 per slot for LTP), traces and the rest in
    EBR; the UP5K floor is 30 MHz."""
    p = plastic_params(lanes=1)
    check_plastic(p)
    res = run_flow(p, "up5k", os.path.join("build", "synth", "test-plastic-up5k"))
    want = core_memory_bits(p)
    got = dict(res["memory_bits_rtl"])
    # the SPRAM tiles are counted whole (2 x 16384 x 16 bits): the 512 Kbit used
    assert want.pop("weights") == got.pop("weights") == 2 * 16384 * 16, got
    assert sorted(got.values()) == sorted(want.values()), (got, want)
    util = res["utilisation"]
    assert util["ICESTORM_SPRAM"][0] == 2, util
    for cell in ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_DSP"):
        assert util[cell][0] <= util[cell][1], util
    assert res["fmax_mhz"] >= FLOOR["up5k"], res


@pytest.mark.synth
def test_plastic_core_fits_ecp5_85f():
    p = plastic_params()
    check_plastic(p)
    res = run_flow(p, "ecp5-85f", os.path.join("build", "synth", "test-plastic-ecp5-85f"))
    check_memories(p, res)
    used, avail = res["utilisation"]["DP16KD"]
    assert 29 <= used <= avail, res["utilisation"]
    assert res["fmax_mhz"] >= FLOOR["ecp5-85f"], res
