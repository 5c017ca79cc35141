"""The latency formulas of the gateware: clocks per step of a core, of the router, of the memories.

Pure Python: the gateware's pipeline depths are these constants (each block in ``spikefab.hdl``
imports its own and builds exactly that many stages), and every RTL test checks the cycle
counts it observes against :func:`step_cycles` and :func:`update_start` (``docs/core.md``).
"""

__all__ = ["CYCLES_BITS", "LIF_LATENCY", "EMIT_LATENCY", "UPDATE_STAGES", "TRACE_STAGES",
           "EVENT_TAIL", "ROUTE_LATENCY", "QUEUE_LATENCY", "UPDATE_LATENCY", "DRAIN_LATENCY",
           "BARRIER_LATENCY",
           "SWEEP_LATENCY", "LTP_TAIL", "read_latency", "row_clocks", "event_tail",
           "ltp_row_clocks", "step_cycles", "update_start"]

#: Clocks from the network's barrier condition (every core done, the router idle) to its
#: barrier (``done``, ``hdl/network/control.py``): the condition is registered. A network's
#: step period is ``R + UPDATE_LATENCY + BARRIER_LATENCY + delivery`` (``docs/network.md``).
BARRIER_LATENCY = 1
#: Width of the per-step cycle counter.
CYCLES_BITS = 32
#: Clock cycles from a neuron entering the LIF pipeline (``hdl/lif.py``) to its result.
LIF_LATENCY = 9
#: Clocks from a spiking row entering an idle, empty spike emitter to its first spike being
#: valid (``hdl/emitter.py``).
EMIT_LATENCY = 3
#: Clocks from an operand entering the weight update pipeline (``hdl/stdp.py``) to its result.
UPDATE_STAGES = 4
#: Clocks from a trace entering the trace update (``hdl/stdp.py``) to its decayed value.
TRACE_STAGES = 3
#: Clocks from the last row read of the last event to the clock after its write-back.
EVENT_TAIL = 2
#: Clocks from a source transfer on the router's ``i_host`` to its first destination being
#: valid on an output (empty router, outputs ready): source register, pointer read, walker
#: load, destination read, output register.
ROUTE_LATENCY = 5
#: Extra clocks that a core spike spends entering and leaving the router's spike queue.
QUEUE_LATENCY = 2
#: Clocks of a step beyond one per row per event and one per row of the update sweep: the
#: hand-over from ``start`` (1), the state read (1), the LIF pipeline, the emitter's hand-over
#: of the last row, and the ``done`` clock (1).
UPDATE_LATENCY = 1 + 1 + LIF_LATENCY + EMIT_LATENCY + 1
#: Clocks that the drain phase waits after the last row at least (so that the step length does
#: not depend on whether the last row spiked).
DRAIN_LATENCY = LIF_LATENCY + EMIT_LATENCY + 1


def read_latency(kind):
    """Clocks from a weight memory's read address to its read data: 4 for ``"banked"``, else 1."""
    return 4 if kind == "banked" else 1


def row_clocks(params, weight_ram):
    """Clocks per row of the event phase: 2 for a plastic core on a single-port weight memory
    (the row is read on the first clock; the LTD write of the row read 5 clocks earlier takes
    the second), else 1."""
    return 2 if params.plastic and weight_ram != "dual" else 1



def event_tail(p, weight_ram="dual"):
    """Clocks from the end of the last event's last row until the update phase may start:
    :data:`EVENT_TAIL` (2), plus ``UPDATE_STAGES - 1`` (3) in a plastic core, where every op
    also passes the weight update pipeline (LTD); one less on a single-port weight memory,
    where the last row's second (write) clock already counts as part of the row; 3 more on a
    ``"banked"`` weight memory (static cores), whose read data comes 3 clocks later."""
    if not p.plastic:
        return EVENT_TAIL + read_latency(weight_ram) - 1
    return EVENT_TAIL + UPDATE_STAGES - 1 - (row_clocks(p, weight_ram) - 1)


def ltp_row_clocks(p, weight_ram="dual"):
    """Clocks of the LTP column pass per spiking row: one to fetch the row, then one per
    plastic axon slot (``lanes`` synapses each); on a single-port weight memory two per slot
    (read, then the clock left for a write), the next row fetched in the last of them."""
    if row_clocks(p, weight_ram) == 2:
        return 2 * p.pre_count
    return 1 + p.pre_count


