"""The host protocol (``docs/protocol.md``): command and status codes, the frame layout and its
CRC, the IDENTIFY payload, and a resynchronising frame decoder.

Pure Python. The link's gateware (``spikefab.hdl.link``) and the host (``spikefab.host``) both
import these definitions; neither keeps a copy.
"""

import json
import zlib

from spikefab.errors import Error, InvalidValue

from .latency import CYCLES_BITS
from .network import shape_json

__all__ = ["START", "VERSION", "VERSIONS", "IDENTIFY_V3_FIELDS", "Cmd", "Status", "STATUS_NAMES", "MAX_EVENTS", "MAX_CYCLES",
           "CRC_POLY", "CRC_INIT", "nbytes", "link_info", "link_memories", "IDENTIFY_FIELDS",
           "identify_bytes", "parse_identify", "CMD_NAMES", "cmd_name",
           "LinkError", "DeviceError", "crc16", "encode_frame", "FRAME_OVERHEAD", "FrameDecoder"]

START = 0xA5
#: 2: every frame carries a sequence number, and the device executes a request once (a
#: retry of the last executed frame is answered from its replay memory). 3: PRESENT (images
#: run on the chip's rate generator) and its two fields in IDENTIFY; a build without the
#: generator speaks 2, which this host speaks too (:data:`VERSIONS`).
VERSION = 3
#: The versions this host speaks.
VERSIONS = (2, 3)
#: Events / cycle counts per READ_SPIKES / READ_CYCLES response.
MAX_EVENTS, MAX_CYCLES = 60, 60


class Cmd:
    IDENTIFY = 0x01
    RESET = 0x02
    WRITE_WEIGHTS = 0x10
    WRITE_PARAMS = 0x11
    WRITE_ROUTES = 0x12
    WRITE_STATE = 0x13
    READ = 0x20
    INPUT = 0x30
    RUN = 0x31
    PRESENT = 0x32
    READ_SPIKES = 0x40
    READ_CYCLES = 0x41


class Status:
    OK = 0
    BAD_CRC = 1
    TRUNCATED = 2
    UNKNOWN = 3
    BAD_LENGTH = 4
    BAD_FIELD = 5
    BUSY = 6


#: CRC-16/CCITT-FALSE: polynomial x^16 + x^12 + x^5 + 1, init 0xFFFF, MSB first, no final xor.
CRC_POLY, CRC_INIT = 0x1021, 0xFFFF


