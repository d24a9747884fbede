"""Figures of a run that show the network rather than queue statistics: a map of the
topology with device tracks and handovers, and latency broken down by stage.

Both stream their table (analysis/streaming.py) and keep only what they draw: per split
layer, sums of each stage's time; per drawn device, its samples. Each returns the numbers it
drew beside the figure's path, and writes them as CSV next to the PNG, so a reader can check
the picture against the tables."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from netsim.analysis.canvas import save
from netsim.analysis.streaming import scan
from netsim.record.load import RunTables

# a task's stages, as differences of its recorded times (the tables hold no arrival time at
# the server, so the backhaul and the wait for a core are one stage)
STAGES = {
    "local compute": ("t_arrival", "t_local_done"),
    "wait for the uplink": ("t_local_done", "t_uplink_start"),
    "uplink": ("t_uplink_start", "t_uplink_done"),
    "backhaul and server queue": ("t_uplink_done", "t_server_start"),
    "server compute": ("t_server_start", "t_server_done"),
    "return (links and downlink)": ("t_server_done", "t_done"),
}
TASK_COLUMNS = sorted({c for pair in STAGES.values() for c in pair} | {"split_layer", "status"})


def latency_breakdown(run: RunTables, path: Path, warmup_s: float = 0.0) -> tuple[Path,
                                                                                  pd.DataFrame]:
    """Mean seconds per stage of the tasks that completed (done or late), per split layer
    (a stage a task skipped, such as the network for a fully local one, counts 0): a stacked
    bar per split layer. Returns the figure and the table (rows: split layers; columns:
    stages, then `tasks`)."""
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    for batch in scan(run, "tasks", TASK_COLUMNS):
        done = batch[batch.status.astype(str).isin(["done", "deadline_missed"])
                     & (batch.t_arrival >= warmup_s)]
        stage_s = np.column_stack([np.nan_to_num((done[b] - done[a]).to_numpy())
                                   for a, b in STAGES.values()])
        for layer in np.unique(done.split_layer):
            rows = (done.split_layer == layer).to_numpy()
            sums[int(layer)] = sums.get(int(layer), 0.0) + stage_s[rows].sum(axis=0)
            counts[int(layer)] = counts.get(int(layer), 0) + int(rows.sum())
    layers = sorted(sums)
    table = pd.DataFrame([sums[k] / counts[k] for k in layers], index=layers,
                         columns=list(STAGES)) if layers else pd.DataFrame(columns=list(STAGES))
    table.index.name = "split_layer"
    table["tasks"] = [counts[k] for k in layers]
    table.to_csv(path.with_suffix(".csv"))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    bottom = np.zeros(len(layers))
    positions = np.arange(len(layers))
    for stage in STAGES:
        values = table[stage].to_numpy() * 1e3 if layers else np.zeros(0)
        ax.bar(positions, values, bottom=bottom, label=stage)
        bottom += values
    ax.set_xticks(positions, [f"{k}\n({counts[k]} tasks)" for k in layers])
    ax.set(xlabel="split layer (layers run on the device)", ylabel="mean time (ms)",
           title="Latency by stage, per split layer")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, axis="y")
    return save(fig, path), table


def topology_map(run: RunTables, path: Path, max_devices: int = 100) -> tuple[Path,
                                                                            pd.DataFrame]:
    """The area, base stations, edge servers, the tracks of up to `max_devices` devices
    (their periodic samples, coloured by serving cell) and their handovers (a cross where a
    sample's cell differs from the previous sample's). Returns the figure and the handovers
    drawn (t, device, from_bs, to_bs, x_m, y_m)."""
    scenario = run.manifest["scenario"]
    stations = {b["id"]: b for b in scenario["base_stations"]}
    samples = []
    for batch in scan(run, "devices", ["t", "device", "x_m", "y_m", "bs", "kind"]):
        periodic = batch[batch.kind.astype(str) == "sample"]
        samples.append(periodic[periodic.device < max_devices][["t", "device", "x_m", "y_m",
                                                                  "bs"]])
    tracks = (pd.concat(samples) if samples else pd.DataFrame(
        columns=["t", "device", "x_m", "y_m", "bs"])).sort_values(["device", "t"], kind="stable")
    tracks["bs"] = tracks.bs.astype(str)
    previous = tracks.groupby("device").bs.shift()
    moved = previous.notna() & (previous != tracks.bs)
    handovers = tracks[moved].assign(from_bs=previous[moved]).rename(columns={"bs": "to_bs"})
    handovers = handovers[["t", "device", "from_bs", "to_bs", "x_m", "y_m"]].reset_index(
        drop=True)
    handovers.to_csv(path.with_suffix(".csv"), index=False)

    fig, ax = plt.subplots(figsize=(7, 7 * scenario["area"]["height_m"]
                                    / scenario["area"]["width_m"] + 0.8))
    colours = {name: plt.cm.tab10(i % 10) for i, name in enumerate(stations)}
    for _, track in tracks.groupby("device"):
        ax.plot(track.x_m, track.y_m, color="lightgrey", lw=0.6, zorder=1)
        ax.scatter(track.x_m, track.y_m, s=4, c=[colours.get(b, "grey") for b in track.bs],
                   zorder=2)
    for name, station in stations.items():
        x, y = station["position_m"]
        ax.scatter([x], [y], marker="^", s=160, color=colours[name], edgecolor="black",
                   zorder=4, label=f"{name} (base station)")
    for server in scenario["edge_servers"]:
        x, y = server["position_m"]
        ax.scatter([x], [y], marker="s", s=110, color="white", edgecolor="black", zorder=4)
        ax.annotate(server["id"], (x, y), textcoords="offset points", xytext=(6, -12),
                    fontsize=8)
    if len(handovers):
        ax.scatter(handovers.x_m, handovers.y_m, marker="x", s=40, color="black", zorder=3,
                   label=f"handover ({len(handovers)})")
    ax.set(xlim=(0, scenario["area"]["width_m"]), ylim=(0, scenario["area"]["height_m"]),
           xlabel="x (m)", ylabel="y (m)", aspect="equal",
           title=f"Topology: device tracks coloured by serving cell"
                 f" ({min(max_devices, tracks.device.nunique())} devices)")
    ax.legend(fontsize="small", loc="upper right")
    return save(fig, path), handovers
