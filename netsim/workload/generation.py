"""AIGC generation services: a text-to-image diffusion model served like a task.

A request is a task of one "layer": the prompt goes up (or the device generates on its own,
split layer 1, if the model's parameters fit its memory), the server runs the denoising
steps (steps x FLOPs per step, from the profile), the image comes back over the downlink.
A server may run fewer steps under load (`workload.aigc.lower_steps`: when a request would
wait longer than its threshold, it runs the lower number), which cuts its service time and
its quality.

Quality rises with steps along q(s) = 1 - exp(-s / tau): increasing, concave and bounded by
1, with tau fitted by least squares to the profile's published reference (FID against
steps; quality = best FID / FID, so 1 is the quality of the longest run measured). For the
built-in profile (DDIM on CIFAR10, Song et al. 2021, Table 1) tau is about 25 steps: 10
steps give 0.33 of the quality, 50 steps 0.87.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from netsim.workload.model_profile import ModelProfile


@dataclass(frozen=True)
class DiffusionProfile:
    """A diffusion model as a generation service (see profiles/sd_v1_5_512.yaml)."""

    name: str
    flops_per_step: float
    param_bytes: int
    prompt_bytes: int
    result_bytes: int
    default_steps: int
    reference_steps: np.ndarray
    reference_fid: np.ndarray

    n_layers = 1  # a request is one step of work: served (split 0) or generated on device

    @functools.cached_property
    def tau_steps(self) -> float:
        return fit_tau(self.reference_steps, self.reference_quality)

    @property
    def reference_quality(self) -> np.ndarray:
        """The reference's quality at its steps: best FID over FID."""
        return self.reference_fid.min() / self.reference_fid

    def quality(self, steps: np.ndarray | float) -> np.ndarray:
        """Quality (0..1) of an image generated with `steps` denoising steps."""
        return 1.0 - np.exp(-np.asarray(steps, dtype=float) / self.tau_steps)

    def task_profile(self, steps: int, prompt_bytes: int | None = None,
                     result_bytes: int | None = None) -> ModelProfile:
        """The request as a one-layer task profile: `steps` steps of work, the prompt up at
        split 0, nothing up at split 1 (on-device generation), the image back."""
        frozen = [np.array([steps * self.flops_per_step]), np.array([0]),
                  np.array([self.param_bytes])]
        for array in frozen:
            array.flags.writeable = False
        return ModelProfile(name=f"{self.name}@{steps}steps",
                            input_bytes=prompt_bytes or self.prompt_bytes,
                            result_bytes=result_bytes or self.result_bytes, stem_flops=0.0,
                            head_flops=0.0, layer_flops=frozen[0], activation_bytes=frozen[1],
                            param_bytes=frozen[2])


def fit_tau(steps: np.ndarray, quality: np.ndarray) -> float:
    """The tau of q(s) = 1 - exp(-s / tau) closest to (steps, quality) in squares."""
    steps, quality = np.asarray(steps, dtype=float), np.asarray(quality, dtype=float)

    def squared_error(log_tau: float) -> float:
        return float(np.sum((1.0 - np.exp(-steps / np.exp(log_tau)) - quality) ** 2))

    best = minimize_scalar(squared_error, bounds=(np.log(1e-3), np.log(1e6)),
                           method="bounded", options={"xatol": 1e-10})
    return float(np.exp(best.x))


def parse_diffusion(raw: dict) -> DiffusionProfile:
    """A diffusion profile from its YAML mapping (KeyError, TypeError or ValueError if it is
    not one)."""
    reference = raw["quality_reference"]
    steps = np.array([float(s) for s in reference["steps"]])
    fid = np.array([float(f) for f in reference["fid"]])
    if len(steps) != len(fid) or len(steps) < 2:
        raise ValueError("quality_reference needs as many fid as steps (at least 2)")
    profile = DiffusionProfile(
        name=str(raw["name"]), flops_per_step=float(raw["flops_per_step"]),
        param_bytes=int(raw["param_bytes"]), prompt_bytes=int(raw["prompt_bytes"]),
        result_bytes=int(raw["result_bytes"]), default_steps=int(raw["default_steps"]),
        reference_steps=steps, reference_fid=fid)
    numbers = np.concatenate(([profile.flops_per_step, profile.param_bytes,
                               profile.prompt_bytes, profile.result_bytes,
                               profile.default_steps], steps, fid))
    if not np.all(np.isfinite(numbers)) or np.any(numbers <= 0):
        raise ValueError("sizes, FLOPs, steps and FIDs must be finite and > 0")
    return profile

