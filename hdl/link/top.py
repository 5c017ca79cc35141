"""The host link (``docs/protocol.md``) and the network top behind it."""

from amaranth.hdl import ClockDomain, ClockSignal, DomainRenamer, Module, Mux, ResetInserter
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.latency import CYCLES_BITS
from spikefab.shape.network import NetworkParams
from spikefab.shape.protocol import link_info

from ..network import NetworkTop, input_layout, network_cfg_layout
from ..router import host_event_layout
from ..uart import UartRx, UartTx, uart_divisor
from .executor import Executor
from .leds import Leds
from .receiver import Receiver
from .runner import StepRunner
from .transmitter import Transmitter

__all__ = ["Link", "LinkedNetwork", "link_timing"]


def link_timing(clk_hz, baud=1_000_000, timeout=None, divisor=None):
    """``(divisor, timeout)`` of a link at ``clk_hz``: clocks per UART bit (default
    :func:`~spikefab.hdl.uart.uart_divisor` of ``baud``) and the inter-byte timeout in clocks
    (default 50 ms), as :class:`LinkedNetwork` chooses them (a board top builds it with the
    defaults; the simulated board of a board is built with the same numbers)."""
    divisor = uart_divisor(clk_hz, baud) if divisor is None else divisor
    timeout = int(clk_hz * 0.05) if timeout is None else timeout
    return divisor, timeout


