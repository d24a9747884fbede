"""Paper P1's two figures (its Figs. 4 and 5) from a training folder, with our additions:
the exact optimum and the constant baseline as lines."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

COLORS = {"diffusion": "tab:red", "ppo": "tab:blue", "random": "tab:gray",
          "constant": "tab:green"}


def plot_training(out_dir: Path, out: Path | None = None) -> list[Path]:
    """(a) leader utility vs training epoch, mean over seeds with a min-max band;
    (b) bars of the final utility and the mean over epochs 200-500 (or the last 60%), from
    zero, with the optimum and the constant and random baselines. Written to `out`
    (default: the training folder)."""
    curves = load_curves(out_dir)
    baselines = json.loads((Path(out_dir) / "baselines.json").read_text())
    out = Path(out) if out is not None else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for solver, rows in curves.groupby("solver"):
        stats = rows.groupby("epoch").leader_utility.agg(["mean", "min", "max"])
        color = COLORS.get(solver)
        ax.plot(stats.index, stats["mean"], label=solver, color=color)
        ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2, color=color)
    ax.axhline(baselines["optimum_utility"], color="black", ls="--", label="exact optimum")
    ax.axhline(baselines["constant_utility"], color="tab:green", ls=":",
               label="constant (best single action)")
    ax.set(xlabel="training epoch (batches of reward evaluations)",
           ylabel="leader utility (mean over seeds)",
           title=f"Leader utility during training ({baselines['mechanism']})")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    paths.append(out / "training_curves.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    summary = final_and_window(curves)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    width = 0.38
    xs = range(len(summary))
    ax.bar([x - width / 2 for x in xs], summary.final, width, label="final epoch")
    ax.bar([x + width / 2 for x in xs], summary.window, width,
           label=f"mean over epochs {summary.attrs['window']}")
    ax.axhline(baselines["optimum_utility"], color="black", ls="--", label="exact optimum")
    ax.axhline(baselines["constant_utility"], color="tab:green", ls=":",
               label="constant (best single action)")
    if "random_utility" in baselines:
        ax.axhline(baselines["random_utility"], color="grey", ls="-.", label="random actions")
    ax.set_xticks(list(xs), summary.index)
    ax.set_ylim(min(0.0, summary.final.min(), summary.window.min()), None)  # from zero
    ax.set(ylabel="leader utility", title="Final and mean utility per solver")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    paths.append(out / "training_bars.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def final_and_window(curves: pd.DataFrame) -> pd.DataFrame:
    """Per solver: mean over seeds of the last epoch, and of the window 200-500 (paper P1's)
    when training ran that long, else the last 60% of epochs."""
    last = int(curves.epoch.max())
    lo, hi = (200, 500) if last >= 500 else (int(0.4 * last), last)
    rows = {}
    for solver, group in curves.groupby("solver"):
        final = group[group.epoch == group.epoch.max()].leader_utility.mean()
        window = group[(group.epoch >= lo) & (group.epoch <= hi)].leader_utility.mean()
        rows[solver] = {"final": final, "window": window}
    table = pd.DataFrame(rows).T
    table.attrs["window"] = f"{lo}-{hi}"
    return table


def load_curves(out_dir: Path) -> pd.DataFrame:
    """Every curves-SOLVER.parquet that `netsim train` wrote in `out_dir`, with a solver column."""
    parts = sorted(Path(out_dir).glob("curves-*.parquet"))
    if not parts:
        raise FileNotFoundError(f"{out_dir}: no curves-*.parquet (run netsim train first)")
    frames = []
    for part in parts:
        frame = pd.read_parquet(part)
        frame["solver"] = part.stem.removeprefix("curves-")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
