"""Timed faults and load changes: the scenario's `events`, applied to the running network.

Each event starts at `at_s` and, with `until_s`, ends then; both take effect at the first
tick at or after their time (the engine ends a step there), and each is a row of the
`events` table with what it did. What a kind changes:
- server_down: the edge server admits nothing; the tasks it holds (queued, or running past
  the fault) are sent to the cloud over its link (`policy: reroute`) or end dropped (`drop`);
  arrivals meanwhile do the same. Back up, its cores are free.
- base_station_down: it radiates nothing; its devices are re-attached at once, to the best
  station up (a handover), or keep it with no link and wait. Back up, the usual handover rule
  applies again at once.
- link_down: what is sent waits until the link is back (a FIFO held shut); link_scale: the
  capacity times `factor` for what is sent from then on.
- arrival_scale: a group's arrivals in the window, thinned (factor < 1) or joined by extra
  Poisson arrivals at (factor - 1) times its mean rate per device (a flash crowd), drawn from
  the event's own stream.
- channel_degrade: `loss_db` more path loss for the devices inside `region_m` at each
  large-scale update (everywhere without a region), measured by the handover filter like any
  loss.
The market sees all of it at its next epoch, through the state it reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from netsim.rng import stream
from netsim.scenario.schema import EventSpec
from netsim.workload.arrivals import mean_rate_per_s

if TYPE_CHECKING:
    from netsim.engine import Simulation


@dataclass(frozen=True)
class _Change:
    t: float
    event: int
    starts: bool  # False: the event's end


class Faults:
    """The scenario's events, in time order, and their effects on one simulation."""

    def __init__(self, events: list[EventSpec], sim: Simulation):
        self.events = events
        self.sim = sim
        changes = [_Change(e.at_s, i, True) for i, e in enumerate(events)]
        changes += [_Change(e.until_s, i, False) for i, e in enumerate(events)
                    if e.until_s is not None]
        # at equal times, ends before starts (a server back up and down again)
        self._changes = sorted(changes, key=lambda c: (c.t, c.starts, c.event))
        self._next = 0
        self._server = {name: i for i, name in enumerate(sim.servers.names)}
        self._bs = {name: i for i, name in enumerate(sim.network.base_stations.ids)}
        self._link = {name: i for i, name in enumerate(sim.wired.names)}
        self._group = {name: g for g, name in enumerate(sim.network.group_names)}
        self._rng = {i: stream(sim.seed, f"events/{i}") for i, e in enumerate(events)
                     if e.kind == "arrival_scale"}
        self._degraded: dict[int, EventSpec] = {}  # channel_degrade events in force
        self._outages: dict[tuple[str, int], int] = {}  # outages in force per element
        if any(e.kind == "channel_degrade" for e in events):
            sim.access.loss_offset_db = self.extra_loss_db  # read at every attachment

    @property
    def next_s(self) -> float:
        """When the next change is due (inf: none left)."""
        return self._changes[self._next].t if self._next < len(self._changes) else math.inf

    def apply_due(self, t: float) -> None:
        """Apply every change due by t (a tick boundary), in order."""
        while self._next < len(self._changes) and self._changes[self._next].t <= t:
            change = self._changes[self._next]
            self._next += 1
            self._apply(change, t)

    def _apply(self, change: _Change, t: float) -> None:
        sim, event = self.sim, self.events[change.event]
        kind, starts = event.kind, change.starts
        rerouted = dropped = handovers = 0
        value = math.nan
        if kind == "server_down":
            server = self._server[event.target]
            if self._count(("server", server), starts):  # down now (the latest policy)
                sim.flow.routes.down[server] = True
                sim.flow.routes.reroute[server] = event.policy == "reroute"
                rerouted, dropped = sim.flow.fail_server(server, t)
                sim.servers.fail(server, t)
            elif sim.flow.routes.down[server]:  # the last overlapping outage ended
                sim.flow.routes.down[server] = False
                sim.servers.restore(server, t)
        elif kind == "base_station_down":
            bs = self._bs[event.target]
            sim.access.bs_up[bs] = not self._count(("bs", bs), starts)
            handovers = self._reattach()
        elif kind == "link_down":
            if starts:  # held shut until its end: nothing to do then
                sim.wired.hold(self._link[event.target],
                               math.inf if event.until_s is None else event.until_s)
        elif kind == "link_scale":
            value = event.factor
            sim.wired.rate_bps[self._link[event.target]] *= value if starts else 1.0 / value
        elif kind == "arrival_scale":
            value = event.factor  # applied as arrivals are drawn (`scale_arrivals`)
        elif kind == "channel_degrade":
            value = event.loss_db
            if starts:
                self._degraded[change.event] = event
            else:
                self._degraded.pop(change.event)
            handovers = self._reattach()
        sim.recorder.events.rows.append((
            t, kind, event.target or "", "start" if starts else "end", value, rerouted,
            dropped, handovers))

    def _count(self, key: tuple[str, int], starts: bool) -> bool:
        """Count overlapping outages of one element; whether any is in force."""
        self._outages[key] = self._outages.get(key, 0) + (1 if starts else -1)
        return self._outages[key] > 0

    def _reattach(self) -> int:
        """Measure and attach every device now (same positions); the handovers it made."""
        access, before = self.sim.access, self.sim.access.handovers
        access.attach(self.sim.xy, self.sim.odometer_m)
        return access.handovers - before

    def extra_loss_db(self, xy: np.ndarray) -> np.ndarray | None:
        """Each device's extra path loss from the degradations in force (None: none)."""
        if not self._degraded:
            return None
        extra = np.zeros(len(xy))
        for event in self._degraded.values():
            if event.region_m is None:
                extra += event.loss_db
                continue
            (x0, y0), (x1, y1) = event.region_m
            inside = ((xy[:, 0] >= min(x0, x1)) & (xy[:, 0] <= max(x0, x1))
                      & (xy[:, 1] >= min(y0, y1)) & (xy[:, 1] <= max(y0, y1)))
            extra += np.where(inside, event.loss_db, 0.0)
        return extra

    def scale_arrivals(self, group: int, times: np.ndarray, devices: np.ndarray, t0: float,
                       t1: float) -> tuple[np.ndarray, np.ndarray]:
        """A group's arrivals drawn over [t0, t1), with its arrival_scale events applied
        over their windows."""
        sim = self.sim
        for i, event in enumerate(self.events):
            if event.kind != "arrival_scale" or self._group[event.target] != group:
                continue
            lo = max(t0, event.at_s)
            hi = min(t1, math.inf if event.until_s is None else event.until_s)
            if hi <= lo:
                continue
            rng = self._rng[i]
            if event.factor < 1.0:  # thin the window's arrivals
                inside = (times >= lo) & (times < hi)
                keep = ~inside | (rng.random(len(times)) < event.factor)
                times, devices = times[keep], devices[keep]
            elif event.factor > 1.0:  # join extra Poisson arrivals
                index = sim.network.group_index[group]
                rate = (event.factor - 1.0) * mean_rate_per_s(sim.arrivals[group])
                counts = rng.poisson(rate * (hi - lo), len(index))
                extra_devices = np.repeat(index, counts)
                extra_times = lo + (hi - lo) * rng.random(len(extra_devices))
                times = np.concatenate((times, extra_times))
                devices = np.concatenate((devices, extra_devices))
        return times, devices
