"""``spikefab run``: a network on a board (or the simulated board) over the host link."""

import numpy as np

__all__ = ["run"]


def run(net, inputs, steps=None, port=None, sim=False, out=None, baud=1_000_000, lanes=1,
        timeout=0.5):
    """Load ``net`` into the device, run ``inputs``, return (and write) the results.

    Parameters
    ----------
    net : Network or str
        A network, or the path of its TOML file.
    inputs : array_like of bool ``(T, n_inputs)``, or the path of a ``.npy``
    steps : int, optional
        As :func:`spikefab.golden.simulate` (pads / checks ``inputs``).
    port : str, optional
        Serial port of a board built for this network.
    sim : bool
        Run on the simulated board instead (Amaranth simulator, UART model).
    out : str, optional
        Write an ``.npz`` with ``spikes_<population>`` ``(T, size)`` and ``cycles`` ``(T,)``.

    Returns
    -------
    dict
        ``spikes`` (dict of population to bool arrays) and ``cycles``.
    """
    from spikefab.golden import load
    from spikefab.golden.params import Network
    from spikefab.golden.simulator import check_inputs
    from spikefab.hdl.generate_network import network_params

    from .device import Device

    if isinstance(net, str):
        net = load(net)
    if not isinstance(net, Network):
        raise TypeError(f"Network must be a Network or a path, not {net!r}")
    if isinstance(inputs, str):
        inputs = np.load(inputs)
    if (port is None) == (not sim):
        raise ValueError("Give exactly one of port and sim=True")
    x, batched = check_inputs(net, inputs, steps)
    if batched:
        raise ValueError(f"Inputs must be (steps, {net.inputs}) for a device run, "
                         f"not {np.shape(inputs)}")
    p = network_params(net, lanes=lanes, outputs=[q.name for q in net.populations])
    dev = Device.sim(p) if sim else Device.open(port, p, baud=baud, timeout=timeout)
    try:
        dev.identify()
        if not dev.matches:
            raise ValueError(f"The device on {port} runs another build than {net.name!r} "
                             f"needs (build hash differs): build and flash it for this network")
        dev.load()
        spikes, cycles = dev.run(x[0])
    finally:
        dev.close()
    res = {"spikes": spikes, "cycles": cycles}
    if out is not None:
        np.savez(out, cycles=cycles, **{f"spikes_{k}": v for k, v in spikes.items()})
    return res
