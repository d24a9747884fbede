"""`Simulation`: wires a validated scenario into a SimPy run and records it to a folder.

SimPy processes only for long-lived actors: the channel tick (large-scale updates, arrivals,
radio transfers, server admission, sampling). Tasks carry no process and no event; the tick
moves them with exact times (entities/tasks.py). Everything random draws from its own stream
of one root seed.
"""

from __future__ import annotations

import _thread
import gc
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from netsim.entities.federated import UPLOAD_PAYLOAD, FederatedRounds
from netsim.entities.servers import ServerFarm
from netsim.entities.tasks import DeviceState, Routes, TaskFlow, TaskRules
from netsim.faults import Faults
from netsim.market import Market
from netsim.network.access import RadioAccess
from netsim.network.channel import Channel
from netsim.network.interference import Interference
from netsim.network.links import DOWN, UP, WiredLinks
from netsim.network.mobility import build_mobility
from netsim.network.movement import HELPER_MIN_DEVICES, Movement, helper_possible
from netsim.network.radio import Finished, RadioPool
from netsim.network.radio_links import RadioLinks, RateTrace
from netsim.network.topology import CLOUD, build_network
from netsim.preflight import check_fits
from netsim.record.generation_log import GenerationLog
from netsim.record.recorder import RunRecorder
from netsim.record.samplers import ServerLinkSampler, device_sample, devices_static
from netsim.record.tables import EPOCHS
from netsim.record.task_log import TaskLog
from netsim.rng import stream
from netsim.scenario.loader import LoadedScenario
from netsim.workload.arrivals import build_arrivals, mean_rate_per_s
from netsim.workload.compression import NAMES as COMPRESSION_LEVELS
from netsim.workload.compression import accuracy, compress
from netsim.workload.generation import DiffusionProfile
from netsim.workload.profiles import load_profile, resolve_profile_path

Progress = Callable[[float, float], None]  # (simulated time reached, horizon)


@dataclass
class RunResult:
    out_dir: Path
    manifest: dict[str, Any]


FORCED_STOP_S = 1.0  # a stop request not honoured at a tick boundary by then is forced


