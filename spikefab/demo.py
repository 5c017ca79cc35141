"""``make demo``: a network on seeded rate-coded input, a one-screen summary and a raster plot."""

import os
import time

import numpy as np

from .describe import describe
from .errors import InvalidValue
from .golden import rate_encode, simulate

__all__ = ["demo_inputs", "synaptic_events", "run_demo"]


def demo_inputs(n_inputs, steps, seed, period=50, rate=0.3):
    """Rate-coded stimulus that shows a new pattern every ``period`` steps.

    The input channels are split into four groups; during each period one group fires at full
    intensity and the others at a tenth of it, so plastic projections have something to learn.
    """
    groups = np.array_split(np.arange(n_inputs), 4)
    out = np.zeros((steps, n_inputs), np.uint8)
    for n, t0 in enumerate(range(0, steps, period)):
        t1 = min(t0 + period, steps)
        intensity = np.full(n_inputs, 0.1)
        intensity[groups[n % 4]] = 1.0
        out[t0:t1] = rate_encode(intensity, t1 - t0, rate=rate, seed=seed * 1000 + n)
    return out


def synaptic_events(net, inputs, spikes):
    """Synaptic operations of a run: every delivered spike times its projection's fan-out.

    A spike of step ``t`` of a population is delivered at ``t + 1``; the last step's spikes
    are not delivered within the run.
    """
    counts = {"input": int(inputs.sum())}
    for name, s in spikes.items():
        counts[name] = int(s[:-1].sum())
    return sum(counts[p.source] * p.weights.shape[1] for p in net.projections)


def _raster(path, net, inputs, res):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("input", inputs)] + list(res.spikes.items())
    heights = [max(a.shape[1], 4) for _, a in panels]
    fig, axes = plt.subplots(len(panels), 1, sharex=True, figsize=(10, 1.5 + 0.06 * sum(heights)),
                             gridspec_kw={"height_ratios": heights})
    for ax, (name, a) in zip(np.atleast_1d(axes), panels):
        t, n = np.nonzero(a)
        ax.scatter(t, n, s=2, marker="|", color="black" if name == "input" else "tab:blue")
        ax.set_ylabel(f"{name}\n({a.shape[1]})")
        ax.set_ylim(-0.5, a.shape[1] - 0.5)
    np.atleast_1d(axes)[-1].set_xlabel("time step")
    fig.suptitle(f"spikefab golden model: {net.name}, {inputs.shape[0]} steps")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_demo(net, steps, seed, out_dir):
    """Run ``net`` for ``steps`` on :func:`demo_inputs`, print a summary, write a raster PNG."""
    if steps < 1:
        raise InvalidValue(f"Steps must be a positive integer, not {steps}")
    if net.inputs == 0:
        raise InvalidValue(f"The demo drives the network's inputs; network {net.name!r} has none")
    print(describe(net))
    print()
    inputs = demo_inputs(net.inputs, steps, seed)
    t0 = time.perf_counter()
    res = simulate(net, inputs)
    dt = time.perf_counter() - t0
    events = synaptic_events(net, inputs, res.spikes)
    print(f"golden model: {steps:,} steps in {dt:.3f} s ({steps / dt:,.0f} steps/s, "
          f"{events / dt / 1e6:,.2f} M synaptic events/s), input seed {seed}")
    rows = []
    for pop in net.populations:
        s = res.spikes[pop.name]
        rows.append(f"  {pop.name:<12} {pop.size:>6} neurons  {int(s.sum()):>7,} spikes  "
                    f"{s.mean():.3f} spikes/neuron/step  "
                    f"{int(s.any(axis=0).sum())}/{pop.size} neurons fired"
                    + ("  [output]" if pop.output else ""))
    print("\n".join(rows))
    for k, proj in enumerate(net.projections):
        if not proj.plastic:
            continue
        w0, w1 = proj.weights, res.weights[k]
        print(f"  plasticity of projection {k} ({proj.source} -> {proj.target}): mean weight "
              f"{w0.mean():.2f} -> {w1.mean():.2f}, {int((w1 > w0).sum()):,} potentiated, "
              f"{int((w1 < w0).sum()):,} depressed, {int((w1 == w0).sum()):,} unchanged")
    try:
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "raster.png")
        _raster(path, net, inputs, res)
    except OSError as e:
        raise InvalidValue(f"Cannot write the raster plot into {out_dir!r}: {e.strerror}") from None
    print(f"wrote {path}")
    print(f"done: {net.name}, {steps} steps, "
          + ", ".join(f"{k} {int(s.sum())} spikes" for k, s in res.spikes.items()))
    return res
