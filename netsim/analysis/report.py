"""`netsim report RUN` and `netsim compare RUN...`: key metrics from the tables, plots, and a
summary.md; warm-up trimming and time windows."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import t as stats_t

from netsim.analysis.canvas import provenance, save
from netsim.analysis.figures import topology_animation
from netsim.analysis.plots import (
    base_station,
    default_window_s,
    fault_spans,
    plot_lines,
    plot_run,
    shade,
)
from netsim.analysis.streaming import TaskStats, column_values, scan, windowed_means
from netsim.analysis.summary import market_summary
from netsim.record.load import RunTables, load_run, table_rows


def key_metrics(run: RunTables, warmup_s: float = 0.0,
                stats: TaskStats | None = None) -> dict[str, float]:
    """Metrics of a run, over tasks arriving after `warmup_s` and samples after it (`stats`:
    the tasks' aggregates with the same warm-up, if already gathered)."""
    stats = stats or TaskStats.of(run, warmup_s)
    horizon = float(run.manifest.get("sim_time_s") or 0.0)
    span = max(horizon - warmup_s, 1e-9)
    busy_sum, busy_n = 0.0, 0
    for batch in scan(run, "servers", ["t", "flops", "busy_fraction"]):
        rows = batch[(batch.t > warmup_s) & (batch.flops > 0)]
        busy_sum += float(rows.busy_fraction.sum())
        busy_n += len(rows)
    metrics = {
        "tasks": float(stats.arrived),
        "throughput_per_s": stats.count("done", "deadline_missed") / span,
        "missed_fraction": stats.count("deadline_missed", "dropped") / stats.arrived
        if stats.arrived else np.nan,
        "mean_latency_s": stats.mean_latency_s,
        "p95_latency_s": stats.latency_percentile(95.0),
        "mean_uplink_rate_bps": stats.mean_uplink_rate_bps,
        "server_busy_fraction": busy_sum / busy_n if busy_n else np.nan,
    }
    epochs = run.epochs[run.epochs.t >= warmup_s]
    if len(epochs):
        market = market_summary(epochs)
        metrics["leader_utility"] = market["mean_leader_utility"]
        metrics["optimum_utility"] = market["mean_optimum_utility"]
        metrics["random_utility"] = market["mean_random_utility"]
        metrics["regret"] = market["regret"]
        metrics["score"] = market["score"]
        metrics["ratio_to_optimum"] = market["ratio"]
    return metrics


def report(run_dir: Path, warmup_s: float = 0.0, window_s: float | None = None,
           out: Path | None = None, animate: bool = False) -> list[Path]:
    """Plots and summary.md for one run folder, in `out` (default: its report/ folder), and
    with `animate` a GIF of the topology over time; returns the files written."""
    run = load_run(run_dir)
    out = Path(out) if out is not None else Path(run_dir) / "report"
    horizon = float(run.manifest.get("sim_time_s") or 0.0)
    window_s = window_s or default_window_s(run, warmup_s)
    stats = TaskStats.of(run, warmup_s, window_s)
    paths = plot_run(run, out, window_s, stats, warmup_s)
    with provenance(run):
        paths += _extra_plots(run, stats, out, window_s, warmup_s)
    if animate:
        paths.append(topology_animation(run, out / "topology.gif")[0])
    metrics = key_metrics(run, warmup_s, stats)
    lines = [f"# Run report: {run.manifest['scenario']['name']} (seed {run.manifest['seed']})",
             "", f"Status: {run.manifest['status']}; {horizon:g} s simulated; warm-up "
             f"{warmup_s:g} s trimmed; windows of {window_s:g} s.", "",
             "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {value:.6g} |" for name, value in metrics.items()]
    lines += ["", *(f"![{p.stem}]({p.name})" for p in paths)]
    summary = out / "summary.md"
    summary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [*paths, summary]


def _extra_plots(run: RunTables, stats: TaskStats, out: Path, window_s: float,
                 warmup_s: float) -> list[Path]:
    paths = []
    spans = fault_spans(run)
    fig, ax = plt.subplots(figsize=(7, 4))
    finished = stats.per_window(stats.finished_by_window)
    missed = stats.per_window(stats.missed_by_window)
    ax.plot(finished.index, finished / window_s, label="finished tasks / s")
    ax.plot(missed.index, missed / window_s, label="missed deadlines / s")
    shade(ax, spans)
    ax.set(xlabel="simulated time (s)", ylabel="tasks per second",
           title=f"Throughput and missed deadlines ({window_s:g} s windows)")
    ax.legend()
    ax.grid(alpha=0.3)
    paths.append(save(fig, out / "throughput.png"))

    radio = windowed_means(run, "links", "link", "utilisation", window_s, warmup_s, "radio_up")
    if len(radio):
        paths.append(plot_lines(radio, window_s, out / "uplink_bandwidth_use.png",
                                "uplink band in use (%)", "Uplink bandwidth use per base station",
                                100.0, base_station, spans))
    queue = windowed_means(run, "servers", "server", "queue_len", window_s, warmup_s,
                           nonzero="flops")
    if len(queue):
        paths.append(plot_lines(queue, window_s, out / "server_queue.png", "tasks waiting",
                                "Server queue length", spans=spans))

    if table_rows(run.path, "generations", run.manifest.get("run_id")):
        paths.append(_quality_against_latency(run, out, warmup_s))
    if len(run.rounds):
        paths.append(_federated_rounds(run, out))

    epochs = run.epochs[run.epochs.t >= warmup_s]
    if len(epochs):
        layers = column_values(run, "devices", "split_layer", "market_utility", warmup_s)
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.bar(np.arange(len(layers)), layers, width=1.0)
        ax.set(xlabel="layers run on the device", ylabel="device-epochs",
               title="Participation: split layers chosen at market epochs")
        ax.grid(alpha=0.3)
        paths.append(save(fig, out / "participation.png"))
    return paths


def _quality_against_latency(run: RunTables, out: Path, warmup_s: float) -> Path:
    """AIGC: each place an image was made (edge server, cloud or the device itself) and
    number of steps as a point at its median latency and its quality, with a bar from the
    5th to the 95th percentile of latency. Memory: the images' ids and steps."""
    images = run.generations[["task_id", "steps", "quality"]].sort_values("task_id")
    ids, steps = images.task_id.to_numpy(), images.steps.to_numpy()
    quality = dict(zip(images.steps, images.quality))
    latencies: dict[tuple[str, int], list[np.ndarray]] = {}
    for batch in scan(run, "tasks", ["task_id", "t_arrival", "latency_s", "server"]):
        batch = batch[(batch.t_arrival >= warmup_s) & batch.latency_s.notna()]
        at = np.searchsorted(ids, batch.task_id.to_numpy())
        found = (at < len(ids)) & (ids[np.minimum(at, len(ids) - 1)] == batch.task_id)
        batch = batch[found].assign(steps=steps[at[found]],
                                    place=batch.server[found].astype(object).fillna("device"))
        for (place, n_steps), rows in batch.groupby(["place", "steps"]):
            latencies.setdefault((place, n_steps), []).append(rows.latency_s.to_numpy())
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (place, n_steps), pieces in sorted(latencies.items()):
        values = np.concatenate(pieces)
        low, mid, high = np.percentile(values, [5, 50, 95])
        line = ax.plot([low, high], [quality[n_steps]] * 2, lw=2, alpha=0.6)[0]
        ax.plot(mid, quality[n_steps], "o", color=line.get_color(),
                label=f"{place}, {n_steps} steps (n={len(values)})")
    ax.set_xscale("log")
    ax.set(xlabel="request latency (s; median, bar: 5th-95th percentile)",
           ylabel="image quality (1 = best measured)",
           title="AIGC: quality against latency, by where the image was made")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, which="both")
    return save(fig, out / "quality_latency.png")