class Link(wiring.Component):
    """Frame parser, command executor and response framer between a UART and the ports of a
    :class:`~spikefab.hdl.network.NetworkTop` of ``params``.

    One command at a time: bytes that arrive while a command executes or its response is sent
    are dropped (the host waits for each response). A frame is executed only after its CRC and
    every field have been checked, so a rejected frame changes nothing. Steps requested by RUN
    run in the background; their output events and cycle counts queue in two FIFOs that
    READ_SPIKES and READ_CYCLES drain.

    Composed of a :class:`~.receiver.Receiver` (UART bytes to checked frames), an
    :class:`~.executor.Executor` (a frame against the network top's ports, the response out),
    a :class:`~.transmitter.Transmitter` (the response framed, its CRC appended), a
    :class:`~.runner.StepRunner` (steps in the background, their outputs queued) and
    :class:`~.leds.Leds`.

    Memories: the 256-byte frame buffer and the 256-byte replay memory (a block RAM each),
    the output-event FIFO (``out_depth`` x (index + step bits)) and the cycle-count FIFO
    (``cycles_depth`` x 32).
    With ``"banked"`` weight memories in ``params`` (a large ECP5) the FIFOs' heads are
    registered before the transmitter takes them (a clock more per 4 bytes sent), the frame
    buffer and the replay memory are in distributed RAM and ``net_reset`` is a register.

    Parameters
    ----------
    params : NetworkParams
    divisor : int
        Clocks per UART bit (>= 4).
    timeout : int
        Clocks without a byte after which a partly received frame is answered TRUNCATED.
    out_depth, cycles_depth : int

    Members
    -------
    rx : In(1)
    tx : Out(1)
    o_input, i_output, o_cfg, i_rdata : the network top's streams, flipped
    busy, done, steps, cycles : In, from the network top
    net_reset : Out(1)
        Resets the network top's control state (RESET command; with banked weight
        memories a register, also high from power-on until a clock after it).
    led_link, led_spike, led_error : Out(1)
        Stretched pulses: a byte in or out, an output spike, an error response.
    """

    def __init__(self, params, divisor, timeout=100_000, out_depth=256, cycles_depth=64):
        if not isinstance(params, NetworkParams):
            raise TypeError(f"Params must be a NetworkParams, not {params!r}")
        if params.cfg_addr_bits > 16:
            raise ValueError(f"Configuration address must fit 16 bits, not "
                             f"{params.cfg_addr_bits}")
        if params.router.index_bits > 16 or params.step_bits > 16:
            raise ValueError("Host ids and step tags must fit 16 bits")
        if not isinstance(timeout, int) or timeout < 20 * divisor:
            raise ValueError(f"Timeout must be an integer >= 20 * divisor, not {timeout!r}")
        self._p = p = params
        self.divisor = divisor
        self.timeout = timeout
        self.out_depth, self.cycles_depth = out_depth, cycles_depth
        self.info = link_info(p, out_depth, cycles_depth)
        super().__init__({
            "rx": In(1, init=1),
            "tx": Out(1, init=1),
            "o_input": Out(stream.Signature(input_layout(p))),
            "i_output": In(stream.Signature(host_event_layout(p.router))),
            "o_cfg": Out(stream.Signature(network_cfg_layout(p))),
            "i_rdata": In(stream.Signature(p.rdata_bits)),
            "busy": In(1),
            "done": In(1),
            "steps": In(p.step_bits),
            "cycles": In(CYCLES_BITS),
            "net_reset": Out(1),
            "led_link": Out(1),
            "led_spike": Out(1),
            "led_error": Out(1),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        # a network on banked weight memories (a large ECP5 whose block RAMs fill the die):
        # the frame buffer in distributed RAM beside the parser, the queues' heads and the
        # network's reset registered
        banked = "banked" in p.weight_rams
        m.submodules.urx = urx = UartRx(self.divisor)
        m.submodules.utx = utx = UartTx(self.divisor)
        m.submodules.receiver = rcv = Receiver(self.timeout, distributed=banked)
        m.submodules.executor = ex = Executor(p, self.info, registered=banked)
        m.submodules.transmitter = xmt = Transmitter()
        m.submodules.runner = runner = StepRunner(p, self.out_depth, self.cycles_depth,
                                                  registered=banked)
        m.submodules.leds = leds = Leds()

        wiring.connect(m, urx.o_data, rcv.i_byte)
        wiring.connect(m, rcv.o_frame, ex.i_frame)
        wiring.connect(m, rcv.buffer, ex.buffer)
        wiring.connect(m, ex.o_payload, xmt.i_payload)
        wiring.connect(m, xmt.o_byte, utx.i_data)
        wiring.connect(m, ex.o_channel, runner.i_channel)
        wiring.connect(m, runner.o_events, ex.i_events)
        wiring.connect(m, runner.o_cycles, ex.i_cycles)
        wiring.connect(m, wiring.flipped(self.o_input), runner.o_input)
        wiring.connect(m, wiring.flipped(self.i_output), runner.i_output)
        if p.rate_bits:
            # the generator's clear walk runs only while presentations are queued, when the
            # executor takes no command that configures: the two never offer together. Its
            # data is zero: the executor's entry register, whose data field the port carries,
            # was cleared by the PRESENT that queued them (only the addresses are muxed)
            cfg, gcfg, xcfg = self.o_cfg, runner.o_cfg, ex.o_cfg
            g, x = gcfg.payload, xcfg.payload
            m.d.comb += [cfg.valid.eq(gcfg.valid | xcfg.valid),
                         cfg.payload.target.eq(Mux(gcfg.valid, g.target, x.target)),
                         cfg.payload.space.eq(Mux(gcfg.valid, g.space, x.space)),
                         cfg.payload.addr.eq(Mux(gcfg.valid, g.addr, x.addr)),
                         cfg.payload.data.eq(x.data),
                         cfg.payload.write.eq(x.write | gcfg.valid),
                         gcfg.ready.eq(cfg.ready), xcfg.ready.eq(cfg.ready)]
            m.d.comb += [runner.rate_w_addr.eq(ex.rate_w_addr),
                         runner.rate_w_data.eq(ex.rate_w_data),
                         runner.rate_w_en.eq(ex.rate_w_en), runner.present.eq(ex.present),
                         runner.present_steps.eq(ex.present_steps),
                         ex.presenting.eq(runner.presenting),
                         ex.rate_queued.eq(runner.rate_queued),
                         ex.rate_wslot.eq(runner.rate_wslot)]
        else:
            wiring.connect(m, wiring.flipped(self.o_cfg), ex.o_cfg)
        wiring.connect(m, wiring.flipped(self.i_rdata), ex.i_rdata)
        m.d.comb += [
            urx.rx.eq(self.rx), self.tx.eq(utx.tx), rcv.line_busy.eq(urx.busy),
            xmt.start.eq(ex.start), xmt.length.eq(ex.length), xmt.cmd.eq(ex.cmd),
            xmt.seq.eq(ex.seq),
            ex.tx_count.eq(xmt.count), ex.tx_busy.eq(xmt.busy),
            ex.tx_last.eq(xmt.last),
            ex.steps.eq(self.steps), ex.running.eq(runner.running),
            ex.outstanding.eq(runner.outstanding), ex.event_level.eq(runner.event_level),
            ex.cycle_level.eq(runner.cycle_level),
            runner.run.eq(ex.run), runner.clear.eq(ex.clear), self.net_reset.eq(ex.net_reset),
            runner.busy.eq(self.busy), runner.done.eq(self.done),
            runner.cycles.eq(self.cycles),
            leds.byte_in.eq(urx.o_data.valid), leds.byte_out.eq(xmt.sent),
            leds.spike.eq(runner.event), leds.frame_error.eq(rcv.error),
            leds.cmd_error.eq(ex.error),
            self.led_link.eq(leds.led_link), self.led_spike.eq(leds.led_spike),
            self.led_error.eq(leds.led_error)]
        return m

class LinkedNetwork(wiring.Component):
    """A network top behind the host link: what a board top instantiates.

    Parameters
    ----------
    params : NetworkParams
    clk_hz : float
        Frequency of ``sync``.
    baud : int
        Default 1 Mbaud.
    timeout : int or None
        Inter-byte timeout in clocks (default 50 ms).

    Members
    -------
    rx : In(1)
    tx : Out(1)
    led_link, led_spike, led_error, led_busy : Out(1)
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)
    led_link: Out(1)
    led_spike: Out(1)
    led_error: Out(1)
    led_busy: Out(1)

    def __init__(self, params, clk_hz, baud=1_000_000, timeout=None, divisor=None):
        self.params = params
        self.divisor, self.timeout = link_timing(clk_hz, baud, timeout, divisor)
        self.link = Link(params, self.divisor, self.timeout)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.link = link = self.link
        net = NetworkTop(self.params)
        if "banked" in self.params.weight_rams:
            # the network in a domain of its own on the same clock, whose reset is only the
            # link's register: no power-on reset OR'ed in, which would cross the die twice
            m.domains.net = cd = ClockDomain("net", local=True)
            m.d.comb += [cd.clk.eq(ClockSignal("sync")), cd.rst.eq(link.net_reset)]
            m.submodules.net = DomainRenamer("net")(net)
        else:
            m.submodules.net = ResetInserter(link.net_reset)(net)
        wiring.connect(m, link.o_input, net.i_input)
        wiring.connect(m, net.o_output, link.i_output)
        wiring.connect(m, link.o_cfg, net.i_cfg)
        wiring.connect(m, net.o_rdata, link.i_rdata)
        m.d.comb += [link.busy.eq(net.busy), link.done.eq(net.done), link.steps.eq(net.steps),
                     link.cycles.eq(net.cycles), link.rx.eq(self.rx), self.tx.eq(link.tx),
                     self.led_link.eq(link.led_link), self.led_spike.eq(link.led_spike),
                     self.led_error.eq(link.led_error), self.led_busy.eq(net.busy)]
        return m
