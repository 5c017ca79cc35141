"""Host side of the spikefab link: the frame protocol, :class:`Device` (a board over a serial
port, or the same gateware in the Amaranth simulator with a UART model) and :func:`run`.

See ``docs/protocol.md``.
"""

from .protocol import (START, Cmd, Status, LinkError, DeviceError, crc16, encode_frame, FrameDecoder,
                       STATUS_NAMES)
from .device import Device, SerialTransport, SimTransport
from .run import run

__all__ = ["START", "Cmd", "Status", "LinkError", "DeviceError", "crc16", "encode_frame", "FrameDecoder",
           "STATUS_NAMES", "Device", "SerialTransport", "SimTransport", "run"]
