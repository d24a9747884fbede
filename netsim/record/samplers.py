"""Periodic samples of servers, links and devices into the `servers`, `links` and `devices`
tables. Counters in the model are cumulative; a sample records the change over its window."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from netsim.network.links import WiredLinks
from netsim.network.radio import RadioPool
from netsim.record.recorder import RunRecorder
from netsim.record.tables import DEVICES, DEVICES_STATIC, MARKET_DEVICE_COLUMNS, categories

if TYPE_CHECKING:  # for type hints only: no runtime dependency
    from netsim.entities.servers import ServerFarm


class ServerLinkSampler:
    """Every `sample_s`: server queue and busy fraction; radio and wired link throughput."""

    def __init__(self, recorder: RunRecorder, servers: ServerFarm, bs_ids: list[str],
                 uplink: RadioPool, downlink: RadioPool, wired: WiredLinks):
        self.recorder = recorder
        self.servers = servers
        self.radio = [("radio_up", uplink), ("radio_down", downlink)]
        self.radio_names = {kind: [f"{b}:{kind}" for b in bs_ids] for kind, _ in self.radio}
        self.bs_ids = list(bs_ids)
        self.wired = wired
        self._marks: dict[str, list[float]] = {}
        self.t_last = 0.0

    def _delta(self, key: str, values: np.ndarray) -> np.ndarray:
        """`values` (cumulative) minus their values at the previous sample."""
        before = self._marks.get(key)
        self._marks[key] = values.copy()
        return values if before is None else values - before

    def sample(self, t: float) -> None:
        window = t - self.t_last
        if window <= 0:
            return
        farm = self.servers
        busy_s, queued = farm.busy_and_queued(t)
        flops = self._delta("servers:flops", farm.flops_done)
        tasks = self._delta("servers:tasks", farm.tasks_admitted)
        busy = self._delta("servers:busy", busy_s) / (window * farm.cores)
        n = len(farm.names)
        self.recorder.servers.rows.extend(zip(
            [t] * n, farm.names, farm.cores.tolist(), queued.tolist(), busy.tolist(),
            flops.tolist(), tasks.tolist()))
        rows = self.recorder.links.rows
        for kind, pool in self.radio:
            band = pool.bandwidth_hz
            bits = self._delta(f"{kind}:bits", pool.bits_sent) / window
            tx = self._delta(f"{kind}:tx", pool.tx_s) / window
            used = np.minimum(1.0, self._delta(f"{kind}:hz", pool.busy_hz_s) / window / band)
            n = len(band)
            rows.extend(zip([t] * n, self.radio_names[kind], [kind] * n, band.tolist(),
                            [math.nan] * n, bits.tolist(), tx.tolist(), used.tolist(),
                            self.bs_ids, [kind.split("_")[1]] * n))
        wired = self.wired
        bits = (self._delta("wired:bits", wired.bits_sent) / window).tolist()
        used = np.minimum(1.0, self._delta("wired:busy", wired.busy_s) / window).tolist()
        for index, (name, rate) in enumerate(zip(wired.names, wired.rate_bps.tolist())):
            for direction, kind in ((0, "wired_up"), (1, "wired_down")):
                rows.append((t, f"{name}:{kind}", kind, math.nan, rate,
                             bits[index][direction], math.nan, used[index][direction], name,
                             kind.split("_")[1]))
        self.t_last = t


def device_sample(t: float, n: int, group: np.ndarray, group_names: list[str], xy: np.ndarray,
                  bs_of: np.ndarray, bs_ids: list[str], rx_mw: np.ndarray, sinr: np.ndarray,
                  spectral_efficiency: np.ndarray, uplink: RadioPool,
                  state, market: dict[str, np.ndarray] | None = None) -> pa.Table:
    """One row per device at time t, as a table of the `devices` schema; `market` fills the
    market columns (null elsewhere). Arrays the engine changes in place are copied: pyarrow
    wraps a contiguous numpy array without copying, and the row would otherwise show the
    values of whenever the part is written."""
    market = market or {}
    with np.errstate(divide="ignore"):
        rx_dbm = 10.0 * np.log10(rx_mw)
        sinr_db = 10.0 * np.log10(sinr)
    columns = [
        pa.array(np.full(n, t)), pa.array(np.arange(n, dtype=np.int32)),
        categories(group, group_names), pa.array(xy[:, 0].copy()), pa.array(xy[:, 1].copy()),
        categories(bs_of, bs_ids), pa.array(rx_dbm), pa.array(sinr_db),
        pa.array(spectral_efficiency),
        # NaN while idle: a mean over sending devices is then the mean rate of a transfer
        pa.array(np.where(uplink.busy, np.asarray(uplink.rate_bps), np.nan)),
        pa.array(state.split_layer.astype(np.int16)), pa.array(state.battery_j.copy()),
        pa.array(state.energy_used_j.copy()), pa.array(state.local_flops.copy()),
        pa.array(np.array(uplink.queue_lengths(), dtype=np.int32)),
        *(pa.array(np.array(market[name])) if name in market else pa.nulls(n, pa.float64())
          for name in MARKET_DEVICE_COLUMNS),
        categories(np.full(n, 1 if market else 0), ["sample", "market"]),
    ]
    return pa.Table.from_arrays(columns, schema=DEVICES)


def devices_static(devices, group_names: list[str], state, compression_names) -> pa.Table:
    """The `devices_static` rows: each device's group and hardware as the run starts."""
    n = len(devices.names)
    level = state.compression
    return pa.Table.from_arrays([
        pa.array(np.arange(n, dtype=np.int32)), categories(devices.group, group_names),
        pa.array(devices.compute_flops.copy()), pa.array(devices.energy_per_flop_j.copy()),
        pa.array(devices.battery_j.astype(float)), pa.array(devices.memory_bytes.astype(float)),
        pa.array(devices.tx_power_dbm.astype(float)),
        pa.array(devices.antenna_gain_dbi.astype(float)),
        pa.array(devices.height_m.astype(float)), pa.array(devices.split_layer.astype(np.int16)),
        categories(level, list(compression_names)),
        pa.array(state.max_split_by_level[np.arange(n), level].astype(np.int16)),
    ], schema=DEVICES_STATIC)
