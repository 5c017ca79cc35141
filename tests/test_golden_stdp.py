"""STDP of docs/spec.md section 4: sign convention, ordering, clipping, traces."""

import numpy as np
import pytest

from spikefab.golden import Hardware, Network, Population, Projection, Stdp, simulate

HW = Hardware(trace_bits=8)


def net(w=50, stdp=None, threshold=0, bias=0, **st):
    params = dict(a_plus=16, a_minus=16, shift=4, d_pre=0, d_post=0, x_inc=32, y_inc=32,
                  w_min=0, w_max=100)
    params.update(st)
    # one input channel -> one neuron; bias alone can make the neuron spike
    return Network(name="n", inputs=1, hardware=HW,
                   populations=[Population(name="post", size=1, threshold=threshold,
                                           bias=bias, dv=4096)],
                   projections=[Projection(source="input", target="post", weights=[[w]],
                                           stdp=stdp or Stdp(**params))])


def run(n, inputs):
    res = simulate(n, np.array(inputs, np.uint8).reshape(-1, 1), record_state=True)
    return res


def test_pre_before_post_potentiates():
    # weight 0 so the pre spike cannot drive the neuron: the post spike comes from bias
    n = net(w=0, threshold=5, bias=0)
    n2 = Network(name="n", inputs=1, hardware=HW, populations=[
        Population(name="post", size=1, threshold=5, bias=10, dv=4096, refractory=0)],
        projections=[Projection(source="input", target="post", weights=[[0]],
                                stdp=n.projections[0].stdp)])
    res = run(n2, [1, 0])          # post spikes at every step (bias 10 > 5)
    # step 0: LTD with y(-1) = 0: no change; pre trace x = 32; post spikes; LTP: +16*32>>4 = 32
    # step 1: no pre event; x stays 32 (d_pre 0); LTP again: +32 -> 64
    assert res.weights[0].tolist() == [[64]]


def test_post_before_pre_depresses():
    n = Network(name="n", inputs=1, hardware=HW, populations=[
        Population(name="post", size=1, threshold=5, bias=10, dv=4096, refractory=5)],
        projections=[Projection(source="input", target="post", weights=[[90]],
                                stdp=Stdp(a_plus=16, a_minus=16, shift=4, d_pre=0, d_post=0,
                                          x_inc=32, y_inc=32, w_min=0, w_max=100))])
    # step 0: post spikes (bias), x = 0 so LTP adds 0; y = 32. Refractory for 5 steps.
    # step 2: pre event, LTD with y = 32: -32 -> 58; x = 32; no post spike (refractory)
    res = run(n, [0, 0, 1, 0])
    assert res.spikes["post"][:, 0].tolist() == [1, 0, 0, 0]
    assert res.weights[0].tolist() == [[58]]


def test_pre_and_post_in_the_same_step_potentiates_with_this_steps_trace():
    # The pre spike drives the post spike in the same step (threshold 0, weight 50).
    res = run(net(w=50, threshold=0), [1])
    # LTD uses y(-1) = 0: no change; x = 32; post spikes; LTP +32 -> 82
    assert res.spikes["post"].tolist() == [[1]]
    assert res.weights[0].tolist() == [[82]]


def test_ltd_is_clipped_before_ltp():
    # at w_max: LTD -32 first (-> 68), then LTP +32 (-> 100). LTP first would give 68.
    st = Stdp(a_plus=16, a_minus=16, shift=4, d_pre=0, d_post=0, x_inc=32, y_inc=32,
              w_min=0, w_max=100)
    n = Network(name="n", inputs=1, hardware=HW, populations=[
        Population(name="post", size=1, threshold=5, bias=10, dv=4096)],
        projections=[Projection(source="input", target="post", weights=[[100]], stdp=st)])
    res = run(n, [0, 1])           # step 0: post spike sets y = 32 (LTP: x = 0 adds 0)
    assert res.weights[0].tolist() == [[100]]
    # and at w_min the depression clips at the bound
    st2 = Stdp(a_plus=0, a_minus=255, shift=0, d_pre=0, d_post=0, x_inc=0, y_inc=255,
               w_min=-20, w_max=100)
    n2 = Network(name="n", inputs=1, hardware=HW, populations=n.populations,
                 projections=[Projection(source="input", target="post", weights=[[3]],
                                         stdp=st2)])
    assert run(n2, [0, 1]).weights[0].tolist() == [[-20]]


