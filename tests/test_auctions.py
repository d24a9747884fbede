"""Auctions (DESIGN 4.3): water-filling, VCG truthfulness, Myerson reserve."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from netsim.mechanisms.auctions import (
    BandwidthAuction,
    BandwidthState,
    SlotAuction,
    SlotState,
    slot_outcome,
    water_filling,
)

BAND = BandwidthAuction()
SLOTS = SlotAuction()


@pytest.mark.parametrize("seed", range(8))
def test_water_filling_equals_a_convex_solve(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    theta, s = rng.uniform(0.1, 5.0, n), rng.uniform(0.5, 200.0, n)
    x_wf = water_filling(theta[None], s[None])[0]
    x = cp.Variable(n, nonneg=True)
    problem = cp.Problem(cp.Maximize(theta @ cp.log1p(cp.multiply(s, x))), [cp.sum(x) <= 1])
    problem.solve(solver=cp.CLARABEL)
    assert x_wf.sum() == pytest.approx(1.0)
    assert (theta * np.log1p(x_wf * s)).sum() == pytest.approx(problem.value, rel=1e-6)
    assert np.allclose(x_wf, x.value, atol=1e-4)


def test_padding_bidders_get_nothing():
    x = water_filling(np.array([[2.0, 0.0, 1.0]]), np.array([[10.0, 50.0, 10.0]]))
    assert x[0, 1] == 0.0 and x[0].sum() == pytest.approx(1.0) and x[0, 0] > x[0, 2]


def test_features_do_not_depend_on_the_order_of_the_bidders():
    rng = np.random.default_rng(4)
    state = BandwidthState.create(rng.uniform(0.5, 2.0, (5, 7)), rng.uniform(0.5, 150, (5, 7)))
    shuffled = rng.permutation(7)
    other = BandwidthState(state.theta[:, shuffled], state.s[:, shuffled])
    assert np.array_equal(BAND.features(other), BAND.features(state))
    first = np.argmax(state.theta * state.s, axis=1)  # the first bidder water-filling admits
    assert np.array_equal(BAND.features(state)[:, 0], state.theta[np.arange(5), first])


def test_padded_auctions_decide_and_score_as_the_originals():
    rng = np.random.default_rng(3)
    state = BandwidthState.create(rng.uniform(0.5, 2.0, (20, 6)), rng.uniform(0.5, 150, (20, 6)))
    padded = BAND.pad(state, 9)
    assert padded.theta.shape == (20, 9) and np.all(padded.s[:, 6:] == 0)
    x, best = BAND.optimum(state)
    x_pad, best_pad = BAND.optimum(padded)
    assert np.allclose(best_pad, best) and np.allclose(x_pad[:, :6], x)
    assert np.all(x_pad[:, 6:] == 0)
    level = rng.uniform(*BAND.policy_bounds(state))  # a water level per state
    assert np.allclose(BAND.decode(padded, level)[:, :6], BAND.decode(state, level))
    assert np.allclose(BAND.vcg_payments(padded, x_pad)[:, :6], BAND.vcg_payments(state, x))


@pytest.mark.parametrize("seed", range(10))
def test_vcg_is_non_negative_and_truthful(seed):
    rng = np.random.default_rng(50 + seed)
    n = int(rng.integers(2, 8))
    theta, s = rng.uniform(0.1, 5.0, n), rng.uniform(1.0, 100.0, n)
    state = BandwidthState.create(theta, s)
    x, _ = BAND.optimum(state)
    payment = BAND.vcg_payments(state, x)[0]
    assert (payment >= 0).all()
    truthful = theta * np.log1p(x[0] * s) - payment
    for i in range(n):
        for report in rng.uniform(0.01, 10.0, 12):
            lie = theta.copy()
            lie[i] = report
            lie_state = BandwidthState.create(lie, s)
            x_lie, _ = BAND.optimum(lie_state)
            pay_lie = BAND.vcg_payments(lie_state, x_lie)[0, i]
            assert theta[i] * np.log1p(x_lie[0, i] * s[i]) - pay_lie <= truthful[i] + 1e-9


def test_myerson_reserve_for_uniform_values_and_its_revenue():
    rng = np.random.default_rng(0)
    state = SlotState.create(slots=1, low=0.0, high=1.0, bids=rng.random((1, 3)))
    reserve, expected = SLOTS.optimum(state)
    assert reserve[0, 0] == 0.5
    # Monte Carlo with common random numbers: 200k auctions of 3 bidders, 1 slot
    values = rng.random((200_000, 3))
    slots = np.ones(len(values), dtype=int)

    def revenue(r: float) -> float:
        won, price = slot_outcome(values, slots, np.full(len(values), r))
        return float((won.sum(axis=1) * price).mean())

    at_myerson = revenue(0.5)
    assert at_myerson > revenue(0.0) + 0.01 and at_myerson > revenue(0.9) + 0.01
    assert expected[0] == pytest.approx(at_myerson, abs=0.004)
    # closed form: integral of (2v - 1) 3v^2 over [1/2, 1] = 17/32
    assert expected[0] == pytest.approx(17 / 32, rel=1e-4)


@pytest.mark.parametrize("family,low,high", [("uniform", 2.0, 10.0), ("exponential", 0.0, 3.0)])
def test_expected_revenue_peaks_at_the_myerson_reserve(family, low, high):
    rng = np.random.default_rng(1)
    state = SlotState.create(slots=2, low=low, high=high, bids=rng.random((1, 6)), family=family)
    reserve, best = SLOTS.optimum(state)
    lo, hi = SLOTS.bounds(state)
    grid = np.linspace(lo[0, 0], hi[0, 0], 301)
    many = SlotState.create(2, low, high, np.repeat(state.bids, len(grid), 0), family)
    values = SLOTS.utility(many, grid[:, None])
    assert best[0] >= values.max() - 1e-6
    assert grid[np.argmax(values)] == pytest.approx(reserve[0, 0], abs=2 * (grid[1] - grid[0]))


def test_slot_outcome_prices_and_winners():
    won, price = slot_outcome(np.array([[0.9, 0.2, 0.7, 0.4]]), np.array([2]), np.array([0.3]))
    assert won[0].tolist() == [True, False, True, False] and price[0] == pytest.approx(0.4)
    won, price = slot_outcome(np.array([[0.9, 0.2, 0.7, 0.4]]), np.array([2]), np.array([0.8]))
    assert won[0].tolist() == [True, False, False, False] and price[0] == pytest.approx(0.8)
