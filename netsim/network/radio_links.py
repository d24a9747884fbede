"""The radio links as the tick sees them: received power with fading, and the noise plus
interference density of each serving link, up and down.

Large-scale gains come from `RadioAccess`; fading from the channel at the tick's start;
interference densities are refreshed once per large-scale interval from the airtimes and
band loads of the interval that ended (network/interference.py); a replayed rate trace
overrides the uplink of the devices it lists.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from netsim.network.access import RadioAccess
from netsim.network.channel import Channel
from netsim.network.interference import Interference
from netsim.network.radio import RadioPool
from netsim.workload.traces import read_trace, trace_path


class RateTrace:
    """Replayed uplink rates: `now[d]` is device d's latest rate at or before the current tick
    (NaN for devices the trace does not list, which keep the channel model)."""

    def __init__(self, base_dir: Path, path_text: str, n_devices: int):
        raw = read_trace(trace_path(path_text, base_dir)).rows
        self.rows = sorted((float(r["t_s"]), int(r["device"]), float(r["rate_bps"]))
                           for r in raw)
        self.next = 0
        self.now = np.full(n_devices, np.nan)

    def next_change_s(self) -> float:
        """When the next rate takes effect (inf: none left)."""
        return self.rows[self.next][0] if self.next < len(self.rows) else math.inf

    def advance(self, t: float) -> None:
        while self.next < len(self.rows) and self.rows[self.next][0] <= t:
            _, device, rate = self.rows[self.next]
            self.now[device] = rate
            self.next += 1


class RadioLinks:
    """Per-tick link inputs of the radio pools (see network/radio.py `LinkFn`)."""

    def __init__(self, channel: Channel, access: RadioAccess, interference: Interference | None,
                 uplink_band_hz: np.ndarray, rate_trace: RateTrace | None):
        self.channel = channel
        self.access = access
        self.interference = interference
        self.uplink_band_hz = uplink_band_hz
        self.rate_trace = rate_trace
        noise = channel.noise_mw_per_hz
        # noise + interference densities: uplink per base station, downlink per device
        self.up_noise_mw_per_hz = np.full(len(uplink_band_hz), noise)
        self.down_noise_mw_per_hz = np.full(len(access.bs_of), noise)
        self._t_interference = 0.0
        self._down_busy_mark = np.zeros(len(uplink_band_hz))

    @property
    def steady(self) -> bool:
        """No fading: the links change only at large-scale updates and replayed rate
        changes (`next_change_s`), so ticks in between may be taken as one."""
        return not self.channel.fades

    def next_change_s(self) -> float:
        """When a replayed rate next changes (inf: never)."""
        return math.inf if self.rate_trace is None else self.rate_trace.next_change_s()

    def start_tick(self, t: float) -> None:
        if self.rate_trace is not None:
            self.rate_trace.advance(t)

    def uplink(self, idx: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Received power (whole band, with fading) and noise + interference density of
        devices `idx` at their base stations; replayed rates enter as received power."""
        bs_of = self.access.bs_of
        rx = self.access.up_rx_mw[idx] * self.channel.fading_power(idx, t)
        noise = self.up_noise_mw_per_hz[bs_of[idx]]
        if self.rate_trace is None:
            return rx, noise
        rate = self.rate_trace.now[idx]
        replayed = ~np.isnan(rate)
        return (np.where(replayed,
                         self.channel.rx_for_rate_mw(rate, self.uplink_band_hz[bs_of[idx]]), rx),
                np.where(replayed, self.channel.noise_mw_per_hz, noise))

    def downlink(self, idx: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The base station's whole power as received by devices `idx`, and their noise +
        interference density."""
        return (self.access.down_rx_mw[idx] * self.channel.fading_power(idx, t),
                self.down_noise_mw_per_hz[idx])

    def uplink_sinr(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Every device's uplink received power (with fading) and SINR over its base
        station's whole band at t; reads only (fading is a function of device and t)."""
        bs_of = self.access.bs_of
        rx_mw = self.access.up_rx_mw * self.channel.fading_power(np.arange(len(bs_of)), t)
        return rx_mw, rx_mw / (self.up_noise_mw_per_hz[bs_of] * self.uplink_band_hz[bs_of])

    def uplink_full_band_rate_bps(self) -> np.ndarray:
        """Each device's uplink rate with its base station's whole band, without fading, at
        the current noise and interference (what a market sees of the channel)."""
        bs_of = self.access.bs_of
        return self.channel.rate_bps(self.access.up_rx_mw, self.uplink_band_hz[bs_of],
                                     self.up_noise_mw_per_hz[bs_of])

    def update_interference(self, t: float, uplink: RadioPool, downlink: RadioPool) -> None:
        """Interference densities for the next large-scale interval, from the airtimes and
        loads of the one that ended."""
        span = t - self._t_interference
        if self.interference is None or span <= 0.0:
            return
        noise, access, bs_of = self.channel.noise_mw_per_hz, self.access, self.access.bs_of
        senders, airtime = uplink.take_airtime()
        self.up_noise_mw_per_hz = noise + self.interference.uplink(
            senders, airtime / span, bs_of[senders], access.candidates[senders],
            access.up_rx_candidates_mw[senders])
        busy = np.array(downlink.band_busy_s)
        load = (busy - self._down_busy_mark) / span
        self._down_busy_mark = busy
        self.down_noise_mw_per_hz = noise + self.interference.downlink(
            bs_of, access.candidates, access.down_rx_candidates_mw, load)
        self._t_interference = t
