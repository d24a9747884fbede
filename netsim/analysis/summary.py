"""Key figures of a run, computed from its tables alone (streamed: see streaming.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from netsim.analysis.streaming import TaskStats
from netsim.mechanisms import metrics
from netsim.record.load import RunTables


@dataclass(frozen=True)
class RunSummary:
    arrived: int
    done: int
    deadline_missed: int
    dropped: int
    in_flight: int
    battery_empty: int
    mean_latency_s: float
    p95_latency_s: float
    mean_uplink_rate_bps: float
    handovers: int
    market: dict | None = None

    def lines(self) -> list[str]:
        """The lines printed after a run (one more for empty batteries, if any)."""
        finished = self.done + self.deadline_missed
        missed_pct = 100.0 * (self.deadline_missed + self.dropped) / max(self.arrived, 1)
        uplink = (f"uplink rate: mean {self.mean_uplink_rate_bps / 1e6:.1f} Mbit/s per transfer"
                  if np.isfinite(self.mean_uplink_rate_bps) else "uplink rate: no uplink transfers")
        lines = [
            f"tasks: {self.arrived} arrived, {finished} finished, {self.dropped} dropped, "
            f"{self.in_flight} in flight at the end",
            _latency_line("mean", self.mean_latency_s),
            _latency_line("p95", self.p95_latency_s),
            f"missed deadlines: {self.deadline_missed + self.dropped} ({missed_pct:.2f}% of tasks)",
            f"{uplink} ({self.handovers} handovers)",
        ]
        if self.battery_empty:
            share = 100.0 * self.battery_empty / max(self.arrived, 1)
            lines.insert(1, f"battery empty: {self.battery_empty} tasks refused by devices with "
                            f"an empty battery ({share:.2f}% of tasks)")
        if self.market:
            m = self.market
            lines.append(f"market: {m['mechanism']} solved by {m['solver']} over {m['epochs']} "
                         f"epochs; mean leader utility {m['mean_leader_utility']:.4g} vs "
                         f"optimum {m['mean_optimum_utility']:.4g}")
            ratio = f", ratio {m['ratio']:.4f}" if np.isfinite(m["ratio"]) else ""
            lines.append(f"market: regret {m['regret']:.4g}, score {m['score']:.4f} "
                         f"(1 = optimum, 0 = random actions){ratio}")
        return lines


def _latency_line(which: str, seconds: float) -> str:
    if not np.isfinite(seconds):
        return f"latency: {which} n/a (no task finished)"
    return f"latency: {which} {seconds * 1e3:.1f} ms"


def summarise(run: RunTables, stats: TaskStats | None = None) -> RunSummary:
    """The run's key figures, streaming its tables (`stats` if already gathered)."""
    stats = stats or TaskStats.of(run)
    return RunSummary(
        arrived=stats.arrived,
        done=stats.count("done"),
        deadline_missed=stats.count("deadline_missed"),
        dropped=stats.count("dropped"),
        in_flight=stats.count("in_flight"),
        battery_empty=stats.count("battery_empty"),
        mean_latency_s=stats.mean_latency_s,
        p95_latency_s=stats.latency_percentile(95.0),
        mean_uplink_rate_bps=stats.mean_uplink_rate_bps,
        handovers=int(run.manifest.get("counts", {}).get("handovers", 0)),
        market=market_summary(run.epochs) if len(run.epochs) else None,
    )


def market_summary(epochs: pd.DataFrame) -> dict:
    """Mean leader utility, optimum and random baseline, regret, score and ratio (where the
    optimum is positive) from the epochs table (see netsim/mechanisms/metrics.py)."""
    return {"mechanism": str(epochs.mechanism.iloc[0]), "solver": str(epochs.solver.iloc[0]),
            "epochs": int(epochs.epoch.nunique()),
            **metrics.summarise(epochs.leader_utility.to_numpy(),
                                epochs.optimum_utility.to_numpy(),
                                epochs.random_utility.to_numpy())}
