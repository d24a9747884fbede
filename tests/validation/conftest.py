"""Helpers of the validation suite: netsim against results computed independently here."""

from __future__ import annotations

import numpy as np

TOTAL_FLOPS = 8_817_623_040.0  # CLIP ViT-B/32 profile: stem + 12 layers + head, per task


def batch_means(values: np.ndarray, batches: int = 20) -> tuple[float, float]:
    """Mean and standard error by the method of batch means (for correlated samples such as
    successive waiting times in a queue)."""
    values = np.asarray(values, dtype=float)
    usable = len(values) // batches * batches
    means = values[:usable].reshape(batches, -1).mean(axis=1)
    return float(means.mean()), float(means.std(ddof=1) / np.sqrt(batches))
