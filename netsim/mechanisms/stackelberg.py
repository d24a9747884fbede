"""Stackelberg pricing for split inference (DESIGN 4.1, the case study of paper P1).

The leader (edge server) announces a price p per layer computed on a device; device n picks an
integer number of layers l_n in 0..L to run itself:
    U_n(l; p) = p*l + alpha_n * ln(1 + C_n^max - a*l - b),   feasible while a*l + b <= C_n^max
    U_s(p)    = R - sum_n [ p*l_n(p) + c*(L - l_n(p)) ]
Device n prefers k layers to k-1 iff p >= tau_{n,k} = alpha_n ln((1+C-b-a(k-1)) / (1+C-b-ak)),
which increases in k, so l_n(p) = #{feasible k : tau_{n,k} <= p} (ties go to more layers).
U_s is linear and decreasing in p between thresholds, so the exact optimum is at p_min or at
a threshold inside [p_min, p_max]. The paper's text lost the symbols; this exact form is ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netsim.mechanisms.base import MechanismBase, Outcome, batch


@dataclass(frozen=True)
class StackelbergState:
    """B pricing games of N devices: per-device arrays [B, N], shared parameters [B]."""

    alpha: np.ndarray
    c_max: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    R: np.ndarray
    p_min: np.ndarray
    p_max: np.ndarray
    n_layers: int

    @classmethod
    def create(cls, alpha, c_max, a, b, c, R, p_min, p_max, n_layers: int) -> StackelbergState:
        """Build a batch; per-device arrays may be [N] (one state) or [B, N]."""
        alpha = np.atleast_2d(np.asarray(alpha, dtype=float))
        c_max = np.broadcast_to(np.atleast_2d(np.asarray(c_max, dtype=float)), alpha.shape)
        n_states = alpha.shape[0]
        return cls(alpha, c_max.copy(), *(batch(x, n_states) for x in (a, b, c, R, p_min, p_max)),
                   int(n_layers))

    @property
    def n_states(self) -> int:
        return self.alpha.shape[0]

    def max_layers(self) -> np.ndarray:
        """The most layers each device can take on, [B, N]."""
        room = np.floor((self.c_max - self.b[:, None]) / self.a[:, None] + 1e-12)
        return np.clip(room, 0, self.n_layers).astype(int)

    def thresholds(self) -> np.ndarray:
        """tau[B, N, L]: the price at which a device takes its k-th layer (inf if infeasible)."""
        k = np.arange(1, self.n_layers + 1)
        slack = 1.0 + self.c_max[..., None] - self.b[:, None, None]  # [B, N, 1]
        a = self.a[:, None, None]
        feasible = k <= self.max_layers()[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = self.alpha[..., None] * np.log((slack - a * (k - 1)) / (slack - a * k))
        return np.where(feasible, tau, np.inf)


class Stackelberg(MechanismBase):
    """The leader's action is one price per state: action shape [B, 1]."""

    name = "stackelberg"
    observed_fields = ("alpha", "c_max")

    def bounds(self, state: StackelbergState) -> tuple[np.ndarray, np.ndarray]:
        return state.p_min[:, None], state.p_max[:, None]

    def best_response(self, state: StackelbergState, price: np.ndarray) -> np.ndarray:
        """Integer layers l[B, N] each device runs at price[B]."""
        return (state.thresholds() <= price[:, None, None]).sum(axis=2)

    def device_utility(self, state: StackelbergState, price: np.ndarray,
                       layers: np.ndarray) -> np.ndarray:
        left = 1.0 + state.c_max - state.a[:, None] * layers - state.b[:, None]
        return price[:, None] * layers + state.alpha * np.log(left)

    def _leader(self, state: StackelbergState, price: np.ndarray,
                total_layers: np.ndarray) -> np.ndarray:
        n_devices = state.alpha.shape[1]
        return (state.R - state.c * n_devices * state.n_layers
                + (state.c - price) * total_layers)

    def outcome(self, state: StackelbergState, action: np.ndarray) -> Outcome:
        price = np.clip(np.asarray(action, dtype=float).reshape(state.n_states, -1)[:, 0],
                        state.p_min, state.p_max)
        layers = self.best_response(state, price)
        return Outcome(self._leader(state, price, layers.sum(axis=1)),
                       self.device_utility(state, price, layers), {"split_layer": layers})

    def utility(self, state: StackelbergState, action: np.ndarray) -> np.ndarray:
        return self.outcome(state, action).leader_utility

    def optimum(self, state: StackelbergState) -> tuple[np.ndarray, np.ndarray]:
        """Exact: evaluate p_min and every threshold in [p_min, p_max]; keep the best."""
        tau = np.sort(state.thresholds().reshape(state.n_states, -1), axis=1)  # [B, M]
        m = tau.shape[1]
        # layers taken at price tau[j] = number of thresholds <= tau[j] (the whole tie run)
        last_of_run = np.ones_like(tau, dtype=bool)
        last_of_run[:, :-1] = tau[:, :-1] != tau[:, 1:]
        run_end = np.where(last_of_run, np.arange(m), m)
        count = np.minimum.accumulate(run_end[:, ::-1], axis=1)[:, ::-1] + 1
        inside = (tau >= state.p_min[:, None]) & (tau <= state.p_max[:, None])
        values = np.where(inside, self._leader_grid(state, tau, count), -np.inf)
        at_min = self._leader(state, state.p_min, (tau <= state.p_min[:, None]).sum(axis=1))
        best = np.argmax(values, axis=1)
        rows = np.arange(state.n_states)
        use_threshold = values[rows, best] > at_min
        price = np.where(use_threshold, tau[rows, best], state.p_min)
        return price[:, None], np.maximum(values[rows, best], at_min)

    def utility_of_actions(self, state: StackelbergState, actions: np.ndarray) -> np.ndarray:
        """Leader utility [B, K] of K prices per state: the layers taken at a price are the
        thresholds at or below it, counted in the sorted thresholds (the same integers as
        the best responses' sum, so the same utilities as `utility`, far faster)."""
        price = np.clip(np.asarray(actions, dtype=float)[..., 0], state.p_min[:, None],
                        state.p_max[:, None])
        tau = np.sort(state.thresholds().reshape(state.n_states, -1), axis=1)
        total = np.stack([np.searchsorted(tau[b], price[b], side="right")
                          for b in range(state.n_states)])
        return self._leader_grid(state, price, total)

    def _leader_grid(self, state: StackelbergState, price: np.ndarray,
                     total_layers: np.ndarray) -> np.ndarray:
        n_devices = state.alpha.shape[1]
        const = state.R - state.c * n_devices * state.n_layers
        return const[:, None] + (state.c[:, None] - price) * total_layers

    def features(self, state: StackelbergState) -> np.ndarray:
        """Devices sorted by alpha (their order carries no meaning), then shared parameters."""
        order = np.argsort(state.alpha, axis=1)
        alpha = np.take_along_axis(state.alpha, order, axis=1)
        c_max = np.take_along_axis(state.c_max, order, axis=1)
        shared = np.stack([state.a, state.b, state.c, state.p_min, state.p_max], axis=1)
        return np.concatenate([alpha, c_max, shared], axis=1)

    def decode(self, state: StackelbergState, action: np.ndarray) -> np.ndarray:
        """Snap a price down onto the nearest threshold (or p_min): between thresholds the
        leader's utility falls with the price, so this never lowers it, and a learned policy
        then only has to land on the right tooth of the sawtooth, not on its edge."""
        price = np.clip(np.asarray(action, dtype=float).reshape(state.n_states, -1)[:, 0],
                        state.p_min, state.p_max)
        tau = state.thresholds().reshape(state.n_states, -1)
        tau = np.where(tau <= price[:, None], tau, -np.inf).max(axis=1)
        return np.maximum(tau, state.p_min)[:, None]

    # ------------------------------------------------------------------ continuous relaxation

    def relaxed_response(self, state: StackelbergState, price: np.ndarray) -> np.ndarray:
        """Real-valued layers: clip(D - alpha/p, 0, min(L, (C - b)/a)), D = (1 + C - b)/a."""
        a, b = state.a[:, None], state.b[:, None]
        upper = np.clip((state.c_max - b) / a, 0.0, state.n_layers)
        demand = (1.0 + state.c_max - b) / a
        return np.clip(demand - state.alpha / price[:, None], 0.0, upper)

    def relaxed_utility(self, state: StackelbergState, action: np.ndarray) -> np.ndarray:
        price = np.asarray(action, dtype=float).reshape(state.n_states, -1)[:, 0]
        return self._leader(state, price, self.relaxed_response(state, price).sum(axis=1))

    def relaxed_optimum(self, state: StackelbergState) -> tuple[np.ndarray, np.ndarray]:
        """Closed form of the relaxation: between breakpoints (where a device's layers hit 0 or
        its cap) the active set is fixed and the stationary point is
        p = sqrt(c * sum_active alpha / (sum_active D + sum_capped cap)); with every device
        interior this is p* = sqrt(c * sum alpha / sum D). Candidates: those points, the
        breakpoints and the bounds."""
        a, b = state.a[:, None], state.b[:, None]
        upper = np.clip((state.c_max - b) / a, 0.0, state.n_layers)
        demand = (1.0 + state.c_max - b) / a
        with np.errstate(divide="ignore"):
            enter = state.alpha / demand  # layers > 0 above this price
            cap = np.where(demand > upper, state.alpha / (demand - upper), np.inf)  # capped above
        breaks = np.sort(np.concatenate([enter, cap, state.p_min[:, None], state.p_max[:, None]],
                                        axis=1), axis=1)
        mids = np.where(np.isfinite(breaks[:, 1:]), 0.5 * (breaks[:, :-1] + breaks[:, 1:]),
                        breaks[:, :-1])
        active = (mids[..., None] > enter[:, None, :]) & (mids[..., None] < cap[:, None, :])
        capped = mids[..., None] >= cap[:, None, :]
        sum_alpha = (active * state.alpha[:, None, :]).sum(axis=2)
        sum_take = (active * demand[:, None, :] + capped * upper[:, None, :]).sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            stationary = np.sqrt(state.c[:, None] * sum_alpha / sum_take)
        candidates = np.concatenate([breaks, np.nan_to_num(stationary, nan=np.inf)], axis=1)
        candidates = np.clip(candidates, state.p_min[:, None], state.p_max[:, None])
        values = np.stack([self.relaxed_utility(state, candidates[:, j])
                           for j in range(candidates.shape[1])], axis=1)
        best = np.argmax(values, axis=1)
        rows = np.arange(state.n_states)
        return candidates[rows, best][:, None], values[rows, best]
