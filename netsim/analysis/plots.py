"""The basic plots of a run (PNG): latency, uplink throughput and server load over time."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from netsim.record.load import RunTables


def latency_windows(tasks: pd.DataFrame, window_s: float) -> pd.DataFrame:
    """p50 and p95 latency (s) of finished tasks per arrival-time window."""
    finished = tasks.dropna(subset=["latency_s"])
    bins = (finished.t_arrival // window_s) * window_s
    grouped = finished.groupby(bins).latency_s
    return pd.DataFrame({"p50": grouped.median(), "p95": grouped.quantile(0.95)})


def windowed_mean(frame: pd.DataFrame, key: str, value: str, window_s: float) -> pd.DataFrame:
    """Mean of `value` per `key` and time window (rows: window start, columns: keys)."""
    bins = (frame.t // window_s) * window_s
    return frame.assign(window=bins).pivot_table(index="window", columns=key, values=value,
                                                 aggfunc="mean", observed=True)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_run(run: RunTables, out_dir: Path, window_s: float | None = None) -> list[Path]:
    """Write the run's plots into `out_dir`; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    horizon = float(run.manifest.get("sim_time_s") or run.tasks.t_arrival.max() or 1.0)
    window_s = window_s or max(horizon / 60.0, 1.0)
    paths = []
    latency = run.tasks.latency_s.dropna().sort_values().to_numpy()

    fig, ax = plt.subplots(figsize=(6, 4))
    if len(latency):
        ax.plot(latency * 1e3, np.arange(1, len(latency) + 1) / len(latency))
    ax.set(xlabel="task latency (ms)", ylabel="fraction of tasks", title="Latency CDF")
    ax.grid(alpha=0.3)
    paths.append(_save(fig, out_dir / "latency_cdf.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    windows = latency_windows(run.tasks, window_s)
    ax.plot(windows.index, windows.p50 * 1e3, label="p50")
    ax.plot(windows.index, windows.p95 * 1e3, label="p95")
    ax.set(xlabel="simulated time (s)", ylabel="latency (ms)",
           title=f"Latency over time ({window_s:g} s windows)")
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(_save(fig, out_dir / "latency_over_time.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    radio = run.links[run.links.kind == "radio_up"]
    for link, series in windowed_mean(radio, "link", "rate_bps", window_s).items():
        ax.plot(series.index, series / 1e6, label=str(link).split(":")[0])
    ax.set(xlabel="simulated time (s)", ylabel="uplink throughput (Mbit/s)",
           title=f"Uplink throughput per base station ({window_s:g} s means)")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    paths.append(_save(fig, out_dir / "uplink_throughput.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    used = run.servers[run.servers.groupby("server").flops.transform("sum") > 0]
    for server, series in windowed_mean(used, "server", "busy_fraction", window_s).items():
        ax.plot(series.index, series * 100.0, label=str(server))
    ax.set(xlabel="simulated time (s)", ylabel="busy cores (%)",
           title=f"Server utilisation ({window_s:g} s means)")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    paths.append(_save(fig, out_dir / "server_utilisation.png"))
    return paths
