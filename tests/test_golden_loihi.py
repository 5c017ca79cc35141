"""The Loihi correspondence of docs/spec.md section 2, as a test.

The reference below is written from the equations that Lava documents for its bit-accurate
``PyLifModelBitAcc`` (Loihi 1 LIF: 24-bit u and v, 12-bit decays with ``ds_offset = 1`` on the
current, activation and threshold MSB-aligned by 6 bits, u wrapped at 24 bits, v clipped to
``+-(2**23 - 1)``, reset to zero, no refractory period) and the bit-accurate ``Dense`` layer,
which delivers the weighted sum of step ``t``'s spikes at step ``t + 1``. It shares no code with
spikefab. spikefab equals it with U_BITS = V_BITS = 24, weight_shift = 6,
vth = vth_loihi << 6, du = du_loihi + 1, dv = dv_loihi, bias = bias_mant << bias_exp,
R = 0, reset = zero, and the host spikes shifted one step later.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from .compare import assert_same_trace
from spikefab.golden import Hardware, Network, Population, Projection, simulate

UV_MAX = 2 ** 23


def _loihi_decay(x, d):
    p = x.astype(np.int64) * (4096 - d)
    return np.sign(p) * (np.abs(p) >> 12)


def lava_lif_bitacc(weights, spikes_in, du, dv, vth, bias_mant, bias_exp):
    """Lava's Dense(bit-accurate) -> LIF(bit-accurate) pipeline, step by step.

    Returns spikes, u, v of every step and whether u ever wrapped.
    """
    steps, n = spikes_in.shape[0], weights.shape[1]
    u = np.zeros(n, np.int64)
    v = np.zeros(n, np.int64)
    bias = bias_mant << bias_exp
    vth_eff = vth << 6
    dense_buffer = np.zeros(n, np.int64)          # Dense sends last step's sum
    out_s, out_u, out_v = [], [], []
    wrapped = False
    for t in range(steps):
        a_in = dense_buffer
        dense_buffer = spikes_in[t].astype(np.int64) @ weights
        cur = _loihi_decay(u, du + 1) + (a_in << 6)
        wrapped |= bool((cur > UV_MAX).any() or (cur <= -UV_MAX).any())
        cur = np.where(cur > UV_MAX, cur - 2 * UV_MAX, cur)
        cur = np.where(cur <= -UV_MAX, cur + 2 * UV_MAX, cur)
        u = cur
        v = np.clip(_loihi_decay(v, dv) + u + bias, -UV_MAX + 1, UV_MAX - 1)
        s = v > vth_eff
        v = np.where(s, 0, v)
        out_s.append(s.astype(np.uint8))
        out_u.append(u.copy())
        out_v.append(v.copy())
    return np.array(out_s), np.array(out_u), np.array(out_v), wrapped


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), du=st.one_of(st.just(4095), st.integers(48, 4095)),
       dv=st.one_of(st.just(0), st.just(4095), st.integers(0, 4095)),
       vth=st.one_of(st.just(0), st.integers(0, 2000), st.just(131071)),
       bias_mant=st.integers(-4096, 4095), bias_exp=st.integers(0, 7))
def test_equals_lava_bit_accurate_lif(seed, du, dv, vth, bias_mant, bias_exp):
    rng = np.random.default_rng(seed)
    n_in, n, steps = 8, 12, 120
    w = rng.integers(-127, 128, size=(n_in, n))
    x = (rng.random((steps, n_in)) < rng.uniform(0.05, 0.5)).astype(np.uint8)
    ls, lu, lv, wrapped = lava_lif_bitacc(w, x, du, dv, vth, bias_mant, bias_exp)
    assert not wrapped, f"stimulus drove Loihi's u past 24 bits (seed {seed}): pick smaller"

    net = Network(
        name="loihi", inputs=n_in,
        hardware=Hardware(current_bits=24, voltage_bits=24, weight_bits=8),
        populations=[Population(name="lif", size=n, threshold=vth << 6, du=du + 1, dv=dv,
                                bias=bias_mant << bias_exp, refractory=0, reset="zero")],
        projections=[Projection(source="input", target="lif", weights=w, weight_shift=6)])
    late = np.vstack([np.zeros((1, n_in), np.uint8), x[:-1]])   # Dense's one-step delay
    res = simulate(net, late, record_state=True)
    assert_same_trace("u", res.u["lif"], lu, seed, "lif")
    assert_same_trace("v", res.v["lif"], lv, seed, "lif")
    assert_same_trace("spike", res.spikes["lif"], ls, seed, "lif")


def test_lava_correspondence_is_not_vacuous():
    """The comparison above sees spikes, negative voltages and clipping at the v bound."""
    rng = np.random.default_rng(3)
    w = rng.integers(-127, 128, size=(8, 12))
    x = (rng.random((200, 8)) < 0.4).astype(np.uint8)
    s, u, v, wrapped = lava_lif_bitacc(w, x, du=100, dv=5, vth=300, bias_mant=-100,
                                       bias_exp=0)
    assert not wrapped and 10 < s.sum() < s.size // 2 and (v < 0).any()
    s, u, v, wrapped = lava_lif_bitacc(np.full((8, 12), -127), np.ones((200, 8), np.uint8),
                                       du=4095, dv=0, vth=0, bias_mant=0, bias_exp=0)
    assert not wrapped and (v == -(UV_MAX - 1)).any()