def test_weights_use_start_of_step_value_for_accumulation():
    # heavy LTD on the first event must not change what that event delivers
    st = Stdp(a_plus=0, a_minus=255, shift=0, d_pre=0, d_post=0, x_inc=0, y_inc=255,
              w_min=-100, w_max=100)
    n = Network(name="n", inputs=1, hardware=HW, populations=[
        Population(name="post", size=1, threshold=5, bias=10, dv=4096, du=4096)],
        projections=[Projection(source="input", target="post", weights=[[40]], stdp=st)])
    res = run(n, [0, 1])
    assert res.u["post"][:, 0].tolist() == [0, 40]
    assert res.weights[0].tolist() == [[-100]]


@pytest.mark.parametrize("bits", [3, 8])
def test_traces_saturate(bits):
    hw = Hardware(trace_bits=bits)
    st = Stdp(a_plus=1, a_minus=0, shift=0, d_pre=0, d_post=0, x_inc=2 ** bits - 3,
              y_inc=2 ** bits - 1, w_min=-100, w_max=100)
    n = Network(name="n", inputs=1, hardware=hw, populations=[
        Population(name="post", size=1, threshold=5, bias=10, dv=4096)],
        projections=[Projection(source="input", target="post", weights=[[0]], stdp=st)])
    res = simulate(n, np.ones((4, 1), np.uint8))
    assert res.pre_traces[0].tolist() == [2 ** bits - 1]
    assert res.post_traces[0].tolist() == [2 ** bits - 1]


def test_trace_decay_then_increment():
    st = Stdp(a_plus=0, a_minus=0, shift=0, d_pre=2048, d_post=4096, x_inc=100, y_inc=7,
              w_min=-1, w_max=1)
    n = Network(name="n", inputs=1, hardware=HW, populations=[
        Population(name="post", size=1, threshold=5, bias=10, dv=4096)],
        projections=[Projection(source="input", target="post", weights=[[0]], stdp=st)])
    res = simulate(n, np.array([[1], [0], [1]], np.uint8))
    # x: 100 -> 50 -> 25 + 100 = 125 ; y: d_post 4096 clears, then +7 each spiking step
    assert res.pre_traces[0].tolist() == [125]
    assert res.post_traces[0].tolist() == [7]


def _chain(w=10):
    """``a`` spikes every step (bias), ``b`` too; ``a -> b`` plastic, LTD only (a_minus 1,
    shift 0, y_inc 5, no decay), weight ``w``."""
    st = Stdp(a_plus=0, a_minus=1, shift=0, d_pre=0, d_post=0, x_inc=1, y_inc=5, w_min=0,
              w_max=20)
    pops = [Population("a", 1, 30, bias=40, dv=4096),
            Population("b", 1, 30, bias=40, dv=4096)]
    return Network("chain", 1, pops, [Projection("a", "b", [[w]], stdp=st)], HW)


def test_a_steps_spikes_are_depressed_at_its_end():
    """SPEC section 4, step 6: the spike of ``a`` at step 0 reaches ``a -> b`` at the end of
    step 0, accumulated for step 1 with the weight after LTP, then depressed with ``b``'s post
    trace of step 0 (5): the weights after one step are 10 - 5, what a board holds at its
    barrier (v1 left 10 until step 1)."""
    n = _chain()
    res = simulate(n, np.zeros((1, 1), np.uint8))
    assert res.spikes["a"].tolist() == [[1]] and res.post_traces[0].tolist() == [5]
    assert res.weights[0].tolist() == [[5]]
    # two steps: step 1 accumulates the spike of step 0 with weight 10 (u = 10 at b), LTD of
    # step 1's own spike with y = 10 (no decay, +5): 5 - 10 clipped to 0
    res = simulate(n, np.zeros((2, 1), np.uint8), record_state=True)
    assert res.u["b"][:, 0].tolist() == [0, 10]
    assert res.weights[0].tolist() == [[0]]


def test_update_and_deliver_are_the_two_halves_of_a_step():
    from spikefab.golden import Simulator
    sim = Simulator(_chain())
    sim.update(np.zeros((1, 1), bool))
    assert sim.weights[0].tolist() == [[[10]]]
    with pytest.raises(RuntimeError, match="delivered first"):
        sim.update(np.zeros((1, 1), bool))
    sim.deliver()
    assert sim.weights[0].tolist() == [[[5]]] and sim.pending["b"].tolist() == [[10]]
    with pytest.raises(RuntimeError, match="delivered already"):
        sim.deliver()
    # "reset network state": the depression stays, the accumulated input of the spike goes
    sim.reset_state()
    assert sim.weights[0].tolist() == [[[5]]] and sim.pending["b"].tolist() == [[0]]
    sim.step(np.zeros((1, 1), bool))
    assert sim.u["b"].tolist() == [[0]]


# -- the third factor (spec v1.2) ---------------------------------------------------------------

