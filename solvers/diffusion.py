"""The generative diffusion model (GDM) solver (DESIGN 5), in plain PyTorch.

A conditional denoising diffusion policy over the leader's action: an MLP denoiser (Mish,
hidden 256) takes the noisy action, a sinusoidal embedding of the step and the state's
features, and predicts the noise; T steps (default 6) of a VP schedule (beta_min 0.1,
beta_max 10); the predicted x0 is clamped to [-1, 1] at every step and the final action is
mapped affinely into the mechanism's bounds, then decoded by the mechanism. The clamp lets a
gradient through where it leads back inside the bounds, so an action that ran to a bound can
leave it (a plain clamp kept it there for good: the contract menu's first item stuck at q_max).

Training is a contextual bandit (one-step episodes): a double-Q critic is fitted to observed
rewards, first on random actions only (the warm-up: without it the actor runs to a bound and
stays), then the actor minimises -min(Q1, Q2)(s, a_theta(s)) with gradients through every
denoising step; AdamW (lr 1e-3 by default: 1e-4 learned too little within budgets of ~1e5 reward
evaluations; weight decay 1e-4), batch 512, 4 gradient steps per batch, a replay buffer, an
EMA copy of the actor (tau 0.005) for decisions, exploration noise N(0, 0.1) with
probability 0.1. Self-imitation (`self_imitation`, weight 3): the actor also minimises the
denoising loss towards the best action its own reward evaluations have found so far for each
training state, which sharpens the policy where the critic is too smooth to tell actions
0.01% apart (bandwidth auction: 0.9986 -> 0.9999 of the optimum; neutral on the others). It
uses no labels, unlike the optional behaviour cloning towards the exact solver's action
(`bc_weight` > 0, reported as its own variant).

The critic sees the action also through sinusoidal features at 6 octaves (`critic_fourier`):
an MLP on the raw action smooths away narrow optima (on the bandwidth auction it placed the
water level on the flat side of a peak 0.4% high; with the features the policy's mean ratio
rose from 0.9974 to 0.9989).

Decision modes: `policy` (the reverse chain driven by zero noise, its most likely path:
deterministic, and more accurate than a sample with fixed noise) and `generate_and_select`
(k candidates: the policy's and k - 1 samples, half of them perturbed, each scored by the
mechanism's utility on what the leader observes; the best is kept).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from netsim.mechanisms.base import Mechanism, repeat
from netsim.solvers.checkpoint import prefixed, restore
from netsim.solvers.learning import (
    FeatureScaler,
    Mish,
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
class DiffusionConfig:
    steps: int = 6
    hidden: int = 256
    time_dim: int = 16
    beta_min: float = 0.1
    beta_max: float = 10.0
    lr: float = 1e-3  # DESIGN says 1e-4: too slow for a budget of ~1e5 evaluations
    weight_decay: float = 1e-4
    critic_fourier: int = 6  # octaves of sin/cos action features in the critic (0: raw only)
    batch: int = 512
    tau: float = 0.005
    explore_prob: float = 0.1
    explore_std: float = 0.1
    warmup_fraction: float = 0.1
    updates_per_step: int = 4  # gradient steps per batch of reward evaluations
    bc_weight: float = 0.0
    self_imitation: float = 3.0  # weight of the denoising loss towards each state's best found
    mode: str = "generate_and_select"
    k: int = 16
    perturb_std: float = 0.1
    reward: str = "utility"
    device: str = "cpu"
    seed: int = 0


class TimeEmbedding(nn.Module):
    """Sinusoidal embedding of the denoising step, then a small MLP."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), Mish(), nn.Linear(2 * dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freq = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / (half - 1))
        angle = t.float()[:, None] * freq[None, :]
        return self.mlp(torch.cat([angle.sin(), angle.cos()], dim=1))


class Denoiser(nn.Module):
    """Predicts the noise in x_t given the step and the state."""

    def __init__(self, action: int, features: int, hidden: int, time_dim: int):
        super().__init__()
        self.time = TimeEmbedding(time_dim)
        self.net = mlp(action + time_dim + features, action, hidden)

    def forward(self, x: torch.Tensor, t: torch.Tensor, s: torch.Tensor,
                time_embedding: torch.Tensor | None = None) -> torch.Tensor:
        """`time_embedding`: self.time(t) if the caller has it already (the chain computes
        one row per step, not one per sample and step)."""
        embedded = self.time(t) if time_embedding is None else time_embedding
        return self.net(torch.cat([x, embedded, s], dim=1))


