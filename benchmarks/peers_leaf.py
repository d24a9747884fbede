"""The peers workload written with LEAF (`leafsim`), run by benchmarks/peers.py inside its
own virtual environment (LEAF is never a netsim dependency).

    python peers_leaf.py N HORIZON_S   -> prints {"tasks": ..., "wall_s": ...} as JSON

LEAF models infrastructure and energy: nodes with compute units (CU), links with bandwidth,
tasks allocated on nodes and data flows on links, power meters. It has no queues, so the
FIFOs are SimPy resources (LEAF runs on SimPy) and LEAF holds the allocations while work is
in progress: a task on its device, a data flow on the device's uplink, a task on an edge
server core; a power meter samples the infrastructure every second as LEAF's examples do.
The arrival process repeats engine_throughput.py's SimPy model on purpose: this file runs in
LEAF's own environment, where netsim (which that module imports) is not installed.
"""

from __future__ import annotations

import json
import random
import sys
import time

import simpy
from leaf.application import DataFlow, Task
from leaf.infrastructure import Infrastructure, Link, Node
from leaf.power import PowerMeter, PowerModelLink, PowerModelNode

RATE_PER_S = 0.2
STEM, LAYER, HEAD = 231_211_008, 715_468_800, 786_432
SPLIT, UPLOAD_BYTES, RESULT_BYTES = 4, 153_600, 2048
UPLINK_BPS, DOWNLINK_BPS, BACKHAUL_S = 20e6, 50e6, 0.001
SERVERS, CORES, CORE_FLOPS = 4, 16, 2e12


def main(n: int, horizon_s: float) -> dict:
    rng = random.Random(0)
    env = simpy.Environment()
    infrastructure = Infrastructure()
    servers = []
    for s in range(SERVERS):
        node = Node(f"es{s}", cu=CORES * CORE_FLOPS,
                    power_model=PowerModelNode(max_power=400, static_power=100))
        infrastructure.add_node(node)
        servers.append((node, simpy.Resource(env, CORES)))
    devices = []
    for d in range(n):
        flops = rng.uniform(5e11, 2e12)
        node = Node(f"device{d}", cu=flops, power_model=PowerModelNode(max_power=5,
                                                                        static_power=0.5))
        infrastructure.add_node(node)
        server = servers[d % SERVERS][0]
        uplink = Link(node, server, bandwidth=UPLINK_BPS,
                      power_model=PowerModelLink(energy_per_bit=1e-8))
        infrastructure.add_link(uplink)
        devices.append((node, flops, uplink, simpy.Resource(env, 1), simpy.Resource(env, 1)))
    device_flops = STEM + SPLIT * LAYER
    server_flops = STEM + 12 * LAYER + HEAD - device_flops
    finished = []

    def hold(queue: simpy.Resource, allocation, where, seconds: float):
        """Wait for `queue`, then hold a LEAF allocation (a task on a node, a data flow on
        links) for `seconds`."""
        with queue.request() as req:
            yield req
            allocation.allocate(where)
            yield env.timeout(seconds)
            allocation.deallocate()

    def task(d: int):
        node, flops, uplink, cpu, radio = devices[d]
        t0 = env.now
        yield from hold(cpu, Task(cu=flops), node, device_flops / flops)
        yield from hold(radio, DataFlow(bit_rate=UPLINK_BPS), [uplink],
                        UPLOAD_BYTES * 8 / UPLINK_BPS)
        yield env.timeout(BACKHAUL_S)
        server, cores = servers[d % SERVERS]
        yield from hold(cores, Task(cu=CORE_FLOPS), server, server_flops / CORE_FLOPS)
        yield env.timeout(BACKHAUL_S + RESULT_BYTES * 8 / DOWNLINK_BPS)
        finished.append((d, t0, env.now))

    def device(d: int):
        while True:
            yield env.timeout(rng.expovariate(RATE_PER_S))
            env.process(task(d))

    for d in range(n):
        env.process(device(d))
    meter = PowerMeter(infrastructure, name="infrastructure", measurement_interval=1)
    env.process(meter.run(env))
    wall0 = time.perf_counter()
    env.run(until=horizon_s)
    return {"tasks": len(finished), "wall_s": time.perf_counter() - wall0}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), float(sys.argv[2]))))
