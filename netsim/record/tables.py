"""Streamed tables: rows buffered in memory, flushed as Parquet part files of fixed size.

Each flush writes a complete file `NAME/part-NNNNN.parquet`, so whatever was flushed stays
readable even if the process dies without closing; memory is bounded by one row group.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TASKS = pa.schema([
    ("task_id", pa.int64()), ("device", pa.int32()), ("t_arrival", pa.float64()),
    ("split_layer", pa.int16()), ("bs", pa.string()), ("server", pa.string()),
    ("t_local_done", pa.float64()), ("t_uplink_start", pa.float64()),
    ("t_uplink_done", pa.float64()), ("t_server_start", pa.float64()),
    ("t_server_done", pa.float64()), ("t_done", pa.float64()), ("latency_s", pa.float64()),
    ("device_energy_j", pa.float64()), ("bytes_up", pa.int64()), ("status", pa.string()),
])
DEVICES = pa.schema([
    ("t", pa.float64()), ("device", pa.int32()), ("group", pa.string()), ("x_m", pa.float64()),
    ("y_m", pa.float64()), ("bs", pa.string()), ("rx_power_dbm", pa.float64()),
    ("spectral_efficiency", pa.float64()), ("uplink_rate_bps", pa.float64()),
    ("split_layer", pa.int16()), ("battery_j", pa.float64()), ("energy_used_j", pa.float64()),
    ("local_flops", pa.float64()), ("uplink_queue", pa.int32()),
])
LINKS = pa.schema([
    ("t", pa.float64()), ("link", pa.string()), ("kind", pa.string()),
    ("bandwidth_hz", pa.float64()), ("capacity_bps", pa.float64()), ("rate_bps", pa.float64()),
    ("active_users", pa.float64()), ("utilisation", pa.float64()),
])
SERVERS = pa.schema([
    ("t", pa.float64()), ("server", pa.string()), ("cores", pa.int32()),
    ("queue_len", pa.int32()), ("busy_fraction", pa.float64()), ("flops", pa.float64()),
    ("tasks_admitted", pa.int64()),
])
SCHEMAS = {"tasks": TASKS, "devices": DEVICES, "links": LINKS, "servers": SERVERS}


class TableWriter:
    """Append rows (tuples in schema order); flush every `row_group_rows` rows."""

    def __init__(self, folder: Path, schema: pa.Schema, row_group_rows: int):
        self.folder = folder
        self.schema = schema
        self.row_group_rows = row_group_rows
        self.rows: list[tuple] = []
        self.parts = 0
        self.rows_written = 0

    def append(self, row: tuple) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.row_group_rows:
            self.flush()

    def extend(self, rows: list[tuple]) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= self.row_group_rows:
            self.flush()

    def flush(self) -> None:
        if not self.rows and self.parts:
            return
        columns = list(zip(*self.rows)) if self.rows else [[] for _ in self.schema]
        table = pa.Table.from_arrays(
            [pa.array(col, type=field.type) for col, field in zip(columns, self.schema)],
            schema=self.schema)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"part-{self.parts:05d}.parquet"
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp)
        tmp.replace(path)  # a part is either complete or absent
        self.parts += 1
        self.rows_written += len(self.rows)
        self.rows = []
