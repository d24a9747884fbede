"""Seeded random streams: one numpy Generator per named component, all from one root seed.

Streams are keyed by a stable hash of the component's name (not by creation order), so adding
a component never shifts the numbers another component draws.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """Return the Generator of component `name` for root seed `seed`."""
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(key,)))
