"""Radio transfers of one direction (uplink or downlink): processor sharing within each tick.

Each device sends one transfer at a time, in order of readiness. A base station's band is
shared among the transfers in progress at each instant, in proportion to per-device weights
(equal shares by default; a market may set the weights), and is re-split at every transfer
start and end inside the tick (weighted processor sharing, exact). The channel (received
power, noise plus interference) is the tick's: the tick is the clock of the channel, not of
the queue. Transfers that never overlap each get the whole band.

Rate on a share W_i of a band W (Shannon, capped at the top spectral efficiency):
- uplink: the device's own power P on W_i, so SINR = P / (N W_i) and the rate is not linear
  in the share;
- downlink: the base station's power at constant spectral density, a share W_i carrying
  P W_i / W, so SINR = P / (N W) and a cell's rates sum to at most its Shannon capacity.
N is the noise plus interference spectral density the caller gives per device and tick.

The queues and the sharing run in compiled kernels (network/band_sharing.py); this class owns
their arrays and the payloads. Only devices with something to send get a channel and a share,
so the channel's cost follows the active transfers. Callers enqueue every transfer that
becomes ready in a tick before that tick's `advance` (the engine orders its work so).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from netsim.network.band_sharing import enqueue_and_collect, share_bands
from netsim.slots import Slots, make_room

# a tick with this many senders may run long in the kernel: it runs on a worker thread (the
# kernel releases the GIL) so that the main thread still takes Ctrl-C within a second
THREADED_MEMBERS = 20_000

SLOT_ARRAYS = ("_slot_ready", "_slot_bits", "_slot_next", "_slot_payload")
# device indices -> (received power over the whole band in mW, noise + interference mW/Hz)
LinkFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class Finished(NamedTuple):
    """Transfers that ended in a tick, in order of their end times."""

    payloads: np.ndarray
    starts: np.ndarray
    ends: np.ndarray


NOTHING_FINISHED = Finished(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
_NO_TRANSFERS = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0),
                 np.zeros(0, dtype=np.int64))


class RadioPool:
    """Queued and in-progress radio transfers of every device in one direction."""

    def __init__(self, n_devices: int, bandwidth_hz: np.ndarray, tick_s: float,
                 max_spectral_efficiency: float, constant_psd: bool):
        self.bandwidth_hz = np.asarray(bandwidth_hz, dtype=float)
        self.tick_s = tick_s
        self.max_se = float(max_spectral_efficiency)
        self.constant_psd = constant_psd  # True on the downlink: power spread over the band
        self.n_devices = n_devices
        n_bs = len(self.bandwidth_hz)
        # per device (see band_sharing.py for their meaning)
        self.head = np.full(n_devices, -1, dtype=np.int64)
        self.busy = np.zeros(n_devices, dtype=np.bool_)
        self.remaining_bits = np.zeros(n_devices)
        self.started_at = np.zeros(n_devices)
        self.qlen = np.zeros(n_devices, dtype=np.int64)
        self.rate_bps = np.zeros(n_devices)  # mean rate while sending, in its latest tick
        self.airtime_s = np.zeros(n_devices)  # time sending since taken, if tracked
        self._track_airtime = False
        self.weights: np.ndarray | None = None  # share weights; None = equal shares
        self._ones = np.ones(n_devices)
        # transfer slots: arrays for the kernels, each with its payload (an int: the caller's
        # key, a task slot for the engine); freed slots are reused, from a stack
        self._slot_ready = np.zeros(0)
        self._slot_bits = np.zeros(0)
        self._slot_next = np.zeros(0, dtype=np.int64)
        self._slot_payload = np.zeros(0, dtype=np.int64)
        self._slots = Slots()
        # batches queued since the last tick, linked in by the next `advance`, in queue order
        self._new_batches: list[tuple[np.ndarray, ...]] = []
        # cumulative per base station, for the links table
        self.bits_sent = np.zeros(n_bs)
        self.tx_s = np.zeros(n_bs)  # transmitter-seconds: mean concurrent senders x time
        self.busy_hz_s = np.zeros(n_bs)  # band in use: Hz x seconds
        self.band_busy_s = np.zeros(n_bs)  # time with at least one transfer in progress

    def enqueue_many(self, devices: np.ndarray, ready_s: np.ndarray, bits: np.ndarray,
                     payloads: np.ndarray) -> None:
        """Queue transfers, in this order, that can start at `ready_s` (in the current tick
        or later); each carries its int payload back when it ends."""
        slots = self._slots.take(len(payloads))
        make_room(self, SLOT_ARRAYS, len(self._slot_ready), self._slots.used,
                  {"_slot_next": -1})
        self._slot_payload[slots] = payloads
        self._new_batches.append((np.asarray(devices, dtype=np.int64),
                                  np.asarray(ready_s, dtype=float),
                                  np.asarray(bits, dtype=float), slots))

    def withdraw(self, payloads: np.ndarray) -> None:
        """Empty the transfers carrying `payloads` (a fault took what they carry, or a
        deadline passed): each, queued or in progress, ends at once when its turn comes,
        with payload -1 and no more bits, so no other transfer moves. Freed transfer slots
        may still hold an old payload; emptying them too is harmless, as the next use
        overwrites both."""
        used = self._slots.used
        hit = np.flatnonzero(np.isin(self._slot_payload[:used], payloads))
        self._slot_bits[hit] = 0.0
        self._slot_payload[hit] = -1
        sending = self.busy & np.isin(self.head, hit)  # in progress: stop where they are
        self.remaining_bits[sending] = 0.0
        for i, (device, ready, bits, slots) in enumerate(self._new_batches):
            emptied = np.isin(slots, hit)
            if emptied.any():  # not linked yet: their bits are still in the batch
                self._new_batches[i] = (device, ready, np.where(emptied, 0.0, bits), slots)

    def _link_new(self, t1: float) -> np.ndarray:
        """Link the transfers queued since the last tick; return the devices sending in the
        tick that ends at t1."""
        batches = self._new_batches
        if len(batches) == 1:
            device, ready, bits, slot = batches[0]
        elif batches:
            device, ready, bits, slot = (np.concatenate(column) for column in zip(*batches))
        else:
            device, ready, bits, slot = _NO_TRANSFERS
        members = enqueue_and_collect(device, ready, bits, slot, self.head, self.busy,
                                      self.qlen, self._slot_ready, self._slot_bits,
                                      self._slot_next, t1)
        self._new_batches = []
        return members

    def advance(self, t0: float, t1: float, link_fn: LinkFn,
                bs_of: np.ndarray) -> Finished:
        """Send over the tick [t0, t1) with processor sharing per band; return the transfers
        that ended, in order of their end times."""
        members = self._link_new(t1)
        if not len(members):
            return NOTHING_FINISHED
        rx, noise = link_fn(members)
        share = share_bands if len(members) < THREADED_MEMBERS else _interruptible(share_bands)
        slots, starts, ends = share(
            members, bs_of[members], rx, noise,
            self._ones if self.weights is None else self.weights, self.weights is None,
            self.constant_psd, self.max_se, self.bandwidth_hz, t0, t1, self.head, self.busy,
            self.remaining_bits, self.started_at, self.qlen, self._slot_ready,
            self._slot_bits, self._slot_next, self.rate_bps, self.airtime_s,
            self._track_airtime, self.bits_sent, self.tx_s, self.busy_hz_s, self.band_busy_s)
        self._slots.give_back(slots)
        return Finished(self._slot_payload[slots], starts, ends)

    def track_airtime(self) -> None:
        """Keep each device's time spent sending (for interference), from now on."""
        self._track_airtime = True
        self.airtime_s[:] = 0.0

    def take_airtime(self) -> tuple[np.ndarray, np.ndarray]:
        """Devices that sent since the last call and their time sending; starts anew."""
        senders = np.flatnonzero(self.airtime_s)
        airtime = self.airtime_s[senders]
        self.airtime_s[senders] = 0.0
        return senders, airtime

    def set_weights(self, weights: np.ndarray | None) -> None:
        """Share each band in proportion to per-device weights from the next tick on
        (None: equal shares)."""
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    def queue_lengths(self) -> np.ndarray:
        """Transfers queued per device, the one in progress included."""
        return self.qlen


def _interruptible(kernel: Callable) -> Callable:
    """`kernel` run on a worker thread while the main thread waits in short, interruptible
    joins (a signal handler may raise there; the abandoned thread is a daemon)."""
    def call(*args):
        outcome: list = []

        def work():
            try:
                outcome.append((True, kernel(*args)))
            except BaseException as exc:  # handed to the caller below
                outcome.append((False, exc))

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.05)
        ok, value = outcome[0]
        if not ok:
            raise value
        return value
    return call
