"""A split-inference task's journey: device layers -> uplink -> backhaul -> server -> back.

No SimPy process or event per task (see DESIGN 'Engine design for speed'): a task in flight is
a small `__slots__` object, and the channel tick moves every task forward with exact times:
- device compute is a FIFO per device whose end time is known on arrival;
- radio transfers are integrated over the tick's rates by the `RadioPool`s;
- wired links are FIFOs (`Link.send`), exact without events;
- a server admits tasks in order of arrival time: arrivals wait in a per-server heap until the
  tick has produced every arrival earlier than its end, then are admitted in time order, so
  the FIFO over cores is exact.
What is recorded about a task goes to the `TaskLog` columns in batches, stage by stage.
The tick calls, in order: `arrive`, `after_uplink`, `admit`, `after_downlink`, `finish_local`.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from netsim.entities.device_queue import fifo_finish
from netsim.entities.servers import ComputeServer
from netsim.network.links import DOWN, UP, Link
from netsim.network.radio import Completion, RadioPool
from netsim.record.tables import TASK_STATUSES
from netsim.record.task_log import TaskLog
from netsim.workload.profiles import ModelProfile

DONE, MISSED, DROPPED, BATTERY_EMPTY = (
    TASK_STATUSES.index(s) for s in ("done", "deadline_missed", "dropped", "battery_empty"))


class Task:
    """What a task in flight needs to be moved along (its record is in the TaskLog)."""

    __slots__ = ("bs", "bytes_up", "deadline", "device", "flops_server", "id")

    def __init__(self, task_id: int, device: int, deadline: float, flops_server: float,
                 bytes_up: int):
        self.id = task_id
        self.device = device
        self.deadline = deadline
        self.flops_server = flops_server
        self.bytes_up = bytes_up
        self.bs = -1


class DeviceState:
    """Mutable per-device state, as arrays indexed by device number."""

    def __init__(self, compute_flops: np.ndarray, energy_per_flop_j: np.ndarray,
                 battery_j: np.ndarray, tx_power_dbm: np.ndarray, split_layer: np.ndarray,
                 max_split: np.ndarray):
        self.compute_flops = compute_flops
        self.energy_per_flop_j = energy_per_flop_j
        self.battery_j = battery_j.astype(float).copy()
        self.tx_power_w = np.power(10.0, tx_power_dbm / 10.0) / 1000.0
        self.split_layer = split_layer.copy()  # set by the scenario now, by a market later
        self.max_split = max_split  # the most layers whose parameters fit in memory
        self.compute_free_at = np.zeros(len(compute_flops))  # see device_queue.py
        self.energy_used_j = np.zeros(len(compute_flops))
        self.local_flops = np.zeros(len(compute_flops))


@dataclass(frozen=True)
class Routes:
    """Where tasks go: each base station's backhaul link and the server it feeds, the edge
    servers, the cloud, each edge server's link to the cloud and the queueing wait above
    which it forwards a task there."""

    bs_links: list[Link]
    bs_server: list[ComputeServer]
    edge_servers: list[ComputeServer]
    cloud: ComputeServer
    cloud_links: dict[str, Link]
    offload_wait_s: dict[str, float]

    @property
    def servers(self) -> list[ComputeServer]:
        """Every server, the cloud last (servers are admitted in this order each tick)."""
        return [*self.edge_servers, self.cloud]


@dataclass(frozen=True)
class TaskRules:
    """How tasks are timed and sized: the tick, the deadline (and whether a late task is
    dropped), the input sent by full offloading and the result sent back."""

    tick_s: float
    deadline_s: float | None
    drop_late: bool
    input_bytes: int
    result_bytes: int


class TaskFlow:
    """Moves tasks through devices, radio, links and servers; records them in `log`."""

    def __init__(self, profile: ModelProfile, devices: DeviceState, bs_of: np.ndarray,
                 routes: Routes, rules: TaskRules, uplink: RadioPool, downlink: RadioPool,
                 log: TaskLog):
        self.devices = devices
        self.bs_of = bs_of  # shared with the engine, updated on handover
        self.bs_links = routes.bs_links
        self.bs_server = bs_server = routes.bs_server
        self.cloud = routes.cloud
        self.cloud_links = routes.cloud_links  # edge server name -> its link to the cloud
        self.offload_wait_s = routes.offload_wait_s  # edge server name -> wait to go to cloud
        self.servers = servers = routes.servers  # the cloud last: admitted in this order
        self.tick_s = rules.tick_s
        self.deadline_s = math.inf if rules.deadline_s is None else rules.deadline_s
        self.drop_late = rules.drop_late
        self.result_bits = 8.0 * rules.result_bytes
        self.result_bytes = rules.result_bytes
        self.uplink = uplink
        self.downlink = downlink
        self.log = log
        self.n_layers = profile.n_layers
        self.device_flops_by_split = profile.device_flops(np.arange(self.n_layers + 1))
        self.total_flops = profile.total_flops
        upload = profile.upload_bytes(np.arange(self.n_layers + 1))
        upload[0] = rules.input_bytes
        self.upload_bytes_by_split = upload
        self._ended = [0] * len(TASK_STATUSES)  # tasks ended, by status code
        self._tx_power_w = devices.tx_power_w.tolist()
        self._bs_of_list = bs_of.tolist()  # refreshed by sync after every re-attachment
        self._spent_devices: list[int] = []  # radio energy, applied to batteries by sync
        self._spent_j: list[float] = []
        self._pending: list[list] = [[] for _ in servers]  # arrival heaps per server
        heap_of = {id(server): heap for server, heap in zip(servers, self._pending)}
        self._bs_routes = [(link, heap_of[id(server)])
                           for link, server in zip(routes.bs_links, bs_server)]
        self._seq = 0
        self._local_only: dict[int, list[tuple[float, Task]]] = {}  # by tick of completion

    # ------------------------------------------------------------------ arrivals

    def arrive(self, times: np.ndarray, devs: np.ndarray, scale: np.ndarray) -> None:
        """Start tasks arriving at `times` on devices `devs` (FLOPs scaled by `scale`)."""
        order = np.argsort(times, kind="stable")
        times, devs, scale = times[order], devs[order], scale[order]
        ids = np.arange(self.log.issue(len(times)), self.log.n_issued)
        state = self.devices
        split = np.minimum(state.split_layer[devs], state.max_split[devs])
        f_dev = self.device_flops_by_split[split] * scale
        alive = state.battery_j[devs] > 0.0  # battery as of the start of the tick
        energy = np.where(alive, f_dev * state.energy_per_flop_j[devs], 0.0)
        np.subtract.at(state.battery_j, devs, energy)
        np.add.at(state.energy_used_j, devs, energy)
        np.add.at(state.local_flops, devs, np.where(alive, f_dev, 0.0))
        up_bytes = self.upload_bytes_by_split[split]
        self.log.put(ids, t_arrival=times, device=devs, split_layer=split, bytes_up=up_bytes,
                     device_energy_j=energy)
        if not alive.all():
            self._end(ids[~alive], times[~alive], [BATTERY_EMPTY] * int((~alive).sum()))
            ids, times, devs, split, f_dev, scale, up_bytes = (
                a[alive] for a in (ids, times, devs, split, f_dev, scale, up_bytes))
        f_srv = self.total_flops * scale - f_dev
        compute_s = f_dev / state.compute_flops[devs]
        done_at = fifo_finish(times, devs, compute_s, state.compute_free_at)
        self.log.put(ids, t_local_done=done_at)
        tasks = list(map(Task, ids.tolist(), devs.tolist(), (times + self.deadline_s).tolist(),
                         f_srv.tolist(), up_bytes.tolist()))
        local = split == self.n_layers
        if local.any():  # fully local tasks end on the device; the others upload
            for where in np.flatnonzero(local).tolist():
                done = float(done_at[where])
                self._local_only.setdefault(int(done // self.tick_s), []).append(
                    (done, tasks[where]))
            sending = np.flatnonzero(~local)
            devs, done_at, up_bytes = devs[sending], done_at[sending], up_bytes[sending]
            tasks = [tasks[i] for i in sending.tolist()]
        self.uplink.enqueue_many(devs, done_at, 8.0 * up_bytes, tasks)

    def finish_local(self, k: int, t1: float) -> None:
        """Complete the fully local tasks whose device compute ends in tick k."""
        ready = self._local_only.pop(k, None)
        if not ready:
            return
        later = [entry for entry in ready if entry[0] >= t1]  # rounding put them a tick early
        if later:
            self._local_only.setdefault(k + 1, []).extend(later)
        self._complete((task, t) for t, task in ready if t < t1)

    # ------------------------------------------------------------------ uplink and servers

    def after_uplink(self, completed: list[Completion]) -> None:
        """Uplink transfers ended (in time order): pay the radio energy, cross the backhaul
        towards the base station's server."""
        if not completed:
            return
        tx_power, bs_of, drop_late = self._tx_power_w, self._bs_of_list, self.drop_late
        routes, push, seq = self._bs_routes, heapq.heappush, self._seq
        rows = []  # one tuple per task, transposed once below (cheaper than six appends)
        dropped, drop_times = [], []
        for task, t_start, t_finish in completed:
            d = task.device
            b = bs_of[d]
            rows.append((task.id, t_start, t_finish, b, d, tx_power[d] * (t_finish - t_start)))
            if drop_late and t_finish > task.deadline:
                dropped.append(task.id)
                drop_times.append(t_finish)
                continue
            task.bs = b
            link, pending = routes[b]
            seq += 1
            push(pending, (link.send(t_finish, task.bytes_up, UP), seq, task))
        self._seq = seq
        ids, starts, finishes, base_stations, devices, energy = zip(*rows)
        self.log.put(ids, t_uplink_start=starts, t_uplink_done=finishes, bs=base_stations)
        self.log.add(ids, "device_energy_j", energy)
        self._spent_devices.extend(devices)
        self._spent_j.extend(energy)
        if dropped:
            self._end(dropped, drop_times, [DROPPED] * len(dropped))

    def admit(self, t1: float) -> None:
        """Admit, in time order, every server arrival before t1 (edge servers, then cloud)."""
        admitted = []  # (id, start, end, server index) per task
        dropped, drop_times = [], []
        drop_late, bs_links, bs_server = self.drop_late, self.bs_links, self.bs_server
        cloud, result_bytes, result_bits = self.cloud, self.result_bytes, self.result_bits
        enqueue, pop = self.downlink.enqueue, heapq.heappop
        for index, server in enumerate(self.servers):
            pending = self._pending[index]
            if not pending or pending[0][0] >= t1:
                continue
            offload_wait = self.offload_wait_s.get(server.name)
            admit_here = server.admit
            while pending and pending[0][0] < t1:
                t, _, task = pop(pending)
                if drop_late and t > task.deadline:
                    dropped.append(task.id)
                    drop_times.append(t)
                    continue
                if offload_wait is not None and server.wait_s(t) > offload_wait:
                    self._seq += 1
                    arrive = self.cloud_links[server.name].send(t, task.bytes_up, UP)
                    heapq.heappush(self._pending[-1], (arrive, self._seq, task))
                    continue
                start, end = admit_here(t, task.flops_server)
                admitted.append((task.id, start, end, index))
                # the small result goes back over the wired links, then the radio downlink
                edge = bs_server[task.bs]
                if server is cloud and edge is not cloud:
                    end = self.cloud_links[edge.name].send(end, result_bytes, DOWN)
                enqueue(task.device, bs_links[task.bs].send(end, result_bytes, DOWN),
                        result_bits, task)
        if admitted:
            ids, starts, ends, where = zip(*admitted)
            self.log.put(ids, t_server_start=starts, t_server_done=ends, server=where)
        if dropped:
            self._end(dropped, drop_times, [DROPPED] * len(dropped))

    def after_downlink(self, completed: list[Completion]) -> None:
        """Results arrived on their devices: the tasks are complete."""
        if completed:
            self._complete((task, t_finish) for task, _, t_finish in completed)

    # ------------------------------------------------------------------ endings

    def _complete(self, finished) -> None:
        """End (task, t_done) pairs: done, or late (missed, or dropped with drop_late)."""
        late_status = DROPPED if self.drop_late else MISSED
        rows = [(task.id, t_done, late_status if t_done > task.deadline else DONE)
                for task, t_done in finished]
        if rows:
            ids, times, statuses = zip(*rows)
            self._end(ids, times, statuses)

    def _end(self, ids, t_done, status: list[int]) -> None:
        for code in status:
            self._ended[code] += 1
        self.log.end(ids, t_done, status)

    def sync(self) -> None:
        """Apply buffered energy to the devices and buffered records to the log; pick up the
        latest attachments. The engine calls it at every large-scale update."""
        if self._spent_devices:
            devices = np.array(self._spent_devices)
            spent = np.array(self._spent_j)
            np.subtract.at(self.devices.battery_j, devices, spent)
            np.add.at(self.devices.energy_used_j, devices, spent)
            self._spent_devices, self._spent_j = [], []
        self._bs_of_list = self.bs_of.tolist()
        self.log.sync()

    def counts(self) -> dict[str, int]:
        ended = dict(zip(TASK_STATUSES, self._ended))
        ended["in_flight"] = self.log.n_issued - sum(self._ended)
        return {"arrived": self.log.n_issued, **ended}
