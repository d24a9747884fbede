"""Model profiles from YAML: split-inference models (per-layer FLOPs, activation and parameter
bytes) and diffusion models served as generation requests."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from netsim.inputs import yaml_reader
from netsim.inputs.files import InputFileError, read_text
from netsim.workload.generation import DiffusionProfile, parse_diffusion
from netsim.workload.model_profile import ModelProfile

__all__ = [
    "DiffusionProfile",
    "ModelProfile",
    "ProfileError",
    "builtin_profiles",
    "load_profile",
    "resolve_profile_path",
]

BUILTIN_DIR = Path(__file__).parent / "profiles"


def resolve_profile_path(model: str, base_dir: Path | None = None) -> Path:
    """Path of a built-in profile name, or of a profile file relative to `base_dir`."""
    if model in builtin_profiles():
        return BUILTIN_DIR / f"{model}.yaml"
    path = Path(model)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def builtin_profiles() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


class ProfileError(ValueError):
    """A file that is not a usable model profile."""


MAX_PROFILE_BYTES = 1 << 20


def load_profile(path: Path) -> ModelProfile | DiffusionProfile:
    """Read a profile YAML (see profiles/clip_vit_b32.yaml for the format of split-inference
    models, profiles/sd_v1_5_512.yaml for diffusion models); a ProfileError
    that names the file and what is wrong otherwise. A file read before and unchanged since
    (same size and modification time) is not parsed again: training builds a network per
    drawn state."""
    try:
        stat = Path(path).stat()
    except (OSError, ValueError):  # missing, unreadable, a NUL in the name...
        return _parse_profile(path)  # the reader names the problem
    return _cached_profile(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _cached_profile(path: str, size: int, mtime_ns: int) -> ModelProfile | DiffusionProfile:
    return _parse_profile(Path(path))


def _parse_profile(path: Path) -> ModelProfile | DiffusionProfile:
    try:
        raw, _ = yaml_reader.parse(read_text(path, "model profile", MAX_PROFILE_BYTES))
    except (InputFileError, yaml_reader.YamlError) as err:
        raise ProfileError(str(err)) from None
    if isinstance(raw, dict) and raw.get("kind") == "diffusion":
        try:
            return parse_diffusion(raw)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as err:
            raise ProfileError(f"model profile {path}: not a diffusion profile "
                               f"({type(err).__name__}: {str(err)[:100]})") from None
    try:
        layers = raw["layers"]
        if not isinstance(layers, list) or not layers:
            raise ValueError("'layers' must be a non-empty list")
        profile = ModelProfile(
            name=str(raw["name"]),
            input_bytes=int(raw["input_bytes"]),
            result_bytes=int(raw["result_bytes"]),
            stem_flops=float(raw.get("stem_flops", 0.0)),
            head_flops=float(raw.get("head_flops", 0.0)),
            layer_flops=np.array([float(layer["flops"]) for layer in layers]),
            activation_bytes=np.array([int(layer["activation_bytes"]) for layer in layers]),
            param_bytes=np.array([int(layer.get("param_bytes", 0)) for layer in layers]),
        )
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as err:
        raise ProfileError(f"model profile {path}: not a profile ({type(err).__name__}: "
                           f"{str(err)[:100]})") from None
    numbers = np.concatenate(([profile.input_bytes, profile.result_bytes, profile.stem_flops,
                               profile.head_flops], profile.layer_flops,
                              profile.activation_bytes, profile.param_bytes))
    if not np.all(np.isfinite(numbers)) or np.any(numbers < 0):
        raise ProfileError(f"model profile {path}: sizes and FLOPs must be finite and >= 0")
    for array in (profile.layer_flops, profile.activation_bytes, profile.param_bytes):
        array.flags.writeable = False  # one profile may serve many simulations
    return profile
