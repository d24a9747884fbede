"""Auctions (DESIGN 4.3): a divisible bandwidth auction and a K-slot compute auction.

Bandwidth (at one base station): bidder i values a share x_i of the band (a fraction, the
shares sum to at most 1) at v_i(x) = theta_i ln(1 + x_i s_i), s_i being its full-band rate in
Mbit/s. The welfare-maximising allocation is water-filling, x_i = max(0, theta_i/lambda - 1/s_i)
with the shares summing to 1; VCG payments are p_i = W*_{-i} - sum_{j != i} v_j(x_j).

Compute slots (at one edge server): K identical slots, unit-demand bidders with i.i.d. private
values from a known family (uniform [lo, hi] or exponential); a (K+1)-th price auction with a
reserve r chosen by the leader. Expected revenue follows Myerson: E[sum over winners of
phi(v)], phi(v) = v - (1 - F(v))/f(v), integrated numerically over the winners' order
statistics; the optimal reserve solves phi(r*) = 0 (1/2 for U[0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, xlog1py, xlogy

from netsim.mechanisms.base import MechanismBase, Outcome, batch

# ------------------------------------------------------------------ bandwidth


@dataclass(frozen=True)
class BandwidthState:
    """B auctions of N bidders: valuations theta and full-band rates s (Mbit/s), [B, N].
    A bidder with theta = 0 (padding) gets nothing."""

    theta: np.ndarray
    s: np.ndarray

    @classmethod
    def create(cls, theta, s) -> BandwidthState:
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        return cls(theta, np.broadcast_to(np.atleast_2d(np.asarray(s, dtype=float)),
                                          theta.shape).copy())

    @property
    def n_states(self) -> int:
        return self.theta.shape[0]


def water_filling(theta: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Shares x [B, N] maximising sum theta ln(1 + x s) with sum x = 1, exactly.

    Bidders enter in decreasing order of theta*s (their marginal value at x = 0); with the
    first k active, lambda_k = sum theta / (1 + sum 1/s); k grows while the next bidder's
    theta*s exceeds lambda."""
    order = np.argsort(-(theta * s), axis=1)
    t = np.take_along_axis(theta, order, axis=1)
    r = np.take_along_axis(s, order, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(t > 0, 1.0 / r, 0.0)
        level = np.cumsum(t, axis=1) / (1.0 + np.cumsum(inv, axis=1))  # lambda_k
        active = (t * r > level) & (t > 0)
    n_active = np.maximum(active.cumprod(axis=1).sum(axis=1), 1)
    lam = level[np.arange(len(theta)), n_active - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        x_sorted = np.where(np.arange(theta.shape[1]) < n_active[:, None],
                            np.maximum(t / lam[:, None] - inv, 0.0), 0.0)
    x = np.empty_like(x_sorted)
    np.put_along_axis(x, order, np.nan_to_num(x_sorted), axis=1)
    return x


class BandwidthAuction(MechanismBase):
    """Leader action: the shares x [B, N] (on the simplex); scored by welfare."""

    name = "auction_bandwidth"
    observed_fields = ("theta", "s")

    def bounds(self, state: BandwidthState) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros_like(state.theta), np.ones_like(state.theta)

    @staticmethod
    def values(state: BandwidthState, x: np.ndarray) -> np.ndarray:
        return state.theta * np.log1p(x * state.s)

    @staticmethod
    def project(action: np.ndarray) -> np.ndarray:
        """Non-negative shares summing to at most 1 (scaled down if over)."""
        x = np.clip(np.asarray(action, dtype=float), 0.0, None)
        total = x.sum(axis=1, keepdims=True)
        return np.where(total > 1.0, x / np.maximum(total, 1e-300), x)

    def features(self, state: BandwidthState) -> np.ndarray:
        """theta and log(1 + s) of the bidders in decreasing order of theta*s (the order in
        which water-filling lets them in; padding last): the same auction reads the same
        whatever order its devices come in."""
        order = np.argsort(-(state.theta * state.s), axis=1, kind="stable")
        return np.concatenate([np.take_along_axis(state.theta, order, axis=1),
                               np.log1p(np.take_along_axis(state.s, order, axis=1))], axis=1)

    def pad(self, state: BandwidthState, n: int) -> BandwidthState:
        """The same auctions with n bidders: the added ones (theta = 0, s = 0) get nothing
        and change nothing, so one learned solver serves cells of any size up to n."""
        extra = ((0, 0), (0, n - state.theta.shape[1]))
        return BandwidthState(np.pad(state.theta, extra), np.pad(state.s, extra))

    def policy_bounds(self, state: BandwidthState) -> tuple[np.ndarray, np.ndarray]:
        """Learning solvers choose a water level: log lambda, from where only the bidder with
        the highest theta*s would get a share down to a thousandth of that."""
        top = np.log(np.max(state.theta * state.s, axis=1, keepdims=True))
        return top - np.log(1000.0), top

    def decode(self, state: BandwidthState, action: np.ndarray) -> np.ndarray:
        """Shares on the simplex (the whole band is always handed out). A one-column action
        is a water level log lambda: shares follow the water-filling shape
        max(0, theta/lambda - 1/s), normalised (exact water-filling at the right level), so a
        learned policy predicts one number per state instead of N coupled shares, which a
        critic-guided actor could not (it ran every share to its bound)."""
        action = np.asarray(action, dtype=float)
        if action.shape[1] == 1 and state.theta.shape[1] > 1:
            lam = np.exp(action)
            with np.errstate(divide="ignore"):
                x = np.maximum(state.theta / lam - np.where(state.s > 0, 1.0 / state.s, np.inf),
                               0.0)
            best = np.argmax(state.theta * state.s, axis=1)
            empty = x.sum(axis=1) <= 0
            x[empty, best[empty]] = 1.0
        else:
            x = np.clip(action, 0.0, None) * (state.theta > 0)
        total = x.sum(axis=1, keepdims=True)
        return np.where(total > 0, x / np.where(total > 0, total, 1.0), 1.0 / x.shape[1])

    def vcg_payments(self, state: BandwidthState, x: np.ndarray) -> np.ndarray:
        """Clarke payments [B, N] for allocation x: the others' optimal welfare without i,
        less the others' value under x (N + 1 water-fillings, batched)."""
        b, n = state.theta.shape
        without = np.repeat(state.theta[:, None, :], n, axis=1)  # [B, N, N]: row i drops i
        without[:, np.arange(n), np.arange(n)] = 0.0
        s_rep = np.repeat(state.s[:, None, :], n, axis=1)
        x_without = water_filling(without.reshape(b * n, n), s_rep.reshape(b * n, n))
        best_without = (without.reshape(b * n, n) * np.log1p(x_without * s_rep.reshape(b * n, n))
                        ).sum(axis=1).reshape(b, n)
        value = self.values(state, x)
        others = value.sum(axis=1, keepdims=True) - value
        return np.maximum(best_without - others, 0.0)

    def outcome(self, state: BandwidthState, action: np.ndarray) -> Outcome:
        x = self.project(action)
        value = self.values(state, x)
        payment = self.vcg_payments(state, x)
        return Outcome(value.sum(axis=1), value - payment,
                       {"share": x, "payment": payment, "value": value})

    def utility(self, state: BandwidthState, action: np.ndarray) -> np.ndarray:
        return self.values(state, self.project(action)).sum(axis=1)

    relaxed_utility = utility

    def optimum(self, state: BandwidthState) -> tuple[np.ndarray, np.ndarray]:
        x = water_filling(state.theta, state.s)
        return x, self.utility(state, x)


# ------------------------------------------------------------------ compute slots


@dataclass(frozen=True)
class SlotState:
    """B auctions: K slots, N bidders with values i.i.d. from `family` with (low, high) for
    uniform or (0, mean) for exponential; `bids` [B, N] are the realised values (truthful)."""

    slots: np.ndarray
    low: np.ndarray
    high: np.ndarray
    bids: np.ndarray
    family: str = "uniform"

    @classmethod
    def create(cls, slots, low, high, bids, family: str = "uniform") -> SlotState:
        bids = np.atleast_2d(np.asarray(bids, dtype=float))
        if family not in ("uniform", "exponential"):
            raise ValueError(f"unknown value family '{family}' (allowed: uniform, exponential)")
        n_states = bids.shape[0]
        return cls(batch(slots, n_states).astype(int), batch(low, n_states),
                   batch(high, n_states), bids, family)

    @property
    def n_states(self) -> int:
        return self.bids.shape[0]


def slot_outcome(bids: np.ndarray, slots: np.ndarray, reserve: np.ndarray):
    """(K+1)-th price with reserve: the top K bids at or above r win and each pays
    max(r, the (K+1)-th highest bid). Returns (won [B, N] bool, price [B])."""
    b, n = bids.shape
    order = np.argsort(-bids, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n)[None, :].repeat(b, 0), axis=1)
    won = (rank < slots[:, None]) & (bids >= reserve[:, None])
    sorted_bids = np.take_along_axis(bids, order, axis=1)
    next_bid = np.where(slots < n, sorted_bids[np.arange(b), np.minimum(slots, n - 1)], 0.0)
    return won, np.maximum(reserve, next_bid)


class SlotAuction(MechanismBase):
    """Leader action: the reserve r [B, 1]; scored by expected revenue."""

    name = "auction_compute"
    observed_fields = ("bids",)
    grid_points = 2001

    def bounds(self, state: SlotState) -> tuple[np.ndarray, np.ndarray]:
        if state.family == "uniform":
            return state.low[:, None], state.high[:, None]
        return np.zeros((state.n_states, 1)), 10.0 * state.high[:, None]

    def _cdf_pdf_phi(self, state: SlotState, v: np.ndarray):
        low, high = state.low[:, None], state.high[:, None]
        if state.family == "uniform":
            cdf = np.clip((v - low) / (high - low), 0.0, 1.0)
            pdf = np.where((v >= low) & (v <= high), 1.0 / (high - low), 0.0)
            return cdf, pdf, 2.0 * v - high
        mean = high
        cdf = 1.0 - np.exp(-v / mean)
        return cdf, np.exp(-v / mean) / mean, v - mean

    def expected_revenue(self, state: SlotState, reserve: np.ndarray) -> np.ndarray:
        """E[sum over winners of phi(v)] for i.i.d. values: integrate phi against the density
        of each of the top K order statistics above the reserve (trapezoid rule)."""
        n = state.bids.shape[1]
        top = state.high if state.family == "uniform" else 40.0 * state.high
        t = np.linspace(0.0, 1.0, self.grid_points)[None, :]
        v = reserve[:, None] + (top - reserve)[:, None] * t  # [B, G]
        cdf, pdf, phi = self._cdf_pdf_phi(state, v)
        total = np.zeros_like(v)
        k_max = int(state.slots.max())
        for j in range(1, min(k_max, n) + 1):  # the j-th highest of n values
            log_coef = gammaln(n + 1) - gammaln(j) - gammaln(n - j + 1)
            with np.errstate(divide="ignore"):
                density = np.exp(log_coef + xlogy(n - j, cdf) + xlog1py(j - 1, -cdf))
            total += np.where(j <= state.slots[:, None], density * pdf, 0.0)
        return np.trapezoid(phi * total, v, axis=1)

    def features(self, state: SlotState) -> np.ndarray:
        n = np.full(state.n_states, state.bids.shape[1], dtype=float)
        return np.stack([state.slots.astype(float), n, state.low, state.high], axis=1)

    def decode(self, state: SlotState, action: np.ndarray) -> np.ndarray:
        low, high = self.bounds(state)
        return np.clip(np.asarray(action, dtype=float).reshape(state.n_states, -1), low, high)

    def myerson_reserve(self, state: SlotState) -> np.ndarray:
        """phi(r*) = 0: max(low, high/2) for uniform [low, high]; the mean for exponential."""
        if state.family == "uniform":
            return np.maximum(state.low, state.high / 2.0)
        return state.high.copy()

    def outcome(self, state: SlotState, action: np.ndarray) -> Outcome:
        reserve = np.asarray(action, dtype=float).reshape(state.n_states, -1)[:, 0]
        won, price = slot_outcome(state.bids, state.slots, reserve)
        follower = np.where(won, state.bids - price[:, None], 0.0)
        payment = np.where(won, price[:, None], 0.0)
        return Outcome(self.expected_revenue(state, reserve), follower,
                       {"won": won, "payment": payment, "value": state.bids,
                        "revenue": payment.sum(axis=1, keepdims=True)})

    def utility(self, state: SlotState, action: np.ndarray) -> np.ndarray:
        return self.expected_revenue(state,
                                     np.asarray(action, dtype=float).reshape(state.n_states,
                                                                             -1)[:, 0])

    relaxed_utility = utility

    def optimum(self, state: SlotState) -> tuple[np.ndarray, np.ndarray]:
        reserve = self.myerson_reserve(state)
        return reserve[:, None], self.expected_revenue(state, reserve)
