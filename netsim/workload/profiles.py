"""Per-layer cost profiles of split-inference models (FLOPs, activation and parameter bytes)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netsim.inputs import yaml_reader
from netsim.inputs.files import InputFileError, read_text

BUILTIN_DIR = Path(__file__).parent / "profiles"


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


def load_profile(path: Path) -> ModelProfile:
    """Read a profile YAML (see profiles/clip_vit_b32.yaml for the format); a ProfileError
    that names the file and what is wrong otherwise. A file read before and unchanged since
    (same size and modification time) is not parsed again: training builds a network per
    drawn state."""
    try:
        stat = Path(path).stat()
    except (OSError, ValueError):  # missing, unreadable, a NUL in the name...
        return _parse_profile(path)  # the reader names the problem
    return _cached_profile(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _cached_profile(path: str, size: int, mtime_ns: int) -> ModelProfile:
    return _parse_profile(Path(path))


def _parse_profile(path: Path) -> ModelProfile:
    try:
        raw, _ = yaml_reader.parse(read_text(path, "model profile", MAX_PROFILE_BYTES))
    except (InputFileError, yaml_reader.YamlError) as err:
        raise ProfileError(str(err)) from None
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
