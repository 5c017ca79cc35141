"""Presentations (``docs/protocol.md`` PRESENT, ``docs/spec.md`` section 7): images run on a
board's rate generator, the host loop that keeps it busy. :meth:`Device.present` calls it."""

import time

import numpy as np

from spikefab.errors import InvalidValue
from spikefab.shape.protocol import MAX_EVENTS, Cmd, LinkError

__all__ = ["present"]


def present(dev, intensities, steps, poll=0.0):
    """:meth:`Device.present` (its docstring says what it does): check the intensities, then
    keep the board's slots full and read every answer's events until all images are done.
    Returns a :class:`~spikefab.host.device.DevicePresentation`."""
    from spikefab.golden.encode import check_intensities
    from spikefab.shape.rates import pack_rates, per_frame, rate_slots

    from .device import DevicePresentation
    p, m = dev.p, dev.p.mapping
    if not p.rate_bits:
        raise InvalidValue("This build has no rate generator: set rate_bits in the "
                           "network's [hardware] table (docs/spec.md section 7) and build "
                           "again")
    q = check_intensities(intensities, p.inputs)
    S, per = rate_slots(p.inputs), per_frame(p.inputs)
    tag_mod = 1 << p.step_bits
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or \
            not 1 <= steps or 2 * S * steps >= tag_mod:
        raise InvalidValue(f"Steps of a presentation must be an integer in [1, "
                           f"{(tag_mod - 1) // (2 * S)}] (the step tags of {S} queued "
                           f"images must stay apart), not {steps!r}")
    B, T = len(q), int(steps)
    spikes = {pop.name: np.zeros((B, T, pop.size), np.uint8) for pop in m.net.populations}
    frames = [pack_rates(row) for row in q]
    first = done_abs = last_abs = dev.steps
    sent = completed = counted = queued = 0
    cycles = []
    stalled, last = 0, None
    while True:
        dev.progress = (f"images 0..{completed - 1} of this presentation ran and their "
                         f"outputs were read up to step {done_abs - first}" if completed
                         else "no image of this presentation had run")
        k = min(per, B - sent, S - queued)
        if k > 0:
            body = dev.transact(Cmd.PRESENT, T.to_bytes(2, "little") +
                                 b"".join(frames[sent:sent + k]))
            sent += k
        else:
            body = dev.transact(Cmd.READ_SPIKES)
        done, queued = (int.from_bytes(body[0:2], "little"),
                        int.from_bytes(body[2:4], "little"))
        done_abs += (done - done_abs) % tag_mod
        for o in range(4, len(body), 4):
            hid = int.from_bytes(body[o:o + 2], "little")
            tag = int.from_bytes(body[o + 2:o + 4], "little")
            last_abs += (tag - last_abs) % tag_mod
            b, t = divmod(last_abs - first, T)
            if not (0 <= b < sent and last_abs < done_abs + 1):
                raise LinkError(f"Output event of host id {hid} tagged {tag}, outside "
                                f"the steps of the images sent")
            pop, i = m.host_neuron(hid)
            spikes[pop][b, t, i] = 1
        completed = sent - queued
        n_ev = (len(body) - 4) // 4
        c = []
        if completed - counted >= 48 or (sent == B and queued == 0 and counted < B):
            c = dev.read_cycles()
            cycles += c
            counted += len(c)
        if sent == B and queued == 0 and n_ev < MAX_EVENTS and counted == B:
            break
        if k > 0 or n_ev or c or (done, queued) != last:
            stalled, last = 0, (done, queued)
        else:
            if dev.traffic:
                dev.traffic[-1][3] = False          # a poll of a running image
            stalled += 1
            if stalled > dev.stall_polls:
                raise LinkError(f"No progress of the presented images ({queued} queued) "
                                f"in {dev.stall_polls:,} polls")
            if poll:
                dev.t.idle(poll) if hasattr(dev.t, "idle") else time.sleep(poll)
    dev.steps = first + B * T
    dev.progress = f"all {B} images of the presentation ran and their outputs were read"
    if len(cycles) != B:
        raise LinkError(f"Expected {B} presentation cycle counts, got {len(cycles)}")
    return DevicePresentation(spikes, np.asarray(cycles, np.int64))
