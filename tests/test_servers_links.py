"""Servers (FIFO over identical cores) and wired links (FIFO at a rate plus latency), by
hand: the compiled kernels the task flow uses, driven one task at a time."""

from __future__ import annotations

import numpy as np
import pytest

from netsim.entities.servers import ServerFarm
from netsim.network.links import DOWN, UP, WiredLinks


def test_a_server_serves_in_arrival_order_on_its_earliest_free_core():
    farm = ServerFarm(["es0", "cloud"], [2, 1], [1e9, 4e9])
    # es0: two cores of 1 GFLOP/s. Tasks of 2, 1, 1 GFLOP at t = 0, 0, 0.5
    assert farm.admit(0, 0.0, 2e9) == (0.0, 2.0)  # core A until 2
    assert farm.admit(0, 0.0, 1e9) == (0.0, 1.0)  # core B until 1
    assert farm.wait_s(0, 0.5) == pytest.approx(0.5)  # both busy: B frees at 1
    assert farm.admit(0, 0.5, 1e9) == (1.0, 2.0)  # waits for B
    assert farm.admit(1, 0.2, 2e9) == (0.2, 0.7)  # the cloud is its own queue
    # busy core-seconds in [0, t) (observers ask at non-decreasing t): by hand, from the
    # intervals [0,2), [0,1), [1,2) on es0 and [0.2,0.7) on the cloud
    busy, queued = farm.busy_and_queued(0.8)
    assert busy.tolist() == pytest.approx([0.8 + 0.8 + 0.0, 0.5])
    assert queued.tolist() == [1, 0]  # the third task starts at 1.0
    assert farm.busy_core_s(0, 1.5) == pytest.approx(1.5 + 1.0 + 0.5)
    busy, queued = farm.busy_and_queued(3.0)  # everything ended: folded into totals
    assert busy.tolist() == pytest.approx([4.0, 0.5])
    assert queued.tolist() == [0, 0]
    assert farm.flops_done.tolist() == [4e9, 2e9]
    assert farm.tasks_admitted.tolist() == [3, 1]


def test_a_link_sends_back_to_back_at_its_rate_plus_latency_each_way():
    links = WiredLinks(["bs0-es0"], [8e6], [0.002])  # 1 MB/s, 2 ms
    assert links.send(0, 0.0, 1000, UP) == pytest.approx(0.001 + 0.002)
    assert links.send(0, 0.0005, 1000, UP) == pytest.approx(0.002 + 0.002)  # queued
    assert links.send(0, 0.0005, 1000, DOWN) == pytest.approx(0.0015 + 0.002)  # full duplex
    assert links.send(0, 1.0, 1000, UP) == pytest.approx(1.001 + 0.002)  # idle again
    assert links.bits_sent[0].tolist() == [24000.0, 8000.0]
    assert links.busy_s[0].tolist() == pytest.approx([0.003, 0.001])


def test_slots_are_reused_before_new_ones_are_handed_out():
    from netsim.slots import Slots

    slots = Slots()
    assert slots.take(3).tolist() == [0, 1, 2]
    slots.give_back(np.array([2, 0]))
    assert slots.take(3).tolist() == [2, 0, 3]  # the freed two first, then a new one
    assert slots.used == 4
    slots.give_back(np.arange(5000))  # more than the stack held at first
    assert sorted(slots.take(5000).tolist()) == list(range(5000))
    assert slots.used == 4
