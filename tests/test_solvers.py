"""Solvers: exact is the optimum, convex finds the relaxation's optimum, random and fixed."""

from __future__ import annotations

import numpy as np
import pytest

from netsim import solvers
from netsim.mechanisms.auctions import BandwidthAuction, BandwidthState
from netsim.mechanisms.contract import Contract, ContractState
from netsim.mechanisms.stackelberg import Stackelberg, StackelbergState
from tests.oracles import contract_program, stackelberg_optimum, water_filling_welfare


def stackelberg_states(n_states=20, seed=0):
    rng = np.random.default_rng(seed)
    return StackelbergState.create(rng.uniform(5, 15, (n_states, 5)),
                                   rng.uniform(25, 35, (n_states, 5)), 2.0, 2.0, 3.0, 200.0,
                                   0.01, 3.0, 12)


def test_exact_solver_reaches_the_brute_force_optimum_and_beats_others():
    mech, state = Stackelberg(), stackelberg_states()
    exact = mech.utility(state, solvers.build("exact").solve(mech, state))
    brute = [stackelberg_optimum(state.alpha[i], state.c_max[i], 2.0, 2.0, 3.0, 200.0, 0.01,
                                 3.0, 12)[1] for i in range(state.n_states)]
    np.testing.assert_allclose(exact, brute, rtol=1e-12)
    for name in ("random", "convex"):
        other = mech.utility(state, solvers.build(name, seed=3).solve(mech, state))
        assert (other <= exact + 1e-9).all()


def test_convex_solver_finds_the_relaxed_optimum_of_a_dense_grid():
    mech, state = Stackelberg(), stackelberg_states(10, seed=4)
    price = solvers.build("convex").solve(mech, state)[:, 0]
    # the relaxation written out: real layers clip((1 + C - b)/a - alpha/p, 0, (C - b)/a)
    grid = np.linspace(0.01, 3.0, 100_001)[:, None, None]
    demand = (1.0 + state.c_max - 2.0) / 2.0
    layers = np.clip(demand - state.alpha / grid, 0.0, np.minimum(12, (state.c_max - 2.0) / 2.0))
    values = 200.0 - 3.0 * 5 * 12 + (3.0 - grid[..., 0]) * layers.sum(axis=2)  # [grid, B]
    best = grid[np.argmax(values, axis=0), 0, 0]
    np.testing.assert_allclose(price, best, atol=5e-5)
    np.testing.assert_allclose(mech.relaxed_utility(state, price[:, None]), values.max(axis=0),
                               rtol=1e-9)
    # played in the integer game, the relaxed price never beats the integer optimum
    brute = [stackelberg_optimum(state.alpha[i], state.c_max[i], 2.0, 2.0, 3.0, 200.0, 0.01,
                                 3.0, 12)[1] for i in range(state.n_states)]
    assert (mech.utility(state, price[:, None]) <= np.array(brute) + 1e-9).all()


def test_convex_solver_on_contracts_uses_the_convex_program():
    mech = Contract()
    state = ContractState.create([[0.5, 1.0, 2.0]], [[10, 5, 3]], 20.0)
    q = solvers.build("convex").solve(mech, state)
    _, value = contract_program([0.5, 1.0, 2.0], [10, 5, 3], 20.0)
    assert mech.utility(state, q)[0] == pytest.approx(value, rel=1e-6)


def test_convex_solver_on_vector_actions():
    mech = BandwidthAuction()
    state = BandwidthState.create([[1.0, 2.0, 0.5]], [[10.0, 30.0, 50.0]])
    x = solvers.build("convex").solve(mech, state)
    welfare = water_filling_welfare([1.0, 2.0, 0.5], [10.0, 30.0, 50.0])
    assert mech.utility(state, x)[0] == pytest.approx(welfare, rel=1e-3)


def test_random_is_seeded_and_in_bounds_fixed_is_fixed():
    mech, state = Stackelberg(), stackelberg_states()
    a = solvers.build("random", seed=1).solve(mech, state)
    b = solvers.build("random", seed=1).solve(mech, state)
    assert np.array_equal(a, b) and (a >= 0.01).all() and (a <= 3.0).all()
    fixed = solvers.build("fixed", action=9.0).solve(mech, state)
    assert (fixed == 3.0).all()  # clipped to p_max
    actions, per_decision = solvers.timed_solve(solvers.build("exact"), mech, state)
    assert actions.shape == (20, 1) and per_decision > 0


def test_unknown_solver_and_missing_action():
    with pytest.raises(ValueError, match="allowed: exact, convex, random, fixed, diffusion"):
        solvers.build("gdm")
    with pytest.raises(ValueError, match="needs a checkpoint"):
        solvers.build("diffusion")
    with pytest.raises(ValueError, match="needs an action"):
        solvers.build("fixed")
