"""Board clocking: a PLL from the board's oscillator to the design clock, and a reset.

The board tops (``boards/``) run the network at a frequency of their choosing rather than at
the oscillator's (12 MHz on iCEBreaker, 25 MHz on ULX3S): :class:`ClockReset` instantiates the
family's PLL (iCE40 ``SB_PLL40_CORE``, ECP5 ``EHXPLLL``) with dividers from
:func:`ice40_pll` / :func:`ecp5_pll` (the search of ``icepll`` / ``ecppll``), defines the
clock domain (``sync`` unless told otherwise) on its output, and holds that domain in reset
until the PLL has locked, a
power-on delay has passed (iCE40 block RAMs read as zero for ~3 us after configuration), and
while the board's reset button is pressed.
"""

from dataclasses import dataclass

from amaranth.hdl import ClockDomain, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PllConfig", "ice40_pll", "ecp5_pll", "ClockReset"]


@dataclass(frozen=True)
class PllConfig:
    """Dividers of one PLL and the frequencies they give (Hz)."""
    family: str
    fin_hz: float
    fout_hz: float
    vco_hz: float
    pfd_hz: float
    divs: dict


def ice40_pll(fin_hz, fout_hz):
    """``SB_PLL40`` dividers (simple feedback) for the closest output to ``fout_hz`` not above it.

    ``fout = fin * (DIVF + 1) / ((DIVR + 1) * 2**DIVQ)``, with the PFD ``fin / (DIVR + 1)`` in
    [10, 133] MHz and the VCO in [533, 1066] MHz (iCE40 sysCLOCK PLL guide; ``icepll``).
    """
    best = None
    for divr in range(16):
        pfd = fin_hz / (divr + 1)
        if not 10e6 <= pfd <= 133e6:
            continue
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not 533e6 <= vco <= 1066e6:
                continue
            for divq in range(1, 7):
                fout = vco / 2 ** divq
                if fout <= fout_hz * (1 + 1e-9) and (best is None or fout > best[0]):
                    best = (fout, vco, pfd, divr, divf, divq)
    if best is None:
        raise ValueError(f"iCE40 PLL output must be reachable from {fin_hz / 1e6:g} MHz "
                         f"(16 to 533 MHz), not {fout_hz / 1e6:g} MHz")
    fout, vco, pfd, divr, divf, divq = best
    filt = next(i + 1 for i, hi in enumerate((17e6, 26e6, 44e6, 66e6, 101e6, float("inf")))
                if pfd < hi)
    return PllConfig("ice40", fin_hz, fout, vco, pfd,
                     {"DIVR": divr, "DIVF": divf, "DIVQ": divq, "FILTER_RANGE": filt})


def ecp5_pll(fin_hz, fout_hz):
    """``EHXPLLL`` dividers (feedback from CLKOP) for the closest output to ``fout_hz`` not above.

    ``fout = fin * CLKFB_DIV / CLKI_DIV``, ``VCO = fout * CLKOP_DIV`` in [400, 800] MHz, the PFD
    ``fin / CLKI_DIV`` in [3.125, 400] MHz (ECP5 sysCLOCK guide; ``ecppll``).
    """
    best = None
    for clki in range(1, 129):
        pfd = fin_hz / clki
        if not 3.125e6 <= pfd <= 400e6:
            continue
        for clkfb in range(1, 81):
            fout = pfd * clkfb
            if fout > fout_hz * (1 + 1e-9) or (best is not None and fout <= best[0]):
                continue
            for clkop in range(1, 129):
                vco = fout * clkop
                if 400e6 <= vco <= 800e6:
                    best = (fout, vco, pfd, clki, clkfb, clkop)
                    break
    if best is None:
        raise ValueError(f"ECP5 PLL output must be reachable from {fin_hz / 1e6:g} MHz "
                         f"(3.125 to 400 MHz), not {fout_hz / 1e6:g} MHz")
    fout, vco, pfd, clki, clkfb, clkop = best
    return PllConfig("ecp5", fin_hz, fout, vco, pfd,
                     {"CLKI_DIV": clki, "CLKFB_DIV": clkfb, "CLKOP_DIV": clkop})


