"""Streamed tables: rows buffered in memory, flushed as Parquet part files of fixed size.

Each flush writes a complete file `NAME/part-NNNNN.parquet`, so whatever was flushed stays
readable even if the process dies without closing; memory is bounded by one row group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from netsim.record.part_writer import PartWriter, write_part

# codes 0..4; battery_empty: refused at arrival by a device whose battery is empty
TASK_STATUSES = ("done", "deadline_missed", "dropped", "in_flight", "battery_empty")

CATEGORY = pa.dictionary(pa.int32(), pa.string())
MARKET_DEVICE_COLUMNS = ("alpha", "c_max", "theta", "item", "valuation", "allocation",
                         "payment", "market_utility")
TASKS = pa.schema([
    ("task_id", pa.int64()), ("device", pa.int32()), ("t_arrival", pa.float64()),
    ("split_layer", pa.int16()), ("bs", CATEGORY), ("server", CATEGORY),
    ("t_local_done", pa.float64()), ("t_uplink_start", pa.float64()),
    ("t_uplink_done", pa.float64()), ("t_server_start", pa.float64()),
    ("t_server_done", pa.float64()), ("t_done", pa.float64()), ("latency_s", pa.float64()),
    ("device_energy_j", pa.float64()), ("bytes_up", pa.int64()), ("status", CATEGORY),
])
DEVICES = pa.schema([
    ("t", pa.float64()), ("device", pa.int32()), ("group", CATEGORY), ("x_m", pa.float64()),
    ("y_m", pa.float64()), ("bs", CATEGORY), ("rx_power_dbm", pa.float64()),
    ("sinr_db", pa.float64()), ("spectral_efficiency", pa.float64()),
    ("uplink_rate_bps", pa.float64()),
    ("split_layer", pa.int16()), ("battery_j", pa.float64()), ("energy_used_j", pa.float64()),
    ("local_flops", pa.float64()), ("uplink_queue", pa.int32()),
    # market parameters and outcome, on the rows written at market epochs (else null)
    *((name, pa.float64()) for name in MARKET_DEVICE_COLUMNS),
    # `sample`: the periodic row; `market`: the row written at a market epoch (same t, device
    # as a periodic row when both fall together)
    ("kind", CATEGORY),
])
# one row per device, written when the run starts: what does not change
DEVICES_STATIC = pa.schema([
    ("device", pa.int32()), ("group", CATEGORY), ("compute_flops", pa.float64()),
    ("energy_per_flop_j", pa.float64()), ("battery_j", pa.float64()),
    ("memory_bytes", pa.float64()), ("tx_power_dbm", pa.float64()),
    ("antenna_gain_dbi", pa.float64()), ("height_m", pa.float64()),
    ("split_layer", pa.int16()), ("compression", CATEGORY), ("max_split_layer", pa.int16()),
])
LINKS = pa.schema([
    ("t", pa.float64()), ("link", pa.string()), ("kind", pa.string()),
    ("bandwidth_hz", pa.float64()), ("capacity_bps", pa.float64()), ("rate_bps", pa.float64()),
    ("active_users", pa.float64()), ("utilisation", pa.float64()),
    # the link's id (a base station, or `A-B` for a wired link) and its direction
    ("link_id", pa.string()), ("direction", pa.string()),
])
SERVERS = pa.schema([
    ("t", pa.float64()), ("server", pa.string()), ("cores", pa.int32()),
    ("queue_len", pa.int32()), ("busy_fraction", pa.float64()), ("flops", pa.float64()),
    ("tasks_admitted", pa.int64()),
])
EPOCHS = pa.schema([
    ("epoch", pa.int32()), ("t", pa.float64()), ("leader", pa.string()),
    ("mechanism", pa.string()), ("solver", pa.string()), ("action", pa.list_(pa.float64())),
    ("leader_utility", pa.float64()), ("optimum_utility", pa.float64()),
    ("ratio", pa.float64()), ("random_utility", pa.float64()), ("regret", pa.float64()),
    ("score", pa.float64()), ("mean_follower_utility", pa.float64()),
    ("participation", pa.float64()),
    ("n_followers", pa.int32()), ("solve_time_s", pa.float64()),
    ("a", pa.float64()), ("b", pa.float64()), ("c", pa.float64()), ("L", pa.int32()),
    ("R", pa.float64()), ("p_min", pa.float64()), ("p_max", pa.float64()),
    ("realised_revenue", pa.float64()), ("plugin_utility", pa.float64()),
])
# one row per fault or load change starting or ending (netsim/faults.py), with what it did
EVENTS = pa.schema([
    ("t", pa.float64()), ("kind", pa.string()), ("target", pa.string()), ("phase", pa.string()),
    ("value", pa.float64()), ("tasks_rerouted", pa.int64()), ("tasks_dropped", pa.int64()),
    ("handovers", pa.int64()),
])
# one row per generated image delivered (AIGC workloads; netsim/workload/generation.py)
GENERATIONS = pa.schema([
    ("task_id", pa.int64()), ("device", pa.int32()), ("steps", pa.int32()),
    ("quality", pa.float64()),
])
# one row per federated round (netsim/entities/federated.py)
ROUNDS = pa.schema([
    ("round", pa.int32()), ("t_start", pa.float64()), ("t_end", pa.float64()),
    ("round_time_s", pa.float64()), ("selection", pa.string()), ("selected", pa.int32()),
    ("completed", pa.int32()), ("stragglers", pa.int32()),
    ("clients", pa.list_(pa.int32())), ("completed_clients", pa.list_(pa.int32())),
    ("samples", pa.int64()), ("energy_j", pa.float64()), ("payments", pa.float64()),
    ("data_passes", pa.float64()), ("convergence_gap", pa.float64()),
])
SCHEMAS = {"tasks": TASKS, "devices": DEVICES, "devices_static": DEVICES_STATIC,
           "links": LINKS, "servers": SERVERS,
           "epochs": EPOCHS, "events": EVENTS, "generations": GENERATIONS, "rounds": ROUNDS}


def rows_to_table(rows: Sequence[tuple], schema: pa.Schema) -> pa.Table:
    """Tuples in schema order -> a table."""
    columns = list(zip(*rows)) if rows else [[] for _ in schema]
    return pa.Table.from_arrays(
        [pa.array(col, type=field.type) for col, field in zip(columns, schema)], schema=schema)


def categories(codes: np.ndarray, names: Sequence[str]) -> pa.DictionaryArray:
    """Integer codes (-1 = missing) as a dictionary-encoded string column."""
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32), mask=codes < 0),
                                          pa.array(list(names), type=pa.string()))


def part_name(index: int, run_id: str) -> str:
    """A part's file name: its place in the table and the run that wrote it."""
    return f"part-{index:05d}-{run_id}.parquet"