class _InwardClamp(torch.autograd.Function):
    """Clamp to [-1, 1] whose gradient passes inside the bounds, and outside only where the
    step it asks for leads back inside (outward steps are blocked, so nothing drifts away)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return x.clamp(-1.0, 1.0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        # gradient descent moves x by -grad: a positive grad lowers an x above the bound
        return grad * ((x.abs() <= 1.0) | ((x > 1.0) & (grad > 0)) | ((x < -1.0) & (grad < 0)))


def clamp_unit(x: torch.Tensor) -> torch.Tensor:
    """x clamped to [-1, 1], able to leave a bound it ran into (see _InwardClamp)."""
    return _InwardClamp.apply(x)


class VPDiffusion(nn.Module):
    """The VP schedule and the reverse (sampling) chain around a denoiser."""

    def __init__(self, denoiser: Denoiser, action: int, steps: int, beta_min: float,
                 beta_max: float):
        super().__init__()
        self.denoiser, self.action, self.steps = denoiser, action, steps
        t = np.arange(1, steps + 1)
        alpha = np.exp(-beta_min / steps - 0.5 * (beta_max - beta_min) * (2 * t - 1) / steps**2)
        betas = 1.0 - alpha
        cum = np.cumprod(alpha)
        cum_prev = np.concatenate([[1.0], cum[:-1]])
        buffers = {
            "betas": betas, "alphas_cumprod": cum,
            "sqrt_cum": np.sqrt(cum), "sqrt_one_minus_cum": np.sqrt(1.0 - cum),
            "sqrt_recip_cum": np.sqrt(1.0 / cum), "sqrt_recipm1_cum": np.sqrt(1.0 / cum - 1.0),
            "post_var": betas * (1.0 - cum_prev) / (1.0 - cum),
            "post_c1": betas * np.sqrt(cum_prev) / (1.0 - cum),
            "post_c2": (1.0 - cum_prev) * np.sqrt(alpha) / (1.0 - cum),
        }
        for name, value in buffers.items():
            self.register_buffer(name, torch.tensor(value, dtype=torch.float32))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Forward process: x_t from x0 and noise."""
        return self.sqrt_cum[t][:, None] * x0 + self.sqrt_one_minus_cum[t][:, None] * noise

    def posterior_mean(self, x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.post_c1[t][:, None] * x0 + self.post_c2[t][:, None] * xt

    def sample(self, s: torch.Tensor, generator: torch.Generator | None = None,
               noise_scale: float = 1.0, quiet: torch.Tensor | None = None) -> torch.Tensor:
        """Reverse chain from noise; differentiable with respect to the denoiser.
        `noise_scale` 0 follows the chain's most likely path (the `policy` decision), and so
        do the rows where `quiet` (a boolean column) is set."""
        n = s.shape[0]
        noisy = noise_scale > 0.0
        if noisy and generator is None:
            raise ValueError("sampling with noise needs the solver's own torch.Generator")
        scale = (noise_scale if quiet is None
                 else noise_scale * (~quiet).to(torch.float32).reshape(n, 1))
        x = (scale * torch.randn(n, self.action, generator=generator, device=s.device)
             if noisy else torch.zeros(n, self.action, device=s.device))
        # every sample is at the same step: embed the steps once, one row each
        embedded = self.denoiser.time(torch.arange(self.steps, device=s.device))
        for step in reversed(range(self.steps)):
            eps = self.denoiser(x, None, s, embedded[step].expand(n, -1))
            x0 = clamp_unit(self.sqrt_recip_cum[step] * x - self.sqrt_recipm1_cum[step] * eps)
            x = self.post_c1[step] * x0 + self.post_c2[step] * x
            if step > 0 and noisy:
                noise = torch.randn(x.shape, generator=generator, device=s.device)
                std = self.post_var[step].clamp(min=1e-20).sqrt()
                x = x + scale * std * noise
        return clamp_unit(x)

    def denoising_loss(self, x0: torch.Tensor, s: torch.Tensor,
                       generator: torch.Generator) -> torch.Tensor:
        """The DDPM noise-prediction loss on target actions x0 (behaviour cloning)."""
        t = torch.randint(0, self.steps, (x0.shape[0],), generator=generator, device=x0.device)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)
        return ((self.denoiser(self.q_sample(x0, t, noise), t, s) - noise) ** 2).mean()


