"""The LIF update pipeline: ``docs/spec.md`` section 2 for ``lanes`` neurons per clock."""

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.golden.fixed import DECAY_SHIFT, signed_max

from ..delay import DelayLine
from spikefab.shape.core import CoreParams

from .layouts import theta_field

__all__ = ["lif_in_layout", "lif_out_layout", "LifPipeline"]



def lif_in_layout(p):
    """Payload into the pipeline: a row tag and, per lane, old ``u, v, r`` (and ``theta`` in a
    core with an adaptive threshold), the input ``a`` and the index of the lane's neuron
    parameter set."""
    lane = data.StructLayout({
        "u": signed(p.current_bits), "v": signed(p.voltage_bits),
        "r": unsigned(p.refractory_bits), "a": signed(p.acc_bits),
        "set": unsigned(p.set_bits), **theta_field(p)})
    return data.StructLayout({"row": unsigned(max(1, (p.rows - 1).bit_length())),
                              "lanes": data.ArrayLayout(lane, p.lanes)})


def lif_out_layout(p):
    """Payload out of the pipeline: the row tag and, per lane, new ``u, v, r`` (``theta``) and
    the spike."""
    lane = data.StructLayout({
        "u": signed(p.current_bits), "v": signed(p.voltage_bits),
        "r": unsigned(p.refractory_bits), "s": 1, **theta_field(p)})
    return data.StructLayout({"row": unsigned(max(1, (p.rows - 1).bit_length())),
                              "lanes": data.ArrayLayout(lane, p.lanes)})


def _sat(x, bits):
    m = signed_max(bits)
    return Mux(x > m, m, Mux(x < -m, -m, x))


