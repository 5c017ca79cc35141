"""spikefab network -> NIR graph, in spikefab's integer units (``docs/nir.md``).

Voltages are the network's integers (scale 1); with ``d = dv / 4096`` a population becomes

    du = 4096, dv > 0       LIF (LI if it never spikes): tau = dt / d, r = 1 / d,
                            v_leak = bias / d
    0 < du < 4096, dv > 0   CubaLIF (CubaLI): also tau_syn = dt * 4096 / du, w_in = 4096 / du
    du = 4096, dv = 0       IF (I if it never spikes): r = 1 / dt (bias must be 0)

so that the float equations' gains are exactly 1 (``r = tau / dt``, the convention of
snnTorch's export); a population whose threshold is the voltage maximum never spikes (a
readout). Projection ``k`` becomes a ``Linear`` node ``w<k>.<source>.<target>`` of weight
``(W << weight_shift).T``; output populations feed ``Output`` nodes ``output.<name>``. The
graph's metadata records ``dt``, the widths and that the values are integers, so that
``import_nir`` maps it back exactly (NIR's other readers may ignore it: the graph is complete
without it). Refractory periods, the ``subtract`` reset and STDP have no NIR form: refused
(plastic projections may be exported static).
"""

import os

import numpy as np

from spikefab.errors import InvalidType, InvalidValue
from spikefab.golden import DECAY_ONE, Network, signed_max

from .nirimport import UNITS_KEY, _positive

__all__ = ["export_nir", "write_nir"]


def _node(pop, dt, vmax):
    import nir
    what = f"population {pop.name!r}"
    spiking = pop.threshold < vmax
    if spiking and pop.refractory:
        raise InvalidValue(f"Refractory of {what} must be 0 to export to NIR (NIR neurons have "
                           f"no refractory period), not {pop.refractory}")
    if spiking and pop.reset != "zero":
        raise InvalidValue(f"Reset of {what} must be 'zero' to export to NIR (NIR resets v to "
                           f"v_reset), not {pop.reset!r}")
    if pop.du == 0 or (pop.dv == 0 and pop.du < DECAY_ONE):
        raise InvalidValue(f"Du and dv of {what} must be du = 4096 or both in [1, 4096] to "
                           f"export to NIR (no NIR node keeps a current or a voltage without "
                           f"leak), not du = {pop.du}, dv = {pop.dv}")

    def full(x):
        return np.full(pop.size, float(x))

    thr = {"v_threshold": full(pop.threshold), "v_reset": full(0)} if spiking else {}
    if pop.dv == 0:
        if pop.bias:
            raise InvalidValue(f"Bias of {what} must be 0 to export to NIR with dv = 0 (IF has "
                               f"no leak voltage), not {pop.bias}")
        return (nir.IF if spiking else nir.I)(r=full(1 / dt), **thr)
    inv = DECAY_ONE / pop.dv
    common = {"r": full(inv), "v_leak": full(pop.bias * inv)}
    if pop.du == DECAY_ONE:
        return (nir.LIF if spiking else nir.LI)(tau=full(dt * inv), **common, **thr)
    return (nir.CubaLIF if spiking else nir.CubaLI)(
        tau_syn=full(dt * DECAY_ONE / pop.du), tau_mem=full(dt * inv),
        w_in=full(DECAY_ONE / pop.du), **common, **thr)


def export_nir(net, dt=1e-3, static=False):
    """The ``nir.NIRGraph`` of ``net`` (module docstring).

    Parameters
    ----------
    net : Network
    dt : float
        Seconds per time step: sets the time constants.
    static : bool
        Export plastic projections with their current weights, as static ones (else refused).

    Raises
    ------
    ValueError (spikefab.errors.InvalidValue)
        One line naming the population or projection that NIR cannot express.
    """
    import nir
    if not isinstance(net, Network):
        raise InvalidType(f"Network must be a Network, not {net!r}")
    dt = _positive(dt, "Dt")
    hw = net.hardware
    vmax = signed_max(hw.voltage_bits)
    nodes = {"input": nir.Input(input_type=np.array([net.inputs]))}
    edges = []
    for k, pr in enumerate(net.projections):
        if pr.plastic and not static:
            raise InvalidValue(f"Projection {k} ({pr.source} -> {pr.target}) is plastic "
                               f"(STDP), which NIR cannot express; export with static=True "
                               f"(--static) to write its current weights as static")
    for pop in net.populations:
        nodes[pop.name] = _node(pop, dt, vmax)
    for k, pr in enumerate(net.projections):
        w = f"w{k}.{pr.source}.{pr.target}"
        nodes[w] = nir.Linear(weight=(pr.weights << pr.weight_shift).T.astype(np.float64))
        edges += [(pr.source, w), (w, pr.target)]
    for pop in net.populations:
        if pop.output:
            nodes[f"output.{pop.name}"] = nir.Output(output_type=np.array([pop.size]))
            edges.append((pop.name, f"output.{pop.name}"))
    meta = {UNITS_KEY: "integer", "dt": dt, "spikefab_network": net.name,
            "spikefab_weight_bits": hw.weight_bits, "spikefab_voltage_bits": hw.voltage_bits,
            "spikefab_current_bits": hw.current_bits}
    # the shapes are consistent by construction; NIR's type inference would refuse a network
    # without an input projection or without a leaf, and add Output nodes of its own
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False)


def write_nir(net, path, dt=1e-3, static=False):
    """Write ``export_nir(net, dt, static)`` to ``path`` with ``nir.write``; return the graph."""
    import nir
    graph = export_nir(net, dt, static)
    path = os.fspath(path)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        nir.write(path, graph)
    except OSError as e:
        raise InvalidValue(f"Cannot write {path!r}: {e}") from None
    return graph

