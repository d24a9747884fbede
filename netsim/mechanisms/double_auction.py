"""A double auction for compute: buyers (tasks that want compute) and sellers (devices with
spare compute), one unit each, cleared by McAfee's trade-reduction rule (McAfee 1992,
"A dominant strategy double auction", J. Econ. Theory 56).

Sort bids b_1 >= b_2 >= ... and asks s_1 <= s_2 <= ...; k is the efficient number of trades
(the largest k with b_k >= s_k). With p0 = (b_{k+1} + s_{k+1}) / 2 (b_{k+1} = +inf... as below),
if s_k <= p0 <= b_k all k pairs trade at p0; otherwise the k - 1 first pairs trade, buyers
pay b_k and sellers receive s_k. Reporting one's value (cost) truthfully is a dominant
strategy, the market maker never pays (it keeps (k - 1)(b_k - s_k) in the second case), and
at most the least valuable efficient trade is lost.

The leader (the market maker) takes no decision: McAfee's rule fixes prices. Its action is
one ignored number, so every solver plays the same rule; its utility is the realised gains
from trade, and the exact baseline (`optimum`) is the welfare-maximising allocation, which no
truthful, budget-balanced rule reaches in general: the epochs table's regret is the price of
those two properties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netsim.mechanisms.base import MechanismBase, Outcome


@dataclass(frozen=True)
class DoubleAuctionState:
    """B auctions: `bids` [B, N] buyers' values, `asks` [B, M] sellers' costs (per unit)."""

    bids: np.ndarray
    asks: np.ndarray

    @classmethod
    def create(cls, bids, asks) -> DoubleAuctionState:
        return cls(np.atleast_2d(np.asarray(bids, dtype=float)),
                   np.atleast_2d(np.asarray(asks, dtype=float)))

    @property
    def n_states(self) -> int:
        return self.bids.shape[0]


def efficient_trades(bids: np.ndarray, asks: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Per state: bids sorted high to low, asks low to high, and k (the efficient number)."""
    b = -np.sort(-bids, axis=1)
    s = np.sort(asks, axis=1)
    m = min(b.shape[1], s.shape[1])
    k = np.sum(b[:, :m] >= s[:, :m], axis=1)  # b_i - s_i falls with i: a prefix
    return b, s, k


def mcafee(bids: np.ndarray, asks: np.ndarray):
    """McAfee's rule for every state: (buyer trades [B, N], seller trades [B, M],
    buyer price [B], seller price [B])."""
    b, s, k = efficient_trades(bids, asks)
    n_states = len(k)
    rows = np.arange(n_states)
    inf = np.inf
    b_pad = np.concatenate([b, np.full((n_states, 1), -inf)], axis=1)  # b_{N+1} = -inf
    s_pad = np.concatenate([s, np.full((n_states, 1), inf)], axis=1)  # s_{M+1} = +inf
    kk = np.maximum(k - 1, 0)
    b_k, s_k = b_pad[rows, kk], s_pad[rows, kk]
    b_next, s_next = b_pad[rows, k], s_pad[rows, k]
    with np.errstate(invalid="ignore"):
        p0 = (b_next + s_next) / 2.0  # nan or inf when a side has no (k+1)-th trader
    all_trade = (k > 0) & np.isfinite(p0) & (s_k <= p0) & (p0 <= b_k)
    trades = np.where(all_trade, k, np.maximum(k - 1, 0))
    buyer_price = np.where(all_trade, p0, b_k)
    seller_price = np.where(all_trade, p0, s_k)
    # the traders are the `trades` highest bidders and lowest askers (ties: first listed)
    buyer_rank = np.argsort(np.argsort(-bids, axis=1, kind="stable"), axis=1, kind="stable")
    seller_rank = np.argsort(np.argsort(asks, axis=1, kind="stable"), axis=1, kind="stable")
    return (buyer_rank < trades[:, None], seller_rank < trades[:, None], buyer_price,
            seller_price)


class DoubleAuction(MechanismBase):
    """McAfee's double auction; the leader's single action is ignored (see module)."""

    name = "double_auction"
    observed_fields = ("bids", "asks")

    def bounds(self, state: DoubleAuctionState) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((state.n_states, 1)), np.ones((state.n_states, 1))

    def outcome(self, state: DoubleAuctionState, action: np.ndarray) -> Outcome:
        buys, sells, buyer_price, seller_price = mcafee(state.bids, state.asks)
        buyer_utility = np.where(buys, state.bids - buyer_price[:, None], 0.0)
        seller_utility = np.where(sells, seller_price[:, None] - state.asks, 0.0)
        welfare = ((state.bids * buys).sum(axis=1) - (state.asks * sells).sum(axis=1))
        surplus = buys.sum(axis=1) * (buyer_price - seller_price)  # kept by the market maker
        return Outcome(welfare, np.concatenate([buyer_utility, seller_utility], axis=1),
                       {"buys": buys, "sells": sells,
                        "buyer_price": np.broadcast_to(buyer_price[:, None], buys.shape),
                        "seller_price": np.broadcast_to(seller_price[:, None], sells.shape),
                        "revenue": np.where(buys.any(axis=1), surplus, 0.0)[:, None]})

    def utility(self, state: DoubleAuctionState, action: np.ndarray) -> np.ndarray:
        return self.outcome(state, action).leader_utility

    relaxed_utility = utility

    def optimum(self, state: DoubleAuctionState) -> tuple[np.ndarray, np.ndarray]:
        """The welfare-maximising allocation's gains from trade (no action reaches it when
        McAfee reduces a trade; the action returned is the one every rule plays)."""
        b, s, k = efficient_trades(state.bids, state.asks)
        m = min(b.shape[1], s.shape[1])
        gains = np.where(np.arange(m)[None, :] < k[:, None], b[:, :m] - s[:, :m], 0.0)
        return np.full((state.n_states, 1), 0.5), gains.sum(axis=1)

    def features(self, state: DoubleAuctionState) -> np.ndarray:
        return np.concatenate([-np.sort(-state.bids, axis=1), np.sort(state.asks, axis=1)],
                              axis=1)
