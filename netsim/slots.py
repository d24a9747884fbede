"""Reusable slots: indices into arrays held elsewhere (tasks in flight, radio transfers),
handed out from a stack of freed ones first, so the arrays grow with what is in flight at
once, not with the run; and `make_room`, which grows such arrays (compiled code that fills
them cannot)."""

from __future__ import annotations

import numpy as np


class Slots:
    """Hands out slot indices 0, 1, ... and takes them back for reuse."""

    def __init__(self) -> None:
        self.used = 0  # slots ever handed out: the arrays they index need this many rows
        self._free = np.zeros(1024, dtype=np.int64)  # a stack of freed slots
        self._n_free = 0

    def take(self, n: int) -> np.ndarray:
        """n slots: freed ones first (the latest freed last), then new ones."""
        reused = min(n, self._n_free)
        self._n_free -= reused
        first_new = self.used
        self.used += n - reused
        return np.concatenate((self._free[self._n_free:self._n_free + reused],
                               np.arange(first_new, self.used, dtype=np.int64)))

    def give_back(self, slots: np.ndarray) -> None:
        n = len(slots)
        if self._n_free + n > len(self._free):
            grown = np.zeros(max(2 * len(self._free), self._n_free + n), dtype=np.int64)
            grown[:self._n_free] = self._free[:self._n_free]
            self._free = grown
        self._free[self._n_free:self._n_free + n] = slots
        self._n_free += n


def make_room(owner: object, names: tuple[str, ...], keep: int, need: int,
              fill: dict[str, float] | None = None) -> None:
    """Give the arrays `owner.<name>` at least `need` rows (doubling), keeping their first
    `keep`; new rows hold `fill[name]` (0 by default)."""
    if need <= len(getattr(owner, names[0])):
        return
    size = max(1024, 2 * need)
    for name in names:
        old = getattr(owner, name)
        grown = np.full(size, (fill or {}).get(name, 0), dtype=old.dtype)
        grown[:keep] = old[:keep]
        setattr(owner, name, grown)