class Simulation:
    """One run of one scenario with one seed."""

    def __init__(self, loaded: LoadedScenario, out_dir: str | Path, seed: int | None = None,
                 progress: Progress | None = None, overwrite: bool = False,
                 second_core: bool = True):
        self.scenario = scn = loaded.scenario
        self.base_dir = loaded.base_dir
        self.seed = scn.seed if seed is None else seed
        self.out_dir = Path(out_dir)
        self.progress = progress
        self.env = simpy.Environment()
        self.network = net = build_network(scn, self.seed)
        self._load_model(scn, loaded.base_dir)
        bss = net.base_stations
        self.n_devices, self.n_bs = len(net.devices.names), len(bss.ids)
        self.tick_s = scn.channel.tick_s
        self.horizon_s = scn.horizon_s

        self._build_compute(scn, net)
        self._build_radio(scn, net, second_core)
        self._build_workload(scn, net)
        self._build_flow(scn, overwrite)

        self._next_slow_s = 0.0
        self._next_slow_k = 0
        self._stop_signal: str | None = None
        self.sampler = ServerLinkSampler(self.recorder, self.servers, bss.ids, self.uplink,
                                         self.downlink, self.wired)
        rec = scn.record  # sampling periods in whole ticks: exact, never a float comparison
        self._sample_every = max(1, round(rec.sample_s / self.tick_s))
        self._device_sample_every = max(1, round(rec.device_sample_s / self.tick_s))
        self.market = (Market(EngineMarketView(self), self.env, scn, self.base_dir)
                       if scn.market is not None else None)

    def _load_model(self, scn, base_dir: Path) -> None:
        """The task profile: the split-inference model's, or (aigc) a generation request's,
        built from the diffusion profile at the scenario's steps."""
        model = load_profile(resolve_profile_path(scn.workload.model, base_dir))
        self.diffusion: DiffusionProfile | None = None
        self.steps = None
        if scn.workload.kind == "aigc":
            aigc = scn.workload.aigc
            self.diffusion, self.steps = model, aigc.steps or model.default_steps
            model = model.task_profile(self.steps, aigc.prompt_bytes, aigc.result_bytes)
        self.profile = model

    def _generation_slots(self, cores: int, gpu_memory_bytes: int | None) -> int:
        """Generations a server runs at once: its cores, or fewer if its GPU memory holds
        fewer requests beside the model."""
        if self.diffusion is None or gpu_memory_bytes is None:
            return cores
        room = gpu_memory_bytes - self.diffusion.param_bytes
        return max(1, min(cores, room // self.scenario.workload.aigc.request_memory_bytes))

    def _build_compute(self, scn, net) -> None:
        """Servers (edge servers, the cloud last) and wired links (each base station's
        backhaul, then each edge server's link to the cloud), named after the graph's
        edges."""
        bss = net.base_stations
        edge = scn.edge_servers
        self.servers = ServerFarm([*(s.id for s in edge), CLOUD],
                                  [*(self._generation_slots(s.cores, s.gpu_memory_bytes)
                                     for s in edge),
                                   self._generation_slots(scn.cloud.cores,
                                                          scn.cloud.gpu_memory_bytes)],
                                  [*(s.core_flops for s in edge), scn.cloud.core_flops])
        ends = [*((b, bss.server[i]) for i, b in enumerate(bss.ids)),
                *((s.id, CLOUD) for s in edge)]
        self.wired = WiredLinks([f"{a}-{b}" for a, b in ends],
                                [net.graph.edges[e]["rate_bps"] for e in ends],
                                [net.graph.edges[e]["latency_s"] for e in ends])

    def _build_radio(self, scn, net, second_core: bool) -> None:
        """Channel, interference, mobility and the first attachment; with `second_core`, a
        large network moves its devices in a helper process (network/movement.py)."""
        dev, bss = net.devices, net.base_stations
        channel = Channel(scn.channel, bss.xy, bss.height_m, bss.carrier_ghz, dev.height_m,
                          self.seed)
        interference = (Interference(bss.carrier_ghz, bss.bandwidth_hz,
                                     bss.downlink_bandwidth_hz, bss.xy,
                                     scn.channel.frequency_reuse)
                        if scn.channel.interference == "co_channel" and self.n_bs > 1 else None)
        self.mobility = [build_mobility(g.mobility, idx, (scn.area.width_m, scn.area.height_m),
                                        stream(self.seed, f"mobility/{g.group}"),
                                        self.base_dir)
                         for g, idx in zip(scn.devices, net.group_index)]
        self.xy = dev.xy.copy()
        for model in self.mobility:  # trace replays set their starting positions
            model.step(self.xy, 0.0)
        self.odometer_m = np.zeros(self.n_devices)
        self.access = RadioAccess(scn.channel, channel, bss.xy, bss.tx_power_dbm,
                                  bss.antenna_gain_dbi, dev.tx_power_dbm, dev.antenna_gain_dbi,
                                  keep_candidate_gains=interference is not None)
        self.bs_of = self.access.bs_of  # the serving base stations, updated in place
        self.access.attach(self.xy, self.odometer_m, initial=True)
        # faults that change attachment need it here, where they happen
        radio_faults = any(e.kind in ("base_station_down", "channel_degrade")
                           for e in scn.events)
        helper = (second_core and self.n_devices >= HELPER_MIN_DEVICES
                  and not radio_faults and helper_possible())
        self.movement = Movement(self.mobility, self.access, self.xy, self.odometer_m, helper)
        rate_trace = (RateTrace(self.base_dir, scn.channel.rate_trace, self.n_devices)
                      if scn.channel.rate_trace else None)
        self.links = RadioLinks(channel, self.access, interference, bss.bandwidth_hz, rate_trace)

    def _build_workload(self, scn, net) -> None:
        """Arrival processes and the devices' mutable state."""
        dev = net.devices
        self.arrivals = [build_arrivals(g.arrivals, idx, stream(self.seed, f"arrivals/{g.group}"),
                                        self.base_dir)
                         for g, idx in zip(scn.devices, net.group_index)]
        self._scale_rng = stream(self.seed, "workload/flops_scale")
        # the profile at every compression level (rows indexed by the devices' levels)
        self.profiles = [compress(self.profile, level) for level in COMPRESSION_LEVELS]
        max_split = np.column_stack([profile.max_split(dev.memory_bytes)
                                     for profile in self.profiles])
        self.devices = DeviceState(dev.compute_flops, dev.energy_per_flop_j, dev.battery_j,
                                   dev.tx_power_dbm, dev.split_layer, max_split,
                                   dev.compression)

    def _build_flow(self, scn, overwrite: bool) -> None:
        """Outputs, radio pools and the task flow that moves tasks through them."""
        bss = self.network.base_stations
        self.recorder = RunRecorder(self.out_dir, scn, self.seed, scn.record.row_group_rows,
                                    overwrite)
        self.task_log = TaskLog(self.recorder.tasks, scn.record.row_group_rows, bss.ids,
                                self.servers.names)
        max_se = scn.channel.max_spectral_efficiency
        self.uplink = RadioPool(self.n_devices, bss.bandwidth_hz, self.tick_s, max_se,
                                constant_psd=False)
        self.downlink = RadioPool(self.n_devices, bss.downlink_bandwidth_hz, self.tick_s,
                                  max_se, constant_psd=True)
        if self.links.interference is not None:
            self.uplink.track_airtime()
        wl = scn.workload
        lower = wl.aigc.lower_steps if self.diffusion is not None else None
        server_index = {name: i for i, name in enumerate(self.servers.names)}
        n_bs = len(bss.ids)
        routes = Routes(
            servers=self.servers, links=self.wired,
            server_of_bs=np.array([server_index[s] for s in bss.server], dtype=np.int64),
            cloud_link_of=np.array([n_bs + i for i in range(len(scn.edge_servers))] + [-1],
                                   dtype=np.int64),
            offload_wait_s=np.array([math.nan if s.cloud_offload_wait_s is None
                                     else s.cloud_offload_wait_s
                                     for s in scn.edge_servers] + [math.nan]),
            down=np.zeros(len(self.servers.names), dtype=np.bool_),
            reroute=np.ones(len(self.servers.names), dtype=np.bool_),
            lower_wait_s=np.full(len(self.servers.names),
                                 math.nan if lower is None else lower.wait_above_s))
        generations = None
        if self.diffusion is not None:
            generations = GenerationLog(self.recorder.generations, self.diffusion, self.steps,
                                        None if lower is None else lower.steps)
        rules = TaskRules(deadline_s=wl.deadline_s, drop_late=wl.drop_late,
                          input_bytes=wl.input_bytes or self.profile.input_bytes,
                          result_bytes=wl.result_bytes or self.profile.result_bytes,
                          lower_ratio=1.0 if lower is None else lower.steps / self.steps,
                          generations=generations)
        self.flow = TaskFlow(self.profiles, self.devices, self.bs_of, routes, rules, self.uplink,
                             self.downlink, self.task_log)
        self.faults = Faults(scn.events, self)
        self.federated = self._build_federated(scn) if scn.federated is not None else None

    def _build_federated(self, scn) -> FederatedRounds:
        """The federated rounds: candidates from the groups taking part, their samples
        drawn once from the job's own stream."""
        spec, net = scn.federated, self.network
        groups = spec.groups or net.group_names
        candidates = np.concatenate([index for name, index in zip(net.group_names,
                                                                  net.group_index)
                                     if name in groups])
        samples = np.rint(spec.samples.sample(stream(self.seed, "federated/samples"),
                                              len(candidates)))
        return FederatedRounds(spec, candidates, samples, self.devices, self.uplink,
                               stream(self.seed, "federated/selection"),
                               self.links.uplink_full_band_rate_bps, self._deliver_model,
                               self.recorder.rounds)

    def _deliver_model(self, device: int, t: float) -> float:
        """When a model that reached its device's base station at t reaches the federated
        server: the backhaul, then (if the station feeds another server) through the cloud."""
        routes, wired = self.flow.routes, self.wired
        n_bytes = self.federated.upload_bits / 8.0
        cloud = len(self.servers.names) - 1
        target = self.servers.names.index(self.scenario.federated.server)
        b = int(self.bs_of[device])
        t, at = wired.send(b, t, n_bytes, UP), int(routes.server_of_bs[b])
        if at != target:
            if at != cloud:
                t = wired.send(int(routes.cloud_link_of[at]), t, n_bytes, UP)
            if target != cloud:
                t = wired.send(int(routes.cloud_link_of[target]), t, n_bytes, DOWN)
        return t

    # ------------------------------------------------------------------ the tick

    def _tick_process(self):
        """Tick after tick to the horizon. With steady links (no fading) a step spans the
        ticks up to the next change of anything but the tasks (see `_step_end`)."""
        k = 0
        report_every = max(1, math.ceil(self.horizon_s / self.tick_s / 200))
        flush_every = max(1, round(self.scenario.record.flush_s / self.tick_s))
        recorder = self.recorder
        while True:
            if self._stop_signal is not None:  # a signal arrived: stop between ticks
                raise KeyboardInterrupt(self._stop_signal)
            t0 = k * self.tick_s  # env.now, exactly while steps are single ticks
            if t0 >= self.horizon_s:
                return
            if t0 >= self._next_slow_s:
                self._slow_step(k, t0)
            self.faults.apply_due(t0)
            if self.federated is not None:
                self.federated.due(t0)
            self.links.start_tick(t0)  # replayed rates due by t0, before the step is sized
            k_end = self._step_end(k)
            t1 = min(k_end * self.tick_s, self.horizon_s)
            self._tick(k, t0, t1)
            if self.progress is not None and (k_end - 1) // report_every != (k - 1) // report_every:
                self.progress(t0, self.horizon_s)
            # what a killed run keeps: sampled rows every flush_s simulated or FLUSH_WALL_S
            # of wall time, and a heartbeat every few wall seconds
            if k_end // flush_every != k // flush_every or recorder.flush_due():
                recorder.flush_sampled_tables()
            if recorder.beat_due():
                recorder.heartbeat(t1)
            yield self.env.timeout(t1 - self.env.now)
            k = k_end

    def _step_end(self, k: int) -> int:
        """The tick that ends the step starting at tick k: the next one; with steady links
        (network/radio_links.py), the next at which a large-scale update, a sample, a market
        round or a replayed rate is due. Transfers, queues and servers are exact over any
        span (radio.py), so one step of n steady ticks is the same model as n ticks, for a
        tenth of the work at the default ticks; floating-point sums may differ in the last
        digits."""
        if not self.links.steady:
            return k + 1
        due = [self._next_slow_k, _next_multiple(k, self._sample_every),
               _next_multiple(k, self._device_sample_every),
               _first_tick_at(self.links.next_change_s(), self.tick_s),
               _first_tick_at(self.faults.next_s, self.tick_s),
               _first_tick_at(math.inf if self.federated is None else self.federated.next_s,
                              self.tick_s),
               math.ceil(self.horizon_s / self.tick_s - 1e-9)]
        if self.market is not None:
            due.append(_first_tick_at(self.market.next_round_s, self.tick_s))
        return max(k + 1, min(due))

    def _tick(self, k: int, t0: float, t1: float) -> None:
        """Move the tasks over [t0, t1) (a tick, or a step of steady ticks) and sample."""
        links = self.links
        finished = self.uplink.advance(t0, t1, lambda idx: links.uplink(idx, t0), self.bs_of)
        if self.federated is not None or self.faults.events:
            finished = self._models_apart(finished)
        self.flow.after_uplink(finished)
        self.flow.admit(t1)
        self.flow.after_downlink(self.downlink.advance(
            t0, t1, lambda idx: links.downlink(idx, t0), self.bs_of))
        self.flow.finish_local(t1)
        self._maybe_sample(k, t0)

    def _models_apart(self, finished: Finished) -> Finished:
        """The task uploads among the uploads that ended; model uploads go to the federated
        rounds, withdrawn ones (payload -1) nowhere."""
        payloads = finished.payloads
        models = payloads >= UPLOAD_PAYLOAD
        if models.any():
            self.federated.after_uplink(*(a[models] for a in finished))
        tasks = (payloads >= 0) & ~models
        return finished if tasks.all() else Finished(*(a[tasks] for a in finished))

    def _slow_step(self, k: int, t0: float) -> None:
        """Once per large-scale interval (rounded up to whole ticks): move and re-attach the
        devices, then draw the interval's arrivals and start their device compute. Batching
        arrivals over the interval keeps numpy's per-call cost off the tick; a task's split
        point and its device's battery are read at the start of its interval."""
        if t0 > 0.0:
            self._update_large_scale(t0)
            self.links.update_interference(t0, self.uplink, self.downlink)
        interval = self.scenario.channel.large_scale_update_s
        k_next = max(k + 1, math.ceil((t0 + interval) / self.tick_s - 1e-9))
        self._next_slow_k = k_next
        self._next_slow_s = min(k_next * self.tick_s, self.horizon_s)
        if self._next_slow_s < self.horizon_s:
            self.movement.prepare(self._next_slow_s)
        self.recorder.flush_full_tables()
        times, devs = self._draw_arrivals(t0, self._next_slow_s)
        if len(times):
            scale = self.scenario.workload.flops_scale.sample(self._scale_rng, len(times))
            self.flow.arrive(times, devs, scale)

    def _draw_arrivals(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        drawn = [process.draw(t0, t1) for process in self.arrivals]
        if self.faults.events:
            drawn = [self.faults.scale_arrivals(g, *batch, t0, t1)
                     for g, batch in enumerate(drawn)]
        if len(drawn) == 1:
            return drawn[0]
        return np.concatenate([d[0] for d in drawn]), np.concatenate([d[1] for d in drawn])

    def _update_large_scale(self, t: float) -> None:
        """Move devices, then re-measure and re-attach them."""
        self.movement.update(t)
        self._collect_garbage_now_and_then()
        self.flow.sync()

    def _collect_garbage_now_and_then(self) -> None:
        """Tasks and their queue entries form no reference cycles, yet the automatic cyclic
        collector keeps re-scanning the live ones (about a quarter of the run time); it is
        paused during a run, and a full collection runs every 10 s of wall time instead, so
        cycles made by other code (a solver, say) are still freed."""
        now = time.perf_counter()
        if now - self._last_gc > 10.0:
            gc.collect()
            self._last_gc = now

    # ------------------------------------------------------------------ sampling

    def _maybe_sample(self, k: int, t: float) -> None:
        if k % self._sample_every == 0 and k > 0:
            self.sampler.sample(t)
        if k % self._device_sample_every == 0:
            self.sample_devices(t)

    def sample_devices(self, t: float, market: dict[str, np.ndarray] | None = None) -> None:
        """Record one row per device at t (`market` fills the market columns). Reads only:
        fading is a function of (device, t), and syncing applies buffered energy early
        without changing any value a model reads."""
        self.flow.sync()  # batteries and energy up to date
        dev, bss = self.network.devices, self.network.base_stations
        rx_mw, sinr = self.links.uplink_sinr(t)
        se = np.minimum(np.log2(1.0 + sinr), self.scenario.channel.max_spectral_efficiency)
        self.recorder.devices.add_batch(device_sample(
            t, self.n_devices, dev.group, self.network.group_names, self.xy, self.bs_of,
            bss.ids, rx_mw, sinr, se, self.uplink, self.devices, market))

    # ------------------------------------------------------------------ running

    def _catch_stop_signals(self) -> dict:
        """Turn Ctrl-C and `kill` into a stop at the next tick boundary, where every task is
        in a consistent place, so the partial outputs balance. A tick still running a second
        later is stopped where it is, and so is a second Ctrl-C at once. Main thread only."""
        self._stop_signal = None
        self._force_stop = None
        if threading.current_thread() is not threading.main_thread():
            return {}

        def request_stop(signum, frame):
            if self._stop_signal is not None:  # asked twice (or the second ran out)
                raise KeyboardInterrupt(self._stop_signal)
            self._stop_signal = signal.Signals(signum).name
            self._force_stop = threading.Timer(FORCED_STOP_S, _thread.interrupt_main)
            self._force_stop.daemon = True
            self._force_stop.start()

        previous = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.getsignal(signum)
            signal.signal(signum, request_stop)
        return previous

    def counts(self) -> dict[str, int]:
        counts = self.flow.counts()
        counts["handovers"] = self.access.handovers
        return counts

    def start(self) -> None:
        """Open the outputs and start the long-lived processes (`run` does it for you)."""
        self._wall0 = self._last_gc = time.perf_counter()
        self.recorder.start()
        self.recorder.devices_static.add_batch(devices_static(
            self.network.devices, self.network.group_names, self.devices, COMPRESSION_LEVELS))
        if self.market is not None:  # first, so an epoch's decision precedes that tick
            self.env.process(self.market.process())
        self.env.process(self._tick_process())

    def finish(self, status: str = "complete", error: str | None = None) -> RunResult:
        """Final samples, remaining tasks (in flight) and the manifest; the movement helper
        stops (the Gymnasium environment ends its episodes here too)."""
        self.movement.close()
        t = self.env.now
        if self.federated is not None:
            self.federated.finish(t)
        if t > self.sampler.t_last:
            self.sampler.sample(t)
        self.sample_devices(t)
        self.task_log.close()
        if self.market is not None:
            self.recorder.manifest["market"] = self.market.summary()
        compressed = {g.group: {"level": g.compression, "accuracy": accuracy(g.compression)}
                      for g in self.scenario.devices if g.compression != "fp32"}
        if compressed:  # each compressed group's level and the accuracy it keeps
            self.recorder.manifest["compression"] = compressed
        manifest = self.recorder.finish(status, self.counts(), self.env.now,
                                        time.perf_counter() - self._wall0, error)
        return RunResult(self.out_dir, manifest)

    def run(self) -> RunResult:
        """Run to the horizon; on Ctrl-C or an error, leave a readable, labelled partial run."""
        handlers = self._catch_stop_signals()
        gc_was_enabled = gc.isenabled()
        gc.disable()
        self.start()
        status, error = "complete", None
        try:
            self.env.run(until=self.horizon_s)
            if self.progress is not None:
                self.progress(self.env.now, self.horizon_s)
        except KeyboardInterrupt:
            status = "interrupted"
        except BaseException as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            if self._force_stop is not None:
                self._force_stop.cancel()
            if gc_was_enabled:
                gc.enable()
            try:
                result = self.finish(status, error)
            except BaseException as exc:  # never leave `running` behind
                self.recorder.fail(f"while finishing: {type(exc).__name__}: {exc}")
                raise
        return result


def run(loaded: LoadedScenario, out_dir: str | Path, seed: int | None = None,
        progress: Progress | None = None, ignore_estimate: bool = False,
        overwrite: bool = False, second_core: bool = True) -> RunResult:
    """Run a scenario once and write its outputs to `out_dir`. Refuses (PreflightError) a
    run that would not fit this machine's memory, unless `ignore_estimate`, and
    (OutputFolderError) a folder holding another run, unless `overwrite`. `second_core`:
    a large network may move its devices in a helper process (sweeps running one run per
    core say False)."""
    if not ignore_estimate:
        check_fits(loaded.scenario, loaded.base_dir)
    return Simulation(loaded, out_dir, seed, progress, overwrite, second_core).run()


def _next_multiple(k: int, every: int) -> int:
    """The first multiple of `every` after k."""
    return (k // every + 1) * every


def _first_tick_at(t: float, tick_s: float) -> int | float:
    """The first tick whose start, as the engine computes it (k x tick_s), is at or after
    t (inf for t = inf)."""
    if math.isinf(t):
        return math.inf
    k = math.ceil(t / tick_s)
    while k * tick_s < t:
        k += 1
    while k > 0 and (k - 1) * tick_s >= t:
        k -= 1
    return k


class EngineMarketView:
    """The engine's side of `MarketView` (netsim/market/view.py): what the market may read
    of this simulation and the decisions it may apply, nothing else."""

    def __init__(self, sim: Simulation):
        self._sim = sim
        self.n_devices = sim.n_devices
        self.profile = sim.profile
        self.seed = sim.seed
        self._server_index = {name: i for i, name in enumerate(sim.servers.names)}
        self._rates = np.zeros(sim.n_devices)
        for process, index in zip(sim.arrivals, sim.network.group_index):
            self._rates[index] = mean_rate_per_s(process)

    def now(self) -> float:
        return self._sim.env.now

    def sync(self) -> None:
        self._sim.flow.sync()

    def device_compute_flops(self) -> np.ndarray:
        return self._sim.devices.compute_flops

    def device_energy_per_flop_j(self) -> np.ndarray:
        return self._sim.devices.energy_per_flop_j

    def device_battery_j(self) -> np.ndarray:
        return self._sim.devices.battery_j

    def device_split_layers(self) -> np.ndarray:
        return self._sim.devices.split_layer

    def arrival_rates_per_s(self) -> np.ndarray:
        return self._rates.copy()

    def serving_base_stations(self) -> np.ndarray:
        return self._sim.bs_of

    def base_station_ids(self) -> list[str]:
        return list(self._sim.network.base_stations.ids)

    def server_of_base_station(self) -> list[str]:
        names = self._sim.servers.names
        return [names[i] for i in self._sim.flow.routes.server_of_bs.tolist()]

    def server_names(self) -> list[str]:
        return list(self._server_index)

    def server_busy_core_s(self, name: str) -> tuple[float, int]:
        index, farm = self._server_index[name], self._sim.servers
        return farm.busy_core_s(index, self._sim.env.now), int(farm.cores[index])

    def uplink_full_band_rate_bps(self) -> np.ndarray:
        return self._sim.links.uplink_full_band_rate_bps()

    def uplink_queue_lengths(self) -> np.ndarray:
        return self._sim.uplink.queue_lengths()

    def uplink_weights(self) -> np.ndarray | None:
        return self._sim.uplink.weights

    def set_split_layers(self, devices: np.ndarray, layers: np.ndarray) -> None:
        self._sim.devices.split_layer[devices] = layers

    def set_uplink_weights(self, weights: np.ndarray | None) -> None:
        self._sim.uplink.set_weights(weights)

    def set_compute_flops(self, devices: np.ndarray, flops: np.ndarray) -> None:
        self._sim.devices.compute_flops[devices] = flops

    def device_compression(self) -> np.ndarray:
        return self._sim.devices.compression

    def set_compression(self, devices: np.ndarray, levels: np.ndarray) -> None:
        self._sim.devices.compression[devices] = levels

    def federated_candidates(self) -> np.ndarray:
        return self._sim.federated.candidates

    def federated_clients_per_round(self) -> int:
        return self._sim.scenario.federated.clients_per_round

    def set_federated_clients(self, devices: np.ndarray, payments: np.ndarray) -> None:
        self._sim.federated.choose(devices, payments)

    def record_epoch(self, row: dict) -> None:
        self._sim.recorder.epochs.rows.append(tuple(row[field.name] for field in EPOCHS))

    def sample_devices(self, t: float, columns: dict[str, np.ndarray]) -> None:
        self._sim.sample_devices(t, columns)
