"""`manifest.json`: what was run (resolved scenario, seed, versions), its status and counts."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("netsim", "simpy", "numpy", "scipy", "networkx", "pydantic", "pyarrow", "pandas")
STATUSES = ("running", "complete", "interrupted", "failed")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write atomically, so a reader never sees half a manifest."""
    if manifest.get("status") not in STATUSES:
        raise ValueError(f"manifest status must be one of {STATUSES}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, default=float), encoding="utf-8")
    tmp.replace(path)


def read_manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))
