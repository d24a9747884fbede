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


def radio_map(run: RunTables, path: Path, points: int = 80) -> tuple[Path, dict]:
    """A radio environment map per carrier (as 5G-LENA's REM): downlink SNR and SINR of the
    best base station over a grid of the area, from the mean path gain (38.901 path loss,
    LOS weighted by its probability unless the channel fixes it; no shadowing or fading),
    each station's power and gains, noise over its band, and the other stations on the same
    carrier (and reuse sub-band) as interference. Returns the figure and, per carrier, the
    grid (x_m, y_m) and the SNR and SINR in dB."""
    from netsim.network.pathloss import los_probability, path_loss_db

    scn = run.manifest["scenario"]
    channel = scn["channel"]
    stations = scn["base_stations"]
    width, height = scn["area"]["width_m"], scn["area"]["height_m"]
    x = np.linspace(0.0, width, points)
    y = np.linspace(0.0, height, points)
    gx, gy = np.meshgrid(x, y)
    h_ut = scn["devices"][0]["height_m"]
    noise_dbm_hz = channel["noise_dbm_per_hz"] + channel["noise_figure_db"]
    maps = {}
    for carrier in sorted({b["carrier_ghz"] for b in stations}):
        on = [(i, b) for i, b in enumerate(stations) if b["carrier_ghz"] == carrier]
        rx_mw, noise_mw, group = [], [], []
        for i, b in on:
            d2d = np.maximum(np.hypot(gx - b["position_m"][0], gy - b["position_m"][1]), 1.0)
            gain = {los: 10 ** (-path_loss_db(channel["path_loss"], d2d, carrier,
                                              b["height_m"], h_ut, los) / 10)
                    for los in (True, False)}
            if channel["los"] == "probabilistic":
                p = los_probability(channel["path_loss"], d2d, h_ut)
                mean_gain = p * gain[True] + (1 - p) * gain[False]
            else:
                mean_gain = gain[channel["los"] == "los"]
            absorption = 10 ** (-channel["absorption_db_per_km"] * d2d / 1e3 / 10)
            rx_mw.append(10 ** ((b["tx_power_dbm"] + b["antenna_gain_dbi"]) / 10) * mean_gain
                         * absorption)
            band = b.get("downlink_bandwidth_hz") or b["bandwidth_hz"]
            noise_mw.append(10 ** (noise_dbm_hz / 10) * band)
            group.append(i % 3 if channel["frequency_reuse"] == 3 else 0)
        rx = np.stack(rx_mw)
        best = rx.argmax(axis=0)
        signal = np.take_along_axis(rx, best[None], axis=0)[0]
        noise = np.asarray(noise_mw)[best]
        same_band = np.asarray(group)[:, None, None] == np.asarray(group)[best][None]
        interference = (np.where(same_band, rx, 0.0).sum(axis=0) - signal
                        if channel["interference"] == "co_channel" else 0.0)
        maps[carrier] = {"x_m": x, "y_m": y, "snr_db": 10 * np.log10(signal / noise),
                         "sinr_db": 10 * np.log10(signal / (noise + interference))}
    fig, axes = plt.subplots(len(maps), 2, figsize=(11, 4.6 * len(maps)), squeeze=False)
    for row, (carrier, grid) in zip(axes, maps.items()):
        for ax, key in zip(row, ("snr_db", "sinr_db")):
            image = ax.pcolormesh(grid["x_m"], grid["y_m"], grid[key], shading="auto",
                                  cmap="viridis")
            fig.colorbar(image, ax=ax, label=f"downlink {key[:-3].upper()} (dB)")
            for b in stations:
                if b["carrier_ghz"] == carrier:
                    ax.scatter(*b["position_m"], marker="^", s=90, color="white",
                               edgecolor="black")
            ax.set(aspect="equal", xlabel="x (m)", ylabel="y (m)",
                   title=f"{carrier:g} GHz: best-server {key[:-3].upper()}")
    return save(fig, path), maps


