"""Synapse memory and exact accumulation: the event phase of ``docs/spec.md`` section 3."""

from amaranth.hdl import (Cat, ClockSignal, Const, Elaboratable, Instance, Module, Mux, Shape,
                          Signal, signed, unsigned)
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory, ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from spikefab.shape.core import (BANK_WORDS, SPRAM_BITS, SPRAM_WORDS, CoreParams,
                                 check_bank_words, check_weight_ram, spram_pack)
from spikefab.shape.latency import read_latency, row_clocks

__all__ = ["WeightPortSignature", "acc_layout", "ltd_layout", "WeightRam", "SynapseArray"]


def _bits(depth):
    """Address bits of a memory of ``depth`` words."""
    return Shape.cast(range(depth)).width


def acc_layout(p):
    """One accumulator row: ``lanes`` signed ``acc_bits`` sums."""
    return data.ArrayLayout(signed(p.acc_bits), p.lanes)


def ltd_layout(p):
    """One op of the event phase as the weight update sees it: the word's address, its row and
    axon group, and the word read (the registered read data of the weight memory)."""
    return data.StructLayout({
        "addr": unsigned(_bits(p.weight_slots)), "row": unsigned(_bits(p.row_slots)),
        "group": unsigned(_bits(max(2, len(p.axon_shifts)))),
        "word": unsigned(p.lanes * p.weight_bits)})


class WeightPortSignature(wiring.Signature):
    """A read port and a write port sharing one address (the weight memory's external
    access; the memory side, as ``lib.memory.ReadPort.Signature``).

    Members
    -------
    addr : In(addr_width)
        The word read, and the word written when ``w_en`` is high.
    data : Out(width)
        The word at ``addr`` of :func:`read_latency` clocks before.
    w_en : In(1)
    w_data : In(width)
    """

    def __init__(self, *, addr_width, width):
        super().__init__({"addr": In(addr_width), "data": Out(width),
                          "w_en": In(1), "w_data": In(width)})