def _federated_rounds(run: RunTables, out: Path) -> Path:
    """Federated rounds: round time against the deadline, clients selected, completed and
    dropped, and the convergence proxy, over rounds."""
    rounds, spec = run.rounds, run.manifest["scenario"]["federated"]
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(7, 8), sharex=True)
    top.plot(rounds["round"], rounds.round_time_s, marker="o", label="round time")
    top.axhline(spec["deadline_s"] or spec["round_s"], color="tab:red", ls="--",
                label="deadline")
    top.set(ylabel="seconds", ylim=(0, None),
            title=f"Federated rounds: {spec['selection']} selection")
    middle.bar(rounds["round"], rounds.completed, label="completed")
    middle.bar(rounds["round"], rounds.stragglers, bottom=rounds.completed,
               label="stragglers (dropped)", color="tab:orange")
    middle.set(ylabel="clients")
    bottom.plot(rounds["round"], rounds.convergence_gap, marker="o")
    bottom.set(xlabel="round", ylabel="gap proxy 1/(1 + passes)", ylim=(0, 1))
    for ax in (top, middle):
        ax.legend(fontsize="small")
    for ax in (top, middle, bottom):
        ax.grid(alpha=0.3)
    return save(fig, out / "federated_rounds.png")


def compare(run_dirs: list[Path], out: Path, warmup_s: float = 0.0) -> pd.DataFrame:
    """One table of key metrics: runs of the same configuration but other seeds are grouped,
    with a 95% confidence interval (Student t) over seeds; plus overlaid latency CDFs. Each
    configuration is labelled by the scenario fields in which the runs differ."""
    runs = [load_run(d) for d in run_dirs]
    configs = [_flatten({k: v for k, v in run.manifest["scenario"].items()
                         if k not in ("seed", "record")}) for run in runs]
    labels = differences(configs)
    rows, curves = [], []
    for run, label in zip(runs, labels):
        stats = TaskStats.of(run, warmup_s)
        rows.append({"configuration": label, "seed": run.manifest["seed"],
                     **key_metrics(run, warmup_s, stats)})
        curves.append((f"{label}, seed {run.manifest['seed']}", *stats.latency_cdf()))
    per_run = pd.DataFrame(rows)
    metrics = [c for c in per_run.columns if c not in ("configuration", "seed")]
    summary = []
    for label, group in per_run.groupby("configuration", sort=False):
        entry = {"configuration": label, "runs": len(group)}
        for metric in metrics:
            values = group[metric].dropna()
            mean = float(values.mean()) if len(values) else np.nan
            half = (float(stats_t.ppf(0.975, len(values) - 1) * values.std(ddof=1)
                          / np.sqrt(len(values))) if len(values) > 1 else np.nan)
            entry[metric] = mean
            entry[f"{metric}_ci95"] = half
        summary.append(entry)
    table = pd.DataFrame(summary)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "compare.csv", index=False)
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, latency, fraction in curves:
        if len(latency):
            ax.step(latency * 1e3, fraction, where="post", label=label)
    ax.set_xscale("log")
    ax.set(xlabel="task latency (ms, log scale)", ylabel="fraction of tasks",
           title="Latency CDFs")
    if curves:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3, which="both")
    save(fig, out / "latency_cdf.png")
    return table


