"""Reading a run folder back: the manifest, and tables as pandas DataFrames on demand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from netsim.record.manifest import read_manifest
from netsim.record.run_folder import effective_status
from netsim.record.tables import SCHEMAS, part_run_id


class RunTables:
    """A run's manifest and its tables (`tasks`, `devices`, `links`, `servers`, `epochs`).

    A table is read into pandas only when first asked for by name (`run.tasks`); the
    analysis streams the parts instead (`parts`, and netsim/analysis/streaming.py), so a
    long run is summarised in bounded memory."""

    def __init__(self, path: Path, manifest: dict[str, Any]):
        self.path = path
        self.manifest = manifest
        self._loaded: dict[str, pd.DataFrame] = {}

    def parts(self, name: str) -> list[Path]:
        """The complete Parquet parts of table `name`, in order."""
        return table_parts(self.path, name, self.manifest.get("run_id"))

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table, read into pandas."""
        return {name: self[name] for name in SCHEMAS}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in SCHEMAS:
            raise KeyError(name)
        if name not in self._loaded:
            self._loaded[name] = read_table(self.path, name, self.manifest.get("run_id"))
        return self._loaded[name]

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name in SCHEMAS:
            return self[name]
        raise AttributeError(name)


class ForeignPartError(ValueError):
    """A table part written by another run than the folder's manifest names."""


def table_parts(folder: Path, name: str, run_id: str | None) -> list[Path]:
    """The complete part files of one table, in order; a ForeignPartError if any was written
    by another run than `run_id` (None: a folder from before run ids, every part)."""
    parts = sorted((folder / name).glob("part-*.parquet"))
    if run_id is not None:
        foreign = [p for p in parts if part_run_id(p.name) != run_id]
        if foreign:
            raise ForeignPartError(
                f"{foreign[0]}: a part of another run than this folder's ({run_id}); "
                "the folder mixes runs: rerun into an empty folder")
    return parts


def table_rows(folder: Path, name: str, run_id: str | None = None) -> int:
    """Rows on disk in one table's complete parts (from their footers: nothing is read)."""
    return sum(pq.ParquetFile(p).metadata.num_rows for p in table_parts(folder, name, run_id))


def read_table(folder: Path, name: str, run_id: str | None = None) -> pd.DataFrame:
    """All complete part files of one table, in order (an empty frame if none)."""
    parts = table_parts(folder, name, run_id)
    if not parts:
        return SCHEMAS[name].empty_table().to_pandas()
    return pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)


def load_run(run_dir: str | Path) -> RunTables:
    """Load a run folder written by `netsim run` (complete or not); the manifest's status
    reads `crashed` for a run whose process died while running."""
    folder = Path(run_dir)
    if not (folder / "manifest.json").exists():
        raise FileNotFoundError(f"{folder} is not a netsim run: no manifest.json")
    manifest = read_manifest(folder)
    manifest["status"] = effective_status(manifest)
    run = RunTables(folder, manifest)
    for name in SCHEMAS:  # refuse a folder that mixes runs now, not at the first read
        run.parts(name)
    return run
