"""The LIF neuron of docs/spec.md section 2, case by case."""

import numpy as np

from spikefab.golden import Hardware, Population, lif_step

HW = Hardware(current_bits=16, voltage_bits=16)


def step(pop, u, v, r, a, hw=HW):
    arr = [np.array([x], np.int64) for x in (u, v, r, a)]
    u, v, r, s = lif_step(*arr, pop, hw)
    return int(u[0]), int(v[0]), int(r[0]), bool(s[0])


def pop(**kw):
    base = dict(name="p", size=1, threshold=100)
    base.update(kw)
    return Population(**base)


def test_threshold_equality_does_not_spike():
    assert step(pop(), 0, 0, 0, 100) == (100, 100, 0, False)
    assert step(pop(), 0, 0, 0, 101) == (101, 0, 0, True)


def test_subtract_reset_keeps_the_excess():
    assert step(pop(reset="subtract"), 0, 0, 0, 130) == (130, 30, 0, True)


def test_bias_and_decays():
    # u = decay(40, 2048) + 10 = 30; v = decay(50, 1024) + 30 + 7 = 37 + 37
    assert step(pop(du=2048, dv=1024, bias=7), 40, 50, 0, 10) == (30, 74, 0, False)


def test_refractory_holds_v_and_counts_down_while_u_integrates():
    p = pop(refractory=2, du=0)
    u, v, r, s = step(p, 0, 0, 0, 200)
    assert (u, v, r, s) == (200, 0, 2, True)
    u, v, r, s = step(p, u, v, r, 50)                 # refractory: v held at 0
    assert (u, v, r, s) == (250, 0, 1, False)
    u, v, r, s = step(p, u, v, r, 0)
    assert (u, v, r, s) == (250, 0, 0, False)
    u, v, r, s = step(p, u, v, r, 0)                  # active again: integrates u
    assert (u, v, r, s) == (250, 0, 2, True)


def test_refractory_holds_negative_v():
    assert step(pop(refractory=3), 5, -40, 2, 0) == (5, -40, 1, False)


def test_no_spike_clears_refractory_counter():
    assert step(pop(refractory=4), 0, 0, 0, 10) == (10, 10, 0, False)


def test_current_and_voltage_saturate_symmetrically():
    hw = Hardware(current_bits=8, voltage_bits=8)
    p = pop(threshold=127)
    assert step(p, 0, 0, 0, 1000, hw) == (127, 127, 0, False)   # v == vth: no spike
    assert step(p, 0, 0, 0, -1000, hw) == (-127, -127, 0, False)


def test_zero_threshold_spikes_on_any_positive_voltage():
    p = pop(threshold=0)
    assert step(p, 0, 0, 0, 0)[3] is False
    assert step(p, 0, 0, 0, 1)[3] is True


def test_vectorised_over_neurons_and_batch():
    p = pop(size=3, threshold=10, reset="subtract")
    z = np.zeros((2, 3), np.int64)
    a = np.array([[5, 11, 30], [-4, 10, 12]], np.int64)
    u, v, r, s = lif_step(z, z, z, a, p, HW)
    assert v.tolist() == [[5, 1, 20], [-4, 10, 2]]
    assert s.tolist() == [[False, True, True], [False, False, True]]


# -- adaptive threshold (spec v1.2) -------------------------------------------------------------

def astep(pop, u, v, r, a, theta, hw=HW):
    arr = [np.array([x], np.int64) for x in (u, v, r, a, theta)]
    u, v, r, s, th = lif_step(*arr[:4], pop, hw, arr[4])
    return int(u[0]), int(v[0]), int(r[0]), bool(s[0]), int(th[0])


def apop(**kw):
    return pop(theta_bits=8, theta_inc=50, theta_decay=1024, **kw)


def test_theta_raises_the_threshold_by_its_decayed_value():
    # th = decay(40, 1024) = 30: vth + th = 130
    assert astep(apop(), 0, 0, 0, 130, 40) == (130, 130, 0, False, 30)
    assert astep(apop(), 0, 0, 0, 131, 40) == (131, 0, 0, True, 80)


def test_theta_subtract_reset_removes_the_effective_threshold():
    assert astep(apop(reset="subtract"), 0, 0, 0, 140, 40) == (140, 10, 0, True, 80)


def test_theta_saturates_at_its_width_and_decays_while_refractory():
    # decay(250, 1024) = 187; + 50 = 237 < 255
    assert astep(apop(), 0, 0, 0, 500, 250)[4] == 237
    p = pop(theta_bits=4, theta_inc=15, theta_decay=0)
    assert astep(p, 0, 0, 0, 500, 10)[4] == 15                 # usat(10 + 15, 4)
    assert astep(apop(refractory=3), 0, 0, 2, 500, 40) == (500, 0, 1, False, 30)


def test_theta_inc_zero_is_the_plain_neuron():
    p0, p1 = pop(reset="subtract"), pop(reset="subtract", theta_bits=5, theta_inc=0,
                                        theta_decay=300)
    rng = np.random.default_rng(5)
    u = v = r = np.zeros(50, np.int64)
    th = np.zeros(50, np.int64)
    u1, v1, r1 = u, v, r
    for _ in range(30):
        a = rng.integers(-50, 200, 50)
        u, v, r, s = lif_step(u, v, r, a, p0, HW)
        u1, v1, r1, s1, th = lif_step(u1, v1, r1, a, p1, HW, th)
        assert np.array_equal(s, s1) and np.array_equal(v, v1) and not th.any()


def test_theta_state_through_the_simulator_and_reset():
    from spikefab.golden import Network, Projection, Simulator
    net = Network("t", 1, (Population("p", 2, threshold=10, theta_bits=6, theta_inc=20,
                                      theta_decay=0),),
                  (Projection("input", "p", np.array([[30, 0]])),))
    sim = Simulator(net)
    sim.step(np.array([[1]], bool))
    assert sim.theta["p"].tolist() == [[20, 0]]
    sim.reset_state(keep_theta=True)
    assert sim.theta["p"].tolist() == [[20, 0]] and sim.v["p"].tolist() == [[0, 0]]
    sim.reset_state()
    assert sim.theta["p"].tolist() == [[0, 0]]
    assert "p" not in Simulator(Network("n", 1, (Population("p", 1, threshold=1),))).theta
