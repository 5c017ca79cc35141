"""Host side of the spikefab link: the frame protocol, :class:`Device` (a board over a serial
port, or the simulated board: the board top compiled with Verilator, or the same gateware in
the Amaranth simulator, each behind a pin-level UART model) and :func:`run`.

See ``docs/protocol.md``.
"""

from spikefab.shape.protocol import (START, Cmd, Status, LinkError, DeviceError, crc16,
                                     encode_frame, FrameDecoder, STATUS_NAMES)
from .device import (SIM_BACKENDS, Device, DeviceRun, SerialTransport, VerilatorTransport,
                     AmaranthTransport)
from .run import run

__all__ = ["START", "Cmd", "Status", "LinkError", "DeviceError", "crc16", "encode_frame",
           "FrameDecoder", "STATUS_NAMES", "SIM_BACKENDS", "Device", "DeviceRun",
           "SerialTransport", "VerilatorTransport", "AmaranthTransport", "run"]
