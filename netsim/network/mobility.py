"""Mobility models: each moves its own devices' rows of the shared position array in place.

A model is built for one device group (the indices it owns) and has one method, `step`.
Devices stay inside the area: random waypoint picks targets inside it, Gauss-Markov and
waypoints reflect or clamp at the borders.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from netsim.workload.traces import read_trace, trace_path

if TYPE_CHECKING:  # the specs are plain data: only their `model` name selects a model
    from netsim.scenario.schema import (
        GaussMarkovMobility,
        RandomWaypointMobility,
        WaypointsMobility,
    )
    from netsim.scenario.schema import TraceMobility as TraceMobilitySpec


class MobilityModel(ABC):
    """Moves one group's devices. Every model is built as (index, area, rng, spec, base_dir),
    `spec` being the group's `mobility` block (see MOBILITY_MODELS)."""

    def __init__(self, index: np.ndarray, area_wh: tuple[float, float],
                 rng: np.random.Generator, spec: Any = None, base_dir: Path | None = None):
        self.index = index
        self.area = np.asarray(area_wh, dtype=float)
        self.rng = rng

    @property
    def moves(self) -> bool:
        return True

    @abstractmethod
    def step(self, xy: np.ndarray, dt_s: float) -> None:
        """Move rows `self.index` of `xy` forward by dt seconds."""


class Static(MobilityModel):
    @property
    def moves(self) -> bool:
        return False

    def step(self, xy: np.ndarray, dt_s: float) -> None:
        return None


class RandomWaypoint(MobilityModel):
    """Walk straight to a uniform target at a uniform speed, pause, repeat."""

    def __init__(self, index, area_wh, rng, spec: RandomWaypointMobility, base_dir=None):
        super().__init__(index, area_wh, rng)
        self.spec = spec
        n = len(index)
        self.target = rng.random((n, 2)) * self.area
        self.speed = rng.uniform(*spec.speed_mps, n)
        self.pause_left = np.zeros(n)

    def step(self, xy: np.ndarray, dt_s: float) -> None:
        pos = xy[self.index]
        self.pause_left = np.maximum(self.pause_left - dt_s, 0.0)
        moving = self.pause_left <= 0.0
        delta = self.target - pos
        dist = np.hypot(delta[:, 0], delta[:, 1])
        travel = self.speed * dt_s
        arrive = moving & (dist <= travel)
        go = moving & ~arrive
        scale = np.where(go, travel / np.maximum(dist, 1e-12), 0.0)
        pos += delta * scale[:, None]
        if np.any(arrive):
            k = int(arrive.sum())
            pos[arrive] = self.target[arrive]
            self.pause_left[arrive] = self.rng.uniform(*self.spec.pause_s, k)
            self.target[arrive] = self.rng.random((k, 2)) * self.area
            self.speed[arrive] = self.rng.uniform(*self.spec.speed_mps, k)
        xy[self.index] = pos


class GaussMarkov(MobilityModel):
    """Speed and direction follow Gauss-Markov processes; devices reflect off the borders."""

    def __init__(self, index, area_wh, rng, spec: GaussMarkovMobility, base_dir=None):
        super().__init__(index, area_wh, rng)
        self.spec = spec
        n = len(index)
        self.speed = np.full(n, spec.speed_mps)
        self.direction = rng.uniform(0.0, 2.0 * np.pi, n)
        self.mean_direction = self.direction.copy()

    def step(self, xy: np.ndarray, dt_s: float) -> None:
        n = len(self.index)
        alpha = self.spec.memory**dt_s  # memory is given per second
        noise = np.sqrt(max(1.0 - alpha * alpha, 0.0))
        self.speed = np.abs(alpha * self.speed + (1 - alpha) * self.spec.speed_mps
                            + noise * self.spec.speed_std_mps * self.rng.standard_normal(n))
        self.direction = (alpha * self.direction + (1 - alpha) * self.mean_direction
                          + noise * self.spec.direction_std_rad * self.rng.standard_normal(n))
        pos = xy[self.index]
        pos[:, 0] += self.speed * np.cos(self.direction) * dt_s
        pos[:, 1] += self.speed * np.sin(self.direction) * dt_s
        for axis in (0, 1):
            low, high = pos[:, axis] < 0.0, pos[:, axis] > self.area[axis]
            pos[low, axis] = -pos[low, axis]
            pos[high, axis] = 2.0 * self.area[axis] - pos[high, axis]
            flip = low | high
            if np.any(flip):
                # mirror the heading on the wall that was hit, and its mean with it
                mirror = np.pi - self.direction if axis == 0 else -self.direction
                mean_mirror = np.pi - self.mean_direction if axis == 0 else -self.mean_direction
                self.direction = np.where(flip, mirror, self.direction)
                self.mean_direction = np.where(flip, mean_mirror, self.mean_direction)
        np.clip(pos, 0.0, self.area, out=pos)
        xy[self.index] = pos


