"""What a network needs of a board, counted before any synthesis: neurons, synapses, routing
table entries, block RAM and SPRAM tiles (every memory of the design: cores, router, host
link), multipliers; and a one-line ValueError when it does not fit."""

from spikefab.errors import InvalidValue
from spikefab.shape.core import SPRAM_BITS, SPRAM_WORDS
from spikefab.shape.core import spram_tiles as shape_spram_tiles

from .catalog import FAMILIES, get_board, network_of

__all__ = ["memory_bits_used", "spram_tiles", "multipliers", "core_memories", "memories", "needs",
           "check_capacity"]


def memory_bits_used(util, family):
    """Block RAM and SPRAM bits a placed design occupies: its tiles (nextpnr's utilisation,
    ``{cell: [used, available]}``) at their full size."""
    fam = FAMILIES[family]
    cells = fam["cells"]
    bits = util.get(cells["bram"], [0])[0] * fam["bram_bits"]
    if cells["spram"]:
        bits += util.get(cells["spram"], [0])[0] * SPRAM_WORDS * SPRAM_BITS
    return bits


def spram_tiles(p):
    """UP5K SPRAM tiles that the weight memory of core ``p`` needs."""
    return shape_spram_tiles(p.lanes * p.weight_bits, p.weight_slots)


def multipliers(p, board):
    """Hardware multipliers of a core: two per lane (LIF decay of ``u`` and ``v``, in pieces
    when wider than 16 / 18 bits) and, in a plastic core, one per lane for the weight update,
    one per lane per plastic group for the post-trace decay and one for the pre-trace decay
    (``hdl/stdp.py``)."""
    piece = 16 if board.family == "ice40" else 18
    n = 2 * p.lanes * max(-(-p.current_bits // piece), -(-p.voltage_bits // piece)) ** 2
    if p.plastic:
        n += p.lanes + p.lanes * len(p.plastic_groups) + 1
    return n


def core_memories(p, prefix=""):
    """``[(name, depth, width)]`` of every memory of the core of ``p``."""
    row_bits = max(1, (p.rows - 1).bit_length())
    mems = [
        ("weights", p.weight_slots, p.lanes * p.weight_bits),
        ("accumulators", p.row_slots, p.lanes * p.acc_bits),
        ("state", p.row_slots, p.lanes * p.state_bits),
        ("spike FIFO", max(p.rows + 1, 3) - 1, row_bits + p.lanes),
    ]
    if p.plastic:
        mems += [("pre traces", p.pre_count, p.trace_bits), ("pre hits", p.pre_count, 1)]
        mems += [("post traces", p.row_slots, p.lanes * p.trace_bits)
                 for _ in p.plastic_groups]
    return [(prefix + n, d, w) for n, d, w in mems]


def memories(hp):
    """``[(name, depth, width, in SPRAM)]`` of every memory of the board design of ``hp``:
    the cores', the router's and the host link's."""
    from spikefab.hdl.router import dst_layout, ptr_layout
    from spikefab.shape.protocol import link_memories
    r = hp.router
    mems = []
    for c, (cp, kind) in enumerate(zip(hp.cores, hp.weight_rams)):
        for name, d, w in core_memories(cp, f"core {c} "):
            mems.append((name, d, w, kind == "ice40_spram" and name.endswith(" weights")))
    mems += [("router pointers", r.sources, ptr_layout(r).size, False),
             ("router table", r.entries, dst_layout(r).size, False),
             ("router queue", r.queue_depth, r.source_bits, False)]
    mems += [(f"link {name}", d, w, False) for name, d, w in link_memories(hp)]
    return mems


def _blocks(depth, width, modes):
    return min(-(-depth // d) * -(-width // w) for d, w in modes)


def needs(net, board):
    """What ``net`` needs of ``board``, as a dict (no check).

    Keys: ``neurons``, ``synapses``, ``cores``, ``table_entries`` (routing table entries),
    ``memory_bits`` (the network's own state, ``Network.memory_bits``), ``core_bits`` (bits of
    every memory of the design: cores with padding lanes and FIFOs, router, host link),
    ``bram`` (blocks, by memory), ``spram`` (UP5K tiles for the weights), ``dsp``
    (multipliers), ``params`` (NetworkParams).
    """
    from .design import hardware_params
    board = get_board(board)
    net = network_of(net, board)
    hp = hardware_params(net, board)
    fam = FAMILIES[board.family]
    bram, spram = {}, 0
    for name, depth, width, in_spram in memories(hp):
        if in_spram:
            spram += shape_spram_tiles(width, depth)
        else:
            kind = name.split(" ", 2)[-1] if name.startswith("core ") else name
            bram[kind] = bram.get(kind, 0) + _blocks(depth, width, fam["bram_modes"])
    dsp = sum(multipliers(p, board) for p in hp.cores)
    return {
        "network": net.name, "neurons": net.neurons, "synapses": net.synapses,
        "cores": len(hp.cores), "table_entries": hp.mapping.entries,
        "memory_bits": sum(net.memory_bits().values()),
        "core_bits": sum(d * w for _, d, w, _ in memories(hp)),
        "bram": bram, "spram": spram, "dsp": dsp, "params": hp,
    }


def check_capacity(net, board):
    """Raise a one-line ValueError if ``net`` cannot fit ``board``; return :func:`needs`."""
    board = get_board(board)
    net = network_of(net, board)
    n = needs(net, board)
    res = board.resources
    fam = FAMILIES[board.family]
    head = f"Network {net.name!r} does not fit the {board.title} ({board.device}): "
    total = sum(n["bram"].values())
    if total > res["bram"]:
        parts = ", ".join(f"{k} {v}" for k, v in n["bram"].items())
        table = f", {n['table_entries']} table entries"
        raise InvalidValue(f"{head}its {net.neurons} neurons, {net.synapses} synapses{table} "
                           f"need {total} {fam['bram']} ({parts}), the board has {res['bram']} "
                           f"({res['bram'] * fam['bram_bits']} bits)")
    if n["dsp"] > res["dsp"]:
        raise InvalidValue(f"{head}its {n['cores']} cores of {board.lanes} lanes need "
                           f"{n['dsp']} multipliers, the board has {res['dsp']}")
    return n
