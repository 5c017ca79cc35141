"""Host side of the spikefab link: :class:`Device` (a board over a serial port, or the simulated
board: the board top compiled with Verilator, or the same gateware in the Amaranth simulator,
each behind a pin-level UART model), its transports and :func:`run`.

The frame protocol itself lives in :mod:`spikefab.shape.protocol`, shared with the gateware;
its names are re-exported here. See ``docs/protocol.md``.
"""

from spikefab.shape.protocol import (START, Cmd, Status, LinkError, DeviceError, crc16,
                                     encode_frame, FrameDecoder, STATUS_NAMES, parse_identify,
                                     cmd_name, FRAME_OVERHEAD)
from .transport import (SIM_BACKENDS, PortError, SerialTransport, VerilatorTransport,
                        AmaranthTransport)
from .device import BuildMismatch, Device, DeviceRun, IdentifyError, NoAnswer
from .run import RunResult, run

__all__ = ["START", "Cmd", "Status", "LinkError", "DeviceError", "crc16", "encode_frame",
           "FrameDecoder", "STATUS_NAMES", "SIM_BACKENDS", "Device", "DeviceRun",
           "SerialTransport", "VerilatorTransport", "AmaranthTransport", "parse_identify",
           "RunResult", "run", "cmd_name", "FRAME_OVERHEAD", "PortError", "NoAnswer",
           "IdentifyError", "BuildMismatch"]
