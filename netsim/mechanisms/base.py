"""The mechanism protocol: a pure, batched model of one market.

A mechanism maps a batch of states (numpy arrays with a leading batch axis B) and a leader
action per state (shape [B, A]) to every party's response and utility, and knows its exact
optimum. Mechanisms never touch the engine; solvers see only this protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Outcome:
    """What a leader action leads to, for a batch of states."""

    leader_utility: np.ndarray  # [B]
    follower_utility: np.ndarray  # [B, N]
    decisions: dict[str, np.ndarray] = field(default_factory=dict)  # per-follower arrays [B, N]


@runtime_checkable
class Mechanism(Protocol):
    name: str

    def bounds(self, state: Any) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the leader action, each [B, A]."""

    def outcome(self, state: Any, action: np.ndarray) -> Outcome:
        """Followers' best responses and everyone's utility under `action` [B, A]."""

    def utility(self, state: Any, action: np.ndarray) -> np.ndarray:
        """The leader's utility [B] under `action` [B, A]."""

    def optimum(self, state: Any) -> tuple[np.ndarray, np.ndarray]:
        """The exact optimal leader action [B, A] and its utility [B]."""

    def relaxed_utility(self, state: Any, action: np.ndarray) -> np.ndarray:
        """A smooth (continuous) relaxation of the leader's utility [B], for generic solvers."""

    def features(self, state: Any) -> np.ndarray:
        """What a learning solver sees of each state, [B, F] (fixed F for fixed N)."""

    def decode(self, state: Any, action: np.ndarray) -> np.ndarray:
        """A raw action in the bounds -> the action played (mechanisms may use their
        structure, e.g. snap a price onto a threshold); the identity by default."""

    # optional parts, with defaults in MechanismBase
    observed_fields: tuple[str, ...]  # follower parameters a partially informed leader sees
    # (state, n) -> the same states with n followers, the added ones taking no part; None if
    # the mechanism's states cannot be padded
    pad: Callable[[Any, int], Any] | None
    # state -> the leader's optimal actions [B, A] from a convex program; None if none
    convex_program_batch: Callable[[Any], np.ndarray] | None
    # (state, actions [B, K, A]) -> the leader's utility [B, K] of K actions on each state,
    # equal to `utility` on the states repeated K times but without repeating them; None
    # if the mechanism has no faster way
    utility_of_actions: Callable[[Any, np.ndarray], np.ndarray] | None

    def policy_bounds(self, state: Any) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of the space learning solvers act in ([B, A'] each), which `decode` maps
        to actions: the action's own bounds unless the mechanism offers a smaller one."""


class MechanismBase:
    """Defaults of the protocol's optional parts; a mechanism inherits them and overrides
    what it offers."""

    observed_fields: tuple[str, ...] = ()
    pad = None
    convex_program_batch = None
    utility_of_actions = None

    def decode(self, state: Any, action: np.ndarray) -> np.ndarray:
        return np.asarray(action, dtype=float)

    def policy_bounds(self, state: Any) -> tuple[np.ndarray, np.ndarray]:
        return self.bounds(state)


def affine_to_bounds(mechanism: Mechanism, state: Any, unit: np.ndarray) -> np.ndarray:
    """Map actions in [-1, 1]^A to the learning solvers' bounds."""
    low, high = mechanism.policy_bounds(state)
    return low + (np.clip(unit, -1.0, 1.0) + 1.0) * 0.5 * (high - low)


def batch(x: Any, n_states: int) -> np.ndarray:
    """A per-state parameter as a float array of shape [B] (scalars are broadcast)."""
    return np.broadcast_to(np.asarray(x, dtype=float), (n_states,)).copy()


def followers_of(state: Any) -> int:
    """The number of followers in each state of a batch (its per-follower arrays' width)."""
    return next(v.shape[1] for v in vars(state).values()
                if isinstance(v, np.ndarray) and v.ndim == 2)


def select(state: Any, index: np.ndarray | slice) -> Any:
    """States `index` of a batch (every array field sliced along its batch axis)."""
    fields = {name: (value[index] if isinstance(value, np.ndarray) else value)
              for name, value in vars(state).items()}
    return type(state)(**fields)


def repeat(state: Any, k: int) -> Any:
    """Each state of a batch repeated k times in a row (for k candidates per state)."""
    return select(state, np.repeat(np.arange(state.n_states), k))


def observe(mechanism: Mechanism, state: Any, noise: float, rng: np.random.Generator) -> Any:
    """What a leader with partial information sees: each follower parameter the mechanism
    names in `observed_fields` times an independent log-normal error of sigma `noise`."""
    if noise <= 0:
        return state
    fields = dict(vars(state))
    for name in mechanism.observed_fields:
        value = fields[name]
        fields[name] = value * np.exp(noise * rng.standard_normal(value.shape))
    return type(state)(**fields)


def stack_states(states: list[Any]) -> Any:
    """One batch from a list of batches of the same kind and follower count."""
    first = states[0]
    fields = {}
    for name, value in vars(first).items():
        fields[name] = (np.concatenate([getattr(s, name) for s in states])
                        if isinstance(value, np.ndarray) else value)
    return type(first)(**fields)
