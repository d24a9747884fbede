"""A split-inference task's journey: device layers -> uplink -> backhaul -> server -> back.

No SimPy process or event per task (see DESIGN 'Engine design for speed'): a task is a
`__slots__` object, and the channel tick moves every task forward with exact times:
- device compute is a FIFO per device whose end time is known on arrival;
- radio transfers are integrated over the tick's rates by the `RadioPool`s;
- wired links are FIFOs (`Link.send`), exact without events;
- a server admits tasks in order of arrival time: arrivals wait in a per-server heap until the
  tick has produced every arrival earlier than its end, then are admitted in time order, so
  the FIFO over cores is exact.
The tick calls, in order: `arrive`, `after_uplink`, `admit`, `after_downlink`, `finish_local`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import numpy as np

from netsim.entities.servers import ComputeServer
from netsim.network.links import DOWN, UP, Link
from netsim.network.radio import Completion, RadioPool
from netsim.record.tables import TASK_STATUSES
from netsim.workload.profiles import ModelProfile

# status codes: indices into STATUS_NAMES (the `status` column's categories)
DONE, MISSED, DROPPED, IN_FLIGHT = 0, 1, 2, 3
STATUS_NAMES = TASK_STATUSES
NAN = math.nan


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
        self.bs = -1  # base station index
        self.server = -1  # index into TaskFlow.servers
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
        self.compute_free_at = [0.0] * len(compute_flops)  # scalar access in the hot loop
        self.energy_used_j = np.zeros(len(compute_flops))
        self.local_flops = np.zeros(len(compute_flops))


class TaskFlow:
    """Moves tasks through devices, radio, links and servers; hands finished rows to `record`."""

    def __init__(self, profile: ModelProfile, devices: DeviceState, bs_of: np.ndarray,
                 bs_links: list[Link], bs_server: list[ComputeServer],
                 servers: list[ComputeServer], cloud: ComputeServer, cloud_links: dict[str, Link],
                 offload_wait_s: dict[str, float], tick_s: float, deadline_s: float | None,
                 drop_late: bool, input_bytes: int, result_bytes: int,
                 uplink: RadioPool, downlink: RadioPool, record: Callable[[Task], None]):
        self.devices = devices
        self.bs_of = bs_of  # shared with the engine, updated on handover
        self.bs_links = bs_links
        self.bs_server = bs_server
        self.cloud = cloud
        self.cloud_links = cloud_links  # edge server name -> its link to the cloud
        self.offload_wait_s = offload_wait_s  # edge server name -> wait that sends to cloud
        self.servers = servers  # every server, the cloud last: admitted in this order
        self._server_index = {id(s): i for i, s in enumerate(self.servers)}
        self.tick_s = tick_s
        self.deadline_s = math.inf if deadline_s is None else deadline_s
        self.drop_late = drop_late
        self.result_bits = 8.0 * result_bytes
        self.result_bytes = result_bytes
        self.uplink = uplink
        self.downlink = downlink
        self.record = record
        self.n_layers = profile.n_layers
        self.device_flops_by_split = profile.device_flops(np.arange(self.n_layers + 1))
        self.total_flops = profile.total_flops
        upload = profile.upload_bytes(np.arange(self.n_layers + 1))
        upload[0] = input_bytes
        self.upload_bytes_by_split = upload
        self.next_id = 0
        self._ended = [0, 0, 0]  # done, deadline missed, dropped
        self._pending: dict[str, list] = {s.name: [] for s in self.servers}  # arrival heaps
        self._seq = 0
        self._local_only: dict[int, list[Task]] = {}  # tick index -> fully local tasks

    # ------------------------------------------------------------------ arrivals

    def arrive(self, times: np.ndarray, devs: np.ndarray, scale: np.ndarray) -> None:
        """Start tasks arriving at `times` on devices `devs` (FLOPs scaled by `scale`)."""
        order = np.argsort(times, kind="stable")
        times, devs, scale = times[order], devs[order], scale[order]
        state = self.devices
        split = state.split_layer[devs]
        f_dev = self.device_flops_by_split[split] * scale
        f_srv = self.total_flops * scale - f_dev
        up_bytes = self.upload_bytes_by_split[split]
        compute_s = f_dev / state.compute_flops[devs]
        energy = f_dev * state.energy_per_flop_j[devs]
        alive = state.battery_j[devs] > 0.0  # battery as of the start of the tick
        free_at = state.compute_free_at
        n_layers, deadline_s, tick = self.n_layers, self.deadline_s, self.tick_s
        enqueue = self.uplink.enqueue
        task_id = self.next_id
        self.next_id += len(times)
        for t, d, s, fs, ub, cs, e, ok in zip(times.tolist(), devs.tolist(), split.tolist(),
                                              f_srv.tolist(), up_bytes.tolist(),
                                              compute_s.tolist(), energy.tolist(),
                                              alive.tolist()):
            task = Task(task_id, d, t, s, fs, ub, t + deadline_s)
            task_id += 1
            if not ok:
                self._end(task, t, DROPPED)
                continue
            start = t if t > free_at[d] else free_at[d]
            done = start + cs
            free_at[d] = done
            task.energy = e
            task.t_local_done = done
            if s == n_layers:
                self._local_only.setdefault(int(done // tick), []).append(task)
            else:
                enqueue(d, done, 8.0 * ub, task)
        spent = np.where(alive, energy, 0.0)
        np.subtract.at(state.battery_j, devs, spent)
        np.add.at(state.energy_used_j, devs, spent)
        np.add.at(state.local_flops, devs, np.where(alive, f_dev, 0.0))

    def finish_local(self, k: int, t1: float) -> None:
        """Complete the fully local tasks whose device compute ends in tick k."""
        for task in self._local_only.pop(k, ()):
            if task.t_local_done < t1:
                self._complete(task, task.t_local_done)
            else:  # rounding put it one tick early
                self._local_only.setdefault(k + 1, []).append(task)

    # ------------------------------------------------------------------ uplink and servers

    def after_uplink(self, completed: list[Completion]) -> None:
        """Uplink transfers ended (in time order): pay the radio energy, cross the backhaul."""
        if not completed:
            return
        state = self.devices
        devs = np.fromiter((c[0].device for c in completed), dtype=np.int64, count=len(completed))
        durations = np.fromiter((c[2] - c[1] for c in completed), dtype=float,
                                count=len(completed))
        energy = state.tx_power_w[devs] * durations
        np.subtract.at(state.battery_j, devs, energy)
        np.add.at(state.energy_used_j, devs, energy)
        bs_of = self.bs_of[devs].tolist()
        for (task, t_start, t_finish), e, bs in zip(completed, energy.tolist(), bs_of):
            task.t_uplink_start = t_start
            task.t_uplink_done = t_finish
            task.energy += e
            if self.drop_late and t_finish > task.deadline:
                self._end(task, t_finish, DROPPED)
                continue
            task.bs = bs
            server = self.bs_server[bs]
            self._arrive_at(server, self.bs_links[bs].send(t_finish, task.bytes_up, UP), task)

    def _arrive_at(self, server: ComputeServer, t: float, task: Task) -> None:
        self._seq += 1
        task.server = self._server_index[id(server)]
        heapq.heappush(self._pending[server.name], (t, self._seq, task))

    def admit(self, t1: float) -> None:
        """Admit, in time order, every server arrival before t1 (edge servers, then cloud)."""
        for server in self.servers:
            pending = self._pending[server.name]
            offload_wait = self.offload_wait_s.get(server.name)
            while pending and pending[0][0] < t1:
                t, _, task = heapq.heappop(pending)
                if self.drop_late and t > task.deadline:
                    self._end(task, t, DROPPED)
                    continue
                if offload_wait is not None and server.wait_s(t) > offload_wait:
                    link = self.cloud_links[server.name]
                    self._arrive_at(self.cloud, link.send(t, task.bytes_up, UP), task)
                    continue
                start, end = server.admit(t, task.flops_server)
                task.t_server_start = start
                task.t_server_done = end
                # the small result goes back over the wired links, then the radio downlink
                edge = self.bs_server[task.bs]
                if server is self.cloud and edge is not self.cloud:
                    end = self.cloud_links[edge.name].send(end, self.result_bytes, DOWN)
                back = self.bs_links[task.bs].send(end, self.result_bytes, DOWN)
                self.downlink.enqueue(task.device, back, self.result_bits, task)

    def after_downlink(self, completed: list[Completion]) -> None:
        """Results arrived on their devices: the tasks are complete."""
        for task, _, t_finish in completed:
            self._complete(task, t_finish)

    # ------------------------------------------------------------------ endings

    def _complete(self, task: Task, t_done: float) -> None:
        late = t_done > task.deadline
        if late and self.drop_late:
            self._end(task, t_done, DROPPED)
        else:
            self._end(task, t_done, MISSED if late else DONE)

    def _end(self, task: Task, t: float, status: int) -> None:
        task.status = status
        task.t_done = t
        self._ended[status] += 1
        self.record(task)

    def in_flight(self) -> list[Task]:
        """Every task still in the system, in id order: in radio queues (including device
        compute, which ends in the uplink queue), waiting for a server, or computing locally."""
        tasks = [item[3] for pool in (self.uplink, self.downlink)
                 for queue in pool.queues for item in queue]
        tasks += [entry[2] for heap in self._pending.values() for entry in heap]
        tasks += [task for bucket in self._local_only.values() for task in bucket]
        return sorted(tasks, key=lambda task: task.id)

    def counts(self) -> dict[str, int]:
        in_flight = (sum(len(q) for pool in (self.uplink, self.downlink) for q in pool.queues)
                     + sum(map(len, self._pending.values()))
                     + sum(map(len, self._local_only.values())))
        return {"arrived": self.next_id, **dict(zip(STATUS_NAMES, self._ended)),
                "in_flight": in_flight}