def device_timelines(run: RunTables, path: Path, devices: tuple[int, ...] = (0, 1, 2)
                     ) -> tuple[Path, pd.DataFrame]:
    """Per chosen device, against time: distance travelled, serving cell, uplink rate, queue,
    battery and split layer (its periodic samples). Returns the figure and the samples."""
    columns = ["t", "device", "x_m", "y_m", "bs", "uplink_rate_bps", "uplink_queue",
               "battery_j", "split_layer", "kind"]
    rows = [batch[(batch.kind.astype(str) == "sample") & batch.device.isin(devices)]
            for batch in scan(run, "devices", columns)]
    samples = pd.concat(rows).sort_values(["device", "t"], kind="stable") if rows else \
        pd.DataFrame(columns=columns)
    samples["bs"] = samples.bs.astype(str)
    cells = sorted(samples.bs.unique())
    panels = [("distance travelled (m)", None), ("serving cell", None),
              ("uplink rate (Mbit/s)", "uplink_rate_bps"), ("uploads queued", "uplink_queue"),
              ("battery (J)", "battery_j"), ("split layer", "split_layer")]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 11), sharex=True)
    for device, track in samples.groupby("device"):
        step = np.hypot(np.diff(track.x_m, prepend=track.x_m.iloc[0]),
                        np.diff(track.y_m, prepend=track.y_m.iloc[0]))
        values = {"distance travelled (m)": np.cumsum(step),
                  "serving cell": track.bs.map(cells.index),
                  "uplink rate (Mbit/s)": track.uplink_rate_bps / 1e6}
        for ax, (label, column) in zip(axes, panels):
            series = values.get(label, track[column] if column else None)
            ax.step(track.t, series, where="post", label=f"device {device}")
    axes[1].set_yticks(range(len(cells)), cells)
    for ax, (label, _) in zip(axes, panels):
        ax.set(ylabel=label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    axes[0].set_title("Device timelines")
    axes[-1].set(xlabel="simulated time (s)")
    return save(fig, path), samples


def topology_animation(run: RunTables, path: Path, max_devices: int = 200,
                       max_frames: int = 120) -> tuple[Path, int]:
    """A GIF of the devices moving over the area, coloured by serving cell, one frame per
    periodic sample time (at most `max_frames`, evenly spaced). Returns the path and the
    number of frames."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    scenario = run.manifest["scenario"]
    stations = [b["id"] for b in scenario["base_stations"]]
    samples = [batch[(batch.kind.astype(str) == "sample") & (batch.device < max_devices)]
               for batch in scan(run, "devices", ["t", "device", "x_m", "y_m", "bs", "kind"])]
    frames = pd.concat(samples) if samples else pd.DataFrame(columns=["t", "x_m", "y_m", "bs"])
    times = np.unique(frames.t)
    times = times[np.linspace(0, len(times) - 1, min(max_frames, len(times))).astype(int)] \
        if len(times) else times
    colour = {name: plt.cm.tab10(i % 10) for i, name in enumerate(stations)}
    fig, ax = plt.subplots(figsize=(6, 6 * scenario["area"]["height_m"]
                                    / scenario["area"]["width_m"] + 0.6))
    ax.set(xlim=(0, scenario["area"]["width_m"]), ylim=(0, scenario["area"]["height_m"]),
           aspect="equal", xlabel="x (m)", ylabel="y (m)")
    for b in scenario["base_stations"]:
        ax.scatter(*b["position_m"], marker="^", s=140, color=colour[b["id"]],
                   edgecolor="black", zorder=3)
    dots = ax.scatter([], [], s=12, zorder=2)
    by_time = {t: rows for t, rows in frames.groupby("t")}

    def draw(t: float):
        rows = by_time[t]
        dots.set_offsets(np.column_stack([rows.x_m, rows.y_m]))
        dots.set_color([colour.get(str(b), "grey") for b in rows.bs])
        ax.set_title(f"{scenario['name']}, seed {run.manifest['seed']}: t = {t:g} s")
        return (dots,)

    animation = FuncAnimation(fig, draw, frames=list(times), blit=False)
    animation.save(path, writer=PillowWriter(fps=8))
    plt.close(fig)
    return path, len(times)
