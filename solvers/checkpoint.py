"""Checkpoints that hold no executable data: tensors in a safetensors file, everything else
(solver, configuration, dimensions, what it was trained on) as JSON in the file's header.

Loading never unpickles: a pickle-based `.pt` can run code as it loads, so netsim refuses
one, and any other file that is not one of these checkpoints, with a `CheckpointError` that
says what the file is and what to do.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch and safetensors load with the tensors, not to read a header
    import torch

FORMAT = "netsim-checkpoint-2"
MAX_BYTES = 1 << 30  # far above any solver netsim trains (a diffusion solver is ~3 MB)
MAX_HEADER_BYTES = 1 << 20
_META_KEY = "netsim"


class CheckpointError(ValueError):
    """A file that is not a loadable netsim checkpoint, or one for another problem."""


def save(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write `tensors` (contiguous, on any device) and the JSON-able `meta` to `path`."""
    from safetensors.torch import save_file

    tensors = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    save_file(tensors, str(path), metadata={_META_KEY: json.dumps({"format": FORMAT, **meta})})


def load(path: str | Path, solver: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and metadata of a checkpoint of `solver`; a clear error otherwise."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    meta = read_meta(path)
    if meta.get("solver") != solver:
        raise CheckpointError(f"{path}: a checkpoint of solver '{meta.get('solver')}', "
                              f"not '{solver}'")
    try:
        return load_file(str(path), device="cpu"), meta
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable tensors ({exc})") from None


def read_meta(path: str | Path) -> dict[str, Any]:
    """A checkpoint's metadata, read from its header alone (tensors are not loaded)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: not a file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise CheckpointError(f"{path}: {size} bytes, more than a checkpoint can be "
                              f"({MAX_BYTES} bytes)")
    with path.open("rb") as f:
        head = f.read(8)
        if head[:2] == b"PK" or head[:1] == b"\x80":
            raise CheckpointError(
                f"{path}: a checkpoint in the old pickle format, which netsim no longer loads "
                "because unpickling can run code; retrain with `netsim train` (it now writes "
                ".safetensors files)")
        if len(head) < 8:
            raise CheckpointError(f"{path}: not a netsim checkpoint (too short)")
        (n_header,) = struct.unpack("<Q", head)
        if not 2 <= n_header <= min(MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(f"{path}: not a netsim checkpoint (no safetensors header)")
        raw = f.read(n_header)
    try:
        header = json.loads(raw)
        meta = json.loads(header["__metadata__"][_META_KEY])
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(f"{path}: not a netsim checkpoint (a safetensors file without "
                              "netsim's metadata)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"{path}: checkpoint format {found!r}, this netsim reads "
                              f"{FORMAT!r}; retrain with `netsim train`")
    return meta


def verify(path: str | Path, meta: dict[str, Any], mechanism: str, scenario_hash: str,
           allow_other_scenario: bool) -> None:
    """Refuse a checkpoint trained for another mechanism, or on another scenario unless
    `allow_other_scenario` (a deliberate transfer)."""
    if meta.get("mechanism") != mechanism:
        raise CheckpointError(f"{path}: trained for mechanism '{meta.get('mechanism')}', but "
                              f"this scenario's market runs '{mechanism}'")
    if meta.get("scenario_hash") != scenario_hash and not allow_other_scenario:
        raise CheckpointError(
            f"{path}: trained on scenario '{meta.get('scenario')}' (hash "
            f"{meta.get('scenario_hash')}), but this scenario's hash is {scenario_hash}; set "
            "market.solver.allow_other_scenario: true to use it on purpose")


def prefixed(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A module's state dict under `prefix.` (one flat namespace per file)."""
    return {f"{prefix}.{name}": t for name, t in state.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The part of a flat tensor dict saved under `prefix.`."""
    start = prefix + "."
    return {name[len(start):]: t for name, t in tensors.items() if name.startswith(start)}


def restore(module: torch.nn.Module, prefix: str, tensors: dict[str, torch.Tensor],
            path: str | Path) -> None:
    """Load a module's weights saved under `prefix.`; a clear error if they do not fit."""
    try:
        module.load_state_dict(unprefixed(prefix, tensors))
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"{path}: the '{prefix}' weights do not fit the solver "
                              f"({first})") from None
