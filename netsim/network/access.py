"""Radio access: which base station serves each device, and the gains of the links it uses.

At every large-scale update each device measures its nearest base stations, nearest first
(and its serving one, in place of the farthest if it is not among them); the losses are
filtered (3GPP layer-3 style, an exponential filter per device and base station) and a
device hands over where another base station is better by the margin. The serving links'
received powers without fading follow, up and down; with interference on, so do the gains
to every measured base station (the interference model's input)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from netsim.network.channel import Channel
from netsim.network.large_scale_kernels import (
    BaseStationGrid,
    filter_and_attach,
    nearest_base_stations,
)

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
        self._no_serving = np.full(n, -1, dtype=np.int64)
        self._grid = BaseStationGrid(np.asarray(bs_xy, dtype=float))
        # the pairs measured at the last update (flat indices) and their filtered losses:
        # a pair's filter starts anew once it was not measured
        self._measured = np.full((n, self.k), -1, dtype=np.int64)
        self._filtered_db = np.full((n, self.k), np.nan)
        self.bs_of = np.zeros(n, dtype=np.int64)  # shared: updated in place on handover
        # faults: base stations up, and a function of the positions giving each device's
        # extra path loss (a degraded region; None: none)
        self.bs_up = np.ones(n_bs, dtype=np.bool_)
        self.loss_offset_db: Callable[[np.ndarray], np.ndarray | None] | None = None
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
        if k < self.n_bs:  # the k nearest, nearest first, and the serving one
            serving = self._no_serving if initial else self.bs_of
            grid = self._grid
            cand = nearest_base_stations(xy, self.bs_xy, k, serving, grid.origin, grid.cell,
                                         grid.side, grid.cell_start, grid.members)
        else:
            cand = np.broadcast_to(np.arange(k), (n, k))
        loss = self.channel.candidate_loss_db(xy, cand, odometer_m)
        extra = None if self.loss_offset_db is None else self.loss_offset_db(xy)
        if extra is not None:
            loss = loss + extra[:, None]
        pairs = self.channel.pair_index(cand)
        (self._filtered_db, handovers, self.up_rx_mw, self.down_rx_mw, up_cand,
         down_cand) = filter_and_attach(
            loss, cand, pairs, self._measured, self._filtered_db,
            spec.handover_filter, spec.handover_margin_db, initial, self.bs_of,
            self._up_gain, self._dl_gain, self._bs_gain, self._bs_tx, self.keep_candidate_gains,
            self.bs_up)
        self._measured = pairs
        self.handovers += handovers
        if self.keep_candidate_gains:
            self.candidates = np.array(cand)
            self.up_rx_candidates_mw, self.down_rx_candidates_mw = up_cand, down_cand
