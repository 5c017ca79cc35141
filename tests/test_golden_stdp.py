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
