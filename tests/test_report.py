"""Run reports and comparisons: files written, numbers equal to direct computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import netsim
from netsim.analysis.report import compare, key_metrics, report
from tests.conftest import SCENARIOS, one_device, run_raw


@pytest.fixture(scope="module")
def market_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    loaded = netsim.load_scenario(SCENARIOS / "paper_case_study.yaml", ["horizon_s=240"])
    for seed in (1, 2, 3):
        netsim.run(loaded, folder / f"s{seed}", seed=seed)
    return [folder / f"s{seed}" for seed in (1, 2, 3)]


def test_report_files_and_numbers(market_runs):
    written = report(market_runs[0], warmup_s=60.0, window_s=20.0)
    names = {p.name for p in written}
    assert {"summary.md", "latency_cdf.png", "throughput.png", "market.png",
            "participation.png", "server_queue.png", "uplink_bandwidth_use.png"} <= names
    assert all(p.stat().st_size > 0 for p in written)
    metrics = key_metrics(netsim.load_run(market_runs[0]), 60.0)
    assert metrics["ratio_to_optimum"] == pytest.approx(1.0, abs=1e-12)  # the exact solver
    text = (market_runs[0] / "report" / "summary.md").read_text()
    assert f"| mean_latency_s | {metrics['mean_latency_s']:.6g} |" in text


def test_key_metrics_equal_a_hand_computation(tmp_path):
    """Five fully local tasks of S = 8,817,623,040 FLOPs / 1e11 FLOP/s each; the one at 3.05 s
    waits for the one at 3.0 s. After a 1.5 s warm-up: latencies S, S, 2S - 0.05, S."""
    (tmp_path / "five.csv").write_text("t_s,device\n1.0,0\n2.0,0\n3.0,0\n3.05,0\n6.0,0\n")
    raw = one_device(horizon_s=10.0)
    raw["devices"][0]["arrivals"] = {"process": "trace", "path": "five.csv"}
    raw["devices"][0]["split_layer"] = 12
    run = run_raw(tmp_path, raw)
    metrics = key_metrics(run, 1.5)
    s = 8_817_623_040 / 1e11
    assert metrics["tasks"] == 4
    assert metrics["mean_latency_s"] == pytest.approx((5 * s - 0.05) / 4, rel=1e-12)
    # numpy's default percentile: linear between order statistics, at 0.95 x 3 = 2.85
    assert metrics["p95_latency_s"] == pytest.approx(s + 0.85 * (s - 0.05), rel=1e-12)
    assert metrics["throughput_per_s"] == pytest.approx(4 / 8.5, rel=1e-12)
    assert metrics["missed_fraction"] == 0.0
    assert np.isnan(metrics["server_busy_fraction"])  # no server ever computed


def test_compare_groups_seeds_with_confidence_intervals(market_runs, tmp_path):
    table = compare(market_runs, tmp_path / "cmp")
    assert len(table) == 1 and table.runs.iloc[0] == 3
    latency = [netsim.load_run(r).tasks.latency_s.mean() for r in market_runs]
    assert table.mean_latency_s.iloc[0] == pytest.approx(np.mean(latency))
    half = stats.t.ppf(0.975, 2) * np.std(latency, ddof=1) / np.sqrt(3)
    assert table.mean_latency_s_ci95.iloc[0] == pytest.approx(half)
    assert (tmp_path / "cmp" / "latency_cdf.png").exists()
    assert pd.read_csv(tmp_path / "cmp" / "compare.csv").runs.iloc[0] == 3