class LifPipeline(wiring.Component):
    """Fully pipelined LIF update of ``lanes`` neurons per clock (``spikefab.golden.lif_step``).

    Per lane, with ``k_u = 4096 - du`` and ``k_v = 4096 - dv``::

        stage 0  the input, registered (it comes from block RAM outputs)
        stage 1  |u|, |v| and their signs                (registered)
        stage 2  |u| * k_u, |v| * k_v                     (one multiplier each: SB_MAC16 / MULT18)
        stage 3  decay(u) = +-(|u| k_u >> 12), decay(v)   (truncation toward zero)
        stage 4  decay(u) + a (exact), decay(v) + bias
        stage 5  u' = sat(., U_BITS)
        stage 6  decay(v) + bias + u' (exact)
        stage 7  v_int = sat(., V_BITS); v_int > vth and v_int - vth from the unclipped sum
        stage 8  s = r == 0 and v_int > vth; v', r' by refractory state and reset mode

    Latency :data:`~spikefab.shape.latency.LIF_LATENCY` = 9 cycles, throughput one row
    (``lanes`` neurons) per clock, no backpressure: the pipeline never stalls. Infers no memory; two multipliers per lane.

    In a core with an adaptive threshold (``theta_bits > 0``, ``docs/spec.md`` v1.2) a third
    path runs beside them: ``theta`` registered at stage 1, ``theta * k_theta`` at stage 2 (a
    third multiplier per lane), ``th = decay(theta)`` at stage 3, the effective threshold
    ``vth + th`` at stage 6, the spike test and subtract-reset value against it at stage 7, and
    ``theta' = usat(th + theta_inc * s, THETA_BITS of the set)`` at stage 8. Without one, none
    of it is built.

    The parameters come in ``S`` sets (populations sharing the core); each lane's set index
    travels with its data, and each parameter is selected at the stage that uses it (with
    one set, the index is a constant and no multiplexer is built).

    With ``delay_ram``, ``v`` and ``r``, which only wait for the refractory hold of stage 8,
    go through a block RAM delay line (:class:`DelayLine`) instead of 7 stages of registers:
    the same latency, ``7 * (V_BITS + refractory_bits)`` fewer logic cells per lane on the
    iCE40 (168 at 16 + 8 bits) for two EBR. Otherwise every stage is registers.

    Parameters
    ----------
    params : CoreParams
    delay_ram : bool

    Members
    -------
    i_neuron : In(stream.Signature(lif_in_layout(params), always_ready=True))
        Old state and synaptic input of one row.
    o_neuron : Out(stream.Signature(lif_out_layout(params), always_ready=True))
        New state and spikes of the row, ``LIF_LATENCY`` cycles later.
    k_u, k_v : In(ArrayLayout(unsigned(13), S))
        ``4096 - du`` and ``4096 - dv`` of each set.
    bias : In(ArrayLayout(signed(V_BITS), S))
    threshold : In(ArrayLayout(unsigned(V_BITS - 1), S))
    refractory : In(ArrayLayout(unsigned(refractory_bits), S))
    reset_subtract : In(ArrayLayout(1, S))
        1 for ``reset = subtract``, 0 for ``reset = zero``.
    k_theta, theta_inc : In(ArrayLayout(unsigned(13), S)), In(ArrayLayout(unsigned(theta_bits), S))
        ``4096 - theta_decay`` and ``theta_inc`` of each set (adaptive cores only).
    busy : Out(1)
        A row is in the pipeline.
    """

    def __init__(self, params, delay_ram=False):
        if not isinstance(params, CoreParams):
            raise TypeError(f"Params must be a CoreParams, not {params!r}")
        self._p = params
        self._delay_ram = bool(delay_ram)
        n = len(params.neuron_sets)

        def sets(shape):
            return In(data.ArrayLayout(shape, n))

        super().__init__({
            "i_neuron": In(stream.Signature(lif_in_layout(params), always_ready=True)),
            "o_neuron": Out(stream.Signature(lif_out_layout(params), always_ready=True)),
            "k_u": sets(unsigned(13)),
            "k_v": sets(unsigned(13)),
            "bias": sets(signed(params.voltage_bits)),
            "threshold": sets(unsigned(max(1, params.voltage_bits - 1))),
            "refractory": sets(unsigned(params.refractory_bits)),
            "reset_subtract": sets(unsigned(1)),
            **({"k_theta": sets(unsigned(13)), "theta_inc": sets(unsigned(params.theta_bits))}
               if params.theta_bits else {}),
            "busy": Out(1),
        })

    @property
    def params(self):
        return self._p

    def elaborate(self, platform):
        p = self._p
        m = Module()
        ub, vb, ab = p.current_bits, p.voltage_bits, p.acc_bits
        rowbits = len(self.i_neuron.payload.row)

        # The row tag and validity travel beside the data, one register per stage.
        # stage 0 registers the input: it comes straight from block RAM outputs, whose
        # clock-to-out would otherwise start the magnitude adders' path
        valid = [Signal(name="valid0")] + [Signal(name=f"valid{s}") for s in range(1, 9)]
        row = [Signal(rowbits, name="row0")] + [Signal(rowbits, name=f"row{s}")
                                               for s in range(1, 9)]
        held = Signal.like(self.i_neuron.payload)
        m.d.sync += [valid[0].eq(self.i_neuron.valid), row[0].eq(self.i_neuron.payload.row),
                     held.eq(self.i_neuron.payload)]
        for s in range(1, 9):
            m.d.sync += [valid[s].eq(valid[s - 1]), row[s].eq(row[s - 1])]
        busy = 0
        for s in range(0, 9):
            busy = busy | valid[s]
        m.d.comb += self.busy.eq(busy)

        o = self.o_neuron
        m.d.comb += [o.valid.eq(valid[8]), o.payload.row.eq(row[8])]

        for lane in range(p.lanes):
            i = held.lanes[lane]
            out = o.payload.lanes[lane]

            def reg(shape, name, _lane=lane):
                return Signal(shape, name=f"l{_lane}_{name}")

            # the lane's parameter set, one register per stage; ``pick(param, stage)`` is the
            # set's value of ``param`` for the data in ``stage`` (no multiplexer with one set)
            one = len(p.neuron_sets) == 1
            sel = [i.set] + [reg(p.set_bits, f"set{st}") for st in range(1, 8)]
            for st in range(1, 8):
                m.d.sync += sel[st].eq(sel[st - 1])

            def pick(param, stage, _sel=sel, _one=one):
                return param[0] if _one else param[_sel[stage]]

            # ``v`` and ``r`` only wait for stage 8 (the refractory hold): 7 clocks, in block
            # RAM when ``delay_ram``; ``a`` waits 3 clocks for stage 4, in registers (its
            # ~20 bits would take two EBR for ~60 cells)
            rb = p.refractory_bits
            vr = DelayLine(vb + rb, 7, self._delay_ram)
            ad = DelayLine(ab, 3)
            m.submodules[f"l{lane}_vr_delay"] = vr
            m.submodules[f"l{lane}_a_delay"] = ad
            m.d.comb += [vr.i.eq(Cat(i.v, i.r)), ad.i.eq(i.a)]
            v7, r7, a3 = vr.o[:vb].as_signed(), vr.o[vb:], ad.o.as_signed()

            # stage 1: magnitudes (|-2^(B-1)| = 2^(B-1) still fits B unsigned bits)
            mag_u, neg_u = reg(ub, "mag_u"), reg(1, "neg_u")
            mag_v, neg_v = reg(vb, "mag_v"), reg(1, "neg_v")
            m.d.sync += [
                mag_u.eq(Mux(i.u < 0, -i.u, i.u)[:ub]), neg_u.eq(i.u < 0),
                mag_v.eq(Mux(i.v < 0, -i.v, i.v)[:vb]), neg_v.eq(i.v < 0),
            ]
            # stage 2: the decay products
            prod_u, prod_v = reg(ub + 13, "prod_u"), reg(vb + 13, "prod_v")
            neg_u2, neg_v2 = reg(1, "neg_u2"), reg(1, "neg_v2")
            m.d.sync += [
                prod_u.eq(mag_u * pick(self.k_u, 1)), prod_v.eq(mag_v * pick(self.k_v, 1)),
                neg_u2.eq(neg_u), neg_v2.eq(neg_v),
            ]
            # stage 3: truncate the magnitude, restore the sign
            dec_u, dec_v = reg(signed(ub + 1), "dec_u"), reg(signed(vb + 1), "dec_v")
            mu = prod_u[DECAY_SHIFT:]
            mv = prod_v[DECAY_SHIFT:]
            m.d.sync += [dec_u.eq(Mux(neg_u2, -mu, mu)), dec_v.eq(Mux(neg_v2, -mv, mv))]
            # stage 4: exact sums
            usum = reg(signed(max(ub + 1, ab) + 1), "usum")
            vpre = reg(signed(vb + 2), "vpre")
            m.d.sync += [usum.eq(dec_u + a3), vpre.eq(dec_v + pick(self.bias, 3))]
            # stage 5: u'
            u5 = reg(signed(ub), "u5")
            vpre5 = reg(signed(vb + 2), "vpre5")
            m.d.sync += [u5.eq(_sat(usum, ub)), vpre5.eq(vpre)]
            # stage 6: the voltage sum
            vsum = reg(signed(max(vb + 2, ub) + 1), "vsum")
            u6 = reg(signed(ub), "u6")
            m.d.sync += [vsum.eq(vpre5 + u5), u6.eq(u5)]
            # stage 7: v_int, and the spike test and subtract-reset value taken from the
            # unsaturated sum in parallel (the threshold is at most vmax, so
            # sat(vsum) > vth <=> vsum > vth and vth < vmax; a spike needs vsum > vth > -vmax,
            # so only the upper clip can apply to v_int - vth)
            vmax = signed_max(vb)
            vint = reg(signed(vb), "vint")
            gt = reg(1, "gt")
            fired = reg(signed(vb + 1), "fired")
            u7 = reg(signed(ub), "u7")
            if p.theta_bits:
                th7, vth = self._theta(m, i, reg, pick, lane)
                ok = vth < vmax
            else:
                vth = pick(self.threshold, 6)
                ok = vth != vmax
            m.d.sync += [
                vint.eq(_sat(vsum, vb)), u7.eq(u6),
                gt.eq((vsum > vth) & ok),
                fired.eq(Mux(pick(self.reset_subtract, 6),
                             Mux(vsum > vmax, vmax - vth, vsum - vth), 0)),
            ]
            # stage 8: spike, reset, refractory
            active = r7 == 0
            spike = active & gt
            m.d.sync += [
                out.u.eq(u7),
                out.s.eq(spike),
                out.v.eq(Mux(active, Mux(spike, fired, vint), v7)),
                out.r.eq(Mux(active, Mux(spike, pick(self.refractory, 7), 0), r7 - 1)),
            ]
            if p.theta_bits:
                m.d.sync += out.theta.eq(self._theta_next(th7, spike, pick, sel[7]))
        return m

    def _theta_next(self, th7, spike, pick, sel7):
        """Stage 8's ``theta' = usat(th + theta_inc * s, THETA_BITS of the lane's set)``."""
        tsum = th7 + Mux(spike, pick(self.theta_inc, 7), 0)
        tmax = [(1 << ns.theta_bits) - 1 for ns in self._p.neuron_sets]
        # a chain of plain multiplexers, not m.Switch: Icarus never runs an ``always @*``
        # block whose inputs never change (one set index all along)
        top = tmax[0]
        for k, t in enumerate(tmax[1:], 1):
            if t != tmax[0]:
                top = Mux(sel7 == k, t, top)
        return Mux(tsum > top, top, tsum)

    def _theta(self, m, i, reg, pick, lane):
        """The adaptive threshold path of one lane (stages 1-7): returns ``th`` at stage 7
        (the decayed offset, registered beside the data) and the effective threshold
        ``vth + th`` of the data in stage 6 (a register)."""
        p = self._p
        tb = p.theta_bits
        t1 = reg(tb, "theta1")
        m.d.sync += t1.eq(i.theta)
        tprod = reg(tb + 13, "theta_prod")
        m.d.sync += tprod.eq(t1 * pick(self.k_theta, 1))
        th = [None, None, None, reg(tb, "th3")]
        m.d.sync += th[3].eq(tprod[DECAY_SHIFT:])
        for st in range(4, 8):
            th.append(reg(tb, f"th{st}"))
            m.d.sync += th[st].eq(th[st - 1])
        eff = reg(max(p.voltage_bits - 1, tb) + 1, "vth_eff")
        m.d.sync += eff.eq(pick(self.threshold, 5) + th[5])
        return th[7], eff
