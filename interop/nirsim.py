"""The float reference of a NIR graph: its equations stepped by forward Euler at ``dt``.

NumPy only; what ``import_nir`` compares the quantised golden model with. The timing is
spikefab's (``docs/spec.md`` section 3): the Input's spikes of step ``t`` reach their targets
at step ``t``, a neuron node's spikes of step ``t`` reach theirs at step ``t + 1``, so that the
comparison measures quantisation, not a different schedule. Per step, with ``I`` a node's
input (the sum of ``matrix @ spikes`` over its paths plus the Affine and convolution biases)::

    LIF, LI      v += dt / tau * (v_leak - v + r * I)
    CubaLIF/LI   i += dt / tau_syn * (w_in * I - i);  v += dt / tau_mem * (v_leak - v + r * i)
    IF, I        v += dt * r * I
    spiking      s = v > v_threshold;  v = v_reset where s
"""

import numpy as np

__all__ = ["reference"]


def reference(model, dt, x):
    """Run the float reference of ``model`` (a :class:`~.nirgraph.Model`).

    Parameters
    ----------
    model : Model
    dt : float
        Time step in seconds.
    x : numpy.ndarray of bool, (B, T, inputs)

    Returns
    -------
    (dict, dict)
        Spikes (bool) and ``v`` (float64) of every neuron node, ``(B, T, size)`` by node name.
    """
    b, steps = x.shape[:2]
    nodes = model.neurons
    v = {n: np.zeros((b, m.size)) for n, m in nodes.items()}
    cur = {n: np.zeros((b, m.size)) for n, m in nodes.items()}
    last = {n: np.zeros((b, m.size), bool) for n, m in nodes.items()}
    out_s = {n: np.zeros((b, steps, m.size), bool) for n, m in nodes.items()}
    out_v = {n: np.zeros((b, steps, m.size)) for n, m in nodes.items()}
    for t in range(steps):
        drive = {n: np.repeat(model.bias[n][None], b, axis=0) for n in nodes}
        for p in model.paths:
            s = x[:, t] if p.source == model.input_name else last[p.source]
            drive[p.target] += s.astype(np.float64) @ p.matrix.T
        spikes = {}
        for n, m in nodes.items():
            q, inp = m.params, drive[n]
            if m.kind in ("LIF", "LI"):
                v[n] += dt / q["tau"] * (q["v_leak"] - v[n] + q["r"] * inp)
            elif m.kind in ("CubaLIF", "CubaLI"):
                cur[n] += dt / q["tau_syn"] * (q["w_in"] * inp - cur[n])
                v[n] += dt / q["tau_mem"] * (q["v_leak"] - v[n] + q["r"] * cur[n])
            else:
                v[n] += dt * q["r"] * inp
            s = np.zeros_like(last[n])
            if m.spiking:
                s = v[n] > q["v_threshold"]
                v[n] = np.where(s, q["v_reset"], v[n])
            spikes[n] = s
            out_s[n][:, t], out_v[n][:, t] = s, v[n]
        last = spikes
    return out_s, out_v
