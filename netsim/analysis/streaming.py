"""Out-of-core aggregates of a run's tables: the Parquet parts are read in batches of a few
columns, so summarising or plotting a run needs memory for its aggregates, not its rows.

Percentiles: latencies are counted in log-spaced bins (`BINS_PER_DECADE` per decade, a
width of 0.23%), kept sparse by (window, bin). A plotted percentile is its bin's centre; a
reported one is exact: a second pass reads only the values in the bins that hold the ranks
wanted and interpolates between order statistics as numpy's default `percentile` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from netsim.record.load import RunTables

BATCH_ROWS = 65_536
BINS_PER_DECADE = 1000
SMALLEST = 1e-9  # values at or below share the lowest bin (latencies are never below it)
_BIN_SPAN = 1 << 16  # bins per window in the sparse keys (log10 of 1e-9..1e9: +-9000 bins)
_BIN_OFFSET = 1 << 15


def scan(run: RunTables, table: str, columns: list[str]) -> Iterator[pd.DataFrame]:
    """The rows of `table`, a batch at a time, with only `columns`."""
    for part in run.parts(table):
        for batch in pq.ParquetFile(part).iter_batches(batch_size=BATCH_ROWS, columns=columns):
            yield batch.to_pandas()


def log_bin(values: np.ndarray) -> np.ndarray:
    """The log-spaced bin of each positive value."""
    return np.floor(np.log10(np.maximum(values, SMALLEST)) * BINS_PER_DECADE).astype(np.int64)


def bin_centre(bins: np.ndarray) -> np.ndarray:
    return np.power(10.0, (bins + 0.5) / BINS_PER_DECADE)


class SparseCounts:
    """Counts per integer key, accumulated batch by batch in memory bounded by the number of
    distinct keys."""

    def __init__(self) -> None:
        self._keys: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._pending = 0

    def add(self, keys: np.ndarray) -> None:
        if len(keys):
            unique, counts = np.unique(keys, return_counts=True)
            self._keys.append(unique)
            self._counts.append(counts)
            self._pending += len(unique)
            if self._pending > 4 * BATCH_ROWS:
                self._consolidate()

    def _consolidate(self) -> None:
        if len(self._keys) > 1:
            keys = np.concatenate(self._keys)
            unique, inverse = np.unique(keys, return_inverse=True)
            self._keys = [unique]
            self._counts = [np.bincount(inverse, weights=np.concatenate(self._counts))
                            .astype(np.int64)]
        self._pending = len(self._keys[0]) if self._keys else 0

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted keys and their counts."""
        self._consolidate()
        if not self._keys:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return self._keys[0], self._counts[0]


def _window_key(windows: np.ndarray, bins: np.ndarray) -> np.ndarray:
    return windows * _BIN_SPAN + (bins + _BIN_OFFSET)


def _split_key(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return keys // _BIN_SPAN, keys % _BIN_SPAN - _BIN_OFFSET


def _rank_in_bins(bins: np.ndarray, counts: np.ndarray, rank: float) -> tuple[int, int]:
    """The bin holding 0-based order statistic `rank`, and how many values lie below it."""
    cumulative = np.cumsum(counts)
    at = int(np.searchsorted(cumulative, rank, side="right"))
    return int(bins[at]), int(cumulative[at - 1]) if at else 0


@dataclass
class TaskStats:
    """What the summary, the plots and the reports need of the `tasks` table, in one pass.

    Tasks count from `t_min` (their arrival); windows are `window_s` long from 0."""

    t_min: float
    window_s: float
    arrived: int = 0
    status: dict[str, int] = field(default_factory=dict)
    latency_n: int = 0
    latency_sum: float = 0.0
    uplink_n: int = 0
    uplink_rate_sum: float = 0.0
    latency_bins: SparseCounts = field(default_factory=SparseCounts)  # key: window, bin
    finished_by_window: dict[int, int] = field(default_factory=dict)  # by window of t_done
    missed_by_window: dict[int, int] = field(default_factory=dict)
    run: RunTables | None = None  # read again for exact percentiles

    COLUMNS: ClassVar[list[str]] = ["t_arrival", "t_done", "latency_s", "status", "bytes_up",
                                    "t_uplink_start", "t_uplink_done"]

    @classmethod
    def of(cls, run: RunTables, t_min: float = 0.0, window_s: float = 1.0) -> TaskStats:
        stats = cls(t_min, window_s, run=run)
        for batch in scan(run, "tasks", cls.COLUMNS):
            stats.add(batch[batch.t_arrival >= t_min] if t_min > 0 else batch)
        return stats

    def add(self, tasks: pd.DataFrame) -> None:
        """Count a batch of tasks in."""
        self.arrived += len(tasks)
        status = tasks.status.astype(str)
        for name, count in status.value_counts().items():
            self.status[name] = self.status.get(name, 0) + int(count)
        finished = tasks[tasks.latency_s.notna()]
        latency = finished.latency_s.to_numpy()
        self.latency_n += len(latency)
        self.latency_sum += float(latency.sum())
        windows = (finished.t_arrival.to_numpy() // self.window_s).astype(np.int64)
        self.latency_bins.add(_window_key(windows, log_bin(latency)))
        sent = tasks[(tasks.bytes_up > 0) & tasks.t_uplink_done.notna()]
        duration = (sent.t_uplink_done - sent.t_uplink_start).to_numpy()
        rate = (8.0 * sent.bytes_up.to_numpy() / np.where(duration > 0, duration, 1.0))
        self.uplink_n += int((duration > 0).sum())
        self.uplink_rate_sum += float(rate[duration > 0].sum())
        done_window = tasks.t_done // self.window_s
        for flags, counts in ((status.isin(["done", "deadline_missed"]), self.finished_by_window),
                              (status.isin(["deadline_missed", "dropped"]),
                               self.missed_by_window)):
            for window, count in done_window[flags].value_counts().items():
                counts[int(window)] = counts.get(int(window), 0) + int(count)

    # ------------------------------------------------------------------ figures

    def count(self, *statuses: str) -> int:
        return sum(self.status.get(s, 0) for s in statuses)

    @property
    def mean_latency_s(self) -> float:
        return self.latency_sum / self.latency_n if self.latency_n else float("nan")

    @property
    def mean_uplink_rate_bps(self) -> float:
        return self.uplink_rate_sum / self.uplink_n if self.uplink_n else float("nan")

    def _overall_bins(self) -> tuple[np.ndarray, np.ndarray]:
        keys, counts = self.latency_bins.items()
        _, bins = _split_key(keys)
        frame = pd.DataFrame({"bin": bins, "n": counts}).groupby("bin").n.sum()
        return frame.index.to_numpy(), frame.to_numpy()

    def latency_cdf(self) -> tuple[np.ndarray, np.ndarray]:
        """Latency (s, bin centres) and the fraction of finished tasks at or below it."""
        bins, counts = self._overall_bins()
        return bin_centre(bins), np.cumsum(counts) / max(self.latency_n, 1)

    def latency_percentile(self, q: float) -> float:
        """The exact q-th percentile of latency (numpy's linear interpolation), by a second
        pass over the values in the one or two bins holding the ranks around it."""
        if not self.latency_n:
            return float("nan")
        bins, counts = self._overall_bins()
        position = q / 100.0 * (self.latency_n - 1)
        low, high = int(np.floor(position)), int(np.ceil(position))
        (bin_low, below), (bin_high, _) = (_rank_in_bins(bins, counts, r) for r in (low, high))
        picked = []
        for batch in scan(self.run, "tasks", ["t_arrival", "latency_s"]):
            latency = batch.latency_s.to_numpy()[batch.t_arrival.to_numpy() >= self.t_min]
            latency = latency[~np.isnan(latency)]
            b = log_bin(latency)
            picked.append(latency[(b >= bin_low) & (b <= bin_high)])
        values = np.sort(np.concatenate(picked))
        a, b = values[low - below], values[high - below]
        t = position - low  # numpy's interpolation, in its order of operations
        return float(a + (b - a) * t if t < 0.5 else b - (b - a) * (1.0 - t))

    def latency_percentiles_by_window(self, qs: tuple[float, ...]) -> pd.DataFrame:
        """Approximate percentiles of latency per arrival-time window (index: window start,
        s): the centre of the bin holding the order statistic at or below the rank, within
        0.12% of it."""
        keys, counts = self.latency_bins.items()
        windows, bins = _split_key(keys)
        rows = {}
        for window in np.unique(windows):
            mine = windows == window
            cumulative = np.cumsum(counts[mine])
            ranks = [q / 100.0 * (cumulative[-1] - 1) for q in qs]
            at = np.searchsorted(cumulative, ranks, side="right")
            rows[window * self.window_s] = bin_centre(bins[mine][at])
        return pd.DataFrame.from_dict(rows, orient="index", columns=[f"p{q:g}" for q in qs])

    def per_window(self, counts: dict[int, int]) -> pd.Series:
        """Counts per window of t_done (index: window start, s)."""
        ordered = sorted(counts.items())
        return pd.Series([c for _, c in ordered],
                         index=[w * self.window_s for w, _ in ordered], dtype=float)


def windowed_means(run: RunTables, table: str, key: str, value: str, window_s: float,
                   t_min: float = 0.0, kind: str | None = None,
                   nonzero: str | None = None) -> pd.DataFrame:
    """Mean of `value` per `key` and time window of column `t` (rows: window start, columns:
    keys), over rows with t >= t_min (and `kind` == kind if given); with `nonzero`, only the
    keys whose `nonzero` column sums above 0 over the run (servers that served)."""
    columns = ["t", key, value] + (["kind"] if kind else []) + ([nonzero] if nonzero else [])
    sums: dict[tuple[float, str], list[float]] = {}
    totals: dict[str, float] = {}
    for batch in scan(run, table, list(dict.fromkeys(columns))):
        if nonzero:
            for name, total in batch.groupby(key, observed=True)[nonzero].sum().items():
                totals[str(name)] = totals.get(str(name), 0.0) + float(total)
        rows = batch[batch.t >= t_min]
        if kind:
            rows = rows[rows.kind.astype(str) == kind]
        grouped = rows.assign(window=(rows.t // window_s) * window_s).groupby(
            ["window", key], observed=True)[value].agg(["sum", "count"])
        for (window, name), (total, count) in zip(grouped.index, grouped.to_numpy()):
            entry = sums.setdefault((float(window), str(name)), [0.0, 0])
            entry[0] += total
            entry[1] += count
    frame = pd.Series({k: s / c for k, (s, c) in sums.items() if c}, dtype=float)
    if frame.empty:
        return pd.DataFrame()
    table_ = frame.unstack()
    if nonzero:
        table_ = table_[[c for c in table_.columns if totals.get(c, 0.0) > 0]]
    return table_.sort_index()


def column_values(run: RunTables, table: str, column: str, where_notna: str,
                  t_min: float = 0.0) -> np.ndarray:
    """How often each non-negative integer value of `column` occurs (a bincount), over rows
    from t_min on where `where_notna` is set (e.g. split layers at market epochs)."""
    counts = np.zeros(0, dtype=np.int64)
    for batch in scan(run, table, ["t", column, where_notna]):
        rows = batch[batch[where_notna].notna() & (batch.t >= t_min)]
        found = np.bincount(rows[column].to_numpy().astype(np.int64))
        size = max(len(found), len(counts))
        counts = np.pad(counts, (0, size - len(counts))) + np.pad(found, (0, size - len(found)))
    return counts
