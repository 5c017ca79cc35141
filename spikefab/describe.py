"""One-screen text descriptions of a network, and the plain-text tables they are made of.

Used by ``spikefab check``, ``spikefab demo`` and the tables of the other commands; it imports
neither of them.
"""

import numpy as np

__all__ = ["describe", "table", "fmt_bits"]


def fmt_bits(bits):
    """``bits`` with thousands separators and, from 1 KiB, in KiB or MiB."""
    if bits >= 8 * 1024 * 1024:
        return f"{bits:,} b ({bits / 8 / 1024 / 1024:.2f} MiB)"
    if bits >= 8 * 1024:
        return f"{bits:,} b ({bits / 8 / 1024:.1f} KiB)"
    return f"{bits:,} b"


def table(rows, header):
    """``rows`` under ``header`` in left-aligned columns two spaces apart."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(header, widths)).rstrip()]
    for row in rows:
        lines.append("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def describe(net):
    """A one-screen text description of ``net``: populations, projections, memory."""
    out = [f"network {net.name}: {net.inputs} inputs, {len(net.populations)} populations, "
           f"{len(net.projections)} projections"]
    hw = net.hardware
    out.append(f"widths: current {hw.current_bits} b, voltage {hw.voltage_bits} b, weight "
               f"{hw.weight_bits} b, trace {hw.trace_bits} b, refractory {hw.refractory_bits} b")
    if hw.rate_bits:
        from spikefab.shape.rates import image_bytes, per_frame, rate_slots
        out.append(f"on-chip rate inputs: {hw.rate_bits}-bit accumulators (a period of "
                   f"{1 << hw.rate_bits} steps), 4-bit intensities, {image_bytes(net.inputs)} "
                   f"bytes an image, {rate_slots(net.inputs)} images queued on the link, "
                   f"{per_frame(net.inputs)} a PRESENT frame (docs/spec.md section 7)")
    out.append("")
    adaptive = any(p.adaptive for p in net.populations)
    out.append(table(
        [(p.name, p.size, p.threshold, p.du, p.dv, p.bias, p.refractory, p.reset,
          "yes" if p.output else "no", net.accumulator_bits(p.name))
         + ((f"{p.theta_bits} b +{p.theta_inc} d{p.theta_decay}" if p.adaptive else "no",)
            if adaptive else ())
         for p in net.populations],
        ("population", "size", "threshold", "du", "dv", "bias", "refractory", "reset",
         "output", "acc bits") + (("adaptive threshold",) if adaptive else ())))
    if net.projections:
        out.append("")
        out.append(table(
            [(k, f"{p.source} -> {p.target}", f"{p.weights.size:,}",
              f"{int(np.count_nonzero(p.weights)):,}", p.weight_shift,
              ("yes, 3rd factor" if p.stdp.modulated else "yes") if p.plastic else "no")
             for k, p in enumerate(net.projections)],
            ("projection", "source -> target", "synapses", "non-zero", "shift", "plastic")))
    nonzero = sum(int(np.count_nonzero(p.weights)) for p in net.projections)
    out.append("")
    out.append(f"neurons {net.neurons:,}, synapses {net.synapses:,} ({nonzero:,} non-zero), "
               f"plastic synapses {net.plastic_synapses:,}")
    mem = net.memory_bits()
    out.append("memory: " + ", ".join(f"{k.replace('_', ' ')} {fmt_bits(v)}"
                                      for k, v in mem.items()))
    out.append(f"memory total: {fmt_bits(sum(mem.values()))}")
    return "\n".join(out)
