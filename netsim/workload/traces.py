"""Reading trace files (arrivals, mobility, rates): CSV or Parquet, as rows of strings, so
validation and replay share one reader and report the same row numbers (header = row 1)."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq


def trace_path(path_text: str, base_dir: Path) -> Path:
    """A trace path as written in a scenario: absolute, or relative to the scenario file."""
    path = Path(path_text)
    return path if path.is_absolute() else base_dir / path


def read_trace(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """(columns, rows) of a .csv or .parquet trace; values as text, as a CSV would give."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        columns = table.column_names
        data = table.to_pydict()
        rows = [{c: str(data[c][i]) for c in columns} for i in range(table.num_rows)]
        return columns, rows
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows
