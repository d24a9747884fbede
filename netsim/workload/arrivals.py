"""Task arrival processes, drawn in batches per tick for a whole device group at once.

`draw(t0, t1)` returns the arrival times in [t0, t1) and the (global) device index of each.
The superposition of a group's per-device processes is drawn as one stream, and every arrival
keeps its device, so the result is exact for Poisson and its modulated variants:
- poisson: count ~ Poisson(n * rate * dt), devices uniform, times uniform in the tick.
- bursty (MMPP-2): each device alternates between a low and a high state with exponential
  sojourns; the switch times are tracked exactly, and each state segment gets Poisson
  arrivals at its rate.
- diurnal: Poisson whose rate follows a cosine, drawn exactly by thinning a Poisson stream at
  the peak rate.
- trace: replays `t_s,device` rows from CSV.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from netsim.workload.traces import read_trace, trace_path

if TYPE_CHECKING:  # the specs are plain data: only their `process` name selects a process
    from netsim.scenario.schema import (
        BurstyArrivals,
        DiurnalArrivals,
        PoissonArrivals,
        TraceArrivals,
    )

Batch = tuple[np.ndarray, np.ndarray]  # arrival times, device indices


class ArrivalProcess(ABC):
    """Task arrivals of one group. Every process is built as (index, rng, spec, base_dir),
    `spec` being the group's `arrivals` block (see ARRIVAL_PROCESSES)."""

    def __init__(self, index: np.ndarray, rng: np.random.Generator):
        self.index = index  # global device indices of the group
        self.rng = rng

    @abstractmethod
    def draw(self, t0: float, t1: float) -> Batch:
        """Arrival times in [t0, t1) and the global device index of each."""

    @abstractmethod
    def mean_rate_per_s(self) -> float:
        """Long-run mean arrivals per second of one device of the group."""

    def _uniform_in(self, t0: float, t1: float, devices: np.ndarray) -> Batch:
        times = t0 + (t1 - t0) * self.rng.random(len(devices))
        return times, devices


class Poisson(ArrivalProcess):
    def __init__(self, index, rng, spec: PoissonArrivals, base_dir: Path | None = None):
        super().__init__(index, rng)
        self.rate = spec.rate_per_s

    def mean_rate_per_s(self) -> float:
        return self.rate

    def draw(self, t0, t1):
        count = self.rng.poisson(self.rate * (t1 - t0) * len(self.index))
        devices = self.index[self.rng.integers(0, len(self.index), count)]
        return self._uniform_in(t0, t1, devices)


class Bursty(ArrivalProcess):
    def __init__(self, index, rng, spec: BurstyArrivals, base_dir: Path | None = None):
        super().__init__(index, rng)
        self.spec = spec
        # start in the stationary distribution of the two-state chain
        p_high = spec.mean_high_s / (spec.mean_high_s + spec.mean_low_s)
        self.high = rng.random(len(index)) < p_high
        self.next_switch = rng.exponential(self._mean_sojourn(self.high))

    def _mean_sojourn(self, high):
        return np.where(high, self.spec.mean_high_s, self.spec.mean_low_s)

    def mean_rate_per_s(self) -> float:
        s = self.spec
        return ((s.rate_low_per_s * s.mean_low_s + s.rate_high_per_s * s.mean_high_s)
                / (s.mean_low_s + s.mean_high_s))

    def _rate(self, high):
        return np.where(high, self.spec.rate_high_per_s, self.spec.rate_low_per_s)

    def draw(self, t0, t1):
        # devices that stay in their state for the whole interval: one segment each
        stay = self.next_switch >= t1
        counts = self.rng.poisson(self._rate(self.high[stay]) * (t1 - t0))
        devices = [np.repeat(self.index[stay], counts)]
        times = [t0 + (t1 - t0) * self.rng.random(int(counts.sum()))]
        # the others: walk their switches in order
        for i in np.flatnonzero(~stay).tolist():
            start = t0
            while True:
                end = min(self.next_switch[i], t1)
                n = self.rng.poisson(float(self._rate(self.high[i])) * (end - start))
                times.append(start + (end - start) * self.rng.random(n))
                devices.append(np.full(n, self.index[i]))
                if end >= t1:
                    break
                self.high[i] = not self.high[i]
                self.next_switch[i] = end + self.rng.exponential(
                    float(self._mean_sojourn(self.high[i])))
                start = end
        return np.concatenate(times), np.concatenate(devices)


class Diurnal(ArrivalProcess):
    def __init__(self, index, rng, spec: DiurnalArrivals, base_dir: Path | None = None):
        super().__init__(index, rng)
        self.spec = spec

    def mean_rate_per_s(self) -> float:
        return self.spec.rate_per_s

    def rate(self, t: np.ndarray | float) -> np.ndarray:
        """Arrival rate per device at time t."""
        s = self.spec
        return s.rate_per_s * (1.0 + s.amplitude * np.cos(2.0 * np.pi * (t - s.peak_s)
                                                          / s.period_s))

    def draw(self, t0, t1):
        peak = self.spec.rate_per_s * (1.0 + self.spec.amplitude)
        count = self.rng.poisson(peak * (t1 - t0) * len(self.index))
        times = t0 + (t1 - t0) * self.rng.random(count)
        keep = self.rng.random(count) * peak < self.rate(times)  # thinning: exact
        devices = self.index[self.rng.integers(0, len(self.index), int(keep.sum()))]
        return times[keep], devices


class Trace(ArrivalProcess):
    """Replay of a CSV with columns `t_s,device` (device = 0-based index within the group)."""

    def __init__(self, index, rng, spec: TraceArrivals, base_dir: Path):
        super().__init__(index, rng)
        raw = read_trace(trace_path(spec.path, base_dir)).rows
        rows = [(float(r["t_s"]), int(r["device"])) for r in raw]
        rows.sort()
        self.times = np.array([t for t, _ in rows], dtype=float)
        self.devices = index[np.array([d for _, d in rows], dtype=int)] if rows else index[:0]

    def draw(self, t0, t1):
        lo, hi = np.searchsorted(self.times, [t0, t1], side="left")
        return self.times[lo:hi], self.devices[lo:hi]

    def mean_rate_per_s(self) -> float:
        span = float(self.times[-1]) if len(self.times) else 1.0
        return len(self.times) / max(span, 1e-9) / len(self.index)


def mean_rate_per_s(process: ArrivalProcess) -> float:
    """Long-run mean arrivals per second of one device of the group."""
    return process.mean_rate_per_s()


# one process per scenario `arrivals.process` name (the schema's variants; a test checks)
ARRIVAL_PROCESSES: dict[str, type[ArrivalProcess]] = {
    "poisson": Poisson, "bursty": Bursty, "diurnal": Diurnal, "trace": Trace}


def build_arrivals(spec, index: np.ndarray, rng: np.random.Generator,
                   base_dir: Path) -> ArrivalProcess:
    """The arrival process a group's `arrivals` block selects (by its `process` name)."""
    process = ARRIVAL_PROCESSES.get(spec.process)
    if process is None:
        raise ValueError(f"no arrival process '{spec.process}' (allowed: "
                         f"{', '.join(ARRIVAL_PROCESSES)})")
    return process(index, rng, spec, base_dir)
