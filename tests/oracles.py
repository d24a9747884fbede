"""Oracles that share no code with netsim: brute force, closed forms and cvxpy programs,
written from DESIGN's formulas. Tests compare the project's optima and decisions with these,
never with the project's own optimum (which a solver may simply return)."""

from __future__ import annotations

import numpy as np


def stackelberg_layers(alpha: float, c_max: float, a: float, b: float, price: float,
                       n_layers: int) -> int:
    """A device's best response by brute force over k = 0..L: maximise p k + alpha
    ln(1 + C - a k - b) over the feasible k (a k + b <= C); ties go to more layers."""
    best_k, best_u = 0, -np.inf
    for k in range(n_layers + 1):
        if a * k + b > c_max:
            break
        u = price * k + alpha * np.log(1.0 + c_max - a * k - b)
        if u >= best_u - 1e-9 * max(1.0, abs(best_u)):
            best_k, best_u = k, max(u, best_u)
    return best_k


def stackelberg_leader(alpha, c_max, a: float, b: float, c: float, R: float, price: float,
                       n_layers: int) -> float:
    """U_L = R - c N L + (c - p) sum_n l_n, with each l_n the brute-force best response."""
    total = sum(stackelberg_layers(al, cm, a, b, price, n_layers)
                for al, cm in zip(alpha, c_max))
    return R - c * len(alpha) * n_layers + (c - price) * total


def stackelberg_optimum(alpha, c_max, a: float, b: float, c: float, R: float, p_min: float,
                        p_max: float, n_layers: int) -> tuple[float, float]:
    """(price, U_L) by enumeration: between the prices at which some device takes one more
    layer the leader's utility falls with the price, so the best price is p_min or one of
    those thresholds, p = alpha ln((1 + C - b - a(k-1)) / (1 + C - b - a k))."""
    candidates = [p_min]
    for al, cm in zip(alpha, c_max):
        for k in range(1, n_layers + 1):
            if a * k + b > cm:
                break
            p = al * np.log((1.0 + cm - b - a * (k - 1)) / (1.0 + cm - b - a * k))
            if p_min <= p <= p_max:
                candidates.append(p)
    values = [stackelberg_leader(alpha, c_max, a, b, c, R, p, n_layers) for p in candidates]
    best = int(np.argmax(values))
    return candidates[best], values[best]


def water_filling_welfare(theta, s) -> float:
    """max sum theta_i ln(1 + x_i s_i) over the simplex, by bisection on the water level
    lambda in x_i = max(0, theta_i / lambda - 1 / s_i) (the KKT conditions)."""
    theta, s = np.asarray(theta, float), np.asarray(s, float)
    live = (theta > 0) & (s > 0)
    theta, s = theta[live], s[live]
    low, high = 1e-12, float(np.max(theta * s))
    for _ in range(200):
        lam = 0.5 * (low + high)
        if np.maximum(theta / lam - 1.0 / s, 0.0).sum() > 1.0:
            low = lam
        else:
            high = lam
    x = np.maximum(theta / high - 1.0 / s, 0.0)
    return float((theta * np.log1p(x * s)).sum())


def contract_program(theta, count, beta: float,
                     q_max: float = np.inf) -> tuple[np.ndarray, float]:
    """The principal's contract problem with every IC and IR constraint written out (cvxpy):
    max sum_k N_k (beta ln(1 + q_k) - R_k) s.t. R_k - q_k/theta_k >= R_j - q_j/theta_k and
    >= 0, q_k <= q_max. Returns (q, U_P)."""
    import cvxpy as cp

    theta, count = np.asarray(theta, float), np.asarray(count, float)
    k = len(theta)
    q, reward = cp.Variable(k, nonneg=True), cp.Variable(k)
    constraints = [q <= q_max] if np.isfinite(q_max) else []
    for i in range(k):
        constraints.append(reward[i] - q[i] / theta[i] >= 0)
        constraints += [reward[i] - q[i] / theta[i] >= reward[j] - q[j] / theta[i]
                        for j in range(k) if j != i]
    problem = cp.Problem(cp.Maximize(count @ (beta * cp.log1p(q)) - count @ reward), constraints)
    problem.solve(solver=cp.CLARABEL)
    return np.asarray(q.value), float(problem.value)
