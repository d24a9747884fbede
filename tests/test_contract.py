"""Contract theory (DESIGN 4.2): closed form with ironing vs the convex program; IC and IR."""

from __future__ import annotations

import numpy as np
import pytest

from netsim.mechanisms.contract import (
    Contract,
    ContractState,
    binding_rewards,
    pool_adjacent,
)
from tests.oracles import contract_program

MECH = Contract()


def random_state(rng: np.random.Generator, k: int) -> ContractState:
    theta = np.sort(rng.uniform(0.2, 3.0, k))
    while np.any(np.diff(theta) <= 1e-3):
        theta = np.sort(rng.uniform(0.2, 3.0, k))
    return ContractState.create(theta, rng.integers(1, 30, k), rng.uniform(2.0, 40.0))


@pytest.mark.parametrize("seed", range(12))
def test_closed_form_equals_convex_program(seed):
    rng = np.random.default_rng(seed)
    state = random_state(rng, int(rng.integers(2, 7)))
    q, value = MECH.optimum(state)
    q_cvx, value_cvx = contract_program(state.theta[0], state.count[0], state.beta[0])
    assert value[0] == pytest.approx(value_cvx, rel=1e-6, abs=1e-6)
    assert np.allclose(q[0], q_cvx, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("seed", range(12))
def test_optimal_menu_is_ic_ir_and_monotone(seed):
    rng = np.random.default_rng(100 + seed)
    state = random_state(rng, int(rng.integers(2, 8)))
    q, _ = MECH.optimum(state)
    reward = binding_rewards(state.theta, q)[0]
    q, theta = q[0], state.theta[0]
    for k in range(len(theta)):
        own = reward[k] - q[k] / theta[k]
        assert own >= -1e-9  # IR
        for j in range(len(theta)):
            assert own >= reward[j] - q[j] / theta[k] - 1e-9  # IC
    assert np.all(np.diff(q) >= -1e-12)  # higher types never get less
    outcome = MECH.outcome(state, q[None, :])
    assert outcome.decisions["item"][0].tolist() == list(range(len(theta)))  # self-selection


def test_ironing_pools_adjacent_types():
    # many low types and few middle ones make the unpooled solution non-monotone
    state = ContractState.create([1.0, 1.1, 3.0], [50, 1, 5], 10.0)
    w = state.weights()
    raw = state.count * state.beta[:, None] / w - 1
    assert raw[0, 1] < raw[0, 0]  # the instance needs ironing
    q, value = MECH.optimum(state)
    assert q[0, 0] == pytest.approx(q[0, 1]) and q[0, 2] > q[0, 1]
    _, value_cvx = contract_program(state.theta[0], state.count[0], 10.0)
    assert value[0] == pytest.approx(value_cvx, rel=1e-6)


def test_pool_adjacent_violators():
    fitted = pool_adjacent(np.array([[1.0, 3.0, 2.0, 4.0]]), np.array([[1.0, 1.0, 1.0, 1.0]]))
    assert fitted.tolist() == [[1.0, 2.5, 2.5, 4.0]]


def test_a_non_monotone_menu_makes_types_self_select_by_hand():
    state = ContractState.create([1.0, 2.0], [10, 10], 5.0)
    outcome = MECH.outcome(state, np.array([[4.0, 1.0]]))  # decreasing q: not IC as given
    # binding rewards R = (4/1, 4 + (1 - 4)/2) = (4, 2.5). Type 1 gets 4 - 4 = 0 from its own
    # item and 2.5 - 1 = 1.5 from item 2, so it takes item 2; type 2 gets 4 - 2 = 2 or
    # 2.5 - 0.5 = 2, a tie it resolves to its own item 2.
    assert outcome.decisions["item"][0].tolist() == [1, 1]
    assert outcome.follower_utility[0].tolist() == pytest.approx([1.5, 2.0], abs=1e-12)
    assert outcome.leader_utility[0] == pytest.approx(20 * (5.0 * np.log(2.0) - 2.5), rel=1e-12)
    # a monotone menu, R = (4, 4 + 2/2) = (4, 5): type 1 is indifferent between its item
    # (4 - 4 = 0) and opting out and takes its item; type 2 gets 5 - 3 = 2 from its own item
    # and 4 - 2 = 2 from the other, and takes its own
    out = MECH.outcome(state, np.array([[4.0, 6.0]]))
    assert out.decisions["item"][0].tolist() == [0, 1]
    assert out.follower_utility[0].tolist() == pytest.approx([0.0, 2.0], abs=1e-12)
