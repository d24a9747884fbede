"""Key figures of a run, computed from its tables alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
        battery_empty=int(status.get("battery_empty", 0)),
        mean_latency_s=float(latency.mean()) if len(latency) else float("nan"),
        p95_latency_s=float(np.percentile(latency, 95)) if len(latency) else float("nan"),
        mean_uplink_rate_bps=float(rates.mean()) if len(rates) else float("nan"),
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
