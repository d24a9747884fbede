"""PPO baseline (DESIGN 5): a Gaussian policy over unit actions, the clipped surrogate
objective and a value baseline, on one-step episodes (so the advantage is r - V(s)).
Same states, actions, decoding and rewards as the diffusion solver."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from netsim.mechanisms.base import Mechanism
from netsim.solvers.checkpoint import CheckpointError, prefixed, restore
from netsim.solvers.diffusion import Callback
from netsim.solvers.learning import (
    FeatureScaler,
    Problem,
    RewardScale,
    action_dim,
    load_snapshot,
    mlp,
    open_learned,
    pick_device,
    save_learned,
    save_snapshot,
    seeded_init,
    to_action,
)


@dataclass
class PPOConfig:
    hidden: int = 256
    lr: float = 3e-4
    batch: int = 512
    epochs: int = 4
    minibatch: int = 128
    clip: float = 0.2
    init_log_std: float = -0.5
    reward: str = "utility"
    device: str = "cpu"
    seed: int = 0


class PPOSolver:
    name = "ppo"

    def __init__(self, config: PPOConfig | None = None, **overrides: Any):
        self.config = config or PPOConfig(**overrides)
        self.device = pick_device(self.config.device)
        self.scaler: FeatureScaler | None = None
        self.policy: nn.Module | None = None
        self._dims: tuple[int, int] | None = None

    def build_networks(self, n_actions: int, n_features: int) -> None:
        """Fresh networks for states of `n_features` features and `n_actions` actions."""
        self._dims = (n_actions, n_features)
        with seeded_init(self.config.seed):
            self.policy = mlp(n_features, n_actions, self.config.hidden).to(self.device)
            self.value = mlp(n_features, 1, self.config.hidden).to(self.device)
        self.log_std = nn.Parameter(torch.full((n_actions,), self.config.init_log_std,
                                               device=self.device))

    def _dist(self, s: torch.Tensor) -> torch.distributions.Normal:
        return torch.distributions.Normal(torch.tanh(self.policy(s)), self.log_std.exp())

    def fit(self, problem: Problem, evaluations: int, callback: Callback | None = None,
            resume: bool = False, snapshot: Path | None = None,
            snapshot_every: int = 0) -> None:
        """Train with a budget of reward `evaluations`; `resume` keeps training the current
        networks (online). `snapshot`: every `snapshot_every` steps the whole training state
        is written there, and a fit that finds it continues from it exactly."""
        cfg, mech = self.config, problem.mechanism
        if not (resume and self.policy is not None):
            self.scaler = FeatureScaler.fit(mech, problem.observed)
            self.build_networks(action_dim(mech, problem.true), len(self.scaler.mean))
        s_all = self.scaler(mech, problem.observed, self.device)
        self._fits = getattr(self, "_fits", 0) + 1
        rng = np.random.default_rng(cfg.seed + self._fits)
        gen = torch.Generator(device=self.device).manual_seed(cfg.seed + self._fits)
        params = [*self.policy.parameters(), *self.value.parameters(), self.log_std]
        opt = torch.optim.Adam(params, lr=cfg.lr)
        with torch.no_grad():
            start = self._dist(s_all).mean.cpu().numpy()
        reward = RewardScale(cfg.reward, mech.utility(
            problem.true, to_action(mech, problem.observed, start)))
        modules = {"policy": self.policy, "value": self.value, "opt": opt}
        first, n_steps = 0, max(1, evaluations // cfg.batch)
        if snapshot is not None and Path(snapshot).exists():
            first, state = load_snapshot(Path(snapshot), rng, gen, modules)
            with torch.no_grad():
                self.log_std.copy_(state["log_std"])
        for step in range(first, n_steps):
            idx = rng.integers(0, problem.n_states, cfg.batch)
            s = s_all[idx]
            with torch.no_grad():
                dist = self._dist(s)
                raw = dist.mean + dist.stddev * torch.randn(dist.mean.shape, generator=gen,
                                                            device=self.device)
                old_logp = dist.log_prob(raw).sum(dim=1)
            sub = problem.subset(idx)
            unit = raw.clamp(-1, 1).cpu().numpy()
            utility = mech.utility(sub.true, to_action(mech, sub.observed, unit))
            r = torch.as_tensor(reward(utility, sub.optimum), dtype=torch.float32,
                                device=self.device)
            for _ in range(cfg.epochs):
                for chunk in np.array_split(rng.permutation(cfg.batch),
                                            max(1, cfg.batch // cfg.minibatch)):
                    dist = self._dist(s[chunk])
                    value = self.value(s[chunk])[:, 0]
                    advantage = (r[chunk] - value).detach()
                    advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
                    ratio = (dist.log_prob(raw[chunk]).sum(dim=1) - old_logp[chunk]).exp()
                    surrogate = torch.min(ratio * advantage,
                                          ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * advantage)
                    loss = -surrogate.mean() + 0.5 * ((value - r[chunk]) ** 2).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            if callback is not None:
                callback(step, (step + 1) * cfg.batch,
                         {"utility": float(utility.mean()),
                          "ratio": float(np.mean(utility / sub.optimum))})
            if snapshot is not None and snapshot_every and (step + 1) % snapshot_every == 0 \
                    and step + 1 < n_steps:
                save_snapshot(Path(snapshot), step, rng, gen, modules,
                              {"log_std": self.log_std.detach().cpu()})

    def solve(self, mechanism: Mechanism, state: Any) -> np.ndarray:
        if self.policy is None:
            raise RuntimeError("the PPO solver is not trained: fit it or load a checkpoint")
        s = self.scaler(mechanism, state, self.device)
        with torch.no_grad():
            mean = self._dist(s).mean.cpu().numpy()  # the policy's mean: deterministic
        return to_action(mechanism, state, mean)

    def save(self, path: str | Path, extra: dict | None = None) -> None:
        """A safetensors checkpoint (see solvers/checkpoint.py); `extra`: what it was
        trained on."""
        save_learned(path, self.name, self.config, self._dims, self.scaler,
                     {**prefixed("policy", self.policy.state_dict()),
                      **prefixed("value", self.value.state_dict()),
                      "log_std": self.log_std.detach()}, extra)

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> PPOSolver:
        config, dims, scaler, tensors = open_learned(path, cls.name, PPOConfig, overrides)
        solver = cls(config)
        solver.build_networks(*dims)
        restore(solver.policy, "policy", tensors, path)
        restore(solver.value, "value", tensors, path)
        log_std = tensors.get("log_std")
        if log_std is None or log_std.shape != solver.log_std.shape:
            raise CheckpointError(f"{path}: a malformed ppo checkpoint (log_std)")
        solver.log_std.data.copy_(log_std)
        solver.scaler = scaler
        return solver
