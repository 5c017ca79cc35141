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

__all__ = ["LinkTime", "model"]


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
