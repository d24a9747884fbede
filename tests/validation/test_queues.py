"""Edge-server queues through the whole engine against queueing theory: Erlang C for M/M/c
and Pollaczek-Khinchine for M/D/1 (e.g. Kleinrock, Queueing Systems I, 1975), at loads 0.5,
0.8 and 0.95, each within three batch-means standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import one_device, run_raw
from tests.validation.conftest import TOTAL_FLOPS, batch_means


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def pk_wait_deterministic(lam: float, mu: float) -> float:
    rho = lam / mu
    return rho / (2 * mu * (1 - rho))  # E[S^2] = 1/mu^2


def server_waits(tmp_path, lam: float, mu: float, cores: int, exponential: bool,
                 tasks: int) -> np.ndarray:
    raw = one_device(horizon_s=tasks / lam)
    raw["edge_servers"][0].update(cores=cores, core_flops=TOTAL_FLOPS * mu)
    raw["base_stations"][0]["backhaul"] = {"rate_bps": 1e15, "latency_s": 0.0}
    raw["base_stations"][0]["bandwidth_hz"] = 1e9
    raw["devices"][0]["split_layer"] = 0
    raw["devices"][0]["arrivals"] = {"process": "poisson", "rate_per_s": lam}
    raw["workload"] = {"input_bytes": 1, "result_bytes": 1}
    if exponential:
        raw["workload"]["flops_scale"] = {"exponential": {"mean": 1.0}}
    raw["record"] = {"sample_s": 100.0, "device_sample_s": 100.0}
    served = run_raw(tmp_path, raw).tasks.dropna(subset=["t_server_start"])
    served = served.sort_values("t_uplink_done")
    served = served[served.t_uplink_done > 0.05 * raw["horizon_s"]]  # warm-up
    return (served.t_server_start - served.t_uplink_done).to_numpy()


@pytest.mark.parametrize("rho, tasks", [(0.5, 40_000), (0.8, 60_000), (0.95, 150_000)])
def test_mmc_wait_is_erlang_c(tmp_path, rho, tasks):
    cores, mu = 4, 100.0
    lam = rho * cores * mu
    mean, se = batch_means(server_waits(tmp_path, lam, mu, cores, True, tasks))
    expected = erlang_c_wait(lam, mu, cores)
    assert abs(mean - expected) < 3 * se, (mean, expected, se)
    assert se < 0.1 * expected  # a meaningful check, not a wide interval


@pytest.mark.parametrize("rho, tasks", [(0.5, 40_000), (0.8, 60_000), (0.95, 150_000)])
def test_md1_wait_is_pollaczek_khinchine(tmp_path, rho, tasks):
    mu = 100.0
    lam = rho * mu
    mean, se = batch_means(server_waits(tmp_path, lam, mu, 1, False, tasks))
    expected = pk_wait_deterministic(lam, mu)
    assert abs(mean - expected) < 3 * se, (mean, expected, se)
    assert se < 0.1 * expected
