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


def plot_windowed(frame: pd.DataFrame, key: str, value: str, window_s: float, path: Path,
                  ylabel: str, title: str, scale: float = 1.0, name=str) -> Path:
    """One line per `key` of `value`'s windowed mean over time (times `scale`)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, series in windowed_mean(frame, key, value, window_s).items():
        ax.plot(series.index, series * scale, label=name(label))
    ax.set(xlabel="simulated time (s)", ylabel=ylabel, title=f"{title} ({window_s:g} s means)")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return _save(fig, path)


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

    radio = run.links[run.links.kind == "radio_up"]
    paths.append(plot_windowed(radio, "link", "rate_bps", window_s,
                               out_dir / "uplink_throughput.png", "uplink throughput (Mbit/s)",
                               "Uplink throughput per base station", 1e-6, base_station))
    used = run.servers[run.servers.groupby("server").flops.transform("sum") > 0]
    paths.append(plot_windowed(used, "server", "busy_fraction", window_s,
                               out_dir / "server_utilisation.png", "busy cores (%)",
                               "Server utilisation", 100.0))
    return paths


def base_station(link: object) -> str:
    """`bs0:radio_up` -> `bs0`."""
    return str(link).split(":")[0]
