"""What a run over the host link costs on a real board: the bytes a :class:`Device` exchanged
(:attr:`Device.traffic`), timed at the board's baud rate and its USB bridge's latency, plus the
board's own clocks at its clock frequency, as the protocol sequences them (one request, one
response: nothing overlaps).

For every command answered: its request's and its response's bytes at 10 bits per byte (8N1),
and one latency of the USB-UART bridge (a short response waits in the bridge until its latency
timer expires: 1 ms at the lowest setting, which :class:`SerialTransport` asks for; FTDI's
default is 16 ms, AN232B-04). Polls that found the steps still running are left out (how many
a host makes depends on how fast its transport is); the steps' clocks are added instead.
"""

from dataclasses import dataclass

__all__ = ["LinkTime", "model", "PresentTime", "present_model"]


@dataclass
class LinkTime:
    """Modelled seconds of a run (or of one image) on a real board.

    Attributes
    ----------
    commands : int
        Round trips (commands answered, polls of running steps left out).
    bytes : int
        Bytes over the line, both directions.
    line, latency, compute : float
        Seconds of bytes at the baud rate, of bridge latency, of the board's clocks.
    """

    commands: int
    bytes: int
    line: float
    latency: float
    compute: float

    @property
    def total(self):
        return self.line + self.latency + self.compute

    @property
    def bound(self):
        """What dominates: ``"latency"``, ``"line"`` or ``"compute"``."""
        return max((self.latency, "latency"), (self.line, "line"),
                   (self.compute, "compute"))[1]

    def per(self, n):
        """The same per item of ``n`` (an image, a step)."""
        return LinkTime(self.commands / n, self.bytes / n, self.line / n, self.latency / n,
                        self.compute / n)


def model(traffic, clocks, clk_hz, baud=1_000_000, latency=1e-3):
    """The :class:`LinkTime` of ``traffic`` (``Device.traffic`` entries, or a slice of them)
    and ``clocks`` (the board's clocks of the steps run: ``DeviceRun.cycles``, summed) on a
    board clocked at ``clk_hz`` whose link runs at ``baud`` behind a bridge answering after
    ``latency`` seconds."""
    needed = [t for t in traffic if t[3]]
    n = sum(req + resp for _, req, resp, _ in needed)
    return LinkTime(len(needed), n, n * 10 / baud, len(needed) * latency,
                    float(clocks) / clk_hz)


@dataclass
class PresentTime:
    """Modelled seconds of images presented on a real board (:func:`present_model`).

    Attributes
    ----------
    images : int
    total : float
        Seconds from the first request's first byte to the last answer's arrival.
    commands : int
        Round trips: PRESENT, READ_SPIKES (polls included: on a real board the host waits
        that way), READ_CYCLES.
    bytes : int
        Bytes over the line, both directions.
    line, latency, compute : float
        Seconds of bytes at the baud rate, of bridge latency (one per answer), of the board's
        clocks (its presentations back to back).
    board_idle : float
        Seconds the board waited for images between its first and its last presentation.
    """

    images: int
    total: float
    commands: int
    bytes: int
    line: float
    latency: float
    compute: float
    board_idle: float

    @property
    def rate(self):
        """Images a second."""
        return self.images / self.total

    @property
    def bound(self):
        """``"compute"`` when the board never waited for the link (beyond the first image),
        else ``"link"``."""
        return "compute" if self.board_idle <= 0.02 * self.compute else "link"


def present_model(clocks, events, inputs, clk_hz, baud=1_000_000, latency=1e-3, slots=None,
                  per=None, exec_clocks_per_byte=2):
    """The time of :meth:`Device.present` on a real board: the same host loop (a PRESENT of
    up to ``per`` images whenever the board has room for them by the last answer, else a
    READ_SPIKES; a READ_CYCLES once 48 counts wait and at the end) against a board that runs
    its queued presentations back to back, each taking its measured ``clocks``.

    Every request's bytes reach the board at ``baud`` (10 bits a byte), which executes it
    (``exec_clocks_per_byte`` clocks per payload byte: PRESENT's copy) and answers at once;
    the answer's bytes leave at ``baud`` and wait ``latency`` in the USB bridge. An answer
    carries the output events of the images finished by then (up to 60; ``events`` per
    image, as measured).

    Parameters
    ----------
    clocks, events : sequence of int
        Per image: the board's clocks of its presentation (``DevicePresentation.cycles``),
        its output events.
    inputs : int
        Input channels (the image's bytes).
    clk_hz, baud, latency : float
    slots, per : int or None
        The link's slots and images per PRESENT (default: ``spikefab.shape.rates``).

    Returns
    -------
    PresentTime
    """
    from spikefab.shape.protocol import FRAME_OVERHEAD, MAX_CYCLES, MAX_EVENTS
    from spikefab.shape.rates import image_bytes, per_frame, rate_slots
    S = rate_slots(inputs) if slots is None else slots
    K = per_frame(inputs) if per is None else per
    B, ib = len(clocks), image_bytes(inputs)
    byte = 10 / baud
    t = 0.0                       # the host: when its next request leaves
    ends = []                     # the board: when each image submitted ends
    board_free = 0.0
    idle = 0.0
    sent = read_ev = counted = commands = nbytes = 0
    queued = 0                    # as the last answer told
    line = lat = 0.0
    ev_cum = [0]
    for e in events:
        ev_cum.append(ev_cum[-1] + int(e))
    while True:
        k = min(K, B - sent, S - queued)
        if k > 0:
            req = FRAME_OVERHEAD + 2 + k * ib
            arrive = t + req * byte
            at = arrive + exec_clocks_per_byte * (2 + k * ib) / clk_hz
            for i in range(sent, sent + k):
                start = max(at, board_free)
                if ends:
                    idle += max(0.0, at - board_free)
                board_free = start + clocks[i] / clk_hz
                ends.append(board_free)
            sent += k
        else:
            req = FRAME_OVERHEAD
            at = t + req * byte
        done = sum(1 for e in ends if e <= at)
        n_ev = min(MAX_EVENTS, ev_cum[done] - read_ev)
        read_ev += n_ev
        resp = FRAME_OVERHEAD + 1 + 4 + 4 * n_ev
        t = at + resp * byte + latency
        commands += 1
        nbytes += req + resp
        line += (req + resp) * byte
        lat += latency
        queued = sent - done
        if done - counted >= 48 or (sent == B and done == B and counted < B):
            n = min(MAX_CYCLES, done - counted)
            req, resp = FRAME_OVERHEAD, FRAME_OVERHEAD + 1 + 4 * n
            t += (req + resp) * byte + latency
            counted += n
            commands += 1
            nbytes += req + resp
            line += (req + resp) * byte
            lat += latency
        if sent == B and done == B and read_ev == ev_cum[-1] and counted == B:
            break
    compute = sum(clocks) / clk_hz
    return PresentTime(B, t, commands, nbytes, line, lat, compute, idle)
