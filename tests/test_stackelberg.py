"""Stackelberg pricing (DESIGN 4.1): best responses, exact optimum, continuous relaxation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.mechanisms.stackelberg import Stackelberg, StackelbergState

MECH = Stackelberg()


def reference_instance(rng: np.random.Generator, n_states: int = 1, n: int = 5):
    """DESIGN 4.1's reference instance: N=5, L=12, a=2, b=2, C~U[25,35], alpha~U[5,15], c=3."""
    return StackelbergState.create(alpha=rng.uniform(5, 15, (n_states, n)),
                                   c_max=rng.uniform(25, 35, (n_states, n)), a=2.0, b=2.0,
                                   c=3.0, R=200.0, p_min=0.01, p_max=3.0, n_layers=12)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), price=st.floats(0.01, 5.0), a=st.floats(0.5, 4.0),
       b=st.floats(0.0, 5.0))
def test_integer_best_response_is_brute_force(seed, price, a, b):
    rng = np.random.default_rng(seed)
    state = StackelbergState.create(alpha=rng.uniform(0.5, 20, (1, 8)),
                                    c_max=rng.uniform(b + 0.5, 40, (1, 8)), a=a, b=b, c=3.0,
                                    R=0.0, p_min=0.0, p_max=10.0, n_layers=12)
    layers = MECH.best_response(state, np.array([price]))[0]
    for n in range(8):
        feasible = [k for k in range(13) if a * k + b <= state.c_max[0, n]]
        utils = [price * k + state.alpha[0, n] * np.log(1 + state.c_max[0, n] - a * k - b)
                 for k in feasible]
        best = max(utils)
        brute = max(k for k, u in zip(feasible, utils) if u >= best - 1e-9 * max(1, abs(best)))
        assert layers[n] == brute


@pytest.mark.parametrize("seed", range(8))
def test_exact_optimum_matches_dense_price_grid(seed):
    rng = np.random.default_rng(seed)
    state = reference_instance(rng, n=int(rng.integers(2, 12)))
    price, value = MECH.optimum(state)
    assert MECH.utility(state, price)[0] == pytest.approx(value[0])
    grid = np.linspace(0.01, 3.0, 200_001)
    many = StackelbergState.create(np.repeat(state.alpha, len(grid), 0),
                                   np.repeat(state.c_max, len(grid), 0), 2.0, 2.0, 3.0, 200.0,
                                   0.01, 3.0, 12)
    grid_values = MECH.utility(many, grid[:, None])
    step = grid[1] - grid[0]
    assert value[0] >= grid_values.max() - 1e-9
    assert grid_values.max() >= value[0] - step * state.alpha.shape[1] * 12
    # the optimum sits on a threshold (or p_min), right of a jump
    thresholds = finite_thresholds(state)
    assert np.isclose(thresholds, price[0, 0]).any() or price[0, 0] == 0.01


def finite_thresholds(state):
    tau = state.thresholds().ravel()
    return tau[np.isfinite(tau)]


def test_batched_optimum_equals_one_by_one():
    rng = np.random.default_rng(5)
    state = reference_instance(rng, n_states=50)
    price, value = MECH.optimum(state)
    for i in range(0, 50, 7):
        single = StackelbergState.create(state.alpha[i], state.c_max[i], 2.0, 2.0, 3.0, 200.0,
                                         0.01, 3.0, 12)
        p, v = MECH.optimum(single)
        assert p[0, 0] == price[i, 0] and v[0] == pytest.approx(value[i])


def test_relaxed_interior_optimum_is_closed_form():
    rng = np.random.default_rng(11)
    state = reference_instance(rng, n_states=400)
    price, _ = MECH.relaxed_optimum(state)
    demand = (1 + state.c_max - 2.0) / 2.0
    closed = np.sqrt(3.0 * state.alpha.sum(1) / demand.sum(1))
    layers = demand - state.alpha / closed[:, None]
    interior = ((layers > 0) & (layers < np.minimum(12, (state.c_max - 2) / 2))).all(axis=1)
    interior &= (closed > 0.01) & (closed < 3.0)
    assert interior.sum() > 100
    assert np.allclose(price[interior, 0], closed[interior], rtol=1e-9)


def test_leader_utility_formula_and_price_moves_layers_to_devices():
    rng = np.random.default_rng(2)
    state = reference_instance(rng)
    low, high = MECH.outcome(state, np.array([[0.2]])), MECH.outcome(state, np.array([[2.5]]))
    assert high.decisions["split_layer"].sum() > low.decisions["split_layer"].sum()
    layers = high.decisions["split_layer"][0]
    expected = 200.0 - (2.5 * layers + 3.0 * (12 - layers)).sum()
    assert high.leader_utility[0] == pytest.approx(expected)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_utility_of_many_prices_equals_one_state_at_a_time(seed):
    """The sorted-threshold count gives the same utilities as each price's best responses
    (it replaces them for the market's random baseline), thresholds and bounds included."""
    rng = np.random.default_rng(seed)
    state = reference_instance(rng, n_states=3, n=7)
    prices = rng.uniform(-0.5, 3.5, (3, 20, 1))
    prices[:, :6, 0] = state.thresholds()[:, :6, rng.integers(0, 12)]  # ties at a threshold
    prices[:, 6, 0] = state.p_max
    fast = MECH.utility_of_actions(state, prices)
    for b in range(3):
        for k in range(20):
            one = StackelbergState.create(state.alpha[b:b + 1], state.c_max[b:b + 1], 2.0, 2.0,
                                          3.0, 200.0, 0.01, 3.0, 12)
            price = np.clip(prices[b, k, 0], 0.01, 3.0)
            layers = (one.thresholds()[0] <= price).sum()
            assert fast[b, k] == 200.0 - 3.0 * 7 * 12 + (3.0 - price) * layers


def test_a_learned_price_snaps_down_onto_the_nearest_threshold_by_hand():
    """One device, alpha = 10, C = 30, a = 2, b = 2: its k-th layer is taken from
    tau_k = 10 ln((29 - 2(k-1)) / (29 - 2k)), i.e. 0.715, 0.770, 0.834, ... A price between
    two thresholds snaps down to the lower one (it buys the same layers for less), below the
    first to p_min, and the leader's utility never falls."""
    state = StackelbergState.create([[10.0]], [[30.0]], 2.0, 2.0, 3.0, 200.0, 0.01, 3.0, 12)
    tau = [10.0 * np.log((29.0 - 2 * (k - 1)) / (29.0 - 2 * k)) for k in range(1, 13)]
    for price, expected in ((0.75, tau[0]), (0.8, tau[1]), (tau[2], tau[2]), (0.5, 0.01),
                            (2.99, tau[10]), (9.0, tau[10])):  # tau_12 = 3.36 > p_max
        snapped = MECH.decode(state, np.array([[price]]))[0, 0]
        assert snapped == pytest.approx(expected, rel=1e-12)
        assert MECH.utility(state, np.array([[snapped]]))[0] >= \
            MECH.utility(state, np.array([[min(price, 3.0)]]))[0] - 1e-12
