"""The request/response layer under :class:`~spikefab.host.device.Device`: one request frame,
one response frame, a sequence number in each; re-sends on silence or a broken answer (the
device executes a frame once and answers a retry from its replay memory, protocol v2); what a
failed command leaves known. ``docs/protocol.md``, "Exactly once" and "Timeouts and retries".
"""

from spikefab.shape.protocol import (FRAME_OVERHEAD, Cmd, DeviceError, FrameDecoder, LinkError,
                                     Status, cmd_name, encode_frame)

__all__ = ["Exchange", "NoAnswer"]


class NoAnswer(LinkError):
    """A command got no good answer within the timeout and the retries."""


class Exchange:
    """Requests and their responses over ``transport``: what :class:`Device` sends its
    commands through.

    Parameters
    ----------
    transport : SerialTransport, VerilatorTransport or AmaranthTransport
        Anything with ``write(data)`` and ``read(timeout)`` (the bytes that arrived within
        ``timeout`` seconds, or ``b""``) and ``close()``.
    timeout : float
        Seconds (simulated seconds on a simulated board) to wait for a response.
    retries : int
        Extra attempts of a command (sent again with its sequence number: never executed
        twice).
    """

    def __init__(self, transport, timeout=0.5, retries=3):
        self.t = transport
        self.timeout = timeout
        self.retries = retries
        self.dec = FrameDecoder()
        self.seq = 0                     # sequence number of the last request
        self._greeted = False            # IDENTIFY was sent (before any other command)
        #: what happened on the link: answers skipped as late (``stale``), attempts sent
        #: again (``resent``) after a silence (``timeouts``) or a broken frame (``broken``)
        self.counts = {"stale": 0, "resent": 0, "timeouts": 0, "broken": 0}
        #: what the host knows was applied (for the message of a failed command)
        self.progress = ""
        #: None (the default: nothing recorded, so a long session's memory stays flat), or a
        #: list that receives ``[cmd, request bytes, response bytes, needed]`` of every
        #: command answered from then on (``dev.traffic = []`` starts recording): what
        #: :func:`spikefab.host.linkmodel.model` times for a real board (``needed`` is False
        #: for a poll that found the steps still running: how many of those a host makes
        #: depends on the transport's speed, not on the protocol)
        self.traffic = None

    def close(self):
        self.t.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- frames ---------------------------------------------------------------------------

    def _response(self, cmd, seq):
        """The ``(status, body)`` answering request ``seq`` of command ``cmd``; ``None`` when
        the line stayed silent for :attr:`timeout`; ``(status, None)`` when the device
        answered a broken frame (ours, maybe: re-send). Frames of other sequence numbers are
        late answers to earlier attempts: skipped."""
        while True:
            while not self.dec.frames:
                b = self.t.read(self.timeout)
                if not b:
                    return None
                self.dec.feed(b)
            rcmd, rseq, body = self.dec.frames.pop(0)
            if not body:
                self.counts["stale"] += 1
                continue
            if body[0] in (Status.BAD_CRC, Status.TRUNCATED):
                return body[0], None
            if rseq == seq and rcmd == cmd:
                return body[0], bytes(body[1:])
            self.counts["stale"] += 1

    def transact(self, cmd, payload=b""):
        """Send one command; its response payload after the status byte.

        Every command is sent again, the same frame with the same sequence number, when its
        answer does not come within :attr:`timeout` or is broken: the device executes a
        frame once and answers a retry from its replay memory (``docs/protocol.md``), so
        nothing is applied twice.

        Raises
        ------
        DeviceError
            The device answered with an error status.
        LinkError
            No (good) answer within the timeout and retries; the message says what may and
            what was applied.
        """
        if not self._greeted and cmd != Cmd.IDENTIFY:
            # the device compares a frame with the last one it executed, which may be an
            # earlier session's: IDENTIFY (always executed) first makes it this session's
            self.transact(Cmd.IDENTIFY)
        self._greeted = True
        self.seq = (self.seq + 1) & 0xFF
        frame = encode_frame(cmd, payload, self.seq)
        attempts = 1 + self.retries
        settle = False
        failed = []
        for attempt in range(attempts):
            try:
                if attempt:
                    self.counts["resent"] += 1
                    if settle:
                        self._settle()
                self.dec = FrameDecoder()
                self.t.write(frame)
                r = self._response(cmd, self.seq)
            except LinkError as e:
                # the transport's own error (its type kept), and what is known
                e.args = (f"{e}; {self._unknown(cmd)}",) + e.args[1:]
                raise
            if r is None:
                self.counts["timeouts"] += 1
                failed.append("silence")
                settle = False           # the line was silent for a whole timeout
                continue
            status, body = r
            if body is None:
                self.counts["broken"] += 1
                failed.append("a broken frame" if status == Status.BAD_CRC
                              else "a cut-short frame")
                settle = True
                continue
            if status != Status.OK:
                raise DeviceError(cmd, status)
            # what a clean line carries for this command: its request and its response
            if self.traffic is not None:
                self.traffic.append([cmd, len(frame), FRAME_OVERHEAD + 1 + len(body), True])
            return body
        raise NoAnswer(f"No answer to {cmd_name(cmd)} after {attempts} attempt(s) of "
                        f"{self.timeout} s (met by {', '.join(failed)}); "
                        f"{self._unknown(cmd)}")

    def _settle(self):
        """Before a request is sent again after a broken answer: wait until the line has
        been silent for a whole :attr:`timeout` (at most four of them), dropping what
        arrives. What is still on its way (the rest of a frame the device cut short, a
        second answer) would otherwise meet the new copy: the device drops the bytes that
        arrive while it answers, may take a start byte inside the rest for a frame's, and
        that frame's length would swallow the next copy of the request. After a silence
        longer than its inter-byte timeout the device hunts for a start byte again."""
        for _ in range(4):
            if not self.t.read(self.timeout):
                return

    def _unknown(self, cmd):
        """What a failed command leaves known: it may or may not have been applied (once at
        most), everything before it was."""
        done = f"; {self.progress}" if self.progress else ""
        return (f"{cmd_name(cmd)} (sequence {self.seq}) may or may not have been applied, "
                f"once at most; every command before it was{done}")
