"""A split-inference task's journey: device layers -> uplink -> backhaul -> server -> back.

No SimPy process per task (see DESIGN 'Engine design for speed'): a task is a `__slots__`
object moved along by callbacks. Stages whose duration is known on entry (device compute,
wired links, server FIFO) are computed on the spot; SimPy events mark only the moments where
the next stage needs the clock: the end of an uplink transfer and the arrival at a server.
Radio transfers are advanced by the `RadioPool`s on the channel tick.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from simpy import Environment
from simpy.events import NORMAL, Event

from netsim.entities.servers import ComputeServer
from netsim.network.links import DOWN, UP, Link
from netsim.network.radio import RadioPool
from netsim.workload.profiles import ModelProfile

DONE, MISSED, DROPPED, IN_FLIGHT = "done", "deadline_missed", "dropped", "in_flight"
NAN = math.nan


class Call(Event):
    """An event that calls `handler(event)` after `delay`; its value is the payload.

    Hot path (about two per task): skips Timeout's argument checks."""

    def __init__(self, env: Environment, delay: float, handler: Callable, payload: object):
        self.env = env
        self.callbacks = [handler]
        self._value = payload
        self._ok = True
        env.schedule(self, NORMAL, delay)


class Task:
    __slots__ = ("bs", "bytes_up", "deadline", "device", "energy", "flops_server", "id",
                 "server", "split", "status", "t_arrival", "t_done", "t_local_done",
                 "t_server_done", "t_server_start", "t_uplink_done", "t_uplink_start")

    def __init__(self, task_id: int, device: int, t_arrival: float, split: int,
                 flops_server: float, bytes_up: int, deadline: float):
        self.id = task_id
        self.device = device
        self.t_arrival = t_arrival
        self.split = split
        self.flops_server = flops_server
        self.bytes_up = bytes_up
        self.deadline = deadline
        self.energy = 0.0
        self.bs = -1
        self.server = ""
        self.status = IN_FLIGHT
        self.t_local_done = self.t_uplink_start = self.t_uplink_done = NAN
        self.t_server_start = self.t_server_done = self.t_done = NAN


class DeviceState:
    """Mutable per-device state, as arrays indexed by device number."""

    def __init__(self, compute_flops: np.ndarray, energy_per_flop_j: np.ndarray,
                 battery_j: np.ndarray, tx_power_dbm: np.ndarray, split_layer: np.ndarray):
        self.compute_flops = compute_flops
        self.energy_per_flop_j = energy_per_flop_j
        self.battery_j = battery_j.astype(float).copy()
        self.tx_power_w = np.power(10.0, tx_power_dbm / 10.0) / 1000.0
        self.split_layer = split_layer.copy()  # set by the scenario now, by a market later
        self.compute_free_at = np.zeros(len(compute_flops))
        self.energy_used_j = np.zeros(len(compute_flops))
        self.local_flops = np.zeros(len(compute_flops))


