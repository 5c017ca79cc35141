"""A spikefab board as a Python object: :class:`Device` over a serial port or a simulated board.

Every command is one request frame and one response frame, with a sequence number. A command
whose answer is lost or broken is sent again with the same number; the device executes a frame
once and answers its retry from a replay memory (protocol v2), so a noisy line costs time, never
a command applied twice or half. When the retries run out, :class:`LinkError` says which command
may or may not have been applied and what had been. That request/response layer is
:class:`~spikefab.host.exchange.Exchange` (``host/exchange.py``); :class:`Device` adds the
commands.

The device speaks the shared protocol (:mod:`spikefab.shape.protocol`: commands, frames, CRC,
IDENTIFY) and writes and reads the run-time image of the build's shape
(:mod:`spikefab.shape.image`, :func:`spikefab.shape.network.derive`); the bytes travel over
one of the transports of :mod:`spikefab.host.transport`, which all have the same calls.
"""

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from spikefab.errors import InvalidType, InvalidValue
from spikefab.shape.cfg import Space
from spikefab.shape.image import clear_entries, network_image, trace_addresses
from spikefab.shape.protocol import (MAX_EVENTS, VERSIONS, Cmd, DeviceError, LinkError,
                                     link_info, parse_identify)
from spikefab.shape.protocol import nbytes as _nbytes

from .exchange import Exchange, NoAnswer
from .transport import SerialTransport, sim_transport
from .weights import network_weights, updated_weights

__all__ = ["Device", "DeviceRun", "DevicePresentation", "NoAnswer", "IdentifyError",
           "BuildMismatch"]


class IdentifyError(LinkError):
    """The device did not answer IDENTIFY as a spikefab board of this protocol does (no
    answer, an error status, or a payload that is no spikefab board's)."""


class BuildMismatch(LinkError):
    """The board runs another build than the network needs (its build hash differs).

    Attributes
    ----------
    got, want : int
        The board's build hash and the network's.
    """

    def __init__(self, message, got, want):
        super().__init__(message)
        self.got, self.want = got, want


#: Why a device does not answer IDENTIFY as a spikefab board, most likely first.
_CAUSES = ("it is not a spikefab board, its bitstream is not flashed (spikefab flash), it runs "
           "at another baud rate (--baud), or the board is on another port")


@dataclass
class DeviceRun:
    """What :meth:`Device.run` returns.

    Attributes
    ----------
    spikes : dict of str to numpy.ndarray of uint8, (T, size)
        Every population the build reports to the host (zeros for the others).
    cycles : numpy.ndarray of int64, (T,)
        Clocks of every step, from its start to its barrier.
    u, v : dict of str to numpy.ndarray of int64, (T, size), or None
        The state after every step, read back when ``record_state``.
    """

    spikes: dict
    cycles: np.ndarray
    u: "dict | None" = None
    v: "dict | None" = None


@dataclass
class DevicePresentation:
    """What :meth:`Device.present` returns.

    Attributes
    ----------
    spikes : dict of str to numpy.ndarray of uint8, (B, T, size)
        Every population the build reports to the host (zeros for the others), image by image.
    cycles : numpy.ndarray of int64, (B,)
        Clocks of every presentation on the board, from its first clearing write to its last
        step's barrier.
    """

    spikes: dict
    cycles: np.ndarray


