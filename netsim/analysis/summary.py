"""Key figures of a run, computed from its tables alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from netsim.record.load import RunTables


@dataclass(frozen=True)
class RunSummary:
    arrived: int
    done: int
    deadline_missed: int
    dropped: int
    in_flight: int
    mean_latency_s: float
    p95_latency_s: float
    mean_uplink_rate_bps: float
    handovers: int

    def lines(self) -> list[str]:
        """The five lines printed after a run."""
        finished = self.done + self.deadline_missed
        missed_pct = 100.0 * (self.deadline_missed + self.dropped) / max(self.arrived, 1)
        return [
            f"tasks: {self.arrived} arrived, {finished} finished, {self.dropped} dropped, "
            f"{self.in_flight} in flight at the end",
            f"latency: mean {self.mean_latency_s * 1e3:.1f} ms",
            f"latency: p95 {self.p95_latency_s * 1e3:.1f} ms",
            f"missed deadlines: {self.deadline_missed + self.dropped} ({missed_pct:.2f}% of tasks)",
            f"uplink rate: mean {self.mean_uplink_rate_bps / 1e6:.1f} Mbit/s per transfer "
            f"({self.handovers} handovers)",
        ]


def uplink_rates_bps(tasks: pd.DataFrame) -> pd.Series:
    """Mean rate of every uplink transfer: bits sent over transmission time."""
    sent = tasks[(tasks.bytes_up > 0) & tasks.t_uplink_done.notna()]
    duration = sent.t_uplink_done - sent.t_uplink_start
    return (8.0 * sent.bytes_up / duration)[duration > 0]


def summarise(run: RunTables) -> RunSummary:
    tasks = run.tasks
    status = tasks.status.value_counts()
    latency = tasks.latency_s.dropna()
    rates = uplink_rates_bps(tasks)
    return RunSummary(
        arrived=len(tasks),
        done=int(status.get("done", 0)),
        deadline_missed=int(status.get("deadline_missed", 0)),
        dropped=int(status.get("dropped", 0)),
        in_flight=int(status.get("in_flight", 0)),
        mean_latency_s=float(latency.mean()) if len(latency) else float("nan"),
        p95_latency_s=float(np.percentile(latency, 95)) if len(latency) else float("nan"),
        mean_uplink_rate_bps=float(rates.mean()) if len(rates) else float("nan"),
        handovers=int(run.manifest.get("counts", {}).get("handovers", 0)),
    )
