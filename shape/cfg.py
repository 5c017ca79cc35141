"""The address map of a core's configuration port: spaces, parameter and learning registers,
and the command word (``docs/core.md``). Pure Python: the gateware decodes these addresses, the
host encodes them.
"""

import enum

from .fields import Fields

__all__ = ["Space", "Param", "Learn", "PARAM_STRIDE", "LEARN_STRIDE", "param_addr", "param_map", "learn_fields",
           "learn_base", "row_bits", "cfg_data_bits", "cfg_fields"]


class Space(enum.IntEnum):
    """Address spaces of the configuration port."""
    #: Weight words: address ``row * A + axon``, data ``lanes * W_BITS`` bits (lane ``l`` in
    #: bits ``[l * W, (l + 1) * W)``, two's complement).
    WEIGHT = 0
    #: Neuron state words: address ``row``, data ``lanes`` times ``{u, v, r}``
    #: (``spikefab.hdl.core.state_layout``).
    STATE = 1
    #: Accumulators: address ``row``, data ``lanes * acc_bits`` bits.
    ACC = 2
    #: Neuron parameters: address ``PARAM_STRIDE * set + param`` (:class:`Param`, neuron set
    #: ``set``); learning registers of plastic group ``k`` at ``learn_base + LEARN_STRIDE * k
    #: + field`` (:class:`Learn`, :func:`learn_base`).
    PARAM = 3
    #: Pre traces (plastic cores only): address the plastic axon slot, data ``T_BITS``.
    PRE = 4
    #: Post traces (plastic cores only): address ``(k << row bits) | row``, data ``lanes``
    #: traces of ``T_BITS``.
    POST = 5


class Param(enum.IntEnum):
    """The neuron parameters of a set, at ``PARAM_STRIDE * set + param`` in
    :attr:`Space.PARAM` (two's complement of the register width on readback: ``V_BITS - 1``,
    ``V_BITS``, 13, 13, ``refractory_bits``, 1; the adaptive threshold's ``theta_bits`` and
    13, present only in a core with one, ``docs/spec.md`` v1.2)."""
    THRESHOLD = 0
    BIAS = 1
    DU = 2
    DV = 3
    REFRACTORY = 4
    RESET_SUBTRACT = 5
    THETA_INC = 6
    THETA_DECAY = 7


class Learn(enum.IntEnum):
    """Learning registers of one plastic projection, at ``learn_base(p) + LEARN_STRIDE * k +
    field`` in :attr:`Space.PARAM` (``d_pre``/``d_post`` read back as written; ``w_min``,
    ``w_max`` two's complement of ``W_BITS``)."""
    A_PLUS = 0
    A_MINUS = 1
    SHIFT = 2
    D_PRE = 3
    D_POST = 4
    X_INC = 5
    Y_INC = 6
    W_MIN = 7
    W_MAX = 8
    #: In a core with a modulated group (third factor, ``docs/spec.md`` v1.2): the signs of
    #: the effective rates (``A_PLUS`` and ``A_MINUS`` then hold their magnitudes).
    NEG_PLUS = 9
    NEG_MINUS = 10


def learn_fields(modulated):
    """The :class:`Learn` registers of a plastic group in a core with (``modulated``) or
    without a modulated group."""
    return tuple(f for f in Learn if modulated or f not in (Learn.NEG_PLUS, Learn.NEG_MINUS))


def param_map(adaptive):
    """``{name: offset}`` of the neuron parameters that a core has: the adaptive threshold's
    two only when ``adaptive`` (what ``params.json`` and the shape, and so the build hash,
    list: a network without one keeps the v1.1 map)."""
    return {q.name.lower(): int(q) for q in Param
            if adaptive or q not in (Param.THETA_INC, Param.THETA_DECAY)}


#: Addresses per neuron parameter set, and per plastic projection's learning registers, in
#: :attr:`Space.PARAM`.
PARAM_STRIDE, LEARN_STRIDE = 8, 16


def param_addr(p, neuron_set, param):
    """:attr:`Space.PARAM` address of ``param`` of neuron set ``neuron_set``."""
    return PARAM_STRIDE * neuron_set + int(Param(param))


def learn_base(p):
    """Address of the first learning register: after the neuron parameter sets (8 with one
    set, the address layout of a core that holds one population)."""
    return PARAM_STRIDE * len(p.neuron_sets)


def row_bits(p):
    """Bits of a row index (the low address bits of :attr:`Space.POST`)."""
    return max(1, (p.row_slots - 1).bit_length())




def cfg_data_bits(p):
    """Width of the configuration data bus: the widest word of any space."""
    bits = max(p.lanes * p.weight_bits, p.lanes * p.state_bits, p.lanes * p.acc_bits,
               p.voltage_bits, 13, p.refractory_bits)
    if p.plastic:
        bits = max(bits, p.lanes * p.trace_bits)
    return bits


def cfg_fields(p):
    """One configuration command: write (1) or read (0), space, address, write data."""
    addr_bits = max(3, (p.weight_depth - 1).bit_length(), (p.rows - 1).bit_length(),
                    (learn_base(p) - 1).bit_length())
    space_bits = 2
    if p.plastic:
        npl = len(p.plastic_groups)
        space_bits = 3
        addr_bits = max(addr_bits, (learn_base(p) + LEARN_STRIDE * npl - 1).bit_length(),
                        (p.pre_slots - 1).bit_length(),
                        row_bits(p) + max(1, (npl - 1).bit_length()))
    return Fields({"write": 1, "space": space_bits, "addr": addr_bits,
                   "data": cfg_data_bits(p)})


