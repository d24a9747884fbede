"""Reading trace files (arrivals, mobility, rates): CSV or Parquet, as rows of strings, so
validation and replay share one reader and report the same places: a CSV row by its line in
the file (the header is line 1), a Parquet row by its number among the data rows."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from netsim.inputs.files import MAX_TRACE_BYTES, InputFileError, checked_file, read_text


@dataclass(frozen=True)
class TraceRows:
    columns: list[str]
    rows: list[dict[str, str]]
    places: list[str]  # where each row is, for messages: "line 7" or "row 7"


def trace_path(path_text: str, base_dir: Path) -> Path:
    """A trace path as written in a scenario: absolute, or relative to the scenario file."""
    path = Path(path_text)
    return path if path.is_absolute() else base_dir / path


def read_trace(path: Path) -> TraceRows:
    """The columns and rows of a .csv or .parquet trace, values as text (as a CSV gives);
    an InputFileError if the file cannot be read as one."""
    if path.suffix == ".parquet":
        checked_file(path, "trace file", MAX_TRACE_BYTES)
        try:
            table = pq.read_table(path)
        except Exception as err:  # pyarrow raises many kinds for a file that is not Parquet
            raise InputFileError(f"trace file {path} cannot be read as Parquet "
                                 f"({type(err).__name__})") from None
        columns = table.column_names
        data = table.to_pydict()
        rows = [{c: str(data[c][i]) for c in columns} for i in range(table.num_rows)]
        return TraceRows(columns, rows, [f"row {i + 1}" for i in range(len(rows))])
    text = read_text(path, "trace file", MAX_TRACE_BYTES)
    reader = csv.reader(text.splitlines())
    try:
        columns = [name.strip() for name in next(reader, [])]
        rows, places = [], []
        for values in reader:
            if not values:
                continue
            rows.append(dict(zip(columns, values)))
            places.append(f"line {reader.line_num}")
    except csv.Error as err:
        raise InputFileError(f"trace file {path} line {reader.line_num}: not CSV ({err})"
                             ) from None
    return TraceRows(columns, rows, places)
