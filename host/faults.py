"""A noisy cable between host and board: :class:`FaultyTransport` wraps any transport of
:mod:`spikefab.host.transport` and injects faults into the bytes in both directions.

Faults (:data:`FAULT_KINDS`), each drawn from a seeded generator for one transfer (a
``write`` of a request, or the bytes one ``read`` returns):

* ``drop``: a byte is lost;
* ``flip``: one bit of one byte is inverted;
* ``garbage``: 1 to 8 random bytes (the first a ``START`` byte half of the time) are inserted;
* ``stall``: the bytes of a response are held back and arrive after the host's timeout,
  at the front of a later read (a cable or a driver that stalls for longer than the timeout);
* ``split``: a request is cut in two and its rest follows after a pause drawn from
  ``[0, 2 * split_gap]`` seconds, often longer than the device's inter-byte timeout (a host or
  an adapter that stalls mid-request): the device answers ``TRUNCATED``, then meets the rest;
* ``vanish``: the port disappears (a cable pulled): this and every later call raises
  :class:`~spikefab.shape.protocol.LinkError`, as :class:`SerialTransport` does when pyserial
  loses its device.

Used by the fault campaign (``tests/test_faults.py``, ``bench/bench_faults.py``): the host must
recover where the protocol allows and otherwise stop with one line; a run that completes must
equal the golden model.
"""

import random
import time

from spikefab.errors import InvalidValue
from spikefab.shape.protocol import START, LinkError

__all__ = ["FAULT_KINDS", "FaultyTransport", "fault_campaign"]

#: The faults :class:`FaultyTransport` injects.
FAULT_KINDS = ("drop", "flip", "garbage", "stall", "vanish", "split")


class FaultyTransport:
    """``inner`` with faults injected into a fraction ``rate`` of its transfers.

    Parameters
    ----------
    inner : transport
        Anything with ``write(data)``, ``read(timeout)`` and ``close()``.
    seed : int
        Of the fault generator: a campaign replays exactly.
    rate : float
        Probability in ``[0, 1]`` that a transfer (a request written, or a read that
        returned bytes) gets a fault.
    kinds : sequence of str
        Among :data:`FAULT_KINDS`; each fault draws one of them.
    limit : int, optional
        Inject at most this many faults.
    split_gap : float
        The mean pause in seconds between the two parts of a ``split`` request (simulated
        seconds on a lock-step simulated board, which is clocked through it): default 0.06,
        more than a board's inter-byte timeout of 50 ms.

    Attributes
    ----------
    injected : dict of str to int
        Faults injected so far, by kind ("to_device" / "to_host" direction included in
        :attr:`log`).
    log : list of tuple
        ``(kind, direction, transfer number)`` of every fault.
    """

    def __init__(self, inner, seed, rate=0.05, kinds=FAULT_KINDS, limit=None, split_gap=0.06):
        kinds = tuple(kinds)
        bad = [k for k in kinds if k not in FAULT_KINDS]
        if bad or not kinds:
            raise InvalidValue(f"Fault kinds must be among {', '.join(FAULT_KINDS)}, not "
                               f"{list(kinds)!r}")
        if not 0.0 <= float(rate) <= 1.0:
            raise InvalidValue(f"Fault rate must be in [0, 1], not {rate!r}")
        self.inner = inner
        self.rng = random.Random(seed)
        self.rate = float(rate)
        self.kinds = kinds
        self.limit = limit
        self.split_gap = float(split_gap)
        self.injected = {k: 0 for k in FAULT_KINDS}
        self.log = []
        self.transfers = 0
        self.vanished = False
        self._held = b""

    def __getattr__(self, name):
        # the simulated boards' extras (idle, now, clocks, ...) pass through
        return getattr(self.inner, name)

    def _draw(self, direction):
        """The kind of fault for this transfer, or None."""
        self.transfers += 1
        if self.limit is not None and len(self.log) >= self.limit:
            return None
        # a stall holds back a response (the host's writes return at once either way); a
        # split cuts a request
        kinds = [k for k in self.kinds if k != ("stall" if direction == "to_device"
                                                  else "split")]
        if not kinds or self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(kinds)
        self.injected[kind] += 1
        self.log.append((kind, direction, self.transfers))
        return kind

    def _damage(self, kind, data):
        rng = self.rng
        data = bytearray(data)
        i = rng.randrange(len(data))
        if kind == "drop":
            del data[i]
        elif kind == "flip":
            data[i] ^= 1 << rng.randrange(8)
        elif kind == "garbage":
            junk = bytearray(rng.randrange(256) for _ in range(rng.randint(1, 8)))
            if rng.random() < 0.5:
                junk[0] = START
            data[i:i] = junk
        return bytes(data)

    def _check(self):
        if self.vanished:
            raise LinkError("The serial port vanished (fault injected)")

    def write(self, data):
        self._check()
        kind = self._draw("to_device") if data else None
        if kind == "vanish":
            self.vanished = True
            self._check()
        if kind == "split" and len(data) > 1:
            i = self.rng.randrange(1, len(data))
            gap = self.rng.uniform(0.0, 2.0 * self.split_gap)
            self.inner.write(data[:i])
            idle = getattr(self.inner, "idle", None)
            if idle is not None:
                idle(gap)                    # a simulated board: clocked through the pause
            else:
                time.sleep(gap)
            data = data[i:]
        elif kind is not None:
            data = self._damage(kind, data)
        self.inner.write(data)

    def read(self, timeout):
        self._check()
        if self._held:
            # bytes stalled earlier arrive now, late
            data, self._held = self._held, b""
            return data
        data = self.inner.read(timeout)
        if not data:
            return data
        kind = self._draw("to_host")
        if kind == "vanish":
            self.vanished = True
            self._check()
        if kind == "stall":
            self._held = data
            return b""
        if kind is not None:
            data = self._damage(kind, data)
        return data

    def close(self):
        self.inner.close()


