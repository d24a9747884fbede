"""Reading a run folder back: manifest and tables as pandas DataFrames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from netsim.record.manifest import read_manifest
from netsim.record.tables import SCHEMAS


@dataclass
class RunTables:
    """A run's manifest and its tables (`tasks`, `devices`, `links`, `servers`)."""

    path: Path
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame]

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """All complete part files of one table, in order (an empty frame if none)."""
    parts = sorted((folder / name).glob("part-*.parquet"))
    if not parts:
        return SCHEMAS[name].empty_table().to_pandas()
    return pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)


def load_run(run_dir: str | Path) -> RunTables:
    """Load a run folder written by `netsim run` (complete or not)."""
    folder = Path(run_dir)
    if not (folder / "manifest.json").exists():
        raise FileNotFoundError(f"{folder} is not a netsim run: no manifest.json")
    return RunTables(folder, read_manifest(folder),
                     {name: read_table(folder, name) for name in SCHEMAS})
