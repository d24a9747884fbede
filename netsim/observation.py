"""A leader's view of its game as a fixed-length vector in (-1, 1), for the RL interfaces
(netsim/gym.py, netsim/multi_agent.py): games change size as devices move between cells, a
policy's input may not."""

from __future__ import annotations

from typing import Any

import numpy as np

from netsim.mechanisms.base import Mechanism, select


class LeaderView:
    """Features of the first game in a batch, each over its magnitude in a reference game
    (1 where that is 0), then tanh. A mechanism that can pad its games (non-bidders that
    change nothing) is padded to `followers`, so every game reads at the same length with
    the same meaning; otherwise the features are cut or zero-padded to the reference's."""

    def __init__(self, mechanism: Mechanism, reference: Any, followers: int):
        self.mechanism = mechanism
        self.followers = followers if mechanism.pad is not None else None
        features = self._features(reference)
        self.size = len(features)
        self.scale = np.where(np.abs(features) > 0, np.abs(features), 1.0)

    def _features(self, state: Any) -> np.ndarray:
        one = select(state, slice(0, 1))
        if self.followers is not None:
            one = self.mechanism.pad(one, self.followers)
        return self.mechanism.features(one)[0]

    def __call__(self, state: Any) -> np.ndarray:
        features = self._features(state)
        fitted = np.zeros(self.size)
        fitted[:min(self.size, len(features))] = features[:self.size]
        return np.tanh(fitted / self.scale).astype(np.float32)
