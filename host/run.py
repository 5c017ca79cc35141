"""``spikefab run``: a network on a board (or the simulated board) over the host link."""

import numpy as np

from spikefab.errors import InvalidType, InvalidValue
from spikefab.shape.image import RunResult

__all__ = ["RunResult", "run"]


def run(net, inputs, steps=None, port=None, sim=False, out=None, baud=1_000_000, lanes=1,
        timeout=0.5, record_state=False, read_weights=True, backend="verilator", params=None,
        intensities=None):
    """Load ``net`` into the device, run ``inputs`` (or present ``intensities``), return (and
    write) the results.

    Parameters
    ----------
    net : Network or str
        A network, or the path of its TOML file.
    inputs : array_like of bool ``(T, n_inputs)``, or the path of a ``.npy``
        None with ``intensities``.
    steps : int, optional
        As :func:`spikefab.golden.simulate` (pads / checks ``inputs``); with ``intensities``
        the steps of every image (required).
    intensities : array_like of int ``(B, n_inputs)`` in ``[0, 15]``, or the path of a ``.npy``
        Present every image on the build's rate generator (``Device.present``, a network with
        ``rate_bits``): the result's arrays are then ``(B, T, size)`` and equal
        :func:`spikefab.golden.present`'s.
    port : str, optional
        Serial port of a board built for this network.
    sim : bool
        Run on the simulated board instead.
    out : str, optional
        Write the ``.npz`` that ``spikefab simulate`` writes (``spikes/<population>``,
        ``u/`` and ``v/<population>`` with ``record_state``, ``weights/<k>``).
    baud : int
        Of the serial port.
    lanes : int
        Neurons per clock of the build's cores.
    timeout : float
        Seconds to wait for each response of a board on ``port`` (the simulated board counts
        simulated time and uses :meth:`Device.sim`'s default).
    record_state : bool
        Read ``u`` and ``v`` back after every step (one RUN per step).
    read_weights : bool
        Read the final weights back from the device (otherwise the network's own).
    backend : str
        Of the simulated board: ``"verilator"`` or ``"amaranth"`` (:meth:`Device.sim`).
    params : NetworkParams or sequence of NetworkParams, optional
        The build of the device (a board's: ``spikefab.boards.board_params``); default the
        network top of ``net`` with every population routed to the host, ``lanes`` lanes.
        Only the build's output populations are observed: the others' spikes stay 0. A
        sequence names the builds that the device may run (a board's, and its simulated
        board's behind a pty, whose weight memories differ): the one whose build hash the
        device reports is loaded.

    Returns
    -------
    RunResult
        The arrays of :func:`spikefab.golden.simulate`, and ``cycles`` ``(T,)``: the clocks of
        every step as the device counted them.

    Raises
    ------
    PortError
        ``port`` does not exist, is no serial port, is in use by another program, may not be
        opened, or vanished during the run (:class:`~spikefab.host.transport.PortError`).
    IdentifyError, BuildMismatch
        The device is no spikefab board, or runs another build; nothing was written to it.
    LinkError, DeviceError
        The link failed later (a lost answer, a rejected command).
    """
    from spikefab.golden import load
    from spikefab.golden.params import Network
    from spikefab.golden.simulator import check_inputs
    from spikefab.shape.network import derive
    from spikefab.shape.protocol import link_info

    from .device import Device

    if isinstance(net, str):
        net = load(net)
    if not isinstance(net, Network):
        raise InvalidType(f"Network must be a Network or a path, not {net!r}")
    if (port is None) == (not sim):
        raise InvalidValue("Give exactly one of port and sim=True")
    if intensities is not None:
        if isinstance(intensities, str):
            intensities = np.load(intensities)
        if record_state:
            raise InvalidValue("record_state is for step-by-step runs, not presentations")
        if steps is None:
            raise InvalidValue("Presentations need steps (the steps of every image)")
        # checked before the device is opened (the same words as Device.present's)
        from spikefab.golden.encode import check_intensities
        intensities = check_intensities(intensities, net.inputs)
    else:
        if isinstance(inputs, str):
            inputs = np.load(inputs)
        x, batched = check_inputs(net, inputs, steps)
        if batched:
            raise InvalidValue(f"Inputs must be (steps, {net.inputs}) for a device run, "
                               f"not {np.shape(inputs)}")
    if params is None:
        params = derive(net, lanes=lanes, outputs=[q.name for q in net.populations])
    # the builds the device may run (a board's, and the simulated board's of that board)
    builds = list(params) if isinstance(params, (list, tuple)) else [params]
    dev = Device.sim(builds[0], backend=backend) if sim else \
        Device.open(port, builds[0], baud=baud, timeout=timeout, check=False)
    try:
        # a board is identified and its build checked before anything is written to it
        dev.identify()
        same = [p for p in builds[1:] if link_info(p)["build_hash"] == dev.info["build_hash"]]
        if not dev.matches and same:
            info, dev = dev.info, Device(dev.t, same[0], dev.timeout, dev.retries)
            dev.info = info
        dev.check_build(identified=True)
        dev.load()
        r = dev.present(intensities, steps) if intensities is not None else \
            dev.run(x[0], record_state=record_state)
        weights = dev.read_weights() if read_weights else \
            [pr.weights.copy() for pr in net.projections]
    finally:
        dev.close()
    none = [None] * len(net.projections)
    res = RunResult(r.spikes, getattr(r, "u", None), getattr(r, "v", None), weights, none,
                    list(none), cycles=r.cycles)
    if out is not None:
        np.savez(out, **res.to_npz_dict())
    return res
