"""`MarketView`: the market's only door into the network. The engine implements it; the
market loop and the mechanism bindings read and write the network through it alone, so a
new mechanism never needs the engine's insides."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from netsim.workload.profiles import ModelProfile


class MarketView(Protocol):
    """What the market may read of the network, and the decisions it may apply."""

    n_devices: int
    profile: ModelProfile  # the split-inference model the devices run
    seed: int

    # ---- reads
    def now(self) -> float:
        """Simulated time."""

    def sync(self) -> None:
        """Bring batteries and energy counters up to date (before reading them)."""

    def device_compute_flops(self) -> np.ndarray: ...

    def device_energy_per_flop_j(self) -> np.ndarray: ...

    def device_battery_j(self) -> np.ndarray: ...

    def device_split_layers(self) -> np.ndarray:
        """The split layers the devices use now."""

    def arrival_rates_per_s(self) -> np.ndarray:
        """Each device's long-run mean task arrivals per second."""

    def serving_base_stations(self) -> np.ndarray:
        """Index of each device's serving base station."""

    def base_station_ids(self) -> list[str]: ...

    def server_of_base_station(self) -> list[str]:
        """The name of the server each base station feeds (its edge server, or the cloud)."""

    def server_names(self) -> list[str]:
        """Every compute server, edge servers first, the cloud last."""

    def server_busy_core_s(self, name: str) -> tuple[float, int]:
        """A server's cumulative busy core-seconds now, and its cores."""

    def uplink_full_band_rate_bps(self) -> np.ndarray:
        """Each device's uplink rate with its base station's whole band, without fading."""

    def uplink_queue_lengths(self) -> np.ndarray:
        """Uploads queued per device, the one in progress included."""

    def uplink_weights(self) -> np.ndarray | None:
        """The uplink share weights in force (None: equal shares)."""

    def device_compression(self) -> np.ndarray:
        """Each device's compression level (an index into
        netsim.workload.compression.NAMES)."""

    def federated_candidates(self) -> np.ndarray:
        """The devices taking part in federated training."""

    def federated_clients_per_round(self) -> int: ...

    # ---- writes
    def set_split_layers(self, devices: np.ndarray, layers: np.ndarray) -> None: ...

    def set_uplink_weights(self, weights: np.ndarray | None) -> None: ...

    def set_compute_flops(self, devices: np.ndarray, flops: np.ndarray) -> None:
        """The FLOPS devices compute their layers at, from now on."""

    def set_compression(self, devices: np.ndarray, levels: np.ndarray) -> None:
        """The compression levels devices run their layers at, from their next tasks."""

    def set_federated_clients(self, devices: np.ndarray, payments: np.ndarray) -> None:
        """The clients of the next federated round, and each device's payment for it."""

    # ---- records
    def record_epoch(self, row: dict[str, Any]) -> None:
        """One row of the `epochs` table, by column name."""

    def sample_devices(self, t: float, columns: dict[str, np.ndarray]) -> None:
        """One `devices` row per device at t, with the market's columns filled."""
