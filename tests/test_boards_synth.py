"""Bitstreams of the default networks for one iCE40 and one ECP5 board (marked ``synth``).

Fails if the design does not fit, misses its clock constraint, or misses its floor: the
iCEBreaker's is the boards issue's (>= 64k synapses with STDP at >= 30 MHz); the ULX3S-25F
runs 64k STDP synapses at its 90 MHz constraint. (The ULX3S-85F floor, >= 1,024 neurons and
>= 256k synapses at >= 90 MHz, is built by ``make report``, not here: its build takes 12
minutes; ``docs/benchmarks.md`` has its figures.)
Builds land in ``build/<board>`` and are reused while the design and the options are unchanged
(``make bitstream`` / ``make report`` share them).
"""

import os

import pytest

from spikefab.boards import build, default_network, get_board

FLOORS = {
    # board: (min synapses, min neurons, min MHz, with STDP)
    "icebreaker": (65536, 1, 30.0, True),
    "ulx3s-25f": (65536, 256, 90.0, True),
}


@pytest.mark.synth
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_default_network_bitstream(name):
    board = get_board(name)
    net = default_network(board)
    syn, neurons, mhz, stdp = FLOORS[name]
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
        assert r["utilisation"]["ICESTORM_SPRAM"][0] == 4      # the weights are in SPRAM
    assert r["constraint_mhz"] >= mhz, r["clocks"]
    assert r["timing_met"], (f"{name}: Fmax {r['fmax_mhz']} MHz misses the "
                             f"{r['constraint_mhz']} MHz constraint; critical path "
                             f"{r['critical_path']}; log {r['log']}")
