"""Contract theory with hidden device types (DESIGN 4.2).

K types 0 < theta_1 < ... < theta_K (contribution efficiency), N_k devices of type k. The
principal offers a menu {(q_k, R_k)}; a device of type k picks the item maximising
R - q/theta_k (outside option 0). Principal: U_P = sum_k N_k (beta ln(1 + q_k) - R_k).
The leader's action is the contribution vector q [B, K]; rewards follow from the binding
constraints (R_1 = q_1/theta_1, R_k = R_{k-1} + (q_k - q_{k-1})/theta_k), which make the menu
incentive compatible when q is non-decreasing. Substituting them gives
    U_P = sum_k (N_k beta ln(1 + q_k) - w_k q_k),
    w_k = N_k/theta_k + (sum_{j>k} N_j) (1/theta_k - 1/theta_{k+1}),
so q_k* = max(0, N_k beta / w_k - 1), with adjacent types pooled ("ironing") where that is
not monotone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from netsim.mechanisms.base import MechanismBase, Outcome, batch


@dataclass(frozen=True)
class ContractState:
    """B principals, each facing K types: theta and counts [B, K] (theta ascending)."""

    theta: np.ndarray
    count: np.ndarray
    beta: np.ndarray
    q_max: np.ndarray

    @classmethod
    def create(cls, theta, count, beta, q_max=1e6) -> ContractState:
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        count = np.broadcast_to(np.atleast_2d(np.asarray(count, dtype=float)), theta.shape)
        if np.any(np.diff(theta, axis=1) <= 0):
            raise ValueError("contract types must have strictly increasing theta")
        return cls(theta, count.copy(), batch(beta, len(theta)), batch(q_max, len(theta)))

    @property
    def n_states(self) -> int:
        return self.theta.shape[0]

    def weights(self) -> np.ndarray:
        """w_k [B, K]: the marginal information-rent-inclusive cost of q_k."""
        above = np.cumsum(self.count[:, ::-1], axis=1)[:, ::-1] - self.count  # sum_{j>k} N_j
        inv = 1.0 / self.theta
        step = np.zeros_like(inv)
        step[:, :-1] = inv[:, :-1] - inv[:, 1:]
        return self.count * inv + above * step


def binding_rewards(theta: np.ndarray, q: np.ndarray) -> np.ndarray:
    """R_1 = q_1/theta_1, R_k = R_{k-1} + (q_k - q_{k-1})/theta_k."""
    dq = np.diff(q, axis=1, prepend=0.0)
    return np.cumsum(dq / theta, axis=1)


def pool_adjacent(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Isotonic (non-decreasing) weighted fit of `values` by pooling adjacent violators."""
    out = np.empty_like(values)
    for row in range(values.shape[0]):
        blocks: list[list[float]] = []  # [weighted sum, weight, length]
        for v, w in zip(values[row].tolist(), weights[row].tolist()):
            blocks.append([v * w, w, 1])
            while len(blocks) > 1 and (blocks[-2][0] / blocks[-2][1]
                                       > blocks[-1][0] / blocks[-1][1]):
                s, w2, n = blocks.pop()
                blocks[-1][0] += s
                blocks[-1][1] += w2
                blocks[-1][2] += n
        out[row] = np.concatenate([np.full(n, s / w) for s, w, n in blocks])
    return out


class Contract(MechanismBase):
    """Leader action: the menu's contributions q [B, K]."""

    name = "contract"
    observed_fields = ("count",)

    def bounds(self, state: ContractState) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros_like(state.theta), np.broadcast_to(state.q_max[:, None],
                                                           state.theta.shape).copy()

    def outcome(self, state: ContractState, action: np.ndarray) -> Outcome:
        """Each type picks its best item (or opts out); ties go to its own item."""
        q = np.clip(np.asarray(action, dtype=float), 0.0, state.q_max[:, None])
        reward = binding_rewards(state.theta, q)
        # payoff[b, k, j]: type k taking item j; column K is the outside option (0, 0)
        payoff = reward[:, None, :] - q[:, None, :] / state.theta[:, :, None]
        payoff = np.concatenate([payoff, np.zeros((*payoff.shape[:2], 1))], axis=2)
        k = state.theta.shape[1]
        own = np.arange(k)
        best = payoff.max(axis=2)
        own_ok = payoff[:, own, own] >= best - 1e-12
        choice = np.where(own_ok, own, np.argmax(payoff, axis=2))
        taken = choice < k
        rows = np.arange(state.n_states)[:, None]
        q_taken = np.where(taken, q[rows, np.minimum(choice, k - 1)], 0.0)
        r_taken = np.where(taken, reward[rows, np.minimum(choice, k - 1)], 0.0)
        leader = (state.count * (state.beta[:, None] * np.log1p(q_taken) - r_taken)).sum(axis=1)
        follower = r_taken - q_taken / state.theta
        return Outcome(leader, follower, {"item": np.where(taken, choice, -1),
                                          "contribution": q_taken, "reward": r_taken})

    def utility(self, state: ContractState, action: np.ndarray) -> np.ndarray:
        return self.outcome(state, action).leader_utility

    def relaxed_utility(self, state: ContractState, action: np.ndarray) -> np.ndarray:
        q = np.asarray(action, dtype=float)
        return (state.count * state.beta[:, None] * np.log1p(q) - state.weights() * q).sum(axis=1)

    def features(self, state: ContractState) -> np.ndarray:
        return np.concatenate([state.theta, state.count, state.beta[:, None],
                               state.q_max[:, None]], axis=1)

    def decode(self, state: ContractState, action: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(action, dtype=float), 0.0, state.q_max[:, None])

    def closed_form(self, state: ContractState) -> np.ndarray:
        """q* with ironing: pool adjacent types where N_k beta / w_k would decrease."""
        w = state.weights()
        ratio = pool_adjacent(state.count * state.beta[:, None] / w, w)
        return np.clip(ratio - 1.0, 0.0, state.q_max[:, None])

    def optimum(self, state: ContractState) -> tuple[np.ndarray, np.ndarray]:
        """The closed form; with a monotone q the binding rewards are IC, so every type takes
        its own item and U_P equals the substituted (relaxed) objective."""
        q = self.closed_form(state)
        return q, self.relaxed_utility(state, q)

    def convex_program_batch(self, state: ContractState) -> np.ndarray:
        """q from the explicit convex program (cvxpy), state by state."""
        return np.stack([convex_program(state.theta[i], state.count[i], state.beta[i],
                                        state.q_max[i])[0] for i in range(state.n_states)])


def convex_program(theta: np.ndarray, count: np.ndarray, beta: float,
                   q_max: float = 1e6) -> tuple[np.ndarray, np.ndarray, float]:
    """The principal's problem for one state as a convex program (cvxpy): every IC and IR
    constraint explicit, nothing assumed about which bind. Returns (q, R, U_P)."""
    import cvxpy as cp

    k = len(theta)
    q = cp.Variable(k, nonneg=True)
    reward = cp.Variable(k)
    net = [reward[i] - q[i] / theta[i] for i in range(k)]
    constraints = [q <= q_max] + [n >= 0 for n in net]
    constraints += [net[i] >= reward[j] - q[j] / theta[i]
                    for i in range(k) for j in range(k) if i != j]
    objective = cp.Maximize(cp.sum(cp.multiply(count, beta * cp.log1p(q) - reward)))
    problem = cp.Problem(objective, constraints)
    problem.solve(solver=cp.CLARABEL)
    if problem.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"contract convex program: solver status {problem.status}")
    return np.asarray(q.value), np.asarray(reward.value), float(problem.value)
