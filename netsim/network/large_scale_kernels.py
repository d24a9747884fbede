"""Compiled large-scale update of every device: its nearest base stations, the pair losses
(path loss, LOS, absorption, shadowing) to them, then filtering and attachment.

Done with numpy, one update at 10,000 devices built some 40 temporary arrays and took
18 ms, more than the rest of the engine's work per update, so the movement helper held the
engine back. Here each pair is computed once, in the order numpy took, with the same
formulas (the scalar functions of network/pathloss.py), so the results are the same to the
last bit; `Channel.candidate_loss_db` and `RadioAccess.attach` document the model.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from netsim.network.pathloss import pair_los_probability, pair_path_loss_db

LOS_BY_PROBABILITY, ALWAYS_LOS, NEVER_LOS = 0, 1, 2


class BaseStationGrid:
    """Base stations bucketed in a square grid of cells (about one station a cell), for
    `nearest_base_stations`."""

    def __init__(self, bs_xy: np.ndarray):
        n_bs = len(bs_xy)
        self.side = max(1, math.ceil(math.sqrt(n_bs)))
        low, high = bs_xy.min(axis=0), bs_xy.max(axis=0)
        self.origin = low.astype(float)
        self.cell = np.maximum((high - low) / self.side, 1e-9)  # (width, height) of a cell
        cx, cy = self.cell_of(bs_xy)
        flat = cy * self.side + cx
        counts = np.bincount(flat, minlength=self.side * self.side)
        self.cell_start = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self.members = np.argsort(flat, kind="stable").astype(np.int64)  # by cell, then index

    def cell_of(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index = np.floor((xy - self.origin) / self.cell).astype(np.int64)
        index = np.clip(index, 0, self.side - 1)
        return index[:, 0], index[:, 1]


@njit(cache=True, nogil=True)
def nearest_base_stations(xy, bs_xy, k, serving, origin, cell, side, cell_start,
                          members):  # pragma: no cover
    """The k nearest base stations of every device, nearest first (ties: lower index
    first: the order of sorting by (squared distance, index)); a device's serving base
    station (`serving[i]`, or -1) replaces the farthest if it is not among them.

    The stations are bucketed in a grid (`BaseStationGrid`); a device looks at the cells
    in square rings around its own until the nearest cell not yet seen is farther than its
    k-th station. At 100,000 devices and 169 base stations: 8 ms, where comparing with
    every station took 49 ms and scipy's k-d tree 62 ms."""
    n = xy.shape[0]
    cand = np.empty((n, k), np.int64)
    dist2 = np.empty(k)
    for i in range(n):
        px, py = xy[i, 0], xy[i, 1]
        cx = min(max(math.floor((px - origin[0]) / cell[0]), 0), side - 1)
        cy = min(max(math.floor((py - origin[1]) / cell[1]), 0), side - 1)
        m = 0  # places filled
        ring = 0
        while True:
            for gy in range(max(cy - ring, 0), min(cy + ring, side - 1) + 1):
                edge_row = gy == cy - ring or gy == cy + ring
                step = 1 if edge_row else 2 * ring  # inside rows: the ring's two ends only
                gx = cx - ring
                while gx <= cx + ring:
                    if 0 <= gx < side:
                        for slot in range(cell_start[gy * side + gx],
                                          cell_start[gy * side + gx + 1]):
                            b = members[slot]
                            dx = px - bs_xy[b, 0]
                            dy = py - bs_xy[b, 1]
                            d2 = dx * dx + dy * dy
                            if m == k and (d2 > dist2[k - 1]
                                           or (d2 == dist2[k - 1] and b > cand[i, k - 1])):
                                continue
                            j = m if m < k else k - 1
                            while j > 0 and (dist2[j - 1] > d2 or (dist2[j - 1] == d2
                                                                   and cand[i, j - 1] > b)):
                                dist2[j] = dist2[j - 1]
                                cand[i, j] = cand[i, j - 1]
                                j -= 1
                            dist2[j] = d2
                            cand[i, j] = b
                            if m < k:
                                m += 1
                    gx += step
            # the nearest cell not yet seen: beyond the ring on a side where the grid goes on
            bound = np.inf
            if cx - ring > 0:
                bound = min(bound, px - (origin[0] + (cx - ring) * cell[0]))
            if cx + ring < side - 1:
                bound = min(bound, origin[0] + (cx + ring + 1) * cell[0] - px)
            if cy - ring > 0:
                bound = min(bound, py - (origin[1] + (cy - ring) * cell[1]))
            if cy + ring < side - 1:
                bound = min(bound, origin[1] + (cy + ring + 1) * cell[1] - py)
            if bound == np.inf:
                break  # every cell seen
            if m == k and bound > 0.0 and bound * bound > dist2[k - 1] * (1.0 + 1e-9):
                break
            ring += 1
        s = serving[i]
        if s >= 0:
            found = False
            for j in range(k):
                found = found or cand[i, j] == s
            if not found:
                cand[i, k - 1] = s
    return cand


