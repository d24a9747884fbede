"""The basic plots of a run (PNG): latency, uplink throughput and server load over time.

Every figure comes from aggregates streamed out of the tables (analysis/streaming.py), so
plotting a long run takes memory for its windows, not its rows."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from netsim.analysis.streaming import TaskStats, windowed_means
from netsim.record.load import RunTables


def default_window_s(run: RunTables, warmup_s: float = 0.0) -> float:
    """A sixtieth of the simulated span (at least 1 s)."""
    horizon = float(run.manifest.get("sim_time_s") or 0.0)
    return max((horizon - warmup_s) / 60.0, 1.0)


Span = tuple[float, float, str]  # a fault's (start, end, label)
SPAN_COLOURS = {"server_down": "tab:red", "base_station_down": "tab:orange",
                "link_down": "tab:purple", "link_scale": "tab:pink",
                "arrival_scale": "tab:olive", "channel_degrade": "tab:cyan"}


def fault_spans(run: RunTables) -> list[Span]:
    """The run's faults as time spans (from the events table): each start paired with the
    next end of the same kind and target, or with the end of the run."""
    events = run.events
    end_of_run = float(run.manifest.get("sim_time_s") or 0.0)
    spans, open_at = [], {}
    for row in events.sort_values("t", kind="stable").itertuples():
        key = (row.kind, row.target)
        if row.phase == "start":
            open_at.setdefault(key, []).append(float(row.t))
        elif open_at.get(key):
            spans.append((open_at[key].pop(0), float(row.t), f"{row.kind} {row.target}"))
    spans += [(t, end_of_run, f"{kind} {target}") for (kind, target), starts in open_at.items()
              for t in starts]
    return sorted(spans)


def shade(ax, spans: list[Span]) -> None:
    """Shade each fault's span on a time axis, one legend entry per fault."""
    seen = set()
    for start, end, label in spans:
        colour = SPAN_COLOURS.get(label.split(" ")[0], "grey")
        ax.axvspan(start, end, color=colour, alpha=0.12, lw=0,
                   label=None if label in seen else label)
        seen.add(label)


def plot_lines(table: pd.DataFrame, window_s: float, path: Path, ylabel: str, title: str,
               scale: float = 1.0, name=str, spans: list[Span] = ()) -> Path:
    """One line per column of a windowed table (times `scale`), faults shaded."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, series in table.items():
        ax.plot(series.index, series * scale, label=name(label))
    shade(ax, spans)
    ax.set(xlabel="simulated time (s)", ylabel=ylabel, title=f"{title} ({window_s:g} s means)")
    if len(table.columns) or spans:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return save(fig, path)


def save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_run(run: RunTables, out_dir: Path, window_s: float | None = None,
             stats: TaskStats | None = None, warmup_s: float = 0.0) -> list[Path]:
    """Write the run's plots into `out_dir` (tasks arriving and samples from `warmup_s` on);
    return their paths. `stats` must then cover the same warm-up and windows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    window_s = window_s or default_window_s(run, warmup_s)
    stats = stats or TaskStats.of(run, warmup_s, window_s)
    paths = []
    spans = fault_spans(run)

    fig, ax = plt.subplots(figsize=(6, 4))
    latency, fraction = stats.latency_cdf()
    if len(latency):
        ax.step(latency * 1e3, fraction, where="post")
    ax.set(xlabel="task latency (ms)", ylabel="fraction of tasks", title="Latency CDF")
    ax.grid(alpha=0.3)
    paths.append(save(fig, out_dir / "latency_cdf.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    windows = stats.latency_percentiles_by_window((50.0, 95.0))
    ax.plot(windows.index, windows["p50"] * 1e3, label="p50")
    ax.plot(windows.index, windows["p95"] * 1e3, label="p95")
    shade(ax, spans)
    ax.set(xlabel="simulated time (s)", ylabel="latency (ms)",
           title=f"Latency over time ({window_s:g} s windows)")
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(save(fig, out_dir / "latency_over_time.png"))

    radio = windowed_means(run, "links", "link", "rate_bps", window_s, warmup_s, "radio_up")
    paths.append(plot_lines(radio, window_s, out_dir / "uplink_throughput.png",
                            "uplink throughput (Mbit/s)", "Uplink throughput per base station",
                            1e-6, base_station, spans))
    busy = windowed_means(run, "servers", "server", "busy_fraction", window_s, warmup_s,
                          nonzero="flops")
    paths.append(plot_lines(busy, window_s, out_dir / "server_utilisation.png",
                            "busy cores (%)", "Server utilisation", 100.0, spans=spans))
    return paths


def base_station(link: object) -> str:
    """`bs0:radio_up` -> `bs0`."""
    return str(link).split(":")[0]
