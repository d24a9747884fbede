"""Per-task columns written as tasks progress, in chunks of consecutive task ids.

The task flow hands over values as it goes (`put`, `add`, `end`: a list append of the
arrays, tuples or lists it has); `sync` moves them into numpy columns in bulk, so the per-call cost
of numpy is paid once per sync, not once per task or per tick. A chunk becomes one Parquet
part of the `tasks` table as soon as every task in it has ended, so memory holds only chunks
with tasks still in flight; at the end every remaining chunk is written, its unfinished tasks
marked `in_flight`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from netsim.record.tables import TASK_STATUSES, TASKS, TableWriter, categories

IN_FLIGHT = TASK_STATUSES.index("in_flight")
SYNC_PIECES, SYNC_VALUES = 512, 1 << 18  # buffered: (ids, values) pieces, and values
FLOAT_COLUMNS = ("t_arrival", "t_local_done", "t_uplink_start", "t_uplink_done",
                 "t_server_start", "t_server_done", "t_done", "device_energy_j")
INT_COLUMNS = {"device": np.int32, "split_layer": np.int16, "bs": np.int32, "server": np.int32,
               "bytes_up": np.int64, "status": np.int8}


def _joined(pieces: list, dtype=None) -> np.ndarray:
    """One array of buffered pieces (arrays as handed over, or the tuples and lists the hot
    loops build): arrays are never turned into lists and back."""
    return np.concatenate([np.asarray(p, dtype=dtype) for p in pieces])


class TaskLog:
    """Columns of every task, by task id, flushed to `writer` chunk by chunk."""

    def __init__(self, writer: TableWriter, chunk_rows: int, bs_names: Sequence[str],
                 server_names: Sequence[str]):
        self.writer = writer
        self.chunk_rows = chunk_rows
        self.bs_names = list(bs_names)
        self.server_names = list(server_names)
        self._chunks: dict[int, dict[str, np.ndarray]] = {}
        self._ended: dict[int, int] = {}
        self.n_issued = 0  # task ids 0..n_issued-1 exist
        # buffered writes: column -> (ids, values) pieces; additions; endings
        self._puts: dict[str, tuple[list, list]] = {}
        self._adds: dict[str, tuple[list, list]] = {}
        self._ends: tuple[list, list, list] = ([], [], [])
        self._buffered_pieces = 0
        self._buffered_values = 0

    def _chunk(self, index: int) -> dict[str, np.ndarray]:
        chunk = self._chunks.get(index)
        if chunk is None:
            size = self.chunk_rows
            chunk = {name: np.full(size, np.nan) for name in FLOAT_COLUMNS}
            chunk.update({name: np.full(size, -1, dtype=dtype)
                          for name, dtype in INT_COLUMNS.items()})
            chunk["status"][:] = IN_FLIGHT
            chunk["device_energy_j"][:] = 0.0
            self._chunks[index] = chunk
            self._ended[index] = 0
        return chunk

    def _by_chunk(self, ids: np.ndarray):
        """Yield (chunk columns, offsets in the chunk, positions in `ids`)."""
        chunk_of = ids // self.chunk_rows
        first = int(chunk_of[0])
        if chunk_of[-1] == first and (chunk_of == first).all():
            yield self._chunk(first), ids - first * self.chunk_rows, slice(None)
            return
        for index in np.unique(chunk_of).tolist():
            where = np.flatnonzero(chunk_of == index)
            yield self._chunk(index), ids[where] - index * self.chunk_rows, where

    def issue(self, n: int) -> int:
        """Reserve ids for n new tasks; return the first."""
        first = self.n_issued
        self.n_issued += n
        return first

    def put(self, ids, **columns) -> None:
        """Set columns of tasks `ids` (arrays or lists of equal length); buffered until
        `sync`."""
        ids = np.asarray(ids, dtype=np.int64)  # once, however many columns follow
        self._buffered_pieces += len(columns)
        self._buffered_values += len(ids) * len(columns)
        for name, values in columns.items():
            piece = self._puts.setdefault(name, ([], []))
            piece[0].append(ids)
            piece[1].append(values)

    def add(self, ids, name: str, values) -> None:
        """Add `values` to column `name` of tasks `ids` (buffered until `sync`)."""
        piece = self._adds.setdefault(name, ([], []))
        self._buffered_pieces += 1
        self._buffered_values += len(ids)
        piece[0].append(ids)
        piece[1].append(values)

    def end(self, ids, t_done, status) -> None:
        """Tasks `ids` left the system at `t_done` with `status` (buffered until `sync`)."""
        self._buffered_pieces += 2
        self._buffered_values += 2 * len(ids)
        self._ends[0].append(ids)
        self._ends[1].append(t_done)
        self._ends[2].append(status)

    def maybe_sync(self) -> None:
        """`sync` once enough has gathered: its cost is numpy's per call, per column, so a
        few values at a time cost more than they move (a small network syncs every few
        dozen large-scale updates, a large one at each)."""
        if (self._buffered_pieces >= SYNC_PIECES or self._buffered_values >= SYNC_VALUES):
            self.sync()

    def sync(self) -> None:
        """Move buffered values into the columns; write chunks whose tasks have all ended."""
        self._buffered_pieces = self._buffered_values = 0
        for name, (ids, values) in self._puts.items():
            self._scatter(_joined(ids, np.int64), name, _joined(values), add=False)
        for name, (ids, values) in self._adds.items():
            self._scatter(_joined(ids, np.int64), name, _joined(values), add=True)
        self._puts.clear()
        self._adds.clear()
        ids, t_done, status = self._ends
        if not ids:
            return
        ids = _joined(ids, np.int64)
        self._scatter(ids, "t_done", _joined(t_done), add=False)
        self._scatter(ids, "status", _joined(status), add=False)
        self._ends = ([], [], [])
        counts = np.bincount(ids // self.chunk_rows)
        for index in np.flatnonzero(counts).tolist():
            self._ended[index] += int(counts[index])
            if self._ended[index] == self.chunk_rows:
                self._write(index)

    def _scatter(self, ids: np.ndarray, name: str, values: np.ndarray, add: bool) -> None:
        if len(ids) == 0:
            return
        for chunk, offsets, where in self._by_chunk(ids):
            if add:
                np.add.at(chunk[name], offsets, values[where])
            else:
                chunk[name][offsets] = values[where]

    def close(self) -> None:
        """Write every chunk still held (its unfinished tasks stay `in_flight`)."""
        self.sync()
        for index in sorted(self._chunks):
            self._write(index)

    def _write(self, index: int) -> None:
        chunk = self._chunks.pop(index)
        del self._ended[index]
        first = index * self.chunk_rows
        n = min(self.chunk_rows, self.n_issued - first)
        if n <= 0:
            return
        col = {name: values[:n] for name, values in chunk.items()}
        finished = col["status"] <= 1
        latency = np.where(finished, col["t_done"] - col["t_arrival"], np.nan)
        arrays = [
            pa.array(np.arange(first, first + n, dtype=np.int64)), pa.array(col["device"]),
            pa.array(col["t_arrival"]), pa.array(col["split_layer"]),
            categories(col["bs"], self.bs_names), categories(col["server"], self.server_names),
            *(pa.array(col[name]) for name in ("t_local_done", "t_uplink_start", "t_uplink_done",
                                               "t_server_start", "t_server_done", "t_done")),
            pa.array(latency), pa.array(col["device_energy_j"]), pa.array(col["bytes_up"]),
            categories(col["status"].astype(np.int32), TASK_STATUSES),
        ]
        self.writer.add_batch(pa.Table.from_arrays(arrays, schema=TASKS))
        self.writer.flush()
