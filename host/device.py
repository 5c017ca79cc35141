"""A spikefab board as a Python object: :class:`Device` over a serial port or a simulated UART.

Every command is one request frame and one response frame. Reads are idempotent and retried
on a timeout or a broken response; writes, INPUT and RUN are not retried (the device may have
executed them), so a lost answer to them raises :class:`LinkError`.
"""

import time

import numpy as np

from spikefab.hdl.core import Param, Space
from spikefab.hdl.link import MAX_EVENTS, link_info, _nbytes
from spikefab.hdl.router import TableSpace, dst_layout, ptr_layout

from .protocol import Cmd, DeviceError, FrameDecoder, LinkError, Status, encode_frame

__all__ = ["SerialTransport", "SimTransport", "Device", "parse_identify"]


class SerialTransport:
    """A serial port (pyserial, imported on use), 8N1."""

    def __init__(self, port, baud=1_000_000):
        try:
            import serial
        except ImportError:
            raise RuntimeError("pyserial is needed to open a serial port; install it with "
                               "'pip install pyserial'") from None
        self.port = serial.Serial(port, baud, timeout=0.01)

    def write(self, data):
        self.port.write(data)

    def read(self, timeout):
        """The bytes that arrive within ``timeout`` seconds (at least one, or none)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            b = self.port.read(4096)
            if b:
                return b
        return b""

    def close(self):
        self.port.close()


class SimTransport:
    """The link gateware and the network top of ``params`` in the Amaranth simulator, driven
    through its ``rx`` / ``tx`` pins by a bit-level UART model (``divisor`` clocks per bit).

    Time is simulated time: :meth:`read`'s ``timeout`` is in simulated seconds, so a silent
    device makes the host time out after a bounded amount of simulation.
    """

    PERIOD = 1e-6

    def __init__(self, params, divisor=4, timeout_clocks=4000):
        from amaranth.sim import Simulator
        from spikefab.hdl.link import LinkedNetwork
        self.dut = dut = LinkedNetwork(params, clk_hz=1e6, divisor=divisor,
                                       timeout=timeout_clocks)
        self.divisor = divisor
        self.to_dev = bytearray()
        self.from_dev = bytearray()
        self.sim = sim = Simulator(dut)
        sim.add_clock(self.PERIOD)
        sim.add_testbench(self._driver, background=True)
        sim.add_testbench(self._monitor, background=True)
        self.now = 0.0
        self.line_gap = 0                # extra idle bit times between bytes (tests)

    async def _driver(self, ctx):
        bit = self.divisor * self.PERIOD
        ctx.set(self.dut.rx, 1)
        while True:
            if not self.to_dev:
                await ctx.delay(bit)
                continue
            byte = self.to_dev.pop(0)
            for level in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                ctx.set(self.dut.rx, level)
                await ctx.delay(bit)
            if self.line_gap:
                await ctx.delay(bit * self.line_gap)

    async def _monitor(self, ctx):
        bit = self.divisor * self.PERIOD
        while True:
            await ctx.negedge(self.dut.tx)
            await ctx.delay(bit / 2)                       # middle of the start bit
            if ctx.get(self.dut.tx):
                continue
            value = 0
            for i in range(8):
                await ctx.delay(bit)
                value |= ctx.get(self.dut.tx) << i
            await ctx.delay(bit)
            if ctx.get(self.dut.tx):
                self.from_dev.append(value)

    def write(self, data):
        self.to_dev += bytes(data)

    def read(self, timeout):
        """Simulate until some bytes came back, or ``timeout`` simulated seconds."""
        step = self.PERIOD * self.divisor * 10 * 4
        end = self.now + timeout
        while not self.from_dev and self.now < end:
            self.now += step
            self.sim.run_until(self.now)
        out = bytes(self.from_dev)
        self.from_dev.clear()
        return out

    def idle(self, seconds):
        """Let the device run for ``seconds`` of simulated time."""
        self.now += seconds
        self.sim.run_until(self.now)

    def close(self):
        pass


def parse_identify(b):
    """The IDENTIFY response payload (after the status byte) as a dict."""
    if len(b) < 19 or b[:2] != b"SF":
        raise LinkError(f"Not a spikefab device (identify answer {bytes(b)!r})")
    return {"version": b[2], "cores": b[3], "inputs": int.from_bytes(b[4:6], "little"),
            "cfg_addr_bits": b[6], "cfg_data_bits": b[7], "rdata_bits": b[8],
            "index_bits": b[9], "step_bits": b[10],
            "out_depth": int.from_bytes(b[11:13], "little"),
            "cycles_depth": int.from_bytes(b[13:15], "little"),
            "build_hash": int.from_bytes(b[15:19], "little")}


class Device:
    """A running network top behind the host link.

    Parameters
    ----------
    transport : SerialTransport or SimTransport
    params : NetworkParams
        The build's parameters (the mapping gives host ids and core layouts).
    timeout : float
        Seconds (simulated seconds for a :class:`SimTransport`) to wait for a response.
    retries : int
        Extra attempts of an idempotent command.
    """

    def __init__(self, transport, params, timeout=0.5, retries=2):
        self.t = transport
        self.p = params
        self.timeout = timeout
        self.retries = retries
        self.dec = FrameDecoder()
        self.D = _nbytes(params.cfg_data_bits)
        self.R = _nbytes(params.rdata_bits)
        self.info = None

    @classmethod
    def open(cls, port, params, baud=1_000_000, timeout=0.5, retries=2):
        return cls(SerialTransport(port, baud), params, timeout, retries)

    @classmethod
    def sim(cls, params, divisor=4, timeout=0.05, retries=2):
        return cls(SimTransport(params, divisor), params, timeout, retries)

    def close(self):
        self.t.close()

    # -- frames ---------------------------------------------------------------------------

    def _response(self):
        end_reads = 0
        while not self.dec.frames:
            b = self.t.read(self.timeout)
            if not b:
                end_reads += 1
                if end_reads >= 1:
                    return None
            self.dec.feed(b)
        return self.dec.frames.pop(0)

    def transact(self, cmd, payload=b"", idempotent=False):
        """Send one command; its response payload after the status byte.

        Raises
        ------
        DeviceError
            The device answered with an error status.
        LinkError
            No (good) answer within the timeout and retries.
        """
        attempts = 1 + (self.retries if idempotent else 0)
        for _ in range(attempts):
            self.dec = FrameDecoder()
            self.t.write(encode_frame(cmd, payload))
            r = self._response()
            if r is None:
                continue
            rcmd, body = r
            if not body:
                continue
            if body[0] != Status.OK:
                if body[0] in (Status.BAD_CRC, Status.TRUNCATED) and idempotent:
                    continue
                raise DeviceError(rcmd, body[0])
            if rcmd != cmd:
                continue
            return bytes(body[1:])
        raise LinkError(f"No answer to command 0x{cmd:02x} after {attempts} attempt(s) "
                        f"({self.timeout} s each)")

    # -- commands -------------------------------------------------------------------------

    def identify(self):
        self.info = parse_identify(self.transact(Cmd.IDENTIFY, idempotent=True))
        want = link_info(self.p)["build_hash"]
        self.matches = self.info["build_hash"] == want
        return self.info

    def _entry(self, target, space, addr, data=None):
        b = bytes([target, space]) + int(addr).to_bytes(2, "little")
        if data is not None:
            b += (int(data) & ((1 << (8 * self.D)) - 1)).to_bytes(self.D, "little")
        return b

    def write(self, cmd, entries):
        """Write ``(target, space, addr, data)`` entries with one of the WRITE commands."""
        size = 4 + self.D
        per = 255 // size
        for i in range(0, len(entries), per):
            self.transact(cmd, b"".join(self._entry(*e) for e in entries[i:i + per]))

    def read(self, entries):
        """Read words: ``(target, space, addr)`` entries; a list of ints."""
        per = min(255 // 4, 254 // self.R)
        out = []
        for i in range(0, len(entries), per):
            chunk = entries[i:i + per]
            body = self.transact(Cmd.READ, b"".join(self._entry(*e) for e in chunk),
                                 idempotent=True)
            for k in range(len(chunk)):
                out.append(int.from_bytes(body[k * self.R:(k + 1) * self.R], "little"))
        return out

    def reset(self):
        """Reset the step counter, the queues and every neuron's state (``u = v = r = 0``)."""
        self.transact(Cmd.RESET)
        self.write(Cmd.WRITE_STATE, [(c, Space.STATE, row, 0)
                                     for c, cp in enumerate(self.p.cores)
                                     for row in range(cp.rows)])

    def load(self, net=None):
        """Write the weights, neuron parameters and routing table of the build's network
        (or of ``net``, which must map onto the same build), then :meth:`reset`."""
        p = self.p
        if net is not None:
            from spikefab.hdl.network import NetworkParams
            from spikefab.hdl.mapping import map_network
            m = p.mapping
            q = NetworkParams.from_mapping(map_network(
                net, m.neurons_per_core, m.axons_per_core, m.max_cores, m.max_entries,
                pack=False, outputs=list(m.outputs)), lanes=p.lanes)
            if q.cfg_data_bits != p.cfg_data_bits or len(q.cores) != len(p.cores):
                raise ValueError("Network does not map onto this build")
            p = q
        w = []
        for c, cp in enumerate(p.cores):
            w += [(c, Space.WEIGHT, a, word) for a, word in enumerate(cp.weight_words())]
        self.write(Cmd.WRITE_WEIGHTS, w)
        prm = []
        for c, cp in enumerate(p.cores):
            values = {Param.THRESHOLD: cp.threshold,
                      Param.BIAS: cp.bias & ((1 << cp.voltage_bits) - 1),
                      Param.DU: cp.du, Param.DV: cp.dv, Param.REFRACTORY: cp.refractory,
                      Param.RESET_SUBTRACT: int(cp.reset_subtract)}
            prm += [(c, Space.PARAM, int(k), v) for k, v in values.items()]
        self.write(Cmd.WRITE_PARAMS, prm)
        rp = p.router
        pl, dl = ptr_layout(rp), dst_layout(rp)
        routes = [(p.router_target, TableSpace.POINTER, s,
                   b | (n << pl["count"].offset)) for s, (b, n) in enumerate(rp.pointers)]
        routes += [(p.router_target, TableSpace.DESTINATION, e,
                    q | (i << dl["index"].offset)) for e, (q, i) in enumerate(rp.destinations)]
        self.write(Cmd.WRITE_ROUTES, routes)
        self.reset()

    def inject(self, channels):
        """Input channels that spike in the next step."""
        ch = [int(c) for c in channels]
        for i in range(0, max(len(ch), 1), 127):
            part = ch[i:i + 127]
            if part:
                self.transact(Cmd.INPUT, b"".join(c.to_bytes(2, "little") for c in part))

    def start(self, steps):
        """Start ``steps`` steps (the first with the injected inputs) in the background."""
        self.transact(Cmd.RUN, int(steps).to_bytes(2, "little"))

    def read_spikes(self):
        """``(steps done, steps outstanding, [(step tag, host id), ...])``: drains up to
        60 queued output events."""
        body = self.transact(Cmd.READ_SPIKES)
        steps = int.from_bytes(body[0:2], "little")
        left = int.from_bytes(body[2:4], "little")
        ev = []
        for k in range(4, len(body), 4):
            ev.append((int.from_bytes(body[k + 2:k + 4], "little"),
                       int.from_bytes(body[k:k + 2], "little")))
        return steps, left, ev

    def read_cycles(self):
        """Drains up to 60 queued per-step cycle counts."""
        body = self.transact(Cmd.READ_CYCLES)
        return [int.from_bytes(body[k:k + 4], "little") for k in range(0, len(body), 4)]

    def run(self, inputs, poll=0.0):
        """Run one step per row of ``inputs`` ``(T, n_inputs)`` bool; returns ``(spikes,
        cycles)``: ``spikes`` a dict of population name to ``(T, size)`` bool arrays (every
        output population), ``cycles`` ``(T,)`` int64."""
        m = self.p.mapping
        x = np.asarray(inputs, bool)
        T = x.shape[0]
        spikes = {q.name: np.zeros((T, q.size), bool) for q in m.net.populations}
        cycles = []
        events = []
        t = 0
        while t < T:
            if x[t].any():
                self.inject(np.flatnonzero(x[t]))
                k = 1
            else:                              # a run of empty steps in one RUN
                k = 1
                while t + k < T and not x[t + k].any() and k < 0xFFFF:
                    k += 1
            self.start(k)
            while True:
                _, left, ev = self.read_spikes()
                events += ev
                if left == 0 and len(ev) < MAX_EVENTS:
                    break
                if poll and not ev:
                    self.t.idle(poll) if hasattr(self.t, "idle") else time.sleep(poll)
            while True:
                c = self.read_cycles()
                cycles += c
                if len(c) < 60:
                    break
            t += k
        if len(cycles) != T:
            raise LinkError(f"Expected {T} cycle counts, got {len(cycles)}")
        for tag, hid in events:            # tags count from the last reset (T < 2**16)
            pop, i = m.host_neuron(hid)
            spikes[pop][tag, i] = True
        return spikes, np.asarray(cycles, np.int64)
