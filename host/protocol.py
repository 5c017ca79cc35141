"""Frames of the host link (``docs/protocol.md``): encode, CRC, and a resynchronising decoder.

Pure Python; the constants come from :mod:`spikefab.hdl.link`, the gateware's own definition.
"""

from spikefab.hdl.link import START, Cmd, Status

__all__ = ["START", "Cmd", "Status", "STATUS_NAMES", "LinkError", "DeviceError", "crc16",
           "encode_frame", "FrameDecoder"]

STATUS_NAMES = {v: k for k, v in vars(Status).items() if not k.startswith("_")}


class LinkError(RuntimeError):
    """The device did not answer, or answered with a broken frame, within the retries."""


class DeviceError(RuntimeError):
    """The device rejected a command (its status code in :attr:`status`)."""

    def __init__(self, cmd, status):
        self.cmd, self.status = cmd, status
        super().__init__(f"Device rejected command 0x{cmd:02x}: "
                         f"{STATUS_NAMES.get(status, f'status {status}')}")


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, MSB first, no final xor) of ``data``."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def encode_frame(cmd, payload=b""):
    """``START, LEN, CMD, PAYLOAD, CRC_HI, CRC_LO``; the CRC covers LEN, CMD and PAYLOAD."""
    payload = bytes(payload)
    if not 0 <= cmd <= 255:
        raise ValueError(f"Command must be an integer in [0, 255], not {cmd}")
    if len(payload) > 255:
        raise ValueError(f"Payload must be at most 255 bytes, not {len(payload)}")
    body = bytes([len(payload), cmd]) + payload
    c = crc16(body)
    return bytes([START]) + body + bytes([c >> 8, c & 0xFF])


class FrameDecoder:
    """Feed bytes; collects ``(cmd, payload)`` of every good frame in :attr:`frames`.

    Bytes before a start byte are skipped; a frame with a bad CRC is counted in
    :attr:`bad` and the search resumes at the byte after its start byte. A start byte whose
    frame is not complete yet (it may be noise announcing up to 255 bytes) does not hide a
    complete good frame after it: that frame is taken, and the bytes before it dropped.
    """

    def __init__(self):
        self.buf = bytearray()
        self.frames = []
        self.bad = 0

    def _at(self, i):
        """The frame at start byte ``i``: ``(cmd, payload, end)``, False if its CRC is bad,
        None if it is not complete."""
        b = self.buf
        if len(b) < i + 5:
            return None
        n = b[i + 1]
        if len(b) < i + n + 5:
            return None
        body = bytes(b[i + 1:i + n + 3])
        if crc16(body) != (b[i + n + 3] << 8) | b[i + n + 4]:
            return False
        return body[1], body[2:], i + n + 5

    def feed(self, data):
        self.buf += bytes(data)
        while True:
            i = self.buf.find(START)
            if i < 0:
                self.buf.clear()
                return
            del self.buf[:i]
            f = self._at(0)
            if f is False:
                self.bad += 1
                del self.buf[:1]
                continue
            if f is None:
                j = self.buf.find(START, 1)
                while j >= 0 and not self._at(j):
                    j = self.buf.find(START, j + 1)
                if j < 0:
                    return
                self.bad += 1
                del self.buf[:j]
                continue
            self.frames.append(f[:2])
            del self.buf[:f[2]]
