"""McAfee's double auction: hand-computed instances, truthfulness by brute force over
misreports, weak budget balance and individual rationality, and welfare against the
welfare-maximising allocation found by enumeration (McAfee loses at most one trade)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from netsim.mechanisms.double_auction import DoubleAuction, DoubleAuctionState, mcafee

MECH = DoubleAuction()
ANY = np.full((1, 1), 0.5)  # the leader's ignored action


def test_all_efficient_trades_at_the_midpoint_price():
    # k = 3 (6 >= 5, 2 < 9); p0 = (2 + 9) / 2 = 5.5 lies in [s_3, b_3] = [5, 6]
    state = DoubleAuctionState.create([[10, 8, 6, 2]], [[1, 3, 5, 9]])
    out = MECH.outcome(state, ANY)
    assert out.decisions["buys"][0].tolist() == [True, True, True, False]
    assert out.decisions["sells"][0].tolist() == [True, True, True, False]
    assert out.decisions["buyer_price"][0, 0] == out.decisions["seller_price"][0, 0] == 5.5
    assert out.leader_utility[0] == 15.0 == MECH.optimum(state)[1][0]  # 9 + 5 + 1
    assert out.decisions["revenue"][0, 0] == 0.0


def test_trade_reduction_when_the_midpoint_falls_outside():
    # k = 3; p0 = (1 + 20) / 2 = 10.5 > b_3 = 6: two trades, buyers pay 6, sellers get 5
    state = DoubleAuctionState.create([[10, 8, 6, 1]], [[1, 3, 5, 20]])
    out = MECH.outcome(state, ANY)
    assert out.decisions["buys"][0].tolist() == [True, True, False, False]
    assert out.decisions["buyer_price"][0, 0] == 6.0
    assert out.decisions["seller_price"][0, 0] == 5.0
    assert out.leader_utility[0] == 14.0 and MECH.optimum(state)[1][0] == 15.0
    assert out.decisions["revenue"][0, 0] == 2.0  # (k - 1)(b_k - s_k), kept by the maker
    assert out.follower_utility[0].tolist() == [4.0, 2.0, 0.0, 0.0, 4.0, 2.0, 0.0, 0.0]


def _random_instances(rng, count):
    for _ in range(count):
        n, m = rng.integers(1, 6, 2)
        yield rng.uniform(0, 1, n).round(2), rng.uniform(0, 1, m).round(2)


def _utility(bids, asks, true_value, who: int, side: str) -> float:
    buys, sells, buyer_price, seller_price = mcafee(bids[None], asks[None])
    if side == "buyer":
        return float(true_value - buyer_price[0]) if buys[0, who] else 0.0
    return float(seller_price[0] - true_value) if sells[0, who] else 0.0


def test_truthful_reports_are_dominant_on_random_instances():
    rng = np.random.default_rng(3)
    reports = np.linspace(0.0, 1.2, 61)
    for bids, asks in _random_instances(rng, 150):
        for side, values in (("buyer", bids), ("seller", asks)):
            for who, value in enumerate(values):
                truthful = _utility(bids, asks, value, who, side)
                for report in reports:
                    b, s = bids.copy(), asks.copy()
                    (b if side == "buyer" else s)[who] = report
                    assert _utility(b, s, value, who, side) <= truthful + 1e-12, \
                        (bids, asks, side, who, report)


def _best_welfare_by_enumeration(bids, asks) -> float:
    best = 0.0
    for size in range(1, min(len(bids), len(asks)) + 1):
        for buyers in itertools.combinations(bids, size):
            for sellers in itertools.combinations(asks, size):
                best = max(best, sum(buyers) - sum(sellers))
    return best


def test_budget_balance_rationality_and_welfare_within_one_trade():
    rng = np.random.default_rng(4)
    for bids, asks in _random_instances(rng, 300):
        state = DoubleAuctionState.create([bids], [asks])
        out = MECH.outcome(state, ANY)
        buys, sells = out.decisions["buys"][0], out.decisions["sells"][0]
        assert buys.sum() == sells.sum()
        assert out.decisions["revenue"][0, 0] >= 0.0  # the maker never pays
        assert (out.follower_utility[0] >= -1e-12).all()  # nobody is worse off for trading
        optimum = MECH.optimum(state)[1][0]
        assert optimum == pytest.approx(_best_welfare_by_enumeration(bids, asks))
        b, s = np.sort(bids)[::-1], np.sort(asks)
        k = int(np.sum(b[:min(len(b), len(s))] >= s[:min(len(b), len(s))]))
        least = b[k - 1] - s[k - 1] if k else 0.0
        assert -1e-12 <= optimum - out.leader_utility[0] <= least + 1e-12


def test_the_binding_hands_sold_compute_to_buyers_in_the_network(tmp_path):
    """Added through a binding alone: trades move FLOPS from sellers to their buyers for the
    epoch (none created), and the epochs table records McAfee against the optimum."""
    import netsim
    from tests.conftest import SCENARIOS

    loaded = netsim.load_scenario(SCENARIOS / "double_auction.yaml", ["horizon_s=61"])
    sim = netsim.Simulation(loaded, tmp_path / "run")
    base = sim.devices.compute_flops.copy()
    sim.run()
    now = sim.devices.compute_flops
    devices = netsim.load_run(tmp_path / "run").devices
    last = devices[devices.t == devices[devices.allocation.notna()].t.max()]
    buyers = last[last.allocation == 1.0].device.to_numpy()
    sellers = last[last.allocation == -1.0].device.to_numpy()
    assert len(buyers) == len(sellers) > 0
    assert now.sum() == pytest.approx(base.sum(), rel=1e-12)  # moved, not created
    assert np.allclose(now[sellers], 0.5 * base[sellers])
    assert (now[buyers] > base[buyers]).all()
    others = np.setdiff1d(np.arange(len(base)), np.concatenate([buyers, sellers]))
    assert np.array_equal(now[others], base[others])
    epochs = netsim.load_run(tmp_path / "run").epochs
    assert (epochs.mechanism == "double_auction").all() and len(epochs) == 2
    assert (epochs.leader_utility <= epochs.optimum_utility + 1e-12).all()
    assert (epochs.realised_revenue >= 0).all()