def part_run_id(name: str) -> str:
    """The run id in a part's file name (see `part_name`)."""
    return name.removesuffix(".parquet").split("-", 2)[-1]


class TableWriter:
    """Append rows to `rows` (or whole column batches with `add_batch`); `flush_if_full`
    writes a part every `row_group_rows` rows (on a `PartWriter`'s thread if given).

    Rows are tuples in schema order unless `build` turns them into a table another way."""

    def __init__(self, folder: Path, schema: pa.Schema, row_group_rows: int,
                 build: Callable[[Sequence[Any]], pa.Table] | None = None,
                 run_id: str = "run", background: PartWriter | None = None):
        self.folder = folder
        self.run_id = run_id
        self.schema = schema
        self.row_group_rows = row_group_rows
        self.build = build or (lambda rows: rows_to_table(rows, schema))
        self.background = background  # writes the parts on its thread if given
        self._categorical = [f.name for f in schema if pa.types.is_dictionary(f.type)]
        self.rows: list = []
        self._batches: list[pa.Table] = []
        self._batch_rows = 0
        self.parts = 0
        self.rows_written = 0

    def add_batch(self, batch: pa.Table) -> None:
        """Add rows given as a table of this writer's schema."""
        self._batches.append(batch)
        self._batch_rows += batch.num_rows

    def flush_if_full(self) -> None:
        if len(self.rows) + self._batch_rows >= self.row_group_rows:
            self.flush()

    def flush(self, if_empty: bool = True) -> None:
        """Write the buffered rows as one part file (an empty part if nothing was ever written
        and `if_empty`, so every table has a schema on disk)."""
        n_rows = len(self.rows) + self._batch_rows
        if not n_rows and (self.parts or not if_empty):
            return
        tables = [self.build(self.rows)] if self.rows or not self._batches else []
        table = pa.concat_tables([*tables, *self._batches])
        path = self.folder / part_name(self.parts, self.run_id)
        if self.background is None:
            write_part(table, path, self._categorical)
        else:
            self.background.submit(table, path, self._categorical)
        self.parts += 1
        self.rows_written += n_rows
        self.rows.clear()  # in place: producers may hold `rows.append`
        self._batches.clear()
        self._batch_rows = 0
