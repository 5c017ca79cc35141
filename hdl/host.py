"""Host-side view of a core: axon numbering and the bit packing of the configuration port.

Pure Python and NumPy: the Amaranth-simulator tests, the cocotb testbenches and
:func:`spikefab.hdl.rtlsim.simulate_rtl` all drive a core through these functions, so there is
one definition of every word format (``docs/core.md``).
"""

import numpy as np

from .core import (LEARN_STRIDE, Learn, Param, Space, cfg_data_bits, cfg_layout, learn_base,
                   param_addr, row_bits)
from .params import CoreParams

__all__ = ["CoreMap", "to_signed", "pack_cfg", "unpack_state", "pack_state",
           "unpack_weight_word", "unpack_acc", "weights_from_words", "post_addr",
           "unpack_traces", "learn_addr", "learn_values", "neuron_param_words",
           "spiking_rows"]


def to_signed(x, bits):
    """The two's complement value of the low ``bits`` bits of ``x``."""
    x = int(x) & ((1 << bits) - 1)
    return x - (1 << bits) if x >> (bits - 1) else x


class CoreMap:
    """Where the spikes of a single-population network enter its core.

    Axon slots are the sources of the projections into the population, concatenated in
    projection order. A source may be ``"input"`` or the population itself (recurrent
    projections: its spikes of step ``t - 1`` are delivered at step ``t``).

    Parameters
    ----------
    net : Network
        With exactly one population.
    lanes : int
    """

    def __init__(self, net, lanes=1):
        self.net = net
        self.params = CoreParams.from_network(net, lanes=lanes)
        self.pop = net.populations[0]
        self._groups = []
        for (off, p) in zip(self.params.axon_offsets,
                            [p for p in net.projections if p.target == self.pop.name]):
            self._groups.append((off, p.source))

    def events(self, inputs, prev_spikes):
        """Axon ids of one step, in delivery order.

        Parameters
        ----------
        inputs : array_like of bool, (net.inputs,)
            Host spikes injected for this step.
        prev_spikes : array_like of bool, (N,)
            The population's spikes of the previous step.
        """
        src = {"input": np.asarray(inputs, bool), self.pop.name: np.asarray(prev_spikes, bool)}
        out = [off + np.flatnonzero(src[name]) for off, name in self._groups]
        return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)


def pack_cfg(p, write, space, addr, data=0):
    """One ``i_cfg`` payload as an integer (layout :func:`~spikefab.hdl.core.cfg_layout`)."""
    layout = cfg_layout(p)
    dbits = cfg_data_bits(p)
    abits = layout["addr"].shape.width
    if not 0 <= addr < (1 << abits):
        raise ValueError(f"Address must be an integer in [0, {(1 << abits) - 1}], not {addr}")
    word = int(bool(write))
    word |= int(Space(space)) << layout["space"].offset
    word |= int(addr) << layout["addr"].offset
    word |= (int(data) & ((1 << dbits) - 1)) << layout["data"].offset
    return word


def pack_state(p, u, v, r):
    """A state word from per-lane sequences ``u, v, r`` (length ``lanes``)."""
    word, o = 0, 0
    for lane in range(p.lanes):
        for val, bits in ((u[lane], p.current_bits), (v[lane], p.voltage_bits),
                          (r[lane], p.refractory_bits)):
            word |= (int(val) & ((1 << bits) - 1)) << o
            o += bits
    return word


def unpack_state(p, word):
    """``(u, v, r)`` lists of length ``lanes`` from a state word."""
    u, v, r, o = [], [], [], 0
    for _ in range(p.lanes):
        u.append(to_signed(word >> o, p.current_bits))
        o += p.current_bits
        v.append(to_signed(word >> o, p.voltage_bits))
        o += p.voltage_bits
        r.append((word >> o) & ((1 << p.refractory_bits) - 1))
        o += p.refractory_bits
    return u, v, r


def unpack_weight_word(p, word):
    """The ``lanes`` signed weights of a weight word."""
    wb = p.weight_bits
    return [to_signed(word >> (lane * wb), wb) for lane in range(p.lanes)]


def unpack_acc(p, word):
    """The ``lanes`` signed accumulators of an accumulator word."""
    ab = p.acc_bits
    return [to_signed(word >> (lane * ab), ab) for lane in range(p.lanes)]


def param_value(p, param, word):
    """Decode a :attr:`Space.PARAM` readback word."""
    param = Param(param)
    if param == Param.BIAS:
        return to_signed(word, p.voltage_bits)
    return int(word)


def weights_from_words(p, words):
    """The ``(A, N)`` weight matrix from the ``rows * A`` weight words."""
    w = np.zeros((p.axons, p.rows * p.lanes), np.int64)
    for row in range(p.rows):
        for a in range(p.axons):
            w[a, row * p.lanes:(row + 1) * p.lanes] = unpack_weight_word(
                p, words[row * p.axons + a])
    return w[:, :p.neurons]


def post_addr(p, k, row):
    """:attr:`Space.POST` address of row ``row`` of plastic group ``k``."""
    return (k << row_bits(p)) | row


def unpack_traces(p, word):
    """The ``lanes`` traces of a :attr:`Space.POST` word."""
    tb = p.trace_bits
    return [(word >> (lane * tb)) & ((1 << tb) - 1) for lane in range(p.lanes)]


def learn_addr(p, k, field):
    """:attr:`Space.PARAM` address of learning register ``field`` of plastic group ``k``."""
    return learn_base(p) + LEARN_STRIDE * k + int(Learn(field))


def neuron_param_words(p, sets=None):
    """``{address: register word}`` of every neuron parameter of every set, as written
    through :attr:`Space.PARAM` and read back (default: the reset values, ``p.neuron_sets``;
    ``sets``: other :class:`~spikefab.hdl.params.NeuronSet` values of the same shape)."""
    out = {}
    vmask = (1 << p.voltage_bits) - 1
    for k, ns in enumerate(p.neuron_sets if sets is None else sets):
        out.update({param_addr(p, k, Param.THRESHOLD): ns.threshold,
                    param_addr(p, k, Param.BIAS): ns.bias & vmask,
                    param_addr(p, k, Param.DU): ns.du, param_addr(p, k, Param.DV): ns.dv,
                    param_addr(p, k, Param.REFRACTORY): ns.refractory,
                    param_addr(p, k, Param.RESET_SUBTRACT): int(ns.reset_subtract)})
    return out


def learn_values(p, rule):
    """``{Learn field: register word}`` of an :class:`~spikefab.golden.Stdp` (as written
    through the port and read back)."""
    wmask = (1 << p.weight_bits) - 1
    return {Learn.A_PLUS: rule.a_plus, Learn.A_MINUS: rule.a_minus, Learn.SHIFT: rule.shift,
            Learn.D_PRE: rule.d_pre, Learn.D_POST: rule.d_post, Learn.X_INC: rule.x_inc,
            Learn.Y_INC: rule.y_inc, Learn.W_MIN: rule.w_min & wmask,
            Learn.W_MAX: rule.w_max & wmask}


def spiking_rows(p, spikes):
    """``R_s``: rows with at least one of the neuron ids ``spikes``."""
    return len({int(i) // p.lanes for i in spikes})
