"""What the learning solvers share: the training problem (what the leader sees vs the truth),
action coding, rewards, feature scaling, and the small torch building blocks.

Actions live in [-1, 1]^A inside the networks; `to_action` maps them affinely to the
mechanism's bounds and lets the mechanism decode them (Stackelberg snaps a price onto the
threshold below it). Rewards are computed on the true state; actions are decoded and
candidates are scored with the state the leader observes.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from netsim.mechanisms.base import (
    Mechanism,
    affine_to_bounds,
    followers_of,
    select,
)
from netsim.solvers import checkpoint

REWARDS = ("utility", "gap", "improved")
_INIT_LOCK = threading.RLock()
MAX_CHECKPOINT_DIM = 100_000  # actions or features a checkpoint may declare
MAX_CHECKPOINT_WIDTH = 8192  # hidden units a checkpoint may declare


@dataclass
class Problem:
    """Training states: the truth, what the leader observes of it, and the optimum."""

    mechanism: Mechanism
    true: Any
    observed: Any
    optimum: np.ndarray  # full-information optimum utility per state

    @classmethod
    def full_information(cls, mechanism: Mechanism, states: Any) -> Problem:
        return cls(mechanism, states, states, mechanism.optimum(states)[1])

    @property
    def n_states(self) -> int:
        return self.true.n_states

    def subset(self, index: np.ndarray) -> Problem:
        return Problem(self.mechanism, select(self.true, index), select(self.observed, index),
                       self.optimum[index])


def to_action(mechanism: Mechanism, observed: Any, unit: np.ndarray) -> np.ndarray:
    """Network output in [-1, 1]^A -> the action the leader plays."""
    return mechanism.decode(observed, affine_to_bounds(mechanism, observed, unit))


def action_dim(mechanism: Mechanism, state: Any) -> int:
    return mechanism.policy_bounds(select(state, slice(0, 1)))[0].shape[1]


class RewardScale:
    """Turns utilities into rewards: the utility itself (standardised by constants fitted on
    the training states), its gap to the optimum, or paper P1's binary 'improved since the
    last step'."""

    def __init__(self, kind: str, utilities: np.ndarray):
        if kind not in REWARDS:
            raise ValueError(f"unknown reward '{kind}' (allowed: {', '.join(REWARDS)})")
        self.kind = kind
        self.center = float(np.mean(utilities))
        self.scale = float(np.std(utilities)) or 1.0
        self._last: np.ndarray | None = None

    def __call__(self, utility: np.ndarray, optimum: np.ndarray) -> np.ndarray:
        if self.kind == "utility":
            return (utility - self.center) / self.scale
        if self.kind == "gap":
            return utility / np.abs(optimum) - np.sign(optimum)
        improved = np.zeros_like(utility) if self._last is None else (
            utility > self._last).astype(float)
        self._last = utility.mean() if self._last is None else max(self._last, utility.mean())
        return improved


FEATURE_CLIP = 3.0


class FeatureScaler:
    """What a network sees of a state: its features, standardised with statistics of the
    training states and clipped to +-FEATURE_CLIP standard deviations; a feature that was
    constant in training is ignored (set to 0). The networks have learned little beyond the
    training range: a state outside it (a cell with more bidders than any training state)
    made the bandwidth policy choose a water level worth 0.18 of the optimum. A state with
    fewer followers than those is first padded with followers that take no part, where the
    mechanism can (`pad`: the bandwidth auction, whose base stations serve varying numbers of
    devices); any other size is an error."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, followers: int | None = None,
                 mechanism: str | None = None):
        self.mean, self.std = mean, std
        self.followers = followers
        self.mechanism = mechanism  # the mechanism whose features these are
        self._varies = std > 1e-9
        self._scale = np.where(self._varies, std, 1.0)

    @classmethod
    def fit(cls, mechanism: Mechanism, state: Any) -> FeatureScaler:
        features = mechanism.features(state)
        return cls(features.mean(axis=0), features.std(axis=0), followers_of(state),
                   mechanism.name)

    def features(self, mechanism: Mechanism, state: Any) -> np.ndarray:
        if self.mechanism is not None and mechanism.name != self.mechanism:
            raise ValueError(f"this solver was trained for mechanism '{self.mechanism}', not "
                             f"'{mechanism.name}'")
        width = followers_of(state)
        if self.followers is not None and width != self.followers:
            pad = mechanism.pad
            if pad is None or width > self.followers:
                raise ValueError(
                    f"this {mechanism.name} state has {width} followers but the solver was "
                    f"trained on states with {self.followers}"
                    + (" (states can be padded up to that size, not cut down)" if pad else "")
                    + ": train it on states of this size")
            state = pad(state, self.followers)
        features = mechanism.features(state)
        if features.shape[1] != len(self.mean):
            raise ValueError(f"this {mechanism.name} state has {features.shape[1]} features but "
                             f"the solver was trained on {len(self.mean)}")
        return features

    def __call__(self, mechanism: Mechanism, state: Any, device: torch.device) -> torch.Tensor:
        scaled = np.where(self._varies, (self.features(mechanism, state) - self.mean)
                          / self._scale, 0.0)
        scaled = np.clip(scaled, -FEATURE_CLIP, FEATURE_CLIP)
        return torch.as_tensor(scaled, dtype=torch.float32, device=device)


@contextlib.contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Initialise networks from `seed` without touching torch's global generator: the
    global state is forked inside and restored after, so building a solver never changes
    what any other code draws (and nothing else changes its weights). One solver at a time:
    seeds training side by side on threads would otherwise interleave on the global state."""
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