class WeightRam(Elaboratable):
    """The weight memory: ``depth`` words of ``width`` bits, with a registered read.

    ``rdata`` holds the word at ``raddr`` of :func:`read_latency` clocks before (1 but for
    ``"banked"``). With ``kind = "dual"`` a write (``wen``, ``waddr``, ``wdata``) may happen in
    the same clock as any read. With a
    single-port kind the address of a clock is ``waddr`` if ``wen`` else ``raddr``, and
    ``rdata`` is undefined in the clock after a write (the SPRAM drives ``x``; the behavioural
    model holds its last value): the user schedules reads and writes in different clocks.

    ``"ice40_spram"`` builds :func:`~spikefab.shape.core.spram_tiles` ``SB_SPRAM256KA``
    tiles (bank = high address bits, registered bank select on the read data; weights of up
    to 8 bits two to a tile word, the lowest address bit picking the half); they have no
    initial contents, so the weights are loaded through the configuration port. The others
    infer ``lib.memory.Memory`` initialised with ``init``: one, or for ``"banked"`` one per
    ``bank_words`` words (:data:`BANK_WORDS`; a power of two).

    ``"banked"`` is the dual-port memory of a device whose block RAMs are many and far apart
    (an ECP5-85F spreads a core's weights over the whole die): every input is registered, so
    the write enable, address and data cross the chip from a flip-flop; every bank's read data
    is registered beside its block RAM (whose clock-to-out alone is ~5.6 ns on a speed grade 6
    ECP5), and the bank multiplexer, which works from those registers, is registered too. A
    write and a read of one word therefore behave as in ``"dual"`` shifted by one clock (the
    read of the same clock returns the old word), and the read data comes three clocks later.
    """

    def __init__(self, width, depth, kind="dual", init=(), bank_words=BANK_WORDS):
        self.kind = check_weight_ram(kind, width, depth)
        self.bank_words = check_bank_words(bank_words)
        self.width, self.depth, self.init = width, depth, list(init)
        self.raddr = Signal(range(depth))
        self.waddr = Signal(range(depth))
        self.wen = Signal()
        self.wdata = Signal(width)
        self.rdata = Signal(width)

    def elaborate(self, platform):
        m = Module()
        if self.kind == "ice40_spram":
            self._spram(m)
            return m
        if self.kind == "banked":
            self._banked(m)
            return m
        mem = Memory(shape=self.width, depth=self.depth,
                     init=self.init if any(self.init) else [])
        m.submodules.mem = mem
        rd = mem.read_port()
        wr = mem.write_port()
        m.d.comb += [wr.data.eq(self.wdata), wr.en.eq(self.wen), self.rdata.eq(rd.data)]
        if self.kind == "dual":
            m.d.comb += [rd.addr.eq(self.raddr), wr.addr.eq(self.waddr)]
        else:
            addr = Mux(self.wen, self.waddr, self.raddr)
            m.d.comb += [rd.addr.eq(addr), wr.addr.eq(addr), rd.en.eq(~self.wen)]
        return m

    def _banked(self, m):
        size = self.bank_words
        banks = -(-self.depth // size)
        lo = min(self.depth, size)
        lo_bits = max(1, (lo - 1).bit_length())
        raddr, waddr = Signal.like(self.raddr), Signal.like(self.waddr)
        wdata = Signal.like(self.wdata)
        m.d.sync += [raddr.eq(self.raddr), waddr.eq(self.waddr), wdata.eq(self.wdata)]
        # the bank of the read, aligned with the block RAM's data, then with its register
        sel_ram = Signal(range(max(banks, 2)))
        sel_out = Signal.like(sel_ram)
        if banks > 1:
            m.d.sync += [sel_ram.eq(raddr[lo_bits:]), sel_out.eq(sel_ram)]
        outs = []
        for b in range(banks):
            words = min(size, self.depth - b * size)
            init = self.init[b * size:b * size + words]
            mem = Memory(shape=self.width, depth=words, init=init if any(init) else [])
            m.submodules[f"bank{b}"] = mem
            rd, wr = mem.read_port(), mem.write_port()
            # the decoded enable is registered per bank: one flip-flop beside each bank
            wen = Signal(name=f"bank{b}_wen")
            hit = self.waddr[lo_bits:] == b if banks > 1 else Const(1)
            m.d.sync += wen.eq(self.wen & hit)
            out = Signal(self.width, name=f"bank{b}_data")
            m.d.comb += [rd.addr.eq(raddr[:lo_bits]), wr.addr.eq(waddr[:lo_bits]),
                         wr.data.eq(wdata), wr.en.eq(wen)]
            m.d.sync += out.eq(rd.data)
            outs.append(out)
        # the multiplexer's output registered too: the bank registers' trip across the die
        # then has a clock to itself, and the placer is free to keep each beside its bank
        with m.Switch(sel_out):
            for b, out in enumerate(outs):
                with m.Case(b):
                    m.d.sync += self.rdata.eq(out)

    def _spram(self, m):
        # ``pack`` weight words a tile word: with two (8-bit weights, one lane) the lowest
        # address bit picks the half, written alone through the nibble write mask and read
        # through a multiplexer after the tile (its select registered like the bank's)
        pack = spram_pack(self.width)
        half_bits = SPRAM_BITS // pack
        cols = -(-self.width * pack // SPRAM_BITS)
        banks = -(-self.depth // (SPRAM_WORDS * pack))
        addr = Signal(range(self.depth))
        m.d.comb += addr.eq(Mux(self.wen, self.waddr, self.raddr))
        word = addr[1:] if pack == 2 else addr
        local = Signal(14)
        m.d.comb += local.eq(word)
        bank = Signal(range(max(banks, 2)))
        if banks > 1:
            m.d.comb += bank.eq(word[14:])
        read_bank = Signal.like(bank)
        m.d.sync += read_bank.eq(bank)
        wdata = Signal(cols * SPRAM_BITS)
        mask = Const(0b1111, 4)
        read_half = Signal()
        if pack == 2:
            m.d.comb += wdata.eq(Cat(self.wdata, Const(0, half_bits - self.width),
                                     self.wdata, Const(0, half_bits - self.width)))
            mask = Mux(addr[0], 0b1100, 0b0011)
            m.d.sync += read_half.eq(addr[0])
        else:
            m.d.comb += wdata.eq(self.wdata)
        outs = []
        for b in range(banks):
            out = Signal(cols * SPRAM_BITS, name=f"bank{b}_data")
            outs.append(out)
            for c in range(cols):
                m.submodules[f"spram_{b}_{c}"] = Instance(
                    "SB_SPRAM256KA",
                    i_ADDRESS=local,
                    i_DATAIN=wdata[c * SPRAM_BITS:(c + 1) * SPRAM_BITS],
                    i_MASKWREN=mask,
                    i_WREN=self.wen,
                    i_CHIPSELECT=bank == b,
                    i_CLOCK=ClockSignal(),
                    i_STANDBY=0, i_SLEEP=0, i_POWEROFF=1,
                    o_DATAOUT=out[c * SPRAM_BITS:(c + 1) * SPRAM_BITS])
        data_out = outs[0]
        for b in range(1, banks):
            data_out = Mux(read_bank == b, outs[b], data_out)
        if pack == 2:
            data_out = Mux(read_half, data_out[half_bits:], data_out[:half_bits])
        m.d.comb += self.rdata.eq(data_out[:self.width])


class SynapseArray(wiring.Component):
    """Weights ``W[A][N]`` and one exact accumulator per neuron; one synaptic op per lane per clock.

    Memories (all with registered read ports, so they map onto iCE40 EBR / SPRAM and ECP5
    DP16KD):

    - ``weights``: ``rows * A`` words of ``lanes * W_BITS`` bits; word ``row * A + axon`` holds
      ``W[axon][row * lanes + lane]`` in lane slice ``lane``. Its read and write ports share one
      address, so it also maps onto a single-port RAM (UP5K SPRAM).
    - ``accumulators``: ``rows`` words of ``lanes * acc_bits`` bits (simple dual port).

    Event phase (``ext = 0``): an axon id accepted from ``i_event`` is delivered to every row,
    one row (``lanes`` synapses) per clock: cycle ``k`` after the transfer reads weight word
    ``k * A + axon`` and accumulator row ``k``; cycle ``k + 1`` registers both (and the shifted
    weight); cycle ``k + 2`` writes ``acc + (W << shift)`` back. A new event is accepted in the
    cycle of the last row of the previous one, so ``E`` back-to-back events take exactly
    ``E * rows`` clocks. The read-after-write hazards (the same row within three consecutive
    clocks, which happens when ``rows <= 2``) are resolved by forwarding the two sums most
    recently computed, never by stalling. ``busy`` is high while an event is in flight, and for
    the :data:`~spikefab.shape.latency.EVENT_TAIL` clocks until its last write.

    A plastic core on a single-port weight memory (:func:`row_clocks` = 2) spends two clocks per
    row: a free-running toggle splits the clocks into read clocks and write clocks; rows are
    read only on read clocks and events are accepted only on write clocks, so that the weight
    update pipeline's write, 5 clocks after each read, always falls on a write clock, also
    across gaps between events. ``E`` back-to-back events then take ``2 * E * rows`` clocks.

    On a weight memory with a longer :func:`read_latency` ``L`` (``"banked"``, static cores),
    the row, group and valid of each op wait ``L - 1`` clocks in a delay line before the
    accumulator row is read, so that both words meet in stage B as above; ``busy`` and the
    event tail grow by ``L - 1`` clocks, and ``E`` back-to-back events still take ``E * rows``.

    External access (``ext = 1``, used by the update phase and the configuration port): the
    ``weight``, ``acc_rd`` and ``acc_wr`` ports own both memories. Read data appears on
    ``acc_rd.data`` one clock after the address, on ``weight.data`` :func:`read_latency` clocks
    after it. A read and a write of the same accumulator row in one clock return the old value
    (read-and-clear in one cycle). The weight update pipeline's ``update`` port writes at any
    time and wins over ``weight``.

    Parameters
    ----------
    params : CoreParams
    weight_ram : str
        Kind of weight memory (:class:`WeightRam`).

    Members
    -------
    i_event : In(stream.Signature(unsigned(bits of A - 1)))
        Axon ids of the events of the current step.
    enable : In(1)
        Accept events (the step controller drops it once the step's ``start`` arrived).
    busy : Out(1)
    ext : In(1)
        Hand both memories to the external ports. Only while ``busy`` is low.
    weight : Out(WeightPortSignature(addr_width=bits of rows * A - 1, width=lanes * W_BITS))
        External access to the weight memory (one address for the read and the write).
    acc_rd : Out(ReadPort.Signature(addr_width=bits of rows - 1, shape=acc_layout(params)))
    acc_wr : Out(WritePort.Signature(addr_width=bits of rows - 1, shape=acc_layout(params)))
        External access to the accumulators.
    update : Out(WritePort.Signature(addr_width=bits of rows * A - 1, shape=lanes * W_BITS))
        The weight update pipeline's writes (plastic cores).
    o_ltd : Out(stream.Signature(ltd_layout(params), always_ready=True))
        Every op of the event phase with its weight word, in the clock the word is read
        (the operands of LTD in a plastic core).
    ev_row : Out(range(rows))
        The row the engine reads this clock (the post traces are read beside it).
    """

    def __init__(self, params, weight_ram="dual"):
        if not isinstance(params, CoreParams):
            raise TypeError(f"Params must be a CoreParams, not {params!r}")
        self._p = params
        p = params
        self._ram = check_weight_ram(weight_ram, p.lanes * p.weight_bits, p.weight_slots,
                                     p.plastic)
        self._slow = row_clocks(p, weight_ram) == 2
        wbits, rbits, width = _bits(p.weight_slots), _bits(p.row_slots), p.lanes * p.weight_bits
        super().__init__({
            "i_event": In(stream.Signature(unsigned(max(1, (p.axons - 1).bit_length())))),
            "enable": In(1),
            "busy": Out(1),
            "ext": In(1),
            "weight": Out(WeightPortSignature(addr_width=wbits, width=width)),
            "acc_rd": Out(ReadPort.Signature(addr_width=rbits, shape=acc_layout(p))),
            "acc_wr": Out(WritePort.Signature(addr_width=rbits, shape=acc_layout(p))),
            "update": Out(WritePort.Signature(addr_width=wbits, shape=width)),
            "o_ltd": Out(stream.Signature(ltd_layout(p), always_ready=True)),
            "ev_row": Out(range(p.row_slots)),
        })

    @property
    def params(self):
        return self._p

    def elaborate(self, platform):
        p = self._p
        m = Module()
        m.submodules.weights = weights = WeightRam(p.lanes * p.weight_bits, p.weight_slots,
                                                   self._ram, p.weight_words())
        m.submodules.accumulators = accs = Memory(shape=acc_layout(p), depth=p.row_slots,
                                                  init=[])
        a_rd = accs.read_port()
        a_wr = accs.write_port()
        # stage A, the row engine: the op of this clock, and the weight memory's address
        active, a_valid, row, group, addr = self._engine(m)
        self._weight_access(m, weights, active, addr)
        m.d.comb += [self.ev_row.eq(row), self.acc_rd.data.eq(a_rd.data)]

        # the weight read's extra latency: row, group and valid wait for the word
        a_row, a_group, a_addr = row, group, addr
        in_flight = []
        for k in range(read_latency(self._ram) - 1):
            d_valid = Signal(name=f"l{k}_valid")
            d_row = Signal.like(row, name=f"l{k}_row")
            d_group = Signal.like(group, name=f"l{k}_group")
            d_addr = Signal.like(addr, name=f"l{k}_addr")
            m.d.sync += [d_valid.eq(a_valid), d_row.eq(a_row), d_group.eq(a_group),
                         d_addr.eq(a_addr)]
            a_valid, a_row, a_group, a_addr = d_valid, d_row, d_group, d_addr
            in_flight.append(d_valid)
        m.d.comb += a_rd.addr.eq(Mux(self.ext, self.acc_rd.addr, a_row))

        # stage B: register the memory outputs (and the shifted weight)
        b_valid = Signal()
        b_row = Signal(range(p.row_slots))
        b_group = Signal.like(group)
        b_addr = Signal.like(addr)
        m.d.sync += [b_valid.eq(a_valid), b_row.eq(a_row), b_group.eq(a_group),
                     b_addr.eq(a_addr)]
        ltd = self.o_ltd
        m.d.comb += [ltd.valid.eq(b_valid), ltd.payload.addr.eq(b_addr),
                     ltd.payload.row.eq(b_row), ltd.payload.group.eq(b_group),
                     ltd.payload.word.eq(weights.rdata)]
        c_valid, c_row, total = self._accumulate(m, b_valid, b_row, b_group, a_rd.data,
                                                 weights.rdata)

        with m.If(self.ext):
            m.d.comb += [a_wr.addr.eq(self.acc_wr.addr), a_wr.data.eq(self.acc_wr.data),
                         a_wr.en.eq(self.acc_wr.en)]
        with m.Else():
            m.d.comb += [a_wr.addr.eq(c_row), a_wr.data.eq(total), a_wr.en.eq(c_valid)]

        busy = active | b_valid | c_valid
        for d_valid in in_flight:
            busy |= d_valid
        m.d.comb += self.busy.eq(busy)
        return m

    def _engine(self, m):
        """Stage A: accept an event, then step through its rows. Returns ``active`` and the op
        of this clock as ``(valid, row, group, weight address)``."""
        p = self._p
        active = Signal()
        addr = Signal(range(p.weight_slots))
        row = Signal(range(p.row_slots))
        group = Signal(range(max(2, len(p.axon_shifts))))
        last_row = row == p.rows - 1
        ev = self.i_event
        # ``wclk``: the write clock of a single-port plastic core (constant 1 otherwise)
        wclk = Const(1)
        if self._slow:
            wclk = Signal()
            m.d.sync += wclk.eq(~wclk)
        m.d.comb += ev.ready.eq(self.enable & wclk & (~active | last_row))
        with m.If(ev.valid & ev.ready):
            m.d.sync += [active.eq(1), addr.eq(ev.payload), row.eq(0)]
            sel = len(p.axon_shifts) - 1
            for g in reversed(range(1, len(p.axon_shifts))):
                sel = Mux(ev.payload < p.axon_offsets[g], g - 1, sel)
            m.d.sync += group.eq(sel)
        with m.Elif(active & wclk):
            with m.If(last_row):
                m.d.sync += active.eq(0)
            with m.Else():
                m.d.sync += [row.eq(row + 1), addr.eq(addr + p.axons)]
        valid = (active & ~wclk) if self._slow else active
        return active, valid, row, group, addr

    def _weight_access(self, m, weights, active, addr):
        """The weight memory's ports: the engine's reads, the external port, the updates."""
        # One address for both weight ports: the write port is only used when ext is high.
        # The engine owns the address while it is active (``ext`` is never high then); the
        # select is a register, not ``ext``, which comes late from the configuration handshake.
        x, u = self.weight, self.update
        w_addr = Signal(range(self._p.weight_slots))
        waddr = Mux(u.en, u.addr, w_addr)
        m.d.comb += [
            w_addr.eq(Mux(active, addr, x.addr)),
            # single-port: the write address is the read address unless the update pipeline
            # writes, so the memory's address never waits for the configuration handshake
            weights.raddr.eq(w_addr if self._ram == "dual" else waddr),
            weights.waddr.eq(waddr),
            weights.wdata.eq(Mux(u.en, u.data, x.w_data)),
            weights.wen.eq(u.en | (self.ext & x.w_en)),
            x.data.eq(weights.rdata),
        ]

    def _accumulate(self, m, b_valid, b_row, b_group, acc, word):
        """Stage C: ``acc + (W << shift)`` of the op registered in stage B, with the two
        previous sums forwarded. Returns ``(valid, row, sum)`` of the write-back."""
        p = self._p
        wb = p.weight_bits
        acc_word = acc_layout(p)
        c_valid = Signal()
        c_row = Signal(range(p.row_slots))
        c_acc = Signal(acc_word)
        c_contrib = Signal(acc_word)
        # The row read for the op in C was read in the clock when the op two ahead of it
        # was writing, so the memory holds neither of the two previous ops' sums: both are
        # forwarded (the newer wins). The selects are compared one clock early.
        d1_valid, d2_valid = Signal(), Signal()
        d1_row, d2_row = Signal(range(p.row_slots)), Signal(range(p.row_slots))
        d1_sum, d2_sum = Signal(acc_word), Signal(acc_word)
        hit1, hit2 = Signal(), Signal()
        m.d.sync += [
            c_valid.eq(b_valid), c_row.eq(b_row), c_acc.eq(acc),
            hit1.eq(c_valid & (c_row == b_row)),
            hit2.eq(d1_valid & (d1_row == b_row)),
        ]
        for lane in range(p.lanes):
            w = word[lane * wb:(lane + 1) * wb].as_signed()
            with m.Switch(b_group):
                for g, (_, shift) in enumerate(p.axon_shifts):
                    with m.Case(g):
                        m.d.sync += c_contrib[lane].eq(w << shift)
        total = Signal(acc_word)
        for lane in range(p.lanes):
            old = Mux(hit1, d1_sum[lane], Mux(hit2, d2_sum[lane], c_acc[lane]))
            m.d.comb += total[lane].eq(old + c_contrib[lane])
        m.d.sync += [d1_valid.eq(c_valid), d1_row.eq(c_row), d1_sum.eq(total),
                     d2_valid.eq(d1_valid), d2_row.eq(d1_row), d2_sum.eq(d1_sum)]
        return c_valid, c_row, total
