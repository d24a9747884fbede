"""How close a leader's decisions come to the optimum, in terms that keep their meaning for
any sign of the utilities (DESIGN 6, 'Metrics that keep their meaning').

- regret = optimum - utility (>= 0 for the leader's true utility);
- score = (utility - random) / (optimum - random): 1 at the optimum, 0 for what a uniformly
  random action earns on average (the `random` solver's expectation), negative below it; the
  same meaning whether the optimum is positive or negative;
- ratio = utility / optimum, only where the optimum is positive (NaN elsewhere: a ratio to
  a negative optimum reads "better than optimal" for worse decisions).
Summaries over many epochs take the score of the sums (robust where a single state's optimum
and random baseline nearly coincide).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netsim.mechanisms.base import Mechanism, repeat

BASELINE_ACTIONS = 256
_BASELINE_SEED = 20261130  # a fixed design, not a simulation stream: never changes a run


def _latin_hypercube(n: int, dims: int) -> np.ndarray:
    """n points of a fixed Latin hypercube in [0, 1)^dims (one point per stratum and axis)."""
    rng = np.random.default_rng(_BASELINE_SEED)
    strata = np.argsort(rng.random((dims, n)), axis=1).T  # a permutation per axis
    return (strata + rng.random((n, dims))) / n


def random_utility(mechanism: Mechanism, state: Any) -> np.ndarray:
    """Expected leader utility [B] of a uniformly random action in the mechanism's bounds,
    averaged over a fixed Latin hypercube of BASELINE_ACTIONS actions."""
    low, high = mechanism.bounds(state)
    n_states, dims = low.shape
    unit = _latin_hypercube(BASELINE_ACTIONS, dims)
    actions = low[:, None, :] + (high - low)[:, None, :] * unit[None, :, :]
    if mechanism.utility_of_actions is not None:
        return mechanism.utility_of_actions(state, actions).mean(axis=1)
    utility = mechanism.utility(repeat(state, BASELINE_ACTIONS),
                                actions.reshape(n_states * BASELINE_ACTIONS, dims))
    return utility.reshape(n_states, BASELINE_ACTIONS).mean(axis=1)


def score(utility: np.ndarray | float, optimum: np.ndarray | float,
          baseline: np.ndarray | float) -> np.ndarray:
    """(utility - baseline) / (optimum - baseline); NaN where the two nearly coincide."""
    utility, optimum, baseline = (np.asarray(x, dtype=float) for x in (utility, optimum,
                                                                        baseline))
    gap = optimum - baseline
    meaningful = np.abs(gap) > 1e-9 * np.maximum(1.0, np.abs(optimum))
    return np.where(meaningful, (utility - baseline) / np.where(meaningful, gap, 1.0), np.nan)


def ratio(utility: np.ndarray | float, optimum: np.ndarray | float) -> np.ndarray:
    """utility / optimum where the optimum is positive, else NaN."""
    utility, optimum = np.asarray(utility, dtype=float), np.asarray(optimum, dtype=float)
    positive = optimum > 0
    return np.where(positive, utility / np.where(positive, optimum, 1.0), np.nan)


def summarise(leader: np.ndarray, optimum: np.ndarray, baseline: np.ndarray) -> dict[str, float]:
    """Means over epochs, the mean regret, and the score and ratio of the means."""
    if len(leader) == 0:
        return {key: float("nan") for key in ("mean_leader_utility", "mean_optimum_utility",
                                              "mean_random_utility", "regret", "score",
                                              "ratio")}
    mean_leader, mean_optimum = float(np.mean(leader)), float(np.mean(optimum))
    mean_random = float(np.nanmean(baseline)) if np.isfinite(baseline).any() else float("nan")
    return {"mean_leader_utility": mean_leader, "mean_optimum_utility": mean_optimum,
            "mean_random_utility": mean_random, "regret": mean_optimum - mean_leader,
            "score": float(score(mean_leader, mean_optimum, mean_random)),
            "ratio": float(ratio(mean_leader, mean_optimum))}
