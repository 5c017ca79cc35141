"""Bitstreams of the default networks for an iCE40 board and two ECP5 boards (marked ``synth``).

Fails if the design does not fit, misses its clock constraint, or misses its floor. The boards
issue's floors: the iCEBreaker >= 64k synapses with STDP at >= 30 MHz; the ULX3S-85F >= 1,024
neurons and >= 256k synapses at >= 90 MHz (floorplanned, a 4-minute build; its margin is a
placement's, so an RTL change that re-places it below the floor on the board's three seeds fails
here). The ULX3S-25F runs 64k STDP synapses at its 90 MHz constraint.
Builds land in ``build/<board>`` and are reused while the design and the options are unchanged
(``make bitstream`` / ``make report`` share them).
"""

import os

import pytest

from spikefab.boards import build, default_network, get_board

FLOORS = {
    # board: (min synapses, min neurons, min MHz, with STDP, min peak synaptic events a
    # second at the design clock)
    "icebreaker": (65536, 1, 30.0, True, 30e6),
    "ulx3s-25f": (65536, 256, 90.0, True, 180e6),
    "ulx3s-85f": (262144, 1024, 90.0, False, 1e9),
}


@pytest.mark.synth
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_default_network_bitstream(name):
    board = get_board(name)
    net = default_network(board)
    syn, neurons, mhz, stdp, events = FLOORS[name]
    assert net.plastic_synapses == (net.synapses if stdp else 0)
    r = build(net, board, out=None, strict=False)      # build/<board>, reused if unchanged
    # placed from the board's seed (the next ones only while the constraint is missed)
    assert board.seed <= r["seed"] < board.seed + 3, r["seed"]
    bit = r["bitstream"]
    assert os.path.getsize(bit) > 100_000, bit
    assert r["synapses"] >= syn and r["neurons"] >= neurons
    # nothing trimmed: the placed block RAM / SPRAM holds at least the network's state
    assert r["memory_bits_used"] >= r["memory_bits_needed"], r
    if board.family == "ice40":
        # the weights are in SPRAM, two 8-bit weights a tile word
        assert r["utilisation"]["ICESTORM_SPRAM"][0] == 2
    assert r["constraint_mhz"] >= mhz, r["clocks"]
    assert r["peak_synaptic_events"] >= events, r["peak_synaptic_events"]
    assert r["timing_met"], (f"{name}: Fmax {r['fmax_mhz']} MHz misses the "
                             f"{r['constraint_mhz']} MHz constraint; critical path "
                             f"{r['critical_path']}; log {r['log']}")
