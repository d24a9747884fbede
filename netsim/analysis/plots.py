"""The basic plots of a run (PNG): latency, uplink throughput and server load over time.

Every figure comes from aggregates streamed out of the tables (analysis/streaming.py), so
plotting a long run takes memory for its windows, not its rows."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from netsim.analysis.canvas import provenance, save
from netsim.analysis.figures import (
    device_timelines,
    latency_breakdown,
    radio_map,
    topology_map,
)
from netsim.analysis.streaming import TaskStats, scan, windowed_means
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


def plot_run(run: RunTables, out_dir: Path, window_s: float | None = None,
             stats: TaskStats | None = None, warmup_s: float = 0.0) -> list[Path]:
    """Write the run's plots into `out_dir` (tasks arriving and samples from `warmup_s` on);
    return their paths. `stats` must then cover the same warm-up and windows."""
    with provenance(run):
        return _plot_run(run, out_dir, window_s, stats, warmup_s)


def _plot_run(run: RunTables, out_dir: Path, window_s: float | None,
              stats: TaskStats | None, warmup_s: float) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    window_s = window_s or default_window_s(run, warmup_s)
    stats = stats or TaskStats.of(run, warmup_s, window_s)
    paths = []
    spans = fault_spans(run)

    deadline = run.manifest["scenario"]["workload"].get("deadline_s")
    fig, ax = plt.subplots(figsize=(6, 4))
    latency, fraction = stats.latency_cdf()
    if len(latency):
        ax.step(latency * 1e3, fraction, where="post", label="tasks")
        ax.set_xscale("log")  # the tail stays readable without squashing the body
        for q, style in ((50.0, ":"), (95.0, "--")):
            value = stats.latency_percentile(q) * 1e3
            ax.axvline(value, color="tab:grey", ls=style, lw=1, label=f"p{q:g} {value:.3g} ms")
        if deadline:
            ax.axvline(deadline * 1e3, color="tab:red", lw=1.2, label=f"deadline {deadline:g} s")
        ax.legend(fontsize="small")
    ax.set(xlabel="task latency (ms, log scale)", ylabel="fraction of tasks",
           title="Latency CDF")
    ax.grid(alpha=0.3, which="both")
    paths.append(save(fig, out_dir / "latency_cdf.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    windows = stats.latency_percentiles_by_window((50.0, 95.0))
    ax.plot(windows.index, windows["p50"] * 1e3, label="p50")
    ax.plot(windows.index, windows["p95"] * 1e3, label="p95")
    if deadline:
        ax.axhline(deadline * 1e3, color="tab:red", lw=1.2, label=f"deadline {deadline:g} s")
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
    paths.append(latency_breakdown(run, out_dir / "latency_breakdown.png", warmup_s)[0])
    paths.append(topology_map(run, out_dir / "topology.png")[0])
    paths.append(radio_map(run, out_dir / "radio_map.png")[0])
    paths.append(device_timelines(run, out_dir / "device_timelines.png")[0])
    if len(run.epochs):
        paths.append(market_figure(run, out_dir / "market.png", warmup_s))
    return paths


def market_figure(run: RunTables, path: Path, warmup_s: float = 0.0) -> Path:
    """Every component of each leader's action, its utility against the optimum, the
    score, the followers' responses (the share taking part) and the payments they made (sum
    over the devices' market rows; negative: paid to them), per market epoch."""
    epochs = run.epochs[run.epochs.t >= warmup_s]
    payments = pd.concat([batch[batch.kind.astype(str) == "market"]
                          for batch in scan(run, "devices", ["t", "kind", "payment"])])
    paid = payments.groupby("t").payment.sum()
    fig, (top, middle, bottom, responses) = plt.subplots(4, 1, figsize=(7, 10.5), sharex=True)
    for leader, rows in epochs.groupby("leader"):
        responses.plot(rows.t, rows.participation, marker="o",
                       label=f"{leader}: share of followers taking part")
        actions = np.stack(rows.action.to_numpy())
        for i in range(actions.shape[1]):
            top.plot(rows.t, actions[:, i], marker="o", ms=3,
                     label=f"{leader}" + (f": a[{i}]" if actions.shape[1] > 1 else ""))
        middle.plot(rows.t, rows.leader_utility, marker="o", label=f"{leader}: solver")
        middle.plot(rows.t, rows.optimum_utility, ls="--", label=f"{leader}: optimum")
        bottom.plot(rows.t, rows.score, marker="o", label=str(leader))
    bottom.axhline(1.0, color="k", lw=0.8, ls="--")
    bottom.axhline(0.0, color="grey", lw=0.8, ls=":")
    top.set(ylabel="action (every component)",
            title=f"Market: {epochs.mechanism.iloc[0]} solved by {epochs.solver.iloc[0]}")
    middle.set(ylabel="leader utility")
    bottom.set(ylabel="score (1 = optimum,\n0 = random actions)")
    twin = responses.twinx()
    twin.bar(paid.index, paid.to_numpy(), width=0.4 * float(np.diff(paid.index).min())
             if len(paid) > 1 else 1.0, alpha=0.3, color="tab:grey", label="payments (sum)")
    twin.set(ylabel="payments by followers (sum)")
    twin.legend(fontsize="small", loc="lower right")
    responses.set(xlabel="simulated time (s)", ylabel="followers' responses", ylim=(0, 1.05))
    for ax in (top, middle, bottom, responses):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", ncol=2)
    return save(fig, path)


def base_station(link: object) -> str:
    """`bs0:radio_up` -> `bs0`."""
    return str(link).split(":")[0]