class DoubleQ(nn.Module):
    """Two critics Q(s, a); the action enters raw and as sin/cos at `octaves` frequencies
    (pi/2 * 2^j), which lets an MLP resolve narrow peaks of the utility in the action."""

    def __init__(self, action: int, features: int, hidden: int, octaves: int = 0):
        super().__init__()
        self.register_buffer("freq", (2.0 ** torch.arange(octaves)) * math.pi / 2)
        inputs = features + action * (1 + 2 * octaves)
        self.q1 = mlp(inputs, 1, hidden)
        self.q2 = mlp(inputs, 1, hidden)

    def forward(self, s: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        angle = (a[:, :, None] * self.freq).flatten(1)
        x = torch.cat([s, a, angle.sin(), angle.cos()], dim=1)
        return self.q1(x)[:, 0], self.q2(x)[:, 0]


class BestFound:
    """The best evaluated action so far for each training state (for self-imitation)."""

    def __init__(self, n_states: int, n_actions: int, device: torch.device):
        self.utility = np.full(n_states, -np.inf)
        self.action = torch.zeros(n_states, n_actions, device=device)

    @property
    def found(self) -> np.ndarray:
        return np.isfinite(self.utility)

    def update(self, idx: np.ndarray, utility: np.ndarray, unit: torch.Tensor) -> None:
        order = np.argsort(-utility, kind="stable")
        _, first = np.unique(idx[order], return_index=True)  # each state's best in the batch
        top = order[first]
        keep = top[utility[top] > self.utility[idx[top]]]
        self.utility[idx[keep]] = utility[keep]
        self.action[torch.as_tensor(idx[keep], device=self.action.device)] = unit[
            torch.as_tensor(keep, device=unit.device)].to(self.action.device)


Callback = Callable[[int, int, dict[str, float]], None]  # (step, evaluations, metrics)


class DiffusionSolver:
    name = "diffusion"

    def __init__(self, config: DiffusionConfig | None = None, **overrides: Any):
        self.config = config or DiffusionConfig(**overrides)
        self.device = pick_device(self.config.device)
        self.actor: VPDiffusion | None = None
        self.ema: VPDiffusion | None = None
        self.scaler: FeatureScaler | None = None
        self._dims: tuple[int, int] | None = None

    # ------------------------------------------------------------------ building

    def build_networks(self, n_actions: int, n_features: int) -> None:
        """Fresh networks for states of `n_features` features and `n_actions` actions."""
        cfg = self.config
        self._dims = (n_actions, n_features)
        with seeded_init(cfg.seed):
            denoiser = Denoiser(n_actions, n_features, cfg.hidden, cfg.time_dim)
            self.actor = VPDiffusion(denoiser, n_actions, cfg.steps, cfg.beta_min,
                                     cfg.beta_max).to(self.device)
            self.ema = copy.deepcopy(self.actor).requires_grad_(False)
            self.critic = DoubleQ(n_actions, n_features, cfg.hidden,
                                  cfg.critic_fourier).to(self.device)
        self._optimizers = (
            torch.optim.AdamW(self.actor.parameters(), lr=cfg.lr,
                              weight_decay=cfg.weight_decay),
            torch.optim.AdamW(self.critic.parameters(), lr=cfg.lr * 3,
                              weight_decay=cfg.weight_decay))

    # ------------------------------------------------------------------ training

    def fit(self, problem: Problem, evaluations: int, expert: np.ndarray | None = None,
            callback: Callback | None = None, resume: bool = False,
            snapshot: Path | None = None, snapshot_every: int = 0) -> None:
        """Train on `problem` with a budget of reward `evaluations` (state-action pairs).
        `expert` (unit actions in [-1, 1], e.g. the exact solver's) enables cloning.
        `resume` keeps training the current networks (online), without a warm-up.
        `snapshot`: every `snapshot_every` steps the whole training state (networks,
        optimisers, generators, replay buffer, best actions found) is written there; if the
        file exists when a fit starts, the fit continues from it exactly as if it had never
        stopped (see `_save_snapshot`)."""
        cfg, mech = self.config, problem.mechanism
        resume = resume and self.actor is not None
        if not resume:
            self.scaler = FeatureScaler.fit(mech, problem.observed)
            self.build_networks(action_dim(mech, problem.true), len(self.scaler.mean))
        actor_opt, critic_opt = self._optimizers
        self._fits = getattr(self, "_fits", 0) + 1
        rng = np.random.default_rng(cfg.seed + self._fits)
        gen = torch.Generator(device=self.device).manual_seed(cfg.seed + self._fits)
        n_steps = max(1, evaluations // cfg.batch)
        warmup = 0 if resume else max(1, int(cfg.warmup_fraction * n_steps))
        s_all = self.scaler(mech, problem.observed, self.device)
        buffer_a = torch.zeros(n_steps * cfg.batch, self._dims[0], device=self.device)
        buffer_i = torch.zeros(n_steps * cfg.batch, dtype=torch.long, device=self.device)
        buffer_r = torch.zeros(n_steps * cfg.batch, device=self.device)
        random_u = mech.utility(problem.true, to_action(
            mech, problem.observed, rng.uniform(-1, 1, mech.bounds(problem.true)[0].shape)))
        reward = RewardScale(cfg.reward, random_u)
        best = BestFound(problem.n_states, self._dims[0], self.device)
        first = 0
        if snapshot is not None and Path(snapshot).exists():
            first = self._load_snapshot(Path(snapshot), rng, gen, (buffer_a, buffer_i,
                                                                   buffer_r), best)
        for step in range(first, n_steps):
            idx = rng.integers(0, problem.n_states, cfg.batch)
            s = s_all[idx]
            if step < warmup:
                unit = torch.rand(cfg.batch, self._dims[0], generator=gen) * 2 - 1
            else:
                with torch.no_grad():
                    unit = self.actor.sample(s, gen)
                explore = torch.rand(cfg.batch, generator=gen) < cfg.explore_prob
                noise = torch.randn(unit.shape, generator=gen) * cfg.explore_std
                unit = (unit + explore[:, None] * noise).clamp(-1, 1)
            sub = problem.subset(idx)
            utility = mech.utility(sub.true, to_action(mech, sub.observed, unit.cpu().numpy()))
            r = torch.as_tensor(reward(utility, sub.optimum), dtype=torch.float32,
                                device=self.device)
            best.update(idx, utility, unit)
            rows = slice(step * cfg.batch, (step + 1) * cfg.batch)
            buffer_a[rows] = unit.to(self.device)
            buffer_i[rows] = torch.as_tensor(idx, device=self.device)
            buffer_r[rows] = r
            metrics = {"utility": float(utility.mean()),
                       "ratio": float(np.mean(utility / sub.optimum))}
            for _ in range(cfg.updates_per_step):
                pick = torch.as_tensor(rng.integers(0, (step + 1) * cfg.batch, cfg.batch),
                                       device=self.device)
                self._update_critic(critic_opt, s_all[buffer_i[pick]], buffer_a[pick],
                                    buffer_r[pick])
                if step >= warmup:
                    batch = rng.integers(0, problem.n_states, cfg.batch)
                    metrics["actor_loss"] = self._update_actor(actor_opt, s_all[batch],
                                                               expert, best, batch, gen)
            if callback is not None:
                callback(step, (step + 1) * cfg.batch, metrics)
            if snapshot is not None and snapshot_every and (step + 1) % snapshot_every == 0 \
                    and step + 1 < n_steps:
                self._save_snapshot(Path(snapshot), step, rng, gen,
                                    (buffer_a, buffer_i, buffer_r), best)

    def _modules(self) -> dict[str, Any]:
        actor_opt, critic_opt = self._optimizers
        return {"actor": self.actor, "ema": self.ema, "critic": self.critic,
                "actor_opt": actor_opt, "critic_opt": critic_opt}

    def _save_snapshot(self, path: Path, step: int, rng, gen, buffers, best) -> None:
        """The training state after `step` (learning.save_snapshot), with the replay
        buffer's rows so far and the best actions found."""
        used = (step + 1) * self.config.batch
        save_snapshot(path, step, rng, gen, self._modules(), {
            "buffers": [b[:used].cpu() for b in buffers],
            "best_utility": torch.from_numpy(best.utility.copy()),
            "best_action": best.action.cpu()})

    def _load_snapshot(self, path: Path, rng, gen, buffers, best) -> int:
        """Restore a `_save_snapshot`; return the first step still to run."""
        first, state = load_snapshot(path, rng, gen, self._modules())
        for buffer, saved in zip(buffers, state["buffers"]):
            buffer[:len(saved)] = saved.to(buffer.device)
        best.utility = state["best_utility"].numpy().copy()
        best.action = state["best_action"].to(best.action.device)
        return first

    def _update_critic(self, opt, s, a, r) -> None:
        """One step on a batch drawn from the whole replay buffer."""
        q1, q2 = self.critic(s, a)
        loss = ((q1 - r) ** 2).mean() + ((q2 - r) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def _update_actor(self, opt, s, expert, best: BestFound, idx,
                      gen: torch.Generator) -> float:
        cfg = self.config
        action = self.actor.sample(s, gen)
        q1, q2 = self.critic(s, action)
        loss = -torch.min(q1, q2).mean()
        found = torch.as_tensor(best.found[idx], device=self.device)
        if cfg.self_imitation > 0 and bool(found.any()):
            loss = loss + cfg.self_imitation * self.actor.denoising_loss(
                best.action[idx][found], s[found], gen)
        if cfg.bc_weight > 0 and expert is not None:
            target = torch.as_tensor(expert[idx], dtype=torch.float32, device=self.device)
            loss = loss + cfg.bc_weight * self.actor.denoising_loss(target, s, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for target_p, p in zip(self.ema.parameters(), self.actor.parameters()):
                target_p.mul_(1 - cfg.tau).add_(p, alpha=cfg.tau)
        return float(loss.detach())

    # ------------------------------------------------------------------ deciding

    def unit_actions(self, mechanism: Mechanism, observed: Any) -> np.ndarray:
        """Policy actions in [-1, 1]^A: the chain's zero-noise path (the same every call)."""
        s = self.scaler(mechanism, observed, self.device)
        with torch.inference_mode():
            return self.ema.sample(s, noise_scale=0.0).cpu().numpy()

    def solve(self, mechanism: Mechanism, state: Any) -> np.ndarray:
        if self.ema is None:
            raise RuntimeError("the diffusion solver is not trained: fit it or load a "
                               "checkpoint first")
        if self.config.mode == "policy":
            return to_action(mechanism, state, self.unit_actions(mechanism, state))
        return self.generate_and_select(mechanism, state)

    def generate_and_select(self, mechanism: Mechanism, state: Any) -> np.ndarray:
        """k candidates per state, scored on the observed state: the policy's (the chain's
        noise-free path) first, sampled in the same batch as the others."""
        cfg, k = self.config, self.config.k
        many = repeat(state, k)
        s = self.scaler(mechanism, many, self.device)
        gen = torch.Generator(device=self.device).manual_seed(cfg.seed + 1)
        quiet = torch.zeros(state.n_states, k, dtype=torch.bool, device=self.device)
        quiet[:, 0] = True
        with torch.inference_mode():
            unit = self.ema.sample(s, gen, quiet=quiet.reshape(-1)).cpu().numpy()
        unit = unit.reshape(state.n_states, k, -1)
        rng = np.random.default_rng(cfg.seed + 2)
        perturb = rng.normal(0.0, cfg.perturb_std, unit.shape)
        perturb[:, : (k + 1) // 2] = 0.0  # the first half (policy included) as sampled
        unit = np.clip(unit + perturb, -1.0, 1.0).reshape(state.n_states * k, -1)
        actions = to_action(mechanism, many, unit)
        scores = mechanism.utility(many, actions).reshape(state.n_states, k)
        best = np.argmax(scores, axis=1)
        return actions.reshape(state.n_states, k, -1)[np.arange(state.n_states), best]

    # ------------------------------------------------------------------ checkpoints

    def save(self, path: str | Path, extra: dict | None = None) -> None:
        """A safetensors checkpoint (see solvers/checkpoint.py); `extra`: what it was
        trained on."""
        save_learned(path, self.name, self.config, self._dims, self.scaler,
                     {**prefixed("actor", self.actor.state_dict()),
                      **prefixed("ema", self.ema.state_dict()),
                      **prefixed("critic", self.critic.state_dict())}, extra)

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> DiffusionSolver:
        config, dims, scaler, tensors = open_learned(path, cls.name, DiffusionConfig, overrides)
        solver = cls(config)
        solver.build_networks(*dims)
        for part in ("actor", "ema", "critic"):
            restore(getattr(solver, part), part, tensors, path)
        solver.scaler = scaler
        return solver