def _rand_plastic(modulation, modulated=True, seed=4, small=False):
    rng = np.random.default_rng(seed)
    st = Stdp(a_plus=200, a_minus=150, shift=10 if small else 3, d_pre=500, d_post=700,
              x_inc=90, y_inc=80, w_min=-127 if small else -100, w_max=127 if small else 100,
              modulated=modulated, modulation=modulation if modulated else 256)
    w = rng.integers(-10, 11, (6, 5)) if small else rng.integers(-40, 60, (6, 5))
    return Network("m", 6, (Population("p", 5, threshold=30 if not small else 3, du=4096,
                                       dv=400, bias=2 if small else 0),),
                   (Projection("input", "p", w, stdp=st),))


def _x(seed=4, steps=60):
    return (np.random.default_rng(seed + 1).random((steps, 6)) < 0.5).astype(np.uint8)


def test_modulation_one_is_plain_stdp_bit_for_bit():
    a = simulate(_rand_plastic(256), _x())
    b = simulate(_rand_plastic(256, modulated=False), _x())
    assert np.array_equal(a.weights[0], b.weights[0])
    assert not np.array_equal(a.weights[0], _rand_plastic(256).projections[0].weights)


def test_modulation_zero_freezes_the_weights_but_not_the_traces():
    n = _rand_plastic(0)
    res = simulate(n, _x())
    assert np.array_equal(res.weights[0], n.projections[0].weights)
    assert res.pre_traces[0].any() and res.post_traces[0].any()


def test_negative_modulation_mirrors_both_updates():
    from spikefab.golden.simulator import Simulator
    n = _rand_plastic(256, small=True)
    w0 = n.projections[0].weights.astype(np.int64)
    up = Simulator(n)
    down = Simulator(n)
    down.set_modulation(0, -256)
    # the first step's changes (LTP of its spikes; small rates: no clipping): exactly opposite
    x = _x().astype(bool)
    up.step(x[0][None])
    down.step(x[0][None])
    assert (up.weights[0][0] != w0).any()
    assert np.array_equal(up.weights[0][0] - w0, w0 - down.weights[0][0])
    half = Simulator(n)
    half.set_modulation(0, 128)
    half.step(x[0][None])
    d_up, d_half = up.weights[0][0] - w0, half.weights[0][0] - w0
    assert np.all(np.abs(d_half) <= np.abs(d_up)) and np.abs(d_half).sum() < np.abs(d_up).sum()


def test_modulation_per_run_and_mid_run():
    from spikefab.golden.simulator import Simulator
    n = _rand_plastic(256)
    x = _x().astype(bool)
    sim = Simulator(n, batch=2)
    sim.set_modulation(0, [256, -256])
    for t in range(30):
        sim.step(np.stack([x[t], x[t]]))
    sim.set_modulation(0, 0)
    frozen = sim.weights[0].copy()
    for t in range(30, 60):
        sim.step(np.stack([x[t], x[t]]))
    assert np.array_equal(sim.weights[0], frozen)
    one = Simulator(n)
    for t in range(30):
        one.step(x[t][None])
    assert np.array_equal(sim.weights[0][0], one.weights[0][0])
    sim.reset_state()
    assert sim.modulation[0].tolist() == [0, 0]        # a parameter: the reset keeps it


@pytest.mark.parametrize("call, message", [
    (lambda s: s.set_modulation(0, 300),
     r"^Modulation of projection 0 must be an integer in \[-256, 256\], not 300$"),
    (lambda s: s.set_modulation(0, [1, 2]),
     r"^Modulation of projection 0 must be one value or one per run \(1,\), not shape "
     r"\(2,\)$"),
    (lambda s: s.set_modulation(1, 10),
     r"^Projection 1 has no third factor \(it must be plastic with modulated = true\)$"),
])
def test_bad_modulation(call, message):
    from spikefab.golden.simulator import Simulator
    n = _rand_plastic(256)
    n2 = Network("m2", 6, n.populations, n.projections + (
        Projection("input", "p", np.zeros((6, 5), np.int64)),))
    with pytest.raises(ValueError, match=message):
        call(Simulator(n2))


def test_modulation_needs_modulated():
    with pytest.raises(ValueError, match=r"^STDP modulation of projection 0 \(input -> p\) "
                                         r"\(not modulated\) must be an integer in \[256, 256\], "
                                         r"not 10$"):
        Network("m", 6, (Population("p", 5, threshold=30),),
                (Projection("input", "p", np.zeros((6, 5), np.int64), stdp=Stdp(
                    a_plus=1, a_minus=1, shift=0, d_pre=0, d_post=0, x_inc=1, y_inc=1,
                    w_min=-1, w_max=1, modulation=10)),))