def fault_campaign(params, net, inputs, kinds=FAULT_KINDS, runs=4, rate=0.05, seed=0,
                   retries=5, device=None, intensities=None, steps=None):
    """Run ``net`` (loaded into the simulated board of ``params``) ``runs`` times per fault
    kind with faults injected at ``rate``, and sort every run: ``recovered`` (it completed,
    equal to the golden model), ``reported`` (it stopped with a :class:`LinkError` or
    :class:`~spikefab.shape.protocol.DeviceError`) or ``wrong`` (it completed and differs
    from the golden model: must never happen).

    ``retries``: of every command (:attr:`Device.retries`). ``device(transport_wrapper)``
    makes a :class:`~spikefab.host.Device` whose transport is
    wrapped by the given function (default: a fresh lock-step simulated board of
    ``params``). Returns a dict by kind: ``runs``, faults ``injected``, runs ``recovered`` /
    ``reported`` / ``wrong``, the faults of each (``faults_recovered``: of the runs that
    completed right, and all but the last of a reported run; ``faults_reported``: the last
    fault of each reported run; ``faults_wrong``), frames ``resent``, and the ``messages``
    of the reported runs.

    With ``intensities`` (and ``steps``; ``inputs`` is then ignored) every run presents those
    images instead (:meth:`Device.present`, a build with the rate generator), against
    :func:`spikefab.golden.present`.
    """
    import numpy as np

    from spikefab.golden import simulate
    from spikefab.shape.protocol import DeviceError

    from .device import Device

    if intensities is not None:
        from spikefab.golden import present
        want = present(net, intensities, steps)
    else:
        x = np.asarray(inputs, bool)
        want = simulate(net, x)
    observed = list(params.mapping.outputs)
    table = {}
    for kind in kinds:
        row = {"runs": 0, "injected": 0, "recovered": 0, "reported": 0, "wrong": 0,
               "faults_recovered": 0, "faults_reported": 0, "faults_wrong": 0,
               "resent": 0, "messages": []}
        for r in range(runs):
            faulty = []

            def wrap(t, r=r):
                k = FAULT_KINDS.index(kind)
                faulty.append(FaultyTransport(t, seed=(seed * 8 + k) * 100_000 + r,
                                              rate=rate, kinds=(kind,)))
                return faulty[-1]
            if device is not None:
                dev = device(wrap)
            else:
                dev = Device.sim(params)
                dev.t = wrap(dev.t)
            dev.retries = retries
            row["runs"] += 1
            try:
                dev.identify()
                dev.load(net)
                got = dev.present(intensities, steps) if intensities is not None else \
                    dev.run(x)
                weights = dev.read_weights()
            except (LinkError, DeviceError) as e:
                # the fault that stopped the run is reported, the ones before it recovered
                n = sum(f.injected[kind] for f in faulty)
                row["reported"] += 1
                row["faults_reported"] += 1
                row["faults_recovered"] += max(0, n - 1)
                row["messages"].append(str(e))
                continue
            finally:
                row["injected"] += sum(f.injected[kind] for f in faulty)
                row["resent"] += dev.counts["resent"]
                dev.close()
            n = sum(f.injected[kind] for f in faulty)
            same = all(np.array_equal(got.spikes[q], want.spikes[q]) for q in observed) and \
                all(np.array_equal(w, g[0] if g.ndim == 3 else g)
                    for w, g in zip(weights, want.weights))
            row["recovered" if same else "wrong"] += 1
            row["faults_recovered" if same else "faults_wrong"] += n
        table[kind] = row
    return table
