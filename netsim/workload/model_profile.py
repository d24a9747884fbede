"""A split-inference model's per-layer costs: the profile every task is sized by."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ModelProfile:
    """An L-layer encoder: the device runs layers 1..l, the server l+1..L (l = split layer)."""

    name: str
    input_bytes: int
    result_bytes: int
    stem_flops: float
    head_flops: float
    layer_flops: np.ndarray
    activation_bytes: np.ndarray
    param_bytes: np.ndarray

    @property
    def n_layers(self) -> int:
        return len(self.layer_flops)

    @property
    def total_flops(self) -> float:
        return float(self.stem_flops + self.layer_flops.sum() + self.head_flops)

    def device_flops(self, split: np.ndarray | int) -> np.ndarray:
        """FLOPs run on the device for split layer(s) `split` (stem with layer 1, head with L)."""
        split = np.asarray(split)
        cumulative = np.concatenate(([0.0], np.cumsum(self.layer_flops)))
        flops = cumulative[split] + np.where(split >= 1, self.stem_flops, 0.0)
        return flops + np.where(split >= self.n_layers, self.head_flops, 0.0)

    def max_split(self, memory_bytes: np.ndarray) -> np.ndarray:
        """The most layers a device can run whose parameters fit in `memory_bytes`."""
        cumulative = np.concatenate(([0], np.cumsum(self.param_bytes)))
        return np.searchsorted(cumulative, np.asarray(memory_bytes), side="right") - 1

    def upload_bytes(self, split: np.ndarray | int) -> np.ndarray:
        """Bytes sent up for split layer(s): the input at 0, layer l's activation, 0 at L."""
        split = np.asarray(split)
        table = np.concatenate(([self.input_bytes], self.activation_bytes[:-1], [0]))
        return table[split]
