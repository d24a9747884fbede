"""Model compression levels: how quantisation and pruning scale a model profile, and what
they cost in accuracy.

A level scales three things of a profile (workload/profiles.py):
- parameter bytes (what a device must hold to run its layers, and what federated clients
  upload): by the bits kept per weight, or the weights kept after pruning;
- activation bytes (what a split task uploads): by the bits per value (pruning individual
  weights leaves the activations dense);
- FLOPs, as seen by a device's compute speed: pruning removes multiply-accumulates; int8
  runs on integer units at about twice the float speed on CPUs.
and keeps a share of the model's accuracy (top-1, relative to fp32).

Sources of the numbers (the table below):
- fp16: mixed-precision training and inference match fp32 accuracy (Micikevicius et al.,
  "Mixed Precision Training", ICLR 2018). Same arithmetic count; half the bytes.
- int8: post-training per-channel weight and per-layer activation quantisation to 8 bits
  stays "within 2% of floating point" in top-1 accuracy across CNNs, and runs 2-3x faster
  than float on CPUs (Krishnamoorthi, "Quantizing deep convolutional networks for efficient
  inference: a whitepaper", arXiv:1806.08342, 2018). We take the ends that do not flatter
  compression: 2% accuracy lost, 2x speed.
- prune50, prune75: magnitude pruning with retraining removes 50-90% of the weights without
  loss of accuracy (Han et al., "Learning both Weights and Connections for Efficient Neural
  Networks", NeurIPS 2015: AlexNet 9x, VGG-16 13x fewer parameters; Frankle and Carbin, "The
  Lottery Ticket Hypothesis", ICLR 2019: "over 90%"). Accuracy kept: 1.0, after retraining;
  the FLOPs fall with the weights, the activations stay dense.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from netsim.workload.model_profile import ModelProfile


@dataclass(frozen=True)
class CompressionLevel:
    """Factors applied to a profile, and the share of fp32 accuracy that remains."""

    name: str
    param_factor: float
    activation_factor: float
    flops_factor: float
    accuracy: float


LEVELS: dict[str, CompressionLevel] = {level.name: level for level in (
    CompressionLevel("fp32", 1.0, 1.0, 1.0, 1.0),
    CompressionLevel("fp16", 0.5, 0.5, 1.0, 1.0),
    CompressionLevel("int8", 0.25, 0.25, 0.5, 0.98),
    CompressionLevel("prune50", 0.5, 1.0, 0.5, 1.0),
    CompressionLevel("prune75", 0.25, 1.0, 0.25, 1.0),
)}
NAMES = tuple(LEVELS)


def compress(profile: ModelProfile, level: str) -> ModelProfile:
    """`profile` at compression `level` (bytes rounded up to whole bytes). The raw input and
    the result keep their size: they are data, not the model's."""
    spec = LEVELS[level]
    if spec.name == "fp32":
        return profile

    def scaled_bytes(values: np.ndarray, factor: float) -> np.ndarray:
        out = np.array([math.ceil(int(v) * factor) for v in values], dtype=np.int64)
        out.flags.writeable = False
        return out

    flops = profile.layer_flops * spec.flops_factor
    flops.flags.writeable = False
    return dataclasses.replace(
        profile, name=f"{profile.name}@{level}",
        stem_flops=profile.stem_flops * spec.flops_factor,
        head_flops=profile.head_flops * spec.flops_factor, layer_flops=flops,
        activation_bytes=scaled_bytes(profile.activation_bytes, spec.activation_factor),
        param_bytes=scaled_bytes(profile.param_bytes, spec.param_factor))


def accuracy(level: str) -> float:
    """The share of the fp32 model's top-1 accuracy kept at `level`."""
    return LEVELS[level].accuracy
