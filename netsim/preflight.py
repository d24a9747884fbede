"""Before a run: how many tasks and rows it will make and how much memory it needs, against
what this machine has. A scenario can validate and still be far too big (a million devices
died after a minute at 2.8 GB); this refuses it at once, saying why, unless asked not to.

The memory model is linear in what a run holds at once, with coefficients measured on the
engine (figures below): a fixed base (Python and the libraries netsim imports
included), per device state (channel, fading paths, queues, candidates), the tasks of one
large-scale interval (drawn together, then in flight), and a row group of task records."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from netsim.scenario.schema import (
    BurstyArrivals,
    DiurnalArrivals,
    PoissonArrivals,
    Scenario,
    TraceArrivals,
)

# fitted on benchmarks/engine_throughput.py's scenario (this machine, 2026-11-30): peak RSS
# 314 MiB at 1,000 devices, 353 at 10,000, 481 at 50,000 (0.2 tasks/s each); 413 and 547 MiB
# at 10,000 devices with 2 and 10 tasks/s; rounded up
BASE_BYTES = 300 << 20
BYTES_PER_DEVICE = 5_000
BYTES_PER_TASK_IN_INTERVAL = 2_500
BYTES_PER_BUFFERED_ROW = 200
TASK_ROWS_PER_TRACE_BYTE = 1 / 8  # a trace row is at least "t,d\n"
MIB = 1 << 20


class PreflightError(RuntimeError):
    """A run that would not fit this machine."""


@dataclass(frozen=True)
class Estimate:
    tasks: float
    ticks: float
    device_rows: float
    memory_bytes: float
    available_bytes: float | None

    def describe(self) -> str:
        have = ("unknown" if self.available_bytes is None
                else f"{self.available_bytes / MIB:,.0f} MiB available")
        return (f"about {self.tasks:,.0f} tasks, {self.ticks:,.0f} ticks and "
                f"{self.device_rows:,.0f} device samples; about "
                f"{self.memory_bytes / MIB:,.0f} MiB of memory ({have})")


def mean_rate_per_device(arrivals, base_dir: Path, horizon_s: float) -> float:
    """Tasks per second of one device of a group, at the group's busiest (diurnal peak)."""
    if isinstance(arrivals, PoissonArrivals):
        return arrivals.rate_per_s
    if isinstance(arrivals, BurstyArrivals):
        return max(arrivals.rate_low_per_s, arrivals.rate_high_per_s)
    if isinstance(arrivals, DiurnalArrivals):
        return arrivals.rate_per_s * (1.0 + arrivals.amplitude)
    if isinstance(arrivals, TraceArrivals):
        path = Path(arrivals.path)
        path = path if path.is_absolute() else base_dir / path
        size = path.stat().st_size if path.is_file() else 0
        return size * TASK_ROWS_PER_TRACE_BYTE / max(horizon_s, 1e-9)
    raise TypeError(f"unknown arrivals {type(arrivals).__name__}")


def estimate(scenario: Scenario, base_dir: Path) -> Estimate:
    """What a run of `scenario` will make and hold (upper estimates)."""
    horizon = scenario.horizon_s
    rate = sum(group.count * mean_rate_per_device(group.arrivals, base_dir, horizon)
               for group in scenario.devices)
    n = scenario.n_devices
    interval = max(scenario.channel.large_scale_update_s, scenario.channel.tick_s)
    rows = scenario.record.row_group_rows
    memory = (BASE_BYTES + n * BYTES_PER_DEVICE
              + rate * interval * BYTES_PER_TASK_IN_INTERVAL
              + rows * BYTES_PER_BUFFERED_ROW)
    return Estimate(tasks=rate * horizon, ticks=math.ceil(horizon / scenario.channel.tick_s),
                    device_rows=n * horizon / scenario.record.device_sample_s,
                    memory_bytes=memory, available_bytes=available_memory_bytes())


def available_memory_bytes() -> float | None:
    """Memory this machine can give a new process now (Linux MemAvailable), or the
    physical memory elsewhere; None if neither is known."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(scenario: Scenario, base_dir: Path) -> Estimate:
    """The estimate, or a PreflightError if the run would not fit in memory here."""
    found = estimate(scenario, base_dir)
    if found.available_bytes is not None and found.memory_bytes > found.available_bytes:
        raise PreflightError(
            f"this run needs {found.describe()}: it does not fit this machine. Reduce "
            "devices, arrival rates, large_scale_update_s or record.row_group_rows, or pass "
            "--ignore-estimate to run it anyway")
    return found