def _flatten(value, prefix: str = "") -> dict[str, str]:
    """A scenario as {dotted.path: value as text}, lists indexed like `devices[0].count`."""
    if isinstance(value, dict):
        items = [(f"{prefix}.{k}" if prefix else str(k), v) for k, v in value.items()]
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = [(f"{prefix}[{i}]", v) for i, v in enumerate(value)]
    else:
        return {prefix: json.dumps(value, sort_keys=True, default=str)}
    flat: dict[str, str] = {}
    for key, inner in items:
        flat.update(_flatten(inner, key))
    return flat


def differences(configs: list[dict[str, str]]) -> list[str]:
    """A label per configuration: the fields whose values differ among them (`key=value`,
    joined), or the scenario's name where none differ."""
    keys = sorted({k for c in configs for k in c})
    varying = [k for k in keys if len({c.get(k) for c in configs}) > 1 and k != "name"]
    if not varying:
        return [json.loads(c.get("name", '"run"')) for c in configs]
    return [", ".join(f"{k}={json.loads(c[k]) if k in c else '-'}" for k in varying)
            for c in configs]


def sweep_report(sweep_dir: Path, out: Path | None = None) -> list[Path]:
    """For a sweep folder: each key metric against each swept parameter, mean over seeds with
    a 95% confidence band (other parameters held as separate lines)."""
    results = pd.read_parquet(Path(sweep_dir) / "results.parquet")
    done = results[results.status == "complete"]
    reserved = {"run_id", "seed", "status", "attempts", "error", "wall_s", "skipped",
                "sim_wall_s", "random_utility"}
    params = [c for c in results.columns
              if c not in reserved and c not in METRIC_COLUMNS and not c.startswith("_")]
    out = Path(out) if out is not None else Path(sweep_dir) / "report"
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    metrics = [m for m in METRIC_COLUMNS if m in done and done[m].notna().any()]
    columns = 3
    rows = max(1, -(-len(metrics) // columns))
    for param in params:
        others = [p for p in params if p != param]
        numeric = pd.api.types.is_numeric_dtype(done[param])
        fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows),
                                 squeeze=False)
        for ax, metric in zip(axes.flat, metrics):
            groups = list(done.groupby(others)) if others else [((), done)]
            for n, (key, group) in enumerate(groups):
                stats_ = group.groupby(param)[metric].agg(["mean", "std", "count"])
                half = (stats_t.ppf(0.975, np.maximum(stats_["count"] - 1, 1)) * stats_["std"]
                        / np.sqrt(stats_["count"])).fillna(0.0)
                label = ", ".join(f"{o}={k}" for o, k in zip(others, np.atleast_1d(key)))
                if numeric:  # a line over an ordered axis, with its 95% band
                    ax.plot(stats_.index, stats_["mean"], marker="o", label=label or None)
                    ax.fill_between(stats_.index, stats_["mean"] - half,
                                    stats_["mean"] + half, alpha=0.2)
                else:  # categories: points with error bars side by side, never joined
                    x = np.arange(len(stats_)) + (n - (len(groups) - 1) / 2) * 0.12
                    ax.errorbar(x, stats_["mean"], yerr=half, fmt="o", capsize=3,
                                label=label or None)
                    ax.set_xticks(np.arange(len(stats_)), [str(v) for v in stats_.index],
                                  rotation=20)
            ax.set(ylabel=METRIC_LABELS.get(metric, metric), xlabel=param)
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[len(metrics):]:
            ax.set_visible(False)
        if others:
            axes.flat[0].legend(fontsize="x-small")
        fig.suptitle(f"Metrics against {param} (mean over seeds, 95% CI)")
        safe = "".join(c if c.isalnum() else "_" for c in param)
        paths.append(save(fig, out / f"sweep_{safe}.png"))
    return paths


METRIC_LABELS = {"tasks": "tasks arrived", "done": "tasks done",
                 "missed_fraction": "missed or dropped (share)",
                 "mean_latency_s": "mean latency (s)", "p95_latency_s": "p95 latency (s)",
                 "mean_uplink_rate_bps": "mean uplink rate (bit/s)",
                 "leader_utility": "leader utility", "optimum_utility": "optimum utility",
                 "regret": "regret (optimum - utility)", "score": "score (1 = optimum)",
                 "ratio": "utility / optimum"}
METRIC_COLUMNS = ("tasks", "done", "missed_fraction", "mean_latency_s", "p95_latency_s",
                  "mean_uplink_rate_bps", "leader_utility", "optimum_utility", "regret",
                  "score", "ratio")
