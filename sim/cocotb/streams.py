"""The one stream driver, stream monitor and testbench base of every cocotb testbench.

Amaranth names the members of a ``lib.stream`` port ``<name>__valid``, ``<name>__ready`` and
``<name>__payload`` in the generated Verilog; :class:`StreamDriver` drives such an input port,
:class:`StreamMonitor` takes transfers from such an output port, and :class:`TB` owns the clock,
the reset and the clock counter, and builds both from signal-name prefixes.

Every clock of a testbench is one iteration of: falling edge (:meth:`TB.cycle`), *drive* (set
the inputs: :meth:`StreamDriver.drive`, :meth:`StreamMonitor.drive`), ``ReadOnly`` (settled),
*sample* (:meth:`StreamDriver.sample`, :meth:`StreamMonitor.sample`: a stream transfers at the
next rising edge iff ``valid & ready`` now). A testbench that drives several streams calls
their ``drive`` and ``sample`` in a fixed order within one loop, so the random draws (gaps,
backpressure) come from its one seeded generator in an order that does not depend on the
simulator's scheduling; a testbench with one stream at a time uses :meth:`StreamDriver.send`
and :meth:`StreamMonitor.recv`.
"""

from collections import deque

from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

__all__ = ["StreamDriver", "StreamMonitor", "TB", "start_clock", "pulse_reset"]


def start_clock(dut, name="clk", period_ns=10):
    """Start the clock ``name`` of ``dut`` (one period of ``period_ns``)."""
    Clock(getattr(dut, name), period_ns, unit="ns").start()


async def pulse_reset(dut, name="rst", cycles=3):
    """Hold the reset ``name`` high for ``cycles`` falling edges; release it at the last."""
    rst = getattr(dut, name)
    rst.value = 1
    for _ in range(cycles):
        await FallingEdge(dut.clk)
    rst.value = 0


def _members(dut, name):
    """The ``valid``, ``ready`` and ``payload`` handles of the stream port ``name``."""
    return tuple(getattr(dut, f"{name}__{member}") for member in ("valid", "ready", "payload"))


class StreamDriver:
    """Drives the input stream ``<name>__valid/__ready/__payload`` of a testbench's DUT.

    Payloads are queued (:meth:`put`) and offered in order; ``payload`` is held from the clock
    it is offered until its transfer, as the stream rules ask.

    Parameters
    ----------
    tb : TB
        The testbench: its DUT and clock counter.
    name : str
        The port's full signal-name prefix (``"i_event"``, ``"n0__i_input"``).
    rng : numpy.random.Generator, optional
        Random gaps: while a payload waits to be offered, each clock draws one number and
        offers it iff the number is below ``valid_prob``. The draw is made even when
        ``valid_prob`` is 1 (as the testbenches always drew: a seed replays the same
        stimulus as before). Without ``rng``, payloads go back to back (no draws).
    valid_prob : float

    Attributes
    ----------
    current : int or None
        The payload offered (``valid`` high), until its transfer.
    queue : collections.deque
        Payloads waiting to be offered.
    """

    def __init__(self, tb, name, rng=None, valid_prob=1.0):
        self.tb, self.name = tb, name
        self.valid, self.ready, self.payload = _members(tb.dut, name)
        self.rng, self.valid_prob = rng, float(valid_prob)
        self.queue = deque()
        self.current = None

    @property
    def busy(self):
        """A payload is offered or waiting."""
        return self.current is not None or bool(self.queue)

    def put(self, *payloads):
        self.queue.extend(int(p) for p in payloads)

    def idle(self):
        """``valid`` low and ``payload`` zero: the inputs before the reset."""
        self.valid.value = 0
        self.payload.value = 0

    def stop(self):
        """``valid`` low, the payload offered (if any) kept for the next :meth:`drive`."""
        self.valid.value = 0

    def drive(self):
        """At the falling edge: offer the next payload (after a random gap) or keep offering
        the current one."""
        if self.current is None and self.queue and (
                self.rng is None or self.rng.random() < self.valid_prob):
            self.current = self.queue.popleft()
        self.valid.value = int(self.current is not None)
        if self.current is not None:
            self.payload.value = self.current

    def sample(self):
        """In ``ReadOnly``: the payload that transfers at the next rising edge, or None."""
        if self.current is not None and int(self.ready.value):
            word, self.current = self.current, None
            return word
        return None

    async def send(self, *payloads, timeout=None, message="not taken"):
        """Offer ``payloads`` (queued after any waiting) until all have transferred; ``valid``
        low after the last. Returns the clock (:attr:`TB.clock`) of each transfer.

        ``timeout``: fail with ``message`` when no transfer happens within that many clocks.
        """
        self.put(*payloads)
        clocks, since = [], self.tb.clock
        while self.busy:
            self.drive()
            await ReadOnly()
            taken = self.sample() is not None
            if taken:
                clocks.append(self.tb.clock)
            await self.tb.cycle()
            if taken:
                since = self.tb.clock
            else:
                assert timeout is None or self.tb.clock - since < timeout, message
        self.stop()
        return clocks


