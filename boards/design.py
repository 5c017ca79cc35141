"""What a network becomes on a board: its shape there (one call of the shape derivation), the
design behind the host link, and the board top around it.

* :func:`board_params`: the ``NetworkParams`` of a network on a board (what the host loads).
* :func:`design_for`: the network top behind the host link at the board's design clock.
* :func:`build_top`: the board top (``boards/top.py``) around it, after the capacity check.

The board's choices go into :func:`spikefab.shape.network.derive` itself: the core size
(``core_neurons``), the packing (small populations ride along in larger ones' cores; every
population that fits shares one when separate cores' multipliers would not fit the device),
``delay_ram`` on iCE40 (a flip-flop that only delays costs a logic cell there) and the weight
memory of every core as a policy of the cores (:func:`weight_ram_policy`).
"""

from spikefab.errors import InvalidValue
from spikefab.shape.core import BANK_WORDS, SPRAM_BITS, SPRAM_WORDS
from spikefab.shape.network import derive

from .capacity import check_capacity, multipliers, spram_tiles
from .catalog import get_board, network_of

__all__ = ["weight_ram_policy", "hardware_params", "board_params", "design_for", "build_top"]


class _Repack(Exception):
    """The cores of one packing need more multipliers than the device has: pack tighter."""


def weight_ram_policy(net, board, simulated=False):
    """The weight memory kinds of ``net``'s cores on ``board``, as a function of the tuple of
    their ``CoreParams`` (``derive(..., weight_ram=policy)``).

    On a UP5K the largest cores keep their weights in SPRAM, as many as its tiles hold, the
    others in EBR (``"dual"``); with ``simulated`` those get the behavioural single-port
    memory instead (``"single"``: the simulated board's Verilator model has no SPRAM
    primitive; same schedule, same cycle counts). On an ECP5 a static core whose weights span
    several block RAM banks (more than ``BANK_WORDS`` words) gets the pipelined ``"banked"``
    memory, its blocks lying far apart on a large device; plastic cores keep ``"dual"``.

    Raises
    ------
    ValueError
        A core's weights need more SPRAM tiles than the board has (core, size, tiles).
    """
    def policy(cores):
        if board.weight_ram == "banked":
            return tuple("banked" if not cp.plastic and cp.weight_slots > BANK_WORDS
                         else "dual" for cp in cores)
        if board.weight_ram != "ice40_spram":
            return ("dual",) * len(cores)
        spram = board.resources["spram"]
        left, rams = spram, ["dual"] * len(cores)
        for c in sorted(range(len(cores)), key=lambda c: -cores[c].weight_depth):
            cp = cores[c]
            tiles = spram_tiles(cp)
            if tiles > spram:
                bits = cp.weight_depth * cp.lanes * cp.weight_bits
                raise InvalidValue(
                    f"Network {net.name!r} does not fit the {board.title} ({board.device}): "
                    f"core {c} ({cp.neurons} neurons x {cp.axons} axon slots, {bits} weight "
                    f"bits) needs {tiles} SPRAM tiles, the board has {spram} "
                    f"({spram * SPRAM_WORDS * SPRAM_BITS} bits)")
            if tiles <= left:
                rams[c] = "single" if simulated else "ice40_spram"
                left -= tiles
        return tuple(rams)
    return policy


def hardware_params(net, board, simulated=False):
    """The ``NetworkParams`` of ``net`` (a ``Network``) on ``board`` (a ``Board``).

    A population larger than the board's ``core_neurons`` is split; small ones share a larger
    one's core; if the cores' multipliers do not fit the device that way, every population
    that fits shares a core. The shape comes from one call of ``derive`` per packing tried
    (the weight memories from :func:`weight_ram_policy`).

    Raises
    ------
    ValueError
        If the network cannot be mapped (a population needs more axon slots than a core
        has: the message names both), or a core's weights need more SPRAM tiles than the
        board has.
    """
    pops = net.populations
    fan_in = max(sum(net.source_size(p.source) for p in net.projections if p.target == q.name)
                 for q in pops)
    n_core = board.core_neurons or max(256, max(q.size for q in pops))
    rams = weight_ram_policy(net, board, simulated)

    def derived(pack, weight_ram):
        return derive(net, lanes=board.lanes, neurons_per_core=n_core,
                      axons_per_core=max(256, fan_in), pack=pack, weight_ram=weight_ram,
                      delay_ram=board.family == "ice40")

    def small_if_multipliers_fit(cores):
        # the multipliers decide the packing before the memories are chosen
        if sum(multipliers(cp, board) for cp in cores) > board.resources["dsp"]:
            raise _Repack
        return rams(cores)

    try:
        return derived("small", small_if_multipliers_fit)
    except _Repack:
        return derived(True, rams)


def board_params(net, board, simulated=False):
    """The ``NetworkParams`` of ``net`` built for ``board`` (what the host must load into
    it). ``simulated``: the same design for the simulated board, whose Verilator model has
    no UP5K SPRAM primitive: those cores get the behavioural single-port memory, which has
    the same schedule and the same cycle counts."""
    board = get_board(board)
    return hardware_params(network_of(net, board), board, simulated)


def design_for(net, board):
    """The network's parameters on ``board`` (``NetworkParams``: cores, router, weight
    memories) and the design a board top instantiates for them: the network top behind the
    host link (``LinkedNetwork``, ``docs/protocol.md``) at the board's design clock."""
    from spikefab.hdl.link import LinkedNetwork
    board = get_board(board)
    hp = hardware_params(network_of(net, board), board)
    return LinkedNetwork(hp, board.target_hz, baud=board.baud), hp


def build_top(net, board):
    """``(top, platform, needs)``: the board top around ``net``, after the capacity check."""
    from .top import BoardTop
    board = get_board(board)
    n = check_capacity(network_of(net, board), board)
    return BoardTop(n["params"], board), board.platform(), n