#: Clocks of the pre-trace sweep beyond one per plastic axon slot (start, read, the three
#: stages of the trace update, write).
SWEEP_LATENCY = 5
#: Clocks of the LTP pass beyond :func:`ltp_row_clocks` per spiking row: the hand-over after
#: the update (1), and at the end the read and the weight update pipeline (1 + UPDATE_STAGES)
#: and ``done`` (1). (On a single-port weight memory the first fetch takes the hand-over
#: clock's place and the last row's write clock the read's: the same 6.)
LTP_TAIL = 1 + UPDATE_STAGES + 1


def step_cycles(p, events, last_spike=None, spiking_rows=0, weight_ram="dual"):
    """The cycle count that :class:`Core` reports for one step (the latency formula).

    Parameters
    ----------
    p : CoreParams
    events : int
        ``E``, events delivered in the step, fed back to back (no gap between transfers) and
        with ``start`` no later than the clock after the last event transfer.
    last_spike : int or None
        Clock, counted from the first clock of the update phase (0), in which the step's last
        spike transfer happened; None if the step emitted no spike.
    spiking_rows : int
        ``R_s``, rows with at least one spiking neuron (plastic cores only: the LTP pass
        visits each).
    weight_ram : str
        The core's weight memory kind; only a plastic core on a single-port kind
        (``"single"``, ``"ice40_spram"``) and a static core on ``"banked"`` (event tail 5)
        differ.

    Returns
    -------
    int
        Static core:
        ``EVENT_TAIL * [E > 0] + rows * E + max(rows + UPDATE_LATENCY, last_spike + 3)``
        with ``EVENT_TAIL = 2`` (5 on a ``"banked"`` weight memory).
        With ``o_spike.ready`` always high and at most one spiking lane per row (always so for
        ``lanes = 1``), the second term of the ``max`` never wins, and a step costs exactly
        ``2 * [E > 0] + rows * (E + 1) + UPDATE_LATENCY`` clocks: one clock per synaptic event per
        ``lanes`` synapses, one clock per ``lanes`` neuron updates.

        Plastic core, with ``P_A`` plastic axon slots::

            5 * [E > 0] + rows * E + max(U, last_spike + 3)
            U = 2 + max(rows + 13, P_A + SWEEP_LATENCY)
                  + (1 if R_s == 0 else R_s * (P_A + 1) + LTP_TAIL)

        i.e. LTD costs nothing beyond 3 clocks of tail (one synapse per lane per clock, riding
        on the accumulation reads), the pre-trace sweep hides under the update sweep when
        ``P_A + 5 <= rows + 13``, and LTP costs ``P_A + 1`` clocks per spiking row
        (``lanes`` synapses per clock).

        Plastic core on a single-port weight memory (two clocks per row and per LTP slot: a
        read clock, and a clock for the write of the update pipeline)::

            4 * [E > 0] + 2 * rows * E + max(U, last_spike + 3)
            U = 2 + max(rows + 13, P_A + SWEEP_LATENCY)
                  + (1 if R_s == 0 else R_s * 2 * P_A + LTP_TAIL)
    """
    rc = row_clocks(p, weight_ram)
    tail = event_tail(p, weight_ram) * int(events > 0) + rc * p.rows * events
    if not p.plastic:
        upd = p.rows + UPDATE_LATENCY
    else:
        upd = 2 + max(p.rows + DRAIN_LATENCY, p.pre_count + SWEEP_LATENCY)
        upd += 1 if spiking_rows == 0 else (spiking_rows * ltp_row_clocks(p, weight_ram)
                                            + LTP_TAIL)
    if last_spike is not None:
        upd = max(upd, last_spike + 3)
    return tail + upd


def update_start(p, events, first_event, start, weight_ram="dual"):
    """Clock of the first update-sweep clock, given the clock of the first event transfer
    (events back to back, ``start`` no later than the clock after the last) or, with no
    events, the clock of ``start``."""
    if events:
        return (first_event + row_clocks(p, weight_ram) * p.rows * events
                + event_tail(p, weight_ram) + 2)
    return start + 2

