"""Run reports and comparisons: files written, numbers equal to direct computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import netsim
from netsim.analysis.report import compare, key_metrics, report
from tests.conftest import SCENARIOS


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
    run = netsim.load_run(market_runs[0])
    tasks = run.tasks[run.tasks.t_arrival >= 60.0]
    metrics = key_metrics(run, 60.0)
    assert metrics["tasks"] == len(tasks)
    assert metrics["mean_latency_s"] == pytest.approx(tasks.latency_s.mean())
    assert metrics["p95_latency_s"] == pytest.approx(np.percentile(tasks.latency_s.dropna(), 95))
    finished = tasks.status.astype(str).isin(["done", "deadline_missed"]).sum()
    assert metrics["throughput_per_s"] == pytest.approx(finished / 180.0)
    epochs = run.epochs[run.epochs.t >= 60.0]
    assert metrics["ratio_to_optimum"] == pytest.approx(
        epochs.leader_utility.mean() / epochs.optimum_utility.mean())
    text = (market_runs[0] / "report" / "summary.md").read_text()
    assert f"| mean_latency_s | {metrics['mean_latency_s']:.6g} |" in text


def test_compare_groups_seeds_with_confidence_intervals(market_runs, tmp_path):
    table = compare(market_runs, tmp_path / "cmp")
    assert len(table) == 1 and table.runs.iloc[0] == 3
    latency = [netsim.load_run(r).tasks.latency_s.mean() for r in market_runs]
    assert table.mean_latency_s.iloc[0] == pytest.approx(np.mean(latency))
    half = stats.t.ppf(0.975, 2) * np.std(latency, ddof=1) / np.sqrt(3)
    assert table.mean_latency_s_ci95.iloc[0] == pytest.approx(half)
    assert (tmp_path / "cmp" / "latency_cdf.png").exists()
    assert pd.read_csv(tmp_path / "cmp" / "compare.csv").runs.iloc[0] == 3