class Device(Exchange):
    """A running network top behind the host link.

    Parameters
    ----------
    transport : SerialTransport, VerilatorTransport or AmaranthTransport
        Anything with ``write(data)`` and ``read(timeout)`` (the bytes that arrived within
        ``timeout`` seconds, or ``b""``) and ``close()``.
    params : NetworkParams
        The build's parameters (the mapping gives host ids and core layouts).
    timeout : float
        Seconds (simulated seconds on a simulated board) to wait for a response.
    retries : int
        Extra attempts of a command (sent again with its sequence number: never executed
        twice).
    """

    def __init__(self, transport, params, timeout=0.5, retries=3):
        super().__init__(transport, timeout, retries)
        self.p = params
        self.D = _nbytes(params.cfg_data_bits)
        self.R = _nbytes(params.rdata_bits)
        self.info = None
        self.matches = None
        self.steps = 0                   # steps run since the last reset (tags count from it)
        self._param_entries = None       # the parameters of the last load, for reset()
        self.stall_polls = 20_000        # polls of a running step without progress: LinkError
        self.net = params.mapping.net    # the network whose values were loaded last

    @classmethod
    def open(cls, port, params, baud=1_000_000, timeout=0.5, retries=3, check=True):
        """The board on serial port ``port``; with ``check``, after :meth:`check_build`.

        Raises
        ------
        PortError
            The port cannot be opened (:class:`~spikefab.host.transport.SerialTransport`).
        IdentifyError, BuildMismatch
            With ``check``: the device is no spikefab board, or runs another build; the port
            is closed again.
        """
        dev = cls(SerialTransport(port, baud), params, timeout, retries)
        if check:
            try:
                dev.check_build()
            except BaseException:
                dev.close()
                raise
        return dev

    @classmethod
    def sim(cls, params, backend="verilator", divisor=4, timeout=0.05, retries=2,
            build_root=None):
        """The simulated board of ``params``: ``backend`` ``"verilator"`` (the default:
        compiled once, cached) or ``"amaranth"`` (no compiler, ~200x slower); ``divisor``
        clocks per UART bit; ``timeout`` in simulated seconds at 1 MHz."""
        return cls(sim_transport(params, backend, divisor, build_root), params, timeout,
                   retries)

    # -- commands -------------------------------------------------------------------------

    @property
    def where(self):
        """What the device is, to begin a message with: ``"The device on /dev/ttyUSB1"`` (a
        transport without a ``name``, such as a simulated board's: ``"The device"``)."""
        name = getattr(self.t, "name", None)
        return f"The device on {name}" if name else "The device"

    def identify(self):
        """The IDENTIFY answer as a dict; sets :attr:`matches` (the device runs this build).

        Raises
        ------
        IdentifyError
            No answer within the timeout and retries, an error status, or an answer that is no
            spikefab board's (of this protocol version).
        """
        try:
            body = self.transact(Cmd.IDENTIFY)
        except NoAnswer:
            raise IdentifyError(f"{self.where} did not answer IDENTIFY within the timeout "
                                f"({self.timeout} s, {1 + self.retries} attempts): "
                                f"{_CAUSES}") from None
        except DeviceError as e:
            raise IdentifyError(f"{self.where} answered IDENTIFY with an error ({e}): "
                                f"{_CAUSES}") from None
        try:
            info = parse_identify(body)
        except LinkError:
            info = None
        if info is None or info["version"] not in VERSIONS:
            shown = repr(body[:24]) + ("..." if len(body) > 24 else "")
            raise IdentifyError(f"{self.where} answered IDENTIFY with {shown}, not a "
                                f"spikefab board's answer (protocol version "
                                f"{' or '.join(map(str, VERSIONS))}): {_CAUSES}")
        self.info = info
        self.matches = info["build_hash"] == link_info(self.p)["build_hash"]
        return info

    def check_build(self, identified=False):
        """:meth:`identify` (unless ``identified``: the last answer counts), and raise
        :class:`BuildMismatch` unless the device runs the build of the parameters (the same
        shape: ``docs/protocol.md``)."""
        if not identified or self.info is None:
            self.identify()
        info = self.info
        self.matches = info["build_hash"] == link_info(self.p)["build_hash"]
        if not self.matches:
            got, want = info["build_hash"], link_info(self.p)["build_hash"]
            raise BuildMismatch(f"{self.where} runs build hash 0x{got:08x}, but network "
                                f"{self.p.mapping.net.name!r} needs 0x{want:08x}: build and "
                                f"flash the board for this network (spikefab build NET.toml "
                                f"--board NAME, then spikefab flash --board NAME)", got, want)
        return info

    def _entry(self, target, space, addr, data=None):
        b = bytes([target, space]) + int(addr).to_bytes(2, "little")
        if data is not None:
            b += (int(data) & ((1 << (8 * self.D)) - 1)).to_bytes(self.D, "little")
        return b

    def write(self, cmd, entries):
        """Write ``(target, space, addr, data)`` entries with one of the WRITE commands."""
        size = 4 + self.D
        per = 255 // size
        for i in range(0, len(entries), per):
            self.transact(cmd, b"".join(self._entry(*e) for e in entries[i:i + per]))

    def read(self, entries):
        """Read words: ``(target, space, addr)`` entries; a list of ints."""
        per = min(255 // 4, 254 // self.R)
        out = []
        for i in range(0, len(entries), per):
            chunk = entries[i:i + per]
            body = self.transact(Cmd.READ, b"".join(self._entry(*e) for e in chunk))
            if len(body) != len(chunk) * self.R:
                raise LinkError(f"READ of {len(chunk)} words answered {len(body)} bytes, "
                                f"not {len(chunk) * self.R}")
            for k in range(len(chunk)):
                out.append(int.from_bytes(body[k * self.R:(k + 1) * self.R], "little"))
        return out

    def reset(self, keep_theta=False):
        """Reset the step counter and the queues, every neuron's state (``u = v = r = 0``, and
        the adaptive threshold offsets ``theta`` unless ``keep_theta``), accumulator and STDP
        trace (the golden model's ``Simulator.reset_state``; the weights stay), and re-write
        the parameters of the last :meth:`load` (RESET returns the parameter registers to
        their build values). Keeping ``theta`` costs a READ of the state words of every core
        with an adaptive threshold first (the words are written back with ``theta`` as read)."""
        keep = None
        if keep_theta:
            keep = {c: self.read([(c, Space.STATE, row) for row in range(cp.rows)])
                    for c, cp in enumerate(self.p.cores) if cp.theta_bits}
        self.transact(Cmd.RESET)
        self.steps = 0
        if self._param_entries:
            self.write(Cmd.WRITE_PARAMS, self._param_entries)
        self.write(Cmd.WRITE_STATE, clear_entries(self.p, keep))

    def _params_of(self, net):
        """The build's :class:`NetworkParams`, or those of ``net`` mapped like the build (same
        cores and word widths, or :class:`~spikefab.errors.InvalidValue`)."""
        p = self.p
        if net is None:
            return p
        from spikefab.shape.mapping import map_network
        from spikefab.shape.network import NetworkParams
        m = p.mapping
        q = NetworkParams.from_mapping(map_network(
            net, m.neurons_per_core, m.axons_per_core, m.max_cores, m.max_entries,
            pack=m.pack, outputs=list(m.outputs)), lanes=p.lanes, step_bits=p.step_bits,
            entries=p.router.entries, weight_rams=p.weight_rams, delay_ram=p.delay_ram)
        if q.cfg_data_bits != p.cfg_data_bits or len(q.cores) != len(p.cores):
            raise InvalidValue("Network does not map onto this build")
        return q

    def load(self, net=None):
        """Write the weights, neuron and learning parameters and the routing table of the
        build's network (or of ``net``, which must map onto the same build), then
        :meth:`reset`."""
        p = self._params_of(net)
        self.net = p.mapping.net
        image = network_image(p)
        self.progress = "loading the network: nothing of it is known to be complete"
        self.write(Cmd.WRITE_WEIGHTS, image["weights"])
        self.write(Cmd.WRITE_PARAMS, image["params"])
        self._param_entries = image["params"]
        self.write(Cmd.WRITE_ROUTES, image["routes"])
        self.progress = ("the weights, parameters and routes were loaded; resetting the "
                         "network state")
        self.reset()
        self.progress = "the network was loaded and reset"

    def _write_params(self, p):
        # one parameter set per population of each core, and the learning registers of its
        # plastic axon groups (docs/core.md)
        prm = network_image(p)["params"]
        self.write(Cmd.WRITE_PARAMS, prm)
        self._param_entries = prm

    def write_params(self, net):
        """Write the neuron parameters of every population and the learning registers of
        every plastic projection of ``net`` into the running board, nothing else (weights,
        routes and state stay): the host's WRITE_PARAMS between runs, as when a threshold is
        raised or learning is switched off (``a_plus = a_minus = 0``). ``net`` must map onto
        the build like the loaded network (same populations, projections and plasticity);
        :meth:`reset` re-writes these parameters from now on."""
        p = self._params_of(net)
        self._write_params(p)
        self.net = p.mapping.net

    def set_modulation(self, k, m):
        """Write the third factor of modulated projection ``k`` (``docs/spec.md`` section 4,
        v1.2): ``m`` in ``[-256, 256]`` (256: plain STDP, 0: learning off, negative: anti-STDP),
        held from the next step until changed, through a :meth:`reset` (``Simulator.
        set_modulation``): one WRITE_PARAMS of the effective rates and signs to its cores."""
        from spikefab.shape.image import modulation_words
        entries = [(c, Space.PARAM, addr, word) for c, addr, word in modulation_words(
            self.p.mapping, self.p.cores, self.net or self.p.mapping.net, k, m)]
        self.write(Cmd.WRITE_PARAMS, entries)
        if self._param_entries is not None:
            new = {(c, s, a): w for c, s, a, w in entries}
            self._param_entries = [(c, s, a, new.get((c, s, a), w))
                                   for c, s, a, w in self._param_entries]

    def load_weights(self, weights):
        """Write new weights into the running board, nothing else (state, parameters and
        routes stay): e.g. weights imported with :func:`spikefab.golden.import_weights`.

        Parameters
        ----------
        weights : Network or dict
            A network with the build's populations and projections (same sources, targets,
            shapes and ``weight_shift``, which are generation-time), or a dict of projection
            index to an integer array of that projection's shape (the others keep theirs).

        Raises
        ------
        InvalidValue, InvalidType
            Naming the projection, what the build has and the value; nothing is written.
        """
        from spikefab.golden.params import Network
        net = self.p.mapping.net
        if isinstance(weights, Network):
            given = network_weights(net, weights)
        elif isinstance(weights, dict):
            given = weights
        else:
            raise InvalidType(f"Weights must be a Network or a dict of projection index to "
                              f"array, not {weights!r}")
        full = updated_weights(net, [pr.weights for pr in self.net.projections], given)
        projs = [dataclasses.replace(pr, weights=w) for pr, w in zip(self.net.projections, full)]
        new = dataclasses.replace(self.net, projections=projs)
        # the new network mapped like the build lays its weights out in the cores' words;
        # only the axon groups of the given projections are written, the others keep theirs
        q = self._params_of(new)
        entries = []
        for c, (core, cp) in enumerate(zip(q.mapping.cores, q.cores)):
            words = cp.weight_words()
            for g in core.groups:
                if set(g.projections) & set(given):
                    entries += [(c, Space.WEIGHT, row * cp.axons + a, words[row * cp.axons + a])
                                for row in range(cp.rows)
                                for a in range(g.offset, g.offset + g.size)]
        self.write(Cmd.WRITE_WEIGHTS, entries)
        self.net = new

    def read_weights(self):
        """Every projection's ``(S, N)`` weights, read back from the cores (after learning,
        the learnt ones)."""
        from spikefab.shape.image import weights_from_words, projection_weights
        per_core = []
        for c, cp in enumerate(self.p.cores):
            words = self.read([(c, Space.WEIGHT, a) for a in range(cp.weight_depth)])
            per_core.append(weights_from_words(cp, words))
        return projection_weights(self.p.mapping, per_core)

    def read_traces(self):
        """``(pre, post)``: lists by projection of the STDP traces read from the cores
        (``None`` for a static projection; the pre traces of a target split over cores from
        its first core, every copy being equal)."""
        from spikefab.shape.image import projection_traces
        addrs = trace_addresses(self.p.mapping, self.p.cores)
        words = dict(zip(addrs, self.read(addrs))) if addrs else {}
        pre, post, _ = projection_traces(self.p.mapping, self.p.cores, words)
        return pre, post

    def read_state(self):
        """``(u, v, r)``: dicts of population name to int64 arrays, read from the cores."""
        from spikefab.shape.image import population_state
        words = [self.read([(c, Space.STATE, row) for row in range(cp.rows)])
                 for c, cp in enumerate(self.p.cores)]
        return population_state(self.p.mapping, self.p.cores, words)

    def read_theta(self):
        """The adaptive threshold offsets ``theta`` of the populations that have one: a dict of
        population name to int64 array, read from the cores (``docs/spec.md`` v1.2)."""
        from spikefab.shape.image import population_theta
        words = [self.read([(c, Space.STATE, row) for row in range(cp.rows)])
                 if cp.theta_bits else [] for c, cp in enumerate(self.p.cores)]
        return population_theta(self.p.mapping, self.p.cores, words)

    def inject(self, channels):
        """Input channels that spike in the next step."""
        ch = [int(c) for c in channels]
        for i in range(0, len(ch), 127):
            self.transact(Cmd.INPUT, b"".join(c.to_bytes(2, "little") for c in ch[i:i + 127]))

    def start(self, steps):
        """Start ``steps`` steps (the first with the injected inputs) in the background."""
        self.transact(Cmd.RUN, int(steps).to_bytes(2, "little"))

    def read_spikes(self):
        """``(steps done, steps outstanding, [(step tag, host id), ...])``: drains up to
        60 queued output events."""
        body = self.transact(Cmd.READ_SPIKES)
        steps = int.from_bytes(body[0:2], "little")
        left = int.from_bytes(body[2:4], "little")
        ev = []
        for k in range(4, len(body), 4):
            ev.append((int.from_bytes(body[k + 2:k + 4], "little"),
                       int.from_bytes(body[k:k + 2], "little")))
        return steps, left, ev

    def read_cycles(self):
        """Drains up to 60 queued per-step cycle counts."""
        body = self.transact(Cmd.READ_CYCLES)
        return [int.from_bytes(body[k:k + 4], "little") for k in range(0, len(body), 4)]

    def present(self, intensities, steps, poll=0.0):
        """Run every image of ``intensities`` for ``steps`` steps on the board's rate generator
        (``docs/spec.md`` section 7; the build's ``Hardware.rate_bits``), each from a cleared
        state: what :func:`~spikefab.golden.simulate` of
        :func:`~spikefab.golden.chip_rate_encode` gives, image by image from a fresh
        simulator (``u = v = r = theta = 0``, accumulators and traces 0; the weights,
        parameters and modulations as loaded).

        The images go out several to a PRESENT frame, and the board keeps a few queued
        (``docs/protocol.md``), so that it computes while the host sends and reads: each
        PRESENT's answer carries the output events of the images done so far. The cycle
        counts (one per image; 64 wait on the board, and no image starts without room) are
        read once 48 wait, and at the end.

        Parameters
        ----------
        intensities : array_like of int, (B, inputs) or (inputs,)
            In ``[0, 15]``.
        steps : int
            Steps of every image, at least 1.

        Returns
        -------
        DevicePresentation
        """
        from .present import present
        return present(self, intensities, steps, poll)

    def _drain(self, k, poll, final):
        """Poll the ``k`` steps started last until they are done and their output events are
        read: ``[(step of the k, host id), ...]``. Their cycle counts queue on the device
        (64 of them; no step starts without room) and are read into :attr:`_cycles` once 32
        wait, and all of them at the ``final`` RUN of a run: a READ_CYCLES per step would
        cost a round trip per step."""
        first, tag_mod = self.steps, 1 << self.p.step_bits
        events = []
        stalled, last = 0, None
        while True:
            done, left, ev = self.read_spikes()
            if left and not ev and self.traffic:
                self.traffic[-1][3] = False
            for tag, hid in ev:
                s = (tag - first) % tag_mod              # steps since the first of the RUN
                if s >= k:
                    raise LinkError(f"Output event of host id {hid} tagged {tag}, outside "
                                    f"the steps {first}..{first + k - 1} being run")
                events.append((s, hid))
            waiting = self._unread - left                # counts queued on the device
            c = []
            if waiting >= 32 or (final and left == 0 and waiting > 0):
                c = self.read_cycles()
                self._cycles += c
                self._unread -= len(c)
            if left == 0 and len(ev) < MAX_EVENTS and not (final and self._unread):
                return events
            if ev or c or (done, left) != last:
                stalled, last = 0, (done, left)
            else:
                stalled += 1
                if stalled > self.stall_polls:
                    raise LinkError(f"No progress of the running steps ({left} left) in "
                                    f"{self.stall_polls:,} polls")
            if poll and not ev:
                self.t.idle(poll) if hasattr(self.t, "idle") else time.sleep(poll)

    def run(self, inputs, record_state=False, poll=0.0):
        """Run one step per row of ``inputs`` ``(T, n_inputs)`` bool.

        Consecutive steps without input go out as one RUN (one step at a time with
        ``record_state``, which reads ``u`` and ``v`` back after every step).

        Returns
        -------
        DeviceRun
        """
        m = self.p.mapping
        x = np.asarray(inputs, bool)
        T = x.shape[0]
        spikes = {q.name: np.zeros((T, q.size), np.uint8) for q in m.net.populations}
        u = {q.name: np.zeros((T, q.size), np.int64) for q in m.net.populations} \
            if record_state else None
        v = {q.name: np.zeros((T, q.size), np.int64) for q in m.net.populations} \
            if record_state else None
        # a RUN covers fewer steps than the tags can tell apart
        most = min(0xFFFF, 1 << self.p.step_bits)
        self._cycles, self._unread = [], 0
        t = 0
        while t < T:
            k = 1
            self.progress = (f"steps 0..{t - 1} of this run ran and their outputs were read"
                             if t else "no step of this run had run")
            if x[t].any():
                self.inject(np.flatnonzero(x[t]))
            elif not record_state:
                while t + k < T and not x[t + k].any() and k < most:
                    k += 1
            self.start(k)
            self._unread += k
            events = self._drain(k, poll, final=t + k == T or record_state)
            for s, hid in events:
                pop, i = m.host_neuron(hid)
                spikes[pop][t + s, i] = 1
            self.steps += k
            if record_state:
                uu, vv, _ = self.read_state()
                for q in m.net.populations:
                    u[q.name][t], v[q.name][t] = uu[q.name], vv[q.name]
            t += k
        self.progress = f"all {T} steps of the run ran and their outputs were read"
        if len(self._cycles) != T:
            raise LinkError(f"Expected {T} cycle counts, got {len(self._cycles)}")
        return DeviceRun(spikes, np.asarray(self._cycles, np.int64), u, v)
