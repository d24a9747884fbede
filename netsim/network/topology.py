"""Builds the network of a scenario: a networkx graph and per-node attribute arrays.

Nodes: `cloud`, edge servers, base stations and devices (attribute `kind`). Edges are the
wired links (backhaul base station -> edge server or cloud, edge server -> cloud) with
`rate_bps` and `latency_s`. Radio attachment of devices changes during a run and lives in the
engine's arrays, not in the graph. Device attributes are drawn per group from the scenario's
distributions, each group with its own random stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from netsim.rng import stream
from netsim.workload.compression import NAMES as COMPRESSION_LEVELS

if TYPE_CHECKING:  # for type hints only: no runtime dependency
    from netsim.scenario.schema import Scenario

CLOUD = "cloud"


@dataclass
class DeviceArrays:
    """Static attributes of every device, indexed by device number."""

    names: list[str]
    group: np.ndarray  # group index
    xy: np.ndarray  # initial positions, m
    height_m: np.ndarray
    compute_flops: np.ndarray
    energy_per_flop_j: np.ndarray
    battery_j: np.ndarray
    memory_bytes: np.ndarray
    tx_power_dbm: np.ndarray
    antenna_gain_dbi: np.ndarray
    split_layer: np.ndarray
    compression: np.ndarray  # index into netsim.workload.compression.NAMES


@dataclass
class BaseStationArrays:
    ids: list[str]
    xy: np.ndarray
    height_m: np.ndarray
    carrier_ghz: np.ndarray
    bandwidth_hz: np.ndarray
    downlink_bandwidth_hz: np.ndarray
    tx_power_dbm: np.ndarray
    antenna_gain_dbi: np.ndarray
    server: list[str]  # edge server id or CLOUD


@dataclass
class Network:
    graph: nx.Graph
    devices: DeviceArrays
    base_stations: BaseStationArrays
    group_names: list[str]
    group_index: list[np.ndarray]  # device numbers of each group


def _placement(group, n: int, area: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    spec = group.placement
    if spec.kind == "uniform":
        return rng.random((n, 2)) * np.asarray(area)
    if spec.kind == "disc":
        radius = spec.radius_m * np.sqrt(rng.random(n))
        angle = rng.uniform(0.0, 2.0 * np.pi, n)
        xy = np.asarray(spec.center_m) + np.column_stack([radius * np.cos(angle),
                                                          radius * np.sin(angle)])
        return np.clip(xy, 0.0, np.asarray(area))
    points = np.asarray(spec.points_m, dtype=float)
    return points[np.arange(n) % len(points)]


def build_network(scenario: Scenario, seed: int) -> Network:
    """Sample devices and assemble the graph of a validated scenario."""
    area = (scenario.area.width_m, scenario.area.height_m)
    columns: dict[str, list[np.ndarray]] = {k: [] for k in (
        "group", "xy", "height_m", "compute_flops", "energy_per_flop_j", "battery_j",
        "memory_bytes", "tx_power_dbm", "antenna_gain_dbi", "split_layer", "compression")}
    names: list[str] = []
    group_index = []
    start = 0
    for g, group in enumerate(scenario.devices):
        n = group.count
        rng = stream(seed, f"devices/{group.group}")
        columns["group"].append(np.full(n, g))
        columns["xy"].append(_placement(group, n, area, stream(seed, f"placement/{group.group}")))
        columns["height_m"].append(np.full(n, group.height_m))
        for name in ("compute_flops", "energy_per_flop_j", "battery_j", "memory_bytes"):
            columns[name].append(getattr(group, name).sample(rng, n))
        columns["tx_power_dbm"].append(np.full(n, group.tx_power_dbm))
        columns["antenna_gain_dbi"].append(np.full(n, group.antenna_gain_dbi))
        columns["split_layer"].append(np.full(n, group.split_layer))
        columns["compression"].append(np.full(n, COMPRESSION_LEVELS.index(group.compression)))
        names.extend(f"{group.group}-{i}" for i in range(n))
        group_index.append(np.arange(start, start + n))
        start += n
    devices = DeviceArrays(names=names, **{k: np.concatenate(v) for k, v in columns.items()})
    devices.split_layer = devices.split_layer.astype(int)
    devices.compression = devices.compression.astype(np.int64)
    devices.group = devices.group.astype(int)

    bss = scenario.base_stations
    base_stations = BaseStationArrays(
        ids=[b.id for b in bss],
        xy=np.array([b.position_m for b in bss], dtype=float),
        height_m=np.array([b.height_m for b in bss]),
        carrier_ghz=np.array([b.carrier_ghz for b in bss]),
        bandwidth_hz=np.array([b.bandwidth_hz for b in bss]),
        downlink_bandwidth_hz=np.array([b.downlink_bandwidth_hz or b.bandwidth_hz for b in bss]),
        tx_power_dbm=np.array([b.tx_power_dbm for b in bss]),
        antenna_gain_dbi=np.array([b.antenna_gain_dbi for b in bss]),
        server=[b.server for b in bss],
    )

    graph = nx.Graph()
    graph.add_node(CLOUD, kind="cloud", cores=scenario.cloud.cores,
                   core_flops=scenario.cloud.core_flops)
    for server in scenario.edge_servers:
        graph.add_node(server.id, kind="edge_server", position_m=server.position_m,
                       cores=server.cores, core_flops=server.core_flops)
        graph.add_edge(server.id, CLOUD, rate_bps=server.cloud_link.rate_bps,
                       latency_s=server.cloud_link.latency_s)
    for bs in bss:
        graph.add_node(bs.id, kind="base_station", position_m=bs.position_m,
                       carrier_ghz=bs.carrier_ghz, bandwidth_hz=bs.bandwidth_hz)
        graph.add_edge(bs.id, bs.server, rate_bps=bs.backhaul.rate_bps,
                       latency_s=bs.backhaul.latency_s)
    for i, name in enumerate(names):
        graph.add_node(name, kind="device", index=i,
                       group=scenario.devices[devices.group[i]].group,
                       compute_flops=float(devices.compute_flops[i]))
    return Network(graph, devices, base_stations, [g.group for g in scenario.devices],
                   group_index)