class _MishFunction(torch.autograd.Function):
    """Mish, x tanh(softplus(x)), from one exponential: with n = e^x (e^x + 2),
    tanh(softplus(x)) = n / (n + 2); its derivative t + x (1 - t^2) sigmoid(x) is formed in
    the forward pass, so the backward pass is one product. torch's own Mish took 4.3 ms
    forward and backward on a 512 x 256 batch here (more than the layer's matrix products),
    this 1.4 ms; the two agree to 1e-6."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        e = torch.exp(x.clamp(max=20.0))  # beyond 20, t = 1 in float32 anyway
        sigmoid = e / (e + 1.0)
        n = e.mul_(e + 2.0)
        t = n.div_(n + 2.0)
        ctx.save_for_backward(torch.addcmul(t, x * sigmoid, 1.0 - t * t))
        return x * t

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (slope,) = ctx.saved_tensors
        return grad * slope


class Mish(nn.Module):
    """Mish activation (as in the GDM reference denoiser): `_MishFunction` where gradients
    flow, torch's own kernel elsewhere (one call costs less on the small batches of
    decisions)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            return _MishFunction.apply(x)
        return nn.functional.mish(x)


def mlp(inputs: int, outputs: int, hidden: int = 256, layers: int = 3) -> nn.Sequential:
    """An MLP with Mish activations (as in the GDM reference denoiser)."""
    parts: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        parts += [nn.Linear(width, hidden), Mish()]
        width = hidden
    parts.append(nn.Linear(width, outputs))
    return nn.Sequential(*parts)


def pick_device(name: str) -> torch.device:
    """CPU by default; `cuda` where available (a clear error otherwise)."""
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: no CUDA device is available here")
    return torch.device(name)


def known_fields(config_class: type, overrides: dict) -> dict:
    """The overrides that `config_class` has fields for (others belong to other solvers)."""
    names = {f.name for f in fields(config_class)}
    return {k: v for k, v in overrides.items() if k in names}


def save_learned(path: str | Path, name: str, config: Any, dims: tuple[int, int],
                 scaler: FeatureScaler, tensors: dict[str, torch.Tensor],
                 extra: dict | None) -> None:
    """A learned solver's checkpoint: its tensors and scaler statistics, and as metadata its
    configuration, dimensions and what it was trained on (`extra`)."""
    tensors = {**tensors, "scaler.mean": torch.from_numpy(np.asarray(scaler.mean, float)),
               "scaler.std": torch.from_numpy(np.asarray(scaler.std, float))}
    checkpoint.save(path, tensors, {"solver": name, "config": asdict(config),
                                    "dims": list(dims), "followers": scaler.followers,
                                    "mechanism": scaler.mechanism, **(extra or {})})


def open_learned(path: str | Path, name: str, config_class: type, overrides: dict,
                 ) -> tuple[Any, tuple[int, int], FeatureScaler, dict[str, torch.Tensor]]:
    """The configuration (saved, then `overrides`), dimensions, scaler and tensors of a
    checkpoint of the learned solver `name`; a CheckpointError if any is malformed."""
    tensors, meta = checkpoint.load(path, name)
    try:
        config = config_class(**{**known_fields(config_class, meta["config"]),
                                 **known_fields(config_class, overrides)})
        for width in ("hidden", "time_dim"):  # refused before any network is built
            value = getattr(config, width, 1)
            if not (isinstance(value, int) and 1 <= value <= MAX_CHECKPOINT_WIDTH):
                raise ValueError(f"{width} {value!r}")
        dims = tuple(int(d) for d in meta["dims"])
        if len(dims) != 2 or not all(1 <= d <= MAX_CHECKPOINT_DIM for d in dims):
            raise ValueError(f"dimensions {dims}")
        followers = meta["followers"]
        if followers is not None and not (isinstance(followers, int) and followers > 0):
            raise ValueError(f"followers {followers!r}")
        mean, std = tensors["scaler.mean"].numpy(), tensors["scaler.std"].numpy()
        if mean.shape != (dims[1],) or std.shape != (dims[1],):
            raise ValueError(f"scaler of {mean.shape} for {dims[1]} features")
        mechanism = meta.get("mechanism")
        if not isinstance(mechanism, str):
            raise ValueError(f"mechanism {mechanism!r}")
    except (KeyError, TypeError, ValueError) as exc:
        raise checkpoint.CheckpointError(f"{path}: a malformed {name} checkpoint ({exc})"
                                         ) from None
    return config, dims, FeatureScaler(mean, std, followers, mechanism), tensors


def save_snapshot(path: Path, step: int, rng: np.random.Generator, gen: torch.Generator,
                  modules: dict[str, Any], extra: dict[str, Any]) -> None:
    """A training's whole state after `step`, written atomically: the generators, the
    state_dicts of `modules` (networks, optimisers) and `extra` tensors. Read back with
    torch's weights-only unpickler (tensors, numbers, strings, containers: nothing runs)."""
    state = {"step": step, "rng": json.dumps(rng.bit_generator.state), "gen": gen.get_state(),
             **{name: module.state_dict() for name, module in modules.items()}, **extra}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_snapshot(path: Path, rng: np.random.Generator, gen: torch.Generator,
                  modules: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Restore a `save_snapshot` into the generators and modules; return the first step
    still to run and the snapshot (for its extra tensors)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    rng.bit_generator.state = json.loads(state["rng"])
    gen.set_state(state["gen"])
    for name, module in modules.items():
        module.load_state_dict(state[name])
    return int(state["step"]) + 1, state