class TaskFlow:
    """Moves tasks through devices, radio, links and servers; hands finished rows to `record`."""

    def __init__(self, env: Environment, profile: ModelProfile, devices: DeviceState,
                 bs_of: np.ndarray, bs_names: list[str], bs_links: list[Link],
                 bs_server: list[ComputeServer], edge_cloud: dict[str, tuple[Link, float]],
                 cloud: ComputeServer, deadline_s: float | None, drop_late: bool,
                 input_bytes: int, result_bytes: int, record: Callable[[tuple], None]):
        self.env = env
        self.profile = profile
        self.devices = devices
        self.bs_of = bs_of  # shared with the engine, updated on handover
        self.bs_names = bs_names
        self.bs_links = bs_links
        self.bs_server = bs_server
        self.edge_cloud = edge_cloud  # edge server name -> (link to cloud, offload wait)
        self.cloud = cloud
        self.deadline_s = math.inf if deadline_s is None else deadline_s
        self.drop_late = drop_late
        self.result_bytes = result_bytes
        self.record = record
        self.n_layers = profile.n_layers
        self.device_flops_by_split = profile.device_flops(np.arange(self.n_layers + 1))
        self.total_flops = profile.total_flops
        upload = profile.upload_bytes(np.arange(self.n_layers + 1))
        upload[0] = input_bytes
        self.upload_bytes_by_split = upload
        self.live: dict[int, Task] = {}
        self.next_id = 0
        self.counts = {"arrived": 0, DONE: 0, MISSED: 0, DROPPED: 0}
        self.uplink: RadioPool
        self.downlink: RadioPool

    # ------------------------------------------------------------------ arrivals

    def arrive(self, times: np.ndarray, devs: np.ndarray, scale: np.ndarray) -> None:
        """Start tasks arriving at `times` on devices `devs` (FLOPs scaled by `scale`)."""
        order = np.argsort(times, kind="stable")
        times, devs, scale = times[order], devs[order], scale[order]
        dev_state = self.devices
        split = dev_state.split_layer[devs]
        f_dev = self.device_flops_by_split[split] * scale
        f_srv = self.total_flops * scale - f_dev
        up_bytes = self.upload_bytes_by_split[split]
        compute_s = f_dev / dev_state.compute_flops[devs]
        energy = f_dev * dev_state.energy_per_flop_j[devs]
        free_at, battery = dev_state.compute_free_at, dev_state.battery_j
        n_layers, deadline_s = self.n_layers, self.deadline_s
        self.counts["arrived"] += len(times)
        for t, d, s, fs, ub, cs, e in zip(times.tolist(), devs.tolist(), split.tolist(),
                                          f_srv.tolist(), up_bytes.tolist(),
                                          compute_s.tolist(), energy.tolist()):
            task = Task(self.next_id, d, t, s, fs, ub, t + deadline_s)
            self.next_id += 1
            if battery[d] <= 0.0:
                self._finish(task, t, DROPPED)
                continue
            start = t if t > free_at[d] else free_at[d]
            done = start + cs
            free_at[d] = done
            battery[d] -= e
            task.energy = e
            task.t_local_done = done
            self.live[task.id] = task
            if s == n_layers:
                Call(self.env, done - self.env.now, self._local_only_done, task)
            else:
                self.uplink.enqueue(d, done, 8.0 * ub, task)
        np.add.at(dev_state.energy_used_j, devs, energy)
        np.add.at(dev_state.local_flops, devs, f_dev)

    def _local_only_done(self, event: Event) -> None:
        task = event._value
        self._complete(task, task.t_local_done)

    # ------------------------------------------------------------------ uplink and servers

    def uplink_done(self, task: Task, t_start: float, t_finish: float) -> None:
        """Called by the uplink pool when the task's activation has been sent."""
        task.t_uplink_start = t_start
        task.t_uplink_done = t_finish
        energy = self.devices.tx_power_w[task.device] * (t_finish - t_start)
        self.devices.battery_j[task.device] -= energy
        self.devices.energy_used_j[task.device] += energy
        task.energy += energy
        Call(self.env, t_finish - self.env.now, self._at_base_station, task)

    def _at_base_station(self, event: Event) -> None:
        task = event._value
        now = self.env.now
        if self.drop_late and now > task.deadline:
            self._finish(task, now, DROPPED)
            return
        bs = int(self.bs_of[task.device])
        task.bs = bs
        arrive = self.bs_links[bs].send(now, task.bytes_up, UP)
        Call(self.env, arrive - now, self._at_server, task)

    def _at_server(self, event: Event) -> None:
        task = event._value
        now = self.env.now
        if self.drop_late and now > task.deadline:
            self._finish(task, now, DROPPED)
            return
        server = self.cloud if task.server == self.cloud.name else self.bs_server[task.bs]
        offload = self.edge_cloud.get(server.name)
        if offload is not None and server.wait_s(now) > offload[1]:
            task.server = self.cloud.name
            arrive = offload[0].send(now, task.bytes_up, UP)
            Call(self.env, arrive - now, self._at_server, task)
            return
        task.server = server.name
        start, end = server.admit(now, task.flops_server)
        task.t_server_start = start
        task.t_server_done = end
        # the small result goes back over the wired links, then the radio downlink
        back = end
        if server is self.cloud and self.bs_server[task.bs] is not self.cloud:
            back = self.edge_cloud[self.bs_server[task.bs].name][0].send(back, self.result_bytes,
                                                                         DOWN)
        back = self.bs_links[task.bs].send(back, self.result_bytes, DOWN)
        self.downlink.enqueue(task.device, back, 8.0 * self.result_bytes, task)

    def downlink_done(self, task: Task, t_start: float, t_finish: float) -> None:
        """Called by the downlink pool (within the current tick) when the result arrived."""
        self._complete(task, t_finish)

    # ------------------------------------------------------------------ endings

    def _complete(self, task: Task, t_done: float) -> None:
        late = t_done > task.deadline
        if late and self.drop_late:
            self._finish(task, t_done, DROPPED)
        else:
            self._finish(task, t_done, MISSED if late else DONE)

    def _finish(self, task: Task, t: float, status: str) -> None:
        task.status = status
        task.t_done = t
        self.counts[status] += 1
        self.live.pop(task.id, None)
        self.record(self.row(task))

    def row(self, task: Task) -> tuple:
        latency = task.t_done - task.t_arrival if task.status in (DONE, MISSED) else NAN
        server = task.server or None
        bs = self.bs_names[task.bs] if task.bs >= 0 else None
        return (task.id, task.device, task.t_arrival, task.split, bs, server,
                task.t_local_done, task.t_uplink_start, task.t_uplink_done,
                task.t_server_start, task.t_server_done, task.t_done, latency, task.energy,
                task.bytes_up, task.status)

    def in_flight_rows(self) -> list[tuple]:
        """Rows of the tasks still in the system, marked `in_flight` (for the final flush)."""
        return [self.row(task) for task in sorted(self.live.values(), key=lambda x: x.id)]