class ClockReset(wiring.Component):
    """Creates and drives a clock domain (``domain``, default ``sync``) at ``fout_hz`` from a
    board clock, with a power-on and button reset.

    The domain is this component's (:attr:`clock_domain`, made by its constructor, its clock
    and reset driven by its ``elaborate``): a top creates no domain of its own, it only adds
    this one with ``m.domains += clocks.clock_domain``, so that its other submodules see it
    (Amaranth 0.6 no longer lets a domain defined inside a submodule reach that submodule's
    siblings).

    Parameters
    ----------
    family : str
        ``"ice40"`` or ``"ecp5"``.
    fin_hz, fout_hz : float
        Board clock and wanted design clock; the PLL gives the closest frequency not above
        ``fout_hz`` (:attr:`config`).
    hfosc : bool
        iCE40 only: take the reference from the internal 48 MHz ``SB_HFOSC`` instead of ``clk``
        (boards whose oscillator pin is not fitted, e.g. UPduino v3).
    pad : io port or None
        iCE40 only: the clock pin itself (``platform.request(..., dir="-")``), for an
        ``SB_PLL40_PAD`` (the UP5K's PLL shares its site with the input buffer of the PLL pin,
        so that pin can only reach the PLL directly); ``clk`` is then unused.
    domain : str
        Name of the clock domain it creates.

    Attributes
    ----------
    clock_domain : ClockDomain
        The domain it creates and drives.

    Members
    -------
    clk : Signal, in
        The board clock (unused with ``hfosc``).
    button : Signal, in
        Active-high reset request (a button); held low when the board has none.
    locked : Signal, out
        The PLL has locked.
    """

    #: Power-on reset delay after lock, in seconds (margin over the iCE40 BRAM's ~3 us).
    POR_SECONDS = 20e-6

    clk: In(1)
    button: In(1)
    locked: Out(1)

    def __init__(self, family, fin_hz, fout_hz, hfosc=False, pad=None, domain="sync"):
        if family not in ("ice40", "ecp5"):
            raise ValueError(f"Family must be one of ice40, ecp5, not {family!r}")
        if hfosc and family != "ice40":
            raise ValueError("The internal oscillator (hfosc) exists on iCE40 only")
        if pad is not None and (family != "ice40" or hfosc):
            raise ValueError("A PLL pad (pad) exists on iCE40 only, without hfosc")
        if not isinstance(domain, str) or not domain or domain == "por":
            raise ValueError(f"Domain must be a domain name other than 'por', not {domain!r}")
        self.family = family
        self.hfosc = hfosc
        self.pad = pad
        fin = 48e6 if hfosc else fin_hz
        self.config = (ice40_pll if family == "ice40" else ecp5_pll)(fin, fout_hz)
        self.clock_domain = ClockDomain(domain)
        super().__init__()

    @property
    def frequency(self):
        """The design clock in Hz."""
        return self.config.fout_hz

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        out = self.clock_domain
        m.domains.por = por = ClockDomain("por", reset_less=True)
        pll_out = Signal()
        if self.family == "ice40":
            ref = self.clk
            if self.hfosc:
                ref = Signal()
                m.submodules.hfosc = Instance("SB_HFOSC", p_CLKHF_DIV="0b00", i_CLKHFEN=1,
                                              i_CLKHFPU=1, o_CLKHF=ref)
            d = cfg.divs
            common = dict(
                p_FEEDBACK_PATH="SIMPLE", p_PLLOUT_SELECT="GENCLK",
                p_DIVR=d["DIVR"], p_DIVF=d["DIVF"], p_DIVQ=d["DIVQ"],
                p_FILTER_RANGE=d["FILTER_RANGE"], i_RESETB=1, i_BYPASS=0,
                o_PLLOUTGLOBAL=pll_out, o_LOCK=self.locked)
            if self.pad is not None:
                m.submodules.pll = Instance("SB_PLL40_PAD", i_PACKAGEPIN=self.pad.io, **common)
            else:
                m.submodules.pll = Instance("SB_PLL40_CORE", i_REFERENCECLK=ref, **common)
        else:
            d = cfg.divs
            m.submodules.pll = Instance(
                "EHXPLLL",
                a_FREQUENCY_PIN_CLKI=f"{cfg.fin_hz / 1e6:g}",
                a_FREQUENCY_PIN_CLKOP=f"{cfg.fout_hz / 1e6:g}",
                a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1",
                a_MFG_GMCREF_SEL="2",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
                p_CLKI_DIV=d["CLKI_DIV"], p_CLKFB_DIV=d["CLKFB_DIV"],
                p_CLKOP_DIV=d["CLKOP_DIV"], p_CLKOP_CPHASE=(d["CLKOP_DIV"] - 1) // 2,
                p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP",
                i_CLKI=self.clk, i_CLKFB=pll_out, i_RST=0, i_STDBY=0, i_PHASESEL0=0,
                i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
                i_PLLWAKESYNC=0, i_ENCLKOP=0,
                o_CLKOP=pll_out, o_LOCK=self.locked)
        m.d.comb += [out.clk.eq(pll_out), por.clk.eq(pll_out)]
        if platform is not None:
            platform.add_clock_constraint(pll_out, cfg.fout_hz)
        # counts up (FPGA flip-flops start at 0): reset ends when it saturates
        delay = max(2, int(self.POR_SECONDS * cfg.fout_hz))
        count = Signal(range(delay + 1))
        lock_sync = Signal(2)
        button_sync = Signal(2)
        m.d.por += [lock_sync.eq(lock_sync << 1 | self.locked),
                    button_sync.eq(button_sync << 1 | self.button)]
        with m.If(~lock_sync[1] | button_sync[1]):
            m.d.por += count.eq(0)
        with m.Elif(count != delay):
            m.d.por += count.eq(count + 1)
        if self.family == "ecp5":
            # from a register: on a large ECP5 the counter's comparison would otherwise
            # cross the die to the reset of every flip-flop within one clock
            rst = Signal(init=1)
            m.d.por += rst.eq(count != delay)
            m.d.comb += out.rst.eq(rst)
        else:
            m.d.comb += out.rst.eq(count != delay)
        return m