@njit(cache=True, nogil=True)
def pair_losses(xy, cand, pairs, bs_xy, bs_carrier_ghz, bs_height_m, device_height_m,
                los_mode, coefficients, absorption_db_per_km, shadowing_on, pair_state,
                odometer_m, normals, sigma_db, decorrelation_m):  # pragma: no cover
    """Loss (dB) of every device i to base stations cand[i, :] (`pairs`: their rows in
    `pair_state`, which holds each pair's LOS draw, shadowing z and the odometer reading of
    z). With `shadowing_on`, each pair's z advances to its device's odometer with the
    standard normals given (an empty array: nobody moved): rho = exp(-moved / d_corr),
    z = rho z + sqrt(1 - rho^2) x normal. `sigma_db` and `decorrelation_m` are (fixed or
    NaN, LOS, NLOS)."""
    n, k = cand.shape
    loss = np.empty((n, k))
    moving = normals.size > 0
    for i in range(n):
        h_ut = device_height_m[i]
        for j in range(k):
            b = cand[i, j]
            p = pairs[i, j]
            d2d = math.hypot(xy[i, 0] - bs_xy[b, 0], xy[i, 1] - bs_xy[b, 1])
            if los_mode == ALWAYS_LOS:
                los = True
            elif los_mode == NEVER_LOS:
                los = False
            else:
                los = pair_state[p, 0] < pair_los_probability(d2d, h_ut, coefficients)
            value = pair_path_loss_db(d2d, bs_carrier_ghz[b], bs_height_m[b], h_ut, los,
                                      coefficients)
            if absorption_db_per_km > 0:
                value += absorption_db_per_km * d2d / 1000.0
            if shadowing_on:
                z = pair_state[p, 1]
                if moving:
                    d_corr = decorrelation_m[0]
                    if d_corr != d_corr:  # NaN: 38.901's distance for the LOS state
                        d_corr = decorrelation_m[1] if los else decorrelation_m[2]
                    rho = math.exp(-(odometer_m[i] - pair_state[p, 2]) / d_corr)
                    z = rho * z + math.sqrt(1.0 - rho * rho) * normals[i, j]
                    pair_state[p, 1] = z
                    pair_state[p, 2] = odometer_m[i]
                sigma = sigma_db[0]
                if sigma != sigma:
                    sigma = sigma_db[1] if los else sigma_db[2]
                value = value + sigma * z
            loss[i, j] = value
    return loss


@njit(cache=True, nogil=True)
def filter_and_attach(loss, cand, pairs, last_pairs, last_filtered, handover_filter,
                      margin_db, initial, bs_of, up_gain, dl_gain, bs_gain, bs_tx,
                      keep_candidate_gains, bs_up):  # pragma: no cover
    """Filter the measured losses (exponential, per pair; a pair not measured last time,
    i.e. not in the device's row of `last_pairs`, starts anew), then attach each device (the
    first time: to the best) or hand it over where the best beats the serving one by the
    margin. Base stations that are down (`bs_up` False) are never chosen and radiate
    nothing: a device served by one hands over to the best one up (however small the
    difference), or keeps it and waits with no link if none is up. `bs_of` is updated in
    place; returns the filtered losses (the next call's
    `last_filtered`), the number of handovers, the serving links' received powers without
    fading (mW, up and down) and, with `keep_candidate_gains`, those to every measured base
    station."""
    n, k = cand.shape
    filtered = np.empty((n, k))
    for i in range(n):
        for j in range(k):
            previous = np.nan
            for m in range(last_pairs.shape[1]):
                if last_pairs[i, m] == pairs[i, j]:
                    previous = last_filtered[i, m]
                    break
            if previous != previous:  # NaN
                filtered[i, j] = loss[i, j]
            else:
                filtered[i, j] = previous + handover_filter * (loss[i, j] - previous)
    handovers = 0
    up_rx = np.empty(n)
    down_rx = np.empty(n)
    kept = k if keep_candidate_gains else 0
    up_cand = np.empty((n, kept))
    down_cand = np.empty((n, kept))
    for i in range(n):
        best = -1
        for j in range(k):
            if bs_up[cand[i, j]] and (best < 0 or filtered[i, j] < filtered[i, best]):
                best = j
        if best < 0:  # every measured base station is down
            best = 0
        column = best
        if not initial:
            column = 0  # the serving base station's column (always measured)
            for j in range(k):
                if cand[i, j] == bs_of[i]:
                    column = j
                    break
            if (filtered[i, best] < filtered[i, column] - margin_db
                    or (not bs_up[cand[i, column]] and bs_up[cand[i, best]])):
                handovers += 1
                column = best
        b = cand[i, column]
        bs_of[i] = b
        path = 10.0 ** (-loss[i, column] / 10.0) * bs_gain[b] if bs_up[b] else 0.0
        up_rx[i] = up_gain[i] * path
        down_rx[i] = bs_tx[b] * dl_gain[i] * path
        for j in range(kept):
            c = cand[i, j]
            path = 10.0 ** (-loss[i, j] / 10.0) * bs_gain[c] if bs_up[c] else 0.0
            up_cand[i, j] = up_gain[i] * path
            down_cand[i, j] = bs_tx[c] * dl_gain[i] * path
    return filtered, handovers, up_rx, down_rx, up_cand, down_cand