class StreamMonitor:
    """Takes transfers from the output stream ``<name>__valid/__ready/__payload``.

    Parameters
    ----------
    tb : TB
    name : str
        The port's full signal-name prefix (``"o_spike"``, ``"n0__o_output"``).
    rng : numpy.random.Generator, optional
        Random backpressure: with ``ready_prob`` below 1, each clock draws one number and
        raises ``ready`` iff it is below ``ready_prob``; at 1 nothing is drawn.
    ready_prob : float

    Attributes
    ----------
    transfers : list of (int, int)
        ``(clock, payload)`` of every transfer taken by :meth:`sample`, in order.
    offered : int or None
        The payload offered at the last :meth:`sample` (``valid`` high), else None.
    """

    def __init__(self, tb, name, rng=None, ready_prob=1.0):
        self.tb, self.name = tb, name
        self.valid, self.ready, self.payload = _members(tb.dut, name)
        self.rng, self.ready_prob = rng, float(ready_prob)
        self.ready_now = 0
        self.offered = None
        self.transfers = []

    def set_ready(self, value):
        self.ready_now = int(value)
        self.ready.value = self.ready_now

    def drive(self):
        """At the falling edge: ``ready`` for this clock (randomly low with backpressure)."""
        self.set_ready(1 if self.ready_prob >= 1 else self.rng.random() < self.ready_prob)
        return self.ready_now

    def sample(self):
        """In ``ReadOnly``: the payload that transfers at the next rising edge, or None."""
        self.offered = int(self.payload.value) if int(self.valid.value) else None
        if self.offered is not None and self.ready_now:
            self.transfers.append((self.tb.clock, self.offered))
            return self.offered
        return None

    async def recv(self):
        """Raise ``ready`` until one payload transfers; return it (``ready`` low after)."""
        self.set_ready(1)
        while True:
            await ReadOnly()
            word = self.sample()
            await self.tb.cycle()
            if word is not None:
                break
        self.set_ready(0)
        return word


class TB:
    """Base of a testbench: signal look-up by prefix, clock, reset, clock counter, streams.

    Parameters
    ----------
    dut : cocotb handle
    prefix : str
        Prepended to every signal name (``"n0__"`` for the first top of a bundle).

    Attributes
    ----------
    clock : int
        Falling edges since the reset was released (:meth:`cycle` counts them).
    streams : list
        Every driver and monitor built by :meth:`driver` and :meth:`monitor`.
    """

    def __init__(self, dut, prefix=""):
        self.dut, self.prefix = dut, prefix
        self.clock = 0
        self.streams = []

    def signal(self, name):
        return getattr(self.dut, self.prefix + name)

    def driver(self, name, rng=None, valid_prob=1.0):
        """A :class:`StreamDriver` of the input stream ``<prefix><name>``."""
        d = StreamDriver(self, self.prefix + name, rng, valid_prob)
        self.streams.append(d)
        return d

    def monitor(self, name, rng=None, ready_prob=1.0):
        """A :class:`StreamMonitor` of the output stream ``<prefix><name>``."""
        m = StreamMonitor(self, self.prefix + name, rng, ready_prob)
        self.streams.append(m)
        return m

    def idle(self, *names):
        """Every stream input of the DUT low (and the plain inputs ``names``): before reset."""
        for s in self.streams:
            if isinstance(s, StreamDriver):
                s.idle()
            else:
                s.set_ready(0)
        for name in names:
            self.signal(name).value = 0

    async def reset(self, *names):
        """Start the clock, idle every input (:meth:`idle`) and pulse the reset."""
        start_clock(self.dut)
        self.idle(*names)
        await pulse_reset(self.dut)

    async def cycle(self, n=1):
        """Advance to the next clock's driving point (falling edge), ``n`` times."""
        for _ in range(n):
            await FallingEdge(self.dut.clk)
            self.clock += 1
