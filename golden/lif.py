"""The current-based LIF neuron of ``docs/spec.md`` section 2, as one vectorised step.

Implemented in hardware by the LIF update pipeline of the neuron core (``spikefab.hdl``).
"""

import numpy as np

from .fixed import decay, sat, usat

__all__ = ["lif_step"]


def lif_step(u, v, r, a, pop, hw, theta=None):
    """Advance every neuron of a population by one time step.

    Integer recurrence, with ``a`` the exact synaptic input of the step::

        u' = sat(decay(u, du) + a, U_BITS)
        th = decay(theta, theta_decay)                   (adaptive threshold only; else 0)
        refractory (r > 0):  v' = v, r' = r - 1, s = 0
        otherwise:           v' = sat(decay(v, dv) + u' + bias, V_BITS)
                             s  = v' > vth + th                    (strictly greater)
                             on a spike: v' = 0 (reset zero) or v' - (vth + th) (reset
                                         subtract), r' = refractory
                             else:       r' = 0
        theta' = usat(th + (theta_inc if s else 0), THETA_BITS)

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
    theta : numpy.ndarray of int64, shape (..., N), optional
        The adaptive threshold offsets after step ``t - 1``; required exactly when
        ``pop.theta_bits > 0`` (``docs/spec.md`` section 2, v1.2).

    Returns
    -------
    u, v, r : numpy.ndarray of int64
        State after step ``t``.
    s : numpy.ndarray of bool
        Spikes of step ``t``.
    theta : numpy.ndarray of int64
        Only with ``theta``: the offsets after step ``t`` (a fifth item).
    """
    if (theta is not None) != pop.adaptive:
        raise ValueError(f"theta must be given exactly for an adaptive population "
                         f"({pop.name!r} has theta_bits = {pop.theta_bits})")
    u = sat(decay(u, pop.du) + a, hw.current_bits)
    active = r == 0
    v_int = sat(decay(v, pop.dv) + u + pop.bias, hw.voltage_bits)
    th = pop.threshold if theta is None else pop.threshold + decay(theta, pop.theta_decay)
    s = active & (v_int > th)
    if pop.reset == "zero":
        v_fired = np.zeros_like(v_int)
    else:
        v_fired = v_int - th
    v_new = np.where(active, np.where(s, v_fired, v_int), v)
    r_new = np.where(active, np.where(s, pop.refractory, 0), r - 1)
    if theta is None:
        return u, v_new, r_new, s
    theta_new = usat(th - pop.threshold + np.where(s, pop.theta_inc, 0), pop.theta_bits)
    return u, v_new, r_new, s, theta_new
