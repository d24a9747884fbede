"""Co-channel interference between cells (DESIGN 6, 'SINR'), as spectral densities per tick.

Interference adds to the noise density N0 that a transfer's SINR divides by:
- uplink, at base station b: sum over the uplinks of other cells of their received power at
  b, times the fraction of the tick they were sending, times O[c, b] / W_b, where c is the
  interferer's cell and O[c, b] = |band c intersect band b| / W_c. With both bands equal this
  is the interferer's power spread over the band: an interferer on a random share of its band
  overlaps a victim's share in proportion to both shares (equal-share OFDMA on average).
- downlink, at a device served by b: sum over the other base stations c of their received
  power at the device, times their load (the fraction of the tick their band was in use),
  times O[c, b] / W_b.
Approximations, all documented in the README: loads and airtimes are the previous tick's (a
one-tick lag, exact in steady state); interferers are heard through their large-scale gain
(path loss, shadowing, antenna gains; small-scale fading averages out over a tick); a device
interferes only at, and hears only, the base stations it measures (its nearest
`handover_candidates` and its serving one), which are the strongest ones. The cost is
proportional to the transfers of the tick, not to devices x base stations.

Frequency reuse: bands overlap as their carriers and widths say, so a sub-band per base
station is a scenario's carrier choice; `frequency_reuse: 3` puts every base station on one of
three sub-bands (greedily, the sub-band whose already placed base stations are farthest), and
only base stations on the same sub-band interfere.
"""

from __future__ import annotations

import numpy as np


def band_overlap(carrier_hz: np.ndarray, bandwidth_hz: np.ndarray) -> np.ndarray:
    """O[c, b] = the fraction of band c that lies inside band b (0 on the diagonal)."""
    low, high = carrier_hz - bandwidth_hz / 2.0, carrier_hz + bandwidth_hz / 2.0
    common = np.minimum(high[:, None], high[None, :]) - np.maximum(low[:, None], low[None, :])
    overlap = np.clip(common, 0.0, None) / bandwidth_hz[:, None]
    np.fill_diagonal(overlap, 0.0)
    return overlap


def reuse_groups(xy: np.ndarray, reuse: int) -> np.ndarray:
    """A sub-band (0..reuse-1) per base station: each in turn takes the sub-band whose base
    stations placed so far are farthest (smallest sum of 1/d^2), so neighbours differ."""
    group = np.zeros(len(xy), dtype=np.int64)
    for i in range(1, len(xy)):
        d2 = np.maximum(((xy[:i] - xy[i]) ** 2).sum(axis=1), 1e-9)
        closeness = np.bincount(group[:i], 1.0 / d2, minlength=reuse)
        group[i] = int(np.argmin(closeness))
    return group


class Interference:
    """Interference densities (mW/Hz) on the uplink (per base station) and downlink (per
    device), from the measured gains of the latest large-scale update."""

    def __init__(self, carrier_ghz: np.ndarray, up_bw_hz: np.ndarray, down_bw_hz: np.ndarray,
                 xy: np.ndarray, reuse: int):
        carrier_hz = carrier_ghz * 1e9
        same = np.ones((len(xy), len(xy)), dtype=bool)
        if reuse > 1:
            group = reuse_groups(xy, reuse)
            same = group[:, None] == group[None, :]
        # O[c, b] / W_b: what a unit of interfering power in band c adds to b's density
        self.up_weight = band_overlap(carrier_hz, up_bw_hz) * same / up_bw_hz[None, :]
        self.down_weight = band_overlap(carrier_hz, down_bw_hz) * same / down_bw_hz[None, :]
        self.n_bs = len(xy)

    def uplink(self, senders: np.ndarray, sending_fraction: np.ndarray, serving: np.ndarray,
               cand: np.ndarray, rx_at_cand_mw: np.ndarray) -> np.ndarray:
        """Density at each base station from `senders` (sending that fraction of the tick),
        served by `serving`, heard by base stations cand[i, :] at rx_at_cand_mw[i, :]."""
        weight = self.up_weight[serving[:, None], cand]
        power = rx_at_cand_mw * (weight * sending_fraction[:, None])
        return np.bincount(cand.ravel(), power.ravel(), minlength=self.n_bs)

    def downlink(self, serving: np.ndarray, cand: np.ndarray, rx_from_cand_mw: np.ndarray,
                 load: np.ndarray) -> np.ndarray:
        """Density at devices served by `serving` from base stations cand[i, :], received at
        rx_from_cand_mw[i, :], each sending that `load` fraction of the tick."""
        weight = self.down_weight[cand, serving[:, None]] * load[cand]
        return (rx_from_cand_mw * weight).sum(axis=1)
