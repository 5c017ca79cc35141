"""A deliberately simple, loop-based reference of docs/spec.md, for testing the golden model.

Plain Python integers and nested loops over neurons and synapses, written line by line from the
spec's pseudo-code, sharing no code with ``spikefab.golden``. Slow on purpose: it is only run
on small networks.
"""


def r_sat(x, bits):
    m = 2 ** (bits - 1) - 1
    return -m if x < -m else m if x > m else x


def r_usat(x, bits):
    m = 2 ** bits - 1
    return 0 if x < 0 else m if x > m else x


def r_decay(x, d):
    mag = (abs(x) * (4096 - d)) // 4096
    return mag if x >= 0 else -mag


def r_clip(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def r_rate_step(a, st, trace):
    """One STDP change, written out from the spec: ``(a * trace) >> shift``, or with the third
    factor ``m`` (v1.2) the effective rate ``a' = sign(m) * floor(a |m| / 256)`` and
    ``sign(a') * floor(|a'| trace / 2^shift)``."""
    if not st.modulated:
        return (a * trace) // 2 ** st.shift
    m = st.modulation
    eff = (1 if m > 0 else -1 if m < 0 else 0) * ((a * abs(m)) // 256)
    return (1 if eff > 0 else -1 if eff < 0 else 0) * ((abs(eff) * trace) // 2 ** st.shift)


def reference_simulate(net, inputs):
    """Run ``net`` on ``inputs`` (a (T, C) 0/1 array or nested list) from the initial state.

    Returns ``(spikes, u, v, weights, pre, post)``: dicts of population name to ``T`` lists of
    per-neuron values, final weights as nested lists by projection index, final traces. The
    adaptive threshold offsets of every step are in the attribute ``theta`` of this function
    after a call (dict of population name to ``T`` lists), for the populations that have one.
    """
    hw = net.hardware
    pops = {p.name: p for p in net.populations}
    u = {n: [0] * p.size for n, p in pops.items()}
    v = {n: [0] * p.size for n, p in pops.items()}
    r = {n: [0] * p.size for n, p in pops.items()}
    theta = {n: [0] * p.size for n, p in pops.items()}
    rec_theta = {n: [] for n, p in pops.items() if p.theta_bits}
    last = {n: [0] * p.size for n, p in pops.items()}
    w = [[[int(x) for x in row] for row in proj.weights] for proj in net.projections]
    pre = [[0] * proj.weights.shape[0] for proj in net.projections]
    post = [[0] * proj.weights.shape[1] for proj in net.projections]
    rec_s = {n: [] for n in pops}
    rec_u = {n: [] for n in pops}
    rec_v = {n: [] for n in pops}
    # the next step's input accumulated by step 6 (the delivery of a step's spikes)
    a_next = {n: [0] * p.size for n, p in pops.items()}

    def accumulate_and_depress(k, e, a):
        proj, st = net.projections[k], net.projections[k].stdp
        for j in range(len(e)):
            if not e[j]:
                continue
            for i in range(len(w[k][j])):
                a[proj.target][i] += w[k][j][i] * 2 ** proj.weight_shift
                if st is not None:
                    dw = r_rate_step(st.a_minus, st, post[k][i])
                    w[k][j][i] = r_clip(w[k][j][i] - dw, st.w_min, st.w_max)

    for t in range(len(inputs)):
        src = dict(last)
        src["input"] = [int(x) for x in inputs[t]]
        a = a_next
        # 1. the host inputs of step t
        for k, proj in enumerate(net.projections):
            if proj.source == "input":
                accumulate_and_depress(k, src["input"], a)
        # 2. pre traces: the inputs of t and the spikes of t - 1
        for k, proj in enumerate(net.projections):
            st = proj.stdp
            if st is not None:
                e = src[proj.source]
                for j in range(len(e)):
                    pre[k][j] = r_decay(pre[k][j], st.d_pre)
                    if e[j]:
                        pre[k][j] = r_usat(pre[k][j] + st.x_inc, hw.trace_bits)
        # 3. neurons
        spikes = {}
        for n, p in pops.items():
            s = [0] * p.size
            for i in range(p.size):
                u[n][i] = r_sat(r_decay(u[n][i], p.du) + a[n][i], hw.current_bits)
                th = r_decay(theta[n][i], p.theta_decay)          # 0 without theta
                if r[n][i] > 0:
                    r[n][i] -= 1
                elif r_sat(r_decay(v[n][i], p.dv) + u[n][i] + p.bias, hw.voltage_bits) \
                        > p.threshold + th:
                    v[n][i] = r_sat(r_decay(v[n][i], p.dv) + u[n][i] + p.bias, hw.voltage_bits)
                    s[i] = 1
                    v[n][i] = 0 if p.reset == "zero" else v[n][i] - (p.threshold + th)
                    r[n][i] = p.refractory
                else:
                    v[n][i] = r_sat(r_decay(v[n][i], p.dv) + u[n][i] + p.bias, hw.voltage_bits)
                    r[n][i] = 0
                if p.theta_bits:
                    theta[n][i] = r_usat(th + (p.theta_inc if s[i] else 0), p.theta_bits)
            spikes[n] = s
            rec_s[n].append(s)
            rec_u[n].append(list(u[n]))
            rec_v[n].append(list(v[n]))
            if n in rec_theta:
                rec_theta[n].append(list(theta[n]))
        # 4. post traces, 5. LTP
        for k, proj in enumerate(net.projections):
            st = proj.stdp
            if st is None:
                continue
            s = spikes[proj.target]
            for i in range(len(s)):
                post[k][i] = r_decay(post[k][i], st.d_post)
                if s[i]:
                    post[k][i] = r_usat(post[k][i] + st.y_inc, hw.trace_bits)
            for i in range(len(s)):
                if s[i]:
                    for j in range(len(w[k])):
                        dw = r_rate_step(st.a_plus, st, pre[k][j])
                        w[k][j][i] = r_clip(w[k][j][i] + dw, st.w_min, st.w_max)
        # 6. deliver the spikes of step t: the input of t + 1, and LTD with this step's y
        a_next = {n: [0] * p.size for n, p in pops.items()}
        for k, proj in enumerate(net.projections):
            if proj.source != "input":
                accumulate_and_depress(k, spikes[proj.source], a_next)
        last = spikes
    reference_simulate.theta = rec_theta
    return rec_s, rec_u, rec_v, w, pre, post
