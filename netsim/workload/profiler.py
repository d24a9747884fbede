"""Measures a CLIP-like ViT image encoder in torch and writes a model profile (per-layer
FLOPs, output activation bytes, parameter bytes, measured CPU latency) that scenarios can
reference as `workload.model: path/to/profile.yaml`. Weights are random: nothing is
downloaded, and FLOPs and sizes do not depend on the weights.

FLOPs are counted by torch.utils.flop_counter (2 x multiply-accumulates of matmuls and
convolutions; layer norms, softmax and GELU are not counted), the convention of the shipped
profiles."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

BYTES_PER_ELEMENT = {"fp32": 4, "fp16": 2, "int8": 1}


@dataclass(frozen=True)
class VitConfig:
    layers: int = 12
    width: int = 768
    heads: int = 12
    patch: int = 32
    image: int = 224
    embed: int = 512  # the projection CLIP applies to the class token

    @property
    def tokens(self) -> int:
        return (self.image // self.patch) ** 2 + 1


class Block(nn.Module):
    """Pre-LN transformer block with explicit attention matmuls (so every matmul counts)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                 nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(
            2, 0, 3, 1, 4)
        attn = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1)
        x = x + self.out((attn @ v).transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.ln2(x))


class VitEncoder(nn.Module):
    def __init__(self, cfg: VitConfig):
        super().__init__()
        self.cfg = cfg
        self.stem = nn.Conv2d(3, cfg.width, cfg.patch, stride=cfg.patch, bias=False)
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.width))
        self.pos = nn.Parameter(torch.zeros(1, cfg.tokens, cfg.width))
        self.ln_pre, self.ln_post = nn.LayerNorm(cfg.width), nn.LayerNorm(cfg.width)
        self.blocks = nn.ModuleList(Block(cfg.width, cfg.heads) for _ in range(cfg.layers))
        self.proj = nn.Linear(cfg.width, cfg.embed, bias=False)

    def embed(self, image: torch.Tensor) -> torch.Tensor:
        x = self.stem(image).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        return self.ln_pre(x)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.ln_post(x[:, 0]))


def _flops(fn, *args) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fn(*args)
    return int(counter.get_total_flops())


def _latency_s(fn, *args, repeats: int = 5) -> float:
    with torch.no_grad():
        fn(*args)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(*args)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def profile_model(cfg: VitConfig, dtype: str = "fp32", name: str | None = None,
                  repeats: int = 5) -> dict:
    """The profile of `cfg` as a dict in the format of netsim/workload/profiles/*.yaml."""
    if dtype not in BYTES_PER_ELEMENT:
        raise ValueError(f"unknown dtype '{dtype}' (allowed: {', '.join(BYTES_PER_ELEMENT)})")
    torch.manual_seed(0)
    model = VitEncoder(cfg).eval().requires_grad_(False)
    image = torch.randn(1, 3, cfg.image, cfg.image)
    with torch.no_grad():
        x = model.embed(image)
    layers = []
    for block in model.blocks:
        layers.append({
            "flops": _flops(block, x),
            "activation_bytes": cfg.tokens * cfg.width * BYTES_PER_ELEMENT[dtype],
            "param_bytes": sum(p.numel() for p in block.parameters()) * BYTES_PER_ELEMENT[dtype],
            "latency_s": _latency_s(block, x, repeats=repeats),
        })
    return {
        "name": name or f"vit_l{cfg.layers}_w{cfg.width}_p{cfg.patch}_{dtype}",
        "input_bytes": 3 * cfg.image * cfg.image,  # the raw uint8 image
        "result_bytes": cfg.embed * 4,
        "stem_flops": _flops(model.embed, image),
        "head_flops": _flops(model.head, x),
        "layers": layers,
    }


def write_profile(profile: dict, path: Path) -> None:
    path.write_text("# written by `netsim profile-model` (random weights; FLOPs = 2 x MACs)\n"
                    + yaml.safe_dump(profile, sort_keys=False), encoding="utf-8")
