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
    :attr:`bad` and the search resumes at the byte after its start byte.
    """

    def __init__(self):
        self.buf = bytearray()
        self.frames = []
        self.bad = 0

    def feed(self, data):
        self.buf += bytes(data)
        while True:
            i = self.buf.find(START)
            if i < 0:
                self.buf.clear()
                return
            del self.buf[:i]
            if len(self.buf) < 5:
                return
            n = self.buf[1]
            if len(self.buf) < n + 5:
                return
            body = bytes(self.buf[1:n + 3])
            got = (self.buf[n + 3] << 8) | self.buf[n + 4]
            if crc16(body) == got:
                self.frames.append((body[1], body[2:]))
                del self.buf[:n + 5]
            else:
                self.bad += 1
                del self.buf[:1]
