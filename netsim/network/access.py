"""Radio access: which base station serves each device, and the gains of the links it uses.

At every large-scale update each device measures its nearest base stations, nearest first
(and its serving one, in place of the farthest if it is not among them); the losses are
filtered (3GPP layer-3 style, an exponential filter per device and base station) and a
device hands over where another base station is better by the margin. The serving links'
received powers without fading follow, up and down; with interference on, so do the gains
to every measured base station (the interference model's input)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.spatial import cKDTree

from netsim.network.channel import Channel

if TYPE_CHECKING:  # for type hints only: no runtime dependency
    from netsim.scenario.schema import ChannelSpec


def db_to_linear(db: np.ndarray | float) -> np.ndarray:
    return np.power(10.0, np.asarray(db, dtype=float) / 10.0)


PUBLISHED = ("bs_of", "handovers", "up_rx_mw", "down_rx_mw", "candidates",
             "up_rx_candidates_mw", "down_rx_candidates_mw")


class RadioAccess:
    """Attachment and handover of every device, and the gains of its serving links."""

    def __init__(self, spec: ChannelSpec, channel: Channel, bs_xy: np.ndarray,
                 bs_tx_power_dbm: np.ndarray, bs_gain_dbi: np.ndarray,
                 dev_tx_power_dbm: np.ndarray, dev_gain_dbi: np.ndarray,
                 keep_candidate_gains: bool):
        self.spec = spec
        self.channel = channel
        self.bs_xy = bs_xy
        n, n_bs = len(dev_tx_power_dbm), len(bs_xy)
        self.n_devices, self.n_bs = n, n_bs
        self.k = min(spec.handover_candidates, n_bs)
        self.keep_candidate_gains = keep_candidate_gains
        self._nearest = cKDTree(bs_xy) if self.k < n_bs else None
        self._filtered_loss_db = np.full((n, n_bs), np.nan)
        self._measured = np.zeros((n, self.k), dtype=np.int64)  # flat pair indices
        self.bs_of = np.zeros(n, dtype=np.int64)  # shared: updated in place on handover
        self.handovers = 0
        self._up_gain = db_to_linear(dev_tx_power_dbm + dev_gain_dbi)  # mW
        self._dl_gain = db_to_linear(dev_gain_dbi)
        self._bs_gain = db_to_linear(bs_gain_dbi)
        self._bs_tx = db_to_linear(bs_tx_power_dbm)  # mW
        # serving links without fading (mW over the whole band), set by `attach`
        self.up_rx_mw = np.zeros(n)
        self.down_rx_mw = np.zeros(n)
        # measured base stations and the gains to them (interference's input)
        self.candidates = np.zeros((n, self.k), dtype=np.int64)
        self.up_rx_candidates_mw = np.zeros((n, self.k))
        self.down_rx_candidates_mw = np.zeros((n, self.k))

    def published(self) -> dict[str, Any]:
        """What the rest of the engine reads of the attachment (for a helper process)."""
        return {name: getattr(self, name) for name in PUBLISHED}

    def adopt(self, published: dict[str, Any]) -> None:
        """Take an attachment computed elsewhere (by a copy of this object one update
        ahead); `bs_of` changes in place, as the task flow shares it."""
        self.bs_of[:] = published["bs_of"]
        for name in PUBLISHED:
            if name != "bs_of":
                setattr(self, name, published[name])

    def attach(self, xy: np.ndarray, odometer_m: np.ndarray, initial: bool = False) -> None:
        """Measure, filter and hand over (the first time: attach to the best)."""
        spec, n, k = self.spec, self.n_devices, self.k
        if k < self.n_bs:
            # the k nearest, nearest first, from a k-d tree of the base stations: O(N log B)
            # where comparing every device with every base station was O(N B) (at 100,000
            # devices and 169 base stations, 0.8 s an update)
            cand = self._nearest.query(xy, k)[1].reshape(n, k).astype(np.int64)
            if not initial:  # keep the serving base station among the measured ones
                missing = ~(cand == self.bs_of[:, None]).any(axis=1)
                cand[missing, k - 1] = self.bs_of[missing]
        else:
            cand = np.broadcast_to(np.arange(k), (n, k))
        loss = self.channel.candidate_loss_db(xy, cand, odometer_m)
        # filtered losses live in an N x B array, NaN where a pair was not measured last time
        store, pairs = self._filtered_loss_db.ravel(), self.channel.pair_index(cand)
        previous = store[pairs]
        filtered = np.where(np.isnan(previous), loss,
                            previous + spec.handover_filter * (loss - previous))
        store[self._measured] = np.nan
        store[pairs] = filtered
        self._measured = pairs
        every = np.arange(n)
        best = np.argmin(filtered, axis=1)
        if initial:
            column = best
        else:
            column = np.argmax(cand == self.bs_of[:, None], axis=1)
            switch = filtered[every, best] < filtered[every, column] - spec.handover_margin_db
            self.handovers += int(switch.sum())
            column = np.where(switch, best, column)
        self.bs_of[:] = cand[every, column]  # in place: the task flow shares this array
        path = db_to_linear(-loss[every, column]) * self._bs_gain[self.bs_of]
        self.up_rx_mw = self._up_gain * path
        self.down_rx_mw = self._bs_tx[self.bs_of] * self._dl_gain * path
        if not self.keep_candidate_gains:
            return
        self.candidates = np.array(cand)
        path = db_to_linear(-loss) * self._bs_gain[self.candidates]
        self.up_rx_candidates_mw = self._up_gain[:, None] * path
        self.down_rx_candidates_mw = self._bs_tx[self.candidates] * self._dl_gain[:, None] * path
