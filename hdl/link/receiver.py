"""The link's receiver: UART bytes in, checked frames out (``docs/protocol.md``)."""

from contextlib import contextmanager

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory, ReadPort
from amaranth.lib.wiring import In, Out

from spikefab.shape.protocol import CRC_INIT, START, Status

from ..memory import NO_RW_CHECK
from ..uart import crc16_update

__all__ = ["frame_layout", "Receiver"]


def frame_layout():
    """A received frame's verdict: ``cmd``, ``seq`` and ``length`` as received; ``error`` with
    its ``status`` (``BAD_CRC`` or ``TRUNCATED``); ``echo``: the verdict came at the frame's
    last byte, so its command is echoed (else a response carries ``0xFF``)."""
    return data.StructLayout({"cmd": 8, "seq": 8, "length": 8, "error": 1, "status": 8,
                              "echo": 1})


class Receiver(wiring.Component):
    """Frames from a byte stream into a 256-byte frame buffer, their CRC checked.

    A frame begins at a ``START`` byte only while ``o_frame.ready`` is high (the executor is
    idle: bytes that arrive while a command executes or its response is sent are dropped).
    Its payload goes into the frame buffer, read through ``buffer`` (registered: the byte of
    an address a clock later). Its verdict is offered on ``o_frame`` for one clock, from
    registers, two clocks after its last byte: the CRC comparison never meets the executor's
    loads in one clock, and the next frame's first byte is ten bit times away. ``o_frame``
    has no backpressure (it is offered while ``ready`` is high by construction), and its
    payload holds until the next frame begins, so the executor reads ``cmd`` and ``length``
    from it for the whole command.

    A frame that stops for ``timeout`` clocks without a byte (``line_busy`` low) is answered
    ``TRUNCATED``, from whichever of its bytes it stopped at.

    Memories: the frame buffer (256 x 8, one block RAM; with ``distributed`` in distributed
    RAM, for a die whose block RAMs are far away).

    Parameters
    ----------
    timeout : int
        Clocks without a byte after which a partly received frame is dropped.
    distributed : bool

    Members
    -------
    i_byte : In(stream.Signature(8))
        Bytes from the UART (always taken).
    line_busy : In(1)
        A byte is arriving (the timeout waits).
    o_frame : Out(stream.Signature(frame_layout()))
    buffer : Out(ReadPort.Signature(addr_width=8, shape=8))
        The frame buffer's read port.
    error : Out(1)
        A frame is rejected this clock (its verdict follows on ``o_frame``).
    """

    def __init__(self, timeout, distributed=False):
        if not isinstance(timeout, int) or timeout < 1:
            raise ValueError(f"Timeout must be a positive integer, not {timeout!r}")
        self.timeout = timeout
        self.distributed = bool(distributed)
        super().__init__({
            "i_byte": In(stream.Signature(8)),
            "line_busy": In(1),
            "o_frame": Out(stream.Signature(frame_layout())),
            "buffer": Out(ReadPort.Signature(addr_width=8, shape=8)),
            "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        # written only inside a frame, which begins only while the executor is idle, and the
        # executor reads it only after the frame's verdict, before the next frame can begin:
        # the word read in a clock that writes is never used (``hdl/memory.py``)
        m.submodules.buf = buf = Memory(
            shape=8, depth=256, init=[],
            attrs={**NO_RW_CHECK, **({"ram_style": "distributed"} if self.distributed else {})})
        wp = buf.write_port()
        rp = buf.read_port()
        m.d.comb += [rp.addr.eq(self.buffer.addr), rp.en.eq(self.buffer.en),
                     self.buffer.data.eq(rp.data)]

        frame_ok = Signal()
        frame_err = Signal()
        err_code = Signal(8)
        f_len = Signal(8)
        f_cmd = Signal(8)
        f_seq = Signal(8)
        crc = Signal(16, init=CRC_INIT)
        crc_hi = Signal(8)
        count = Signal(8)
        idle_t = Signal(range(self.timeout + 1))
        rx_timeout = Signal()
        m.d.comb += rx_timeout.eq(idle_t == self.timeout)
        byte = self.i_byte.payload
        got = self.i_byte.valid
        m.d.comb += self.i_byte.ready.eq(1)
        m.d.comb += [wp.addr.eq(count), wp.data.eq(byte)]

        @contextmanager
        def byte_state(name):
            # every state inside a frame: the timeout ends the frame, else a byte is taken
            with m.State(name):
                with m.If(rx_timeout):
                    m.d.comb += [frame_err.eq(1), err_code.eq(Status.TRUNCATED)]
                    m.next = "HUNT"
                with m.Elif(got):
                    yield

        with m.FSM(name="rx_fsm") as rx_fsm:
            with m.State("HUNT"):
                with m.If(got & (byte == START) & self.o_frame.ready):
                    m.d.sync += [crc.eq(CRC_INIT), count.eq(0), idle_t.eq(0)]
                    m.next = "LEN"
            with byte_state("LEN"):
                m.d.sync += [f_len.eq(byte), crc.eq(crc16_update(crc, byte))]
                m.next = "CMD"
            with byte_state("CMD"):
                m.d.sync += [f_cmd.eq(byte), crc.eq(crc16_update(crc, byte))]
                m.next = "SEQ"
            with byte_state("SEQ"):
                m.d.sync += [f_seq.eq(byte), crc.eq(crc16_update(crc, byte))]
                with m.If(f_len == 0):
                    m.next = "CRC_HI"
                with m.Else():
                    m.next = "PAYLOAD"
            with byte_state("PAYLOAD"):
                m.d.comb += wp.en.eq(1)
                m.d.sync += [count.eq(count + 1), crc.eq(crc16_update(crc, byte))]
                with m.If(count + 1 == f_len):
                    m.next = "CRC_HI"
            with byte_state("CRC_HI"):
                m.d.sync += crc_hi.eq(byte)
                m.next = "CRC_LO"
            with byte_state("CRC_LO"):
                with m.If(Cat(byte, crc_hi) == crc):
                    m.d.comb += frame_ok.eq(1)
                with m.Else():
                    m.d.comb += [frame_err.eq(1), err_code.eq(Status.BAD_CRC)]
                m.next = "HUNT"
        with m.If(rx_fsm.ongoing("HUNT")):
            m.d.sync += idle_t.eq(0)
        with m.Elif(got | self.line_busy):
            m.d.sync += idle_t.eq(0)
        with m.Elif(~rx_timeout):
            m.d.sync += idle_t.eq(idle_t + 1)

        frame_ok_r, frame_err_r, err_crc_r = Signal(), Signal(), Signal()
        err_code_r = Signal(8)
        m.d.sync += [frame_ok_r.eq(frame_ok), frame_err_r.eq(frame_err),
                     err_code_r.eq(err_code), err_crc_r.eq(rx_fsm.ongoing("CRC_LO"))]
        frame = self.o_frame.payload
        m.d.comb += [self.o_frame.valid.eq(frame_ok_r | frame_err_r),
                     frame.cmd.eq(f_cmd), frame.seq.eq(f_seq), frame.length.eq(f_len), frame.error.eq(frame_err_r),
                     frame.status.eq(err_code_r), frame.echo.eq(err_crc_r),
                     self.error.eq(frame_err)]
        return m
