"""The current-based LIF neuron of ``docs/spec.md`` section 2, as one vectorised step.

Implemented in hardware by the LIF update pipeline of the neuron core (``spikefab.hdl``).
"""

import numpy as np

from .fixed import decay, sat

__all__ = ["lif_step"]


def lif_step(u, v, r, a, pop, hw):
    """Advance every neuron of a population by one time step.

    Integer recurrence, with ``a`` the exact synaptic input of the step::

        u' = sat(decay(u, du) + a, U_BITS)
        refractory (r > 0):  v' = v, r' = r - 1, s = 0
        otherwise:           v' = sat(decay(v, dv) + u' + bias, V_BITS)
                             s  = v' > vth                         (strictly greater)
                             on a spike: v' = 0 (reset zero) or v' - vth (reset subtract),
                                         r' = refractory
                             else:       r' = 0

    ``decay`` truncates the magnitude toward zero; ``sat`` clips to the symmetric signed range.
    No intermediate value is wrapped: ``decay(u) + a`` is exact in ``int64`` because ``a``
    fits the accumulator width (at most 48 bits) and ``u`` at most 32 bits.

    Parameters
    ----------
    u, v, r : numpy.ndarray of int64, shape (..., N)
        State after step ``t - 1``; not modified.
    a : numpy.ndarray of int64, shape (..., N)
        Exact synaptic input delivered at step ``t``.
    pop : Population
    hw : Hardware

    Returns
    -------
    u, v, r : numpy.ndarray of int64
        State after step ``t``.
    s : numpy.ndarray of bool
        Spikes of step ``t``.
    """
    u = sat(decay(u, pop.du) + a, hw.current_bits)
    active = r == 0
    v_int = sat(decay(v, pop.dv) + u + pop.bias, hw.voltage_bits)
    s = active & (v_int > pop.threshold)
    if pop.reset == "zero":
        v_fired = np.zeros_like(v_int)
    else:
        v_fired = v_int - pop.threshold
    v_new = np.where(active, np.where(s, v_fired, v_int), v)
    r_new = np.where(active, np.where(s, pop.refractory, 0), r - 1)
    return u, v_new, r_new, s