def nbytes(bits):
    """Bytes that carry a word of ``bits`` bits on the link (at least 1)."""
    return max(1, -(-bits // 8))


def link_info(p, out_depth=256, cycles_depth=64):
    """The numbers of a link build that the host needs (also the IDENTIFY payload).
    ``build_hash`` is the CRC-32 of :func:`shape_json`, with the link's queue depths."""
    from .rates import rate_slots
    blob = json.dumps(dict(shape_json(p), out_depth=out_depth, cycles_depth=cycles_depth),
                      sort_keys=True, default=str).encode()
    return {
        "rate_bits": p.rate_bits, "rate_slots": rate_slots(p.inputs) if p.rate_bits else 0,
        # a build without the rate generator is a version 2 device, byte for byte
        "version": VERSION if p.rate_bits else 2, "cores": len(p.cores), "inputs": p.inputs,
        "cfg_addr_bits": p.cfg_addr_bits, "cfg_data_bits": p.cfg_data_bits,
        "rdata_bits": p.rdata_bits, "index_bits": p.router.index_bits,
        "step_bits": p.step_bits, "out_depth": out_depth, "cycles_depth": cycles_depth,
        "build_hash": zlib.crc32(blob),
    }


def link_memories(p, out_depth=256, cycles_depth=64):
    """``[(name, depth, width)]`` of the memories of :class:`Link`: the frame buffer, the
    output-event queue and the cycle-count queue, and with a rate generator its intensities
    and accumulators (the board capacity check counts them)."""
    out = [("frame buffer", 256, 8), ("replay memory", 256, 8),
           ("output queue", out_depth, 32),
           ("cycle queue", cycles_depth, CYCLES_BITS)]
    if p.rate_bits:
        from .rates import rate_slots, rate_stride
        out += [("rate intensities", rate_slots(p.inputs) * rate_stride(p.inputs), 8),
                ("rate accumulators", p.inputs, p.rate_bits)]
    return out


#: The IDENTIFY response payload after the status byte and the magic ``"SF"``: its fields
#: and their sizes in bytes, in order, each little-endian (``docs/protocol.md``).
IDENTIFY_FIELDS = (("version", 1), ("cores", 1), ("inputs", 2), ("cfg_addr_bits", 1),
                   ("cfg_data_bits", 1), ("rdata_bits", 1), ("index_bits", 1),
                   ("step_bits", 1), ("out_depth", 2), ("cycles_depth", 2), ("build_hash", 4))
#: Version 3's fields after those (a version 2 device, a build without the rate generator,
#: has none: its rate generator is ``0, 0``).
IDENTIFY_V3_FIELDS = (("rate_bits", 1), ("rate_slots", 1))


def _fields(version):
    return IDENTIFY_FIELDS + (IDENTIFY_V3_FIELDS if version >= 3 else ())


def identify_bytes(info):
    """The IDENTIFY response payload after the status byte (:data:`IDENTIFY_FIELDS` of
    ``info``, and :data:`IDENTIFY_V3_FIELDS` for version 3, after ``"SF"``); the link's
    gateware answers it from a ROM."""
    return b"SF" + b"".join(int(info[name]).to_bytes(n, "little")
                            for name, n in _fields(info["version"]))


def parse_identify(b):
    """The IDENTIFY response payload (after the status byte) as a dict: the inverse of
    :func:`identify_bytes`. Raises :class:`LinkError` if it is not a spikefab device's."""
    size = 2 + sum(n for _, n in IDENTIFY_FIELDS)
    if len(b) < size or b[:2] != b"SF":
        raise LinkError(f"Not a spikefab device (identify answer {bytes(b)!r})")
    fields = _fields(b[2])
    if len(b) < 2 + sum(n for _, n in fields):
        raise LinkError(f"Not a spikefab device (identify answer {bytes(b)!r})")
    out, o = {"rate_bits": 0, "rate_slots": 0}, 2
    for name, n in fields:
        out[name] = int.from_bytes(b[o:o + n], "little")
        o += n
    return out


STATUS_NAMES = {v: k for k, v in vars(Status).items() if not k.startswith("_")}
CMD_NAMES = {v: k for k, v in vars(Cmd).items() if not k.startswith("_")}


def cmd_name(cmd):
    """``"RUN"`` for :data:`Cmd.RUN`; ``"command 0x77"`` for an unknown code."""
    return CMD_NAMES.get(cmd, f"command 0x{cmd:02x}")


class LinkError(Error, RuntimeError):
    """The device did not answer, or answered with a broken frame, within the retries."""


class DeviceError(Error, RuntimeError):
    """The device rejected a command (its status code in :attr:`status`)."""

    def __init__(self, cmd, status):
        self.cmd, self.status = cmd, status
        super().__init__(f"Device rejected {cmd_name(cmd)}: "
                         f"{STATUS_NAMES.get(status, f'status {status}')}")


def crc16(data, crc=CRC_INIT):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, MSB first, no final xor) of ``data``."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def encode_frame(cmd, payload=b"", seq=0):
    """``START, LEN, CMD, SEQ, PAYLOAD, CRC_HI, CRC_LO``; the CRC covers LEN, CMD, SEQ and
    PAYLOAD."""
    payload = bytes(payload)
    if not 0 <= cmd <= 255:
        raise InvalidValue(f"Command must be an integer in [0, 255], not {cmd}")
    if not 0 <= seq <= 255:
        raise InvalidValue(f"Sequence number must be an integer in [0, 255], not {seq}")
    if len(payload) > 255:
        raise InvalidValue(f"Payload must be at most 255 bytes, not {len(payload)}")
    body = bytes([len(payload), cmd, seq]) + payload
    c = crc16(body)
    return bytes([START]) + body + bytes([c >> 8, c & 0xFF])


#: Bytes of a frame besides its payload: START, LEN, CMD, SEQ and the two CRC bytes.
FRAME_OVERHEAD = 6


class FrameDecoder:
    """Feed bytes; collects ``(cmd, seq, payload)`` of every good frame in :attr:`frames`.

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
        """The frame at start byte ``i``: ``(cmd, seq, payload, end)``, False if its CRC is
        bad, None if it is not complete."""
        b = self.buf
        if len(b) < i + FRAME_OVERHEAD:
            return None
        n = b[i + 1]
        end = i + n + FRAME_OVERHEAD
        if len(b) < end:
            return None
        body = bytes(b[i + 1:end - 2])
        if crc16(body) != (b[end - 2] << 8) | b[end - 1]:
            return False
        return body[1], body[2], body[3:], end

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
            self.frames.append(f[:3])
            del self.buf[:f[3]]