class Waypoints(MobilityModel):
    """Every device of the group follows the same list of points at a fixed speed."""

    def __init__(self, index, area_wh, rng, spec: WaypointsMobility, base_dir=None):
        super().__init__(index, area_wh, rng)
        self.spec = spec
        self.points = np.asarray(spec.points_m, dtype=float)
        self.next_point = np.zeros(len(index), dtype=int)

    def step(self, xy: np.ndarray, dt_s: float) -> None:
        pos = xy[self.index]
        budget = np.full(len(self.index), self.spec.speed_mps * dt_s)
        n_points = len(self.points)
        for _ in range(n_points + 1):  # a device passes at most every point once per step
            active = (budget > 0) & (self.next_point < n_points)
            if not np.any(active):
                break
            target = self.points[np.minimum(self.next_point, n_points - 1)]
            delta = target - pos
            dist = np.hypot(delta[:, 0], delta[:, 1])
            reach = active & (dist <= budget)
            go = active & ~reach
            pos[reach] = target[reach]
            budget[reach] -= dist[reach]
            self.next_point[reach] += 1
            if self.spec.loop:
                self.next_point[self.next_point >= n_points] = 0
            scale = np.where(go, budget / np.maximum(dist, 1e-12), 0.0)
            pos += delta * scale[:, None]
            budget[go] = 0.0
        xy[self.index] = pos


class TraceMobility(MobilityModel):
    """Positions replayed from a `t_s,device,x_m,y_m` CSV, linearly interpolated in time
    (held at the first and last rows); devices without rows do not move."""

    def __init__(self, index, area_wh, rng, spec: TraceMobilitySpec, base_dir: Path):
        super().__init__(index, area_wh, rng)
        raw = read_trace(trace_path(spec.path, base_dir)).rows
        rows = sorted((int(r["device"]), float(r["t_s"]), float(r["x_m"]), float(r["y_m"]))
                      for r in raw)
        self.tracks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for device in sorted({r[0] for r in rows}):
            mine = np.array([r[1:] for r in rows if r[0] == device])
            self.tracks[device] = (mine[:, 0], mine[:, 1], mine[:, 2])
        self.t = 0.0

    def step(self, xy: np.ndarray, dt_s: float) -> None:
        self.t += dt_s
        for local, (t, x, y) in self.tracks.items():
            xy[self.index[local]] = (np.interp(self.t, t, x), np.interp(self.t, t, y))


# one model per scenario `mobility.model` name (the schema's variants; a test checks they agree)
MOBILITY_MODELS: dict[str, type[MobilityModel]] = {
    "static": Static, "random_waypoint": RandomWaypoint, "gauss_markov": GaussMarkov,
    "waypoints": Waypoints, "trace": TraceMobility}


def build_mobility(spec, index: np.ndarray, area_wh: tuple[float, float],
                   rng: np.random.Generator, base_dir: Path | None = None) -> MobilityModel:
    """The mobility model a scenario's `mobility` block selects (by its `model` name)."""
    model = MOBILITY_MODELS.get(spec.model)
    if model is None:
        raise ValueError(f"no mobility model '{spec.model}' (allowed: "
                         f"{', '.join(MOBILITY_MODELS)})")
    return model(index, area_wh, rng, spec, base_dir or Path("."))
