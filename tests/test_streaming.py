"""The summary, plots and reports stream the tables: their figures equal pandas computed on
the whole tables, without any table but the small epochs one read whole."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import netsim
import netsim.record.load as load
from netsim.analysis import streaming
from netsim.analysis.plots import plot_run
from netsim.analysis.streaming import TaskStats, column_values, windowed_means
from netsim.analysis.summary import summarise
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def busy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("stream") / "run"
    netsim.run(netsim.load_scenario(SCENARIOS / "urban_6g.yaml", ["horizon_s=120"]), out)
    return out


@pytest.fixture(scope="module")
def market_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("stream") / "run"
    netsim.run(netsim.load_scenario(SCENARIOS / "paper_case_study.yaml", ["horizon_s=120"]),
               out)
    return out


@pytest.fixture
def streamed(monkeypatch):
    """Small batches (many of them per part), and no whole table but the small ones (a row
    per market epoch, a row per fault change)."""
    monkeypatch.setattr(streaming, "BATCH_ROWS", 97)
    real = load.read_table

    def refuse(folder, name, run_id=None):
        assert name in ("epochs", "events"), f"the analysis read the whole {name} table"
        return real(folder, name, run_id)
    monkeypatch.setattr(load, "read_table", refuse)


def test_summary_figures_equal_whole_table_figures(busy_run, streamed, monkeypatch, tmp_path):
    run = netsim.load_run(busy_run)
    stats = TaskStats.of(run, 0.0, 10.0)
    summary = summarise(run, stats)
    percentiles = {q: stats.latency_percentile(q) for q in (0.0, 1.0, 50.0, 95.0, 99.9, 100.0)}
    paths = plot_run(run, tmp_path / "plots", 10.0, stats)
    monkeypatch.undo()
    tasks = netsim.load_run(busy_run).tasks
    latency = tasks.latency_s.dropna().to_numpy()
    assert len(tasks) > 1000 and summary.arrived == len(tasks)
    assert summary.done == (tasks.status == "done").sum()
    assert summary.mean_latency_s == pytest.approx(latency.mean(), rel=1e-12)
    for q, value in percentiles.items():  # exact, not the bins' approximation
        assert value == pytest.approx(np.percentile(latency, q), rel=1e-12, abs=0), q
    sent = tasks[(tasks.bytes_up > 0) & tasks.t_uplink_done.notna()]
    duration = sent.t_uplink_done - sent.t_uplink_start
    rates = (8.0 * sent.bytes_up / duration)[duration > 0]
    assert summary.mean_uplink_rate_bps == pytest.approx(rates.mean(), rel=1e-12)
    assert all(p.stat().st_size > 0 for p in paths)


def test_windowed_percentiles_are_within_a_bin_of_pandas(busy_run, streamed, monkeypatch):
    stats = TaskStats.of(netsim.load_run(busy_run), 0.0, 20.0)
    windows = stats.latency_percentiles_by_window((50.0, 95.0))
    monkeypatch.undo()
    tasks = netsim.load_run(busy_run).tasks.dropna(subset=["latency_s"])
    width = 10 ** (0.5 / 1000) - 1  # half a bin (10^(1/1000) wide), relative: 0.115%
    for start, group in tasks.groupby((tasks.t_arrival // 20.0) * 20.0).latency_s:
        values = np.sort(group.to_numpy())
        for q in (50.0, 95.0):  # within half a bin of the order statistic below the rank
            below = values[int(np.floor(q / 100.0 * (len(values) - 1)))]
            assert windows.loc[start, f"p{q:g}"] == pytest.approx(below, rel=width * 1.0001)


def test_windowed_means_and_counts_equal_pandas(busy_run, market_run, streamed, monkeypatch):
    run = netsim.load_run(busy_run)
    radio = windowed_means(run, "links", "link", "rate_bps", 15.0, 30.0, "radio_up")
    queue = windowed_means(run, "servers", "server", "queue_len", 15.0, 0.0, nonzero="flops")
    layers = column_values(netsim.load_run(market_run), "devices", "split_layer",
                           "market_utility", 30.0)
    monkeypatch.undo()
    whole = netsim.load_run(busy_run)
    links = whole.links[(whole.links.kind == "radio_up") & (whole.links.t >= 30.0)]
    expected = links.assign(window=(links.t // 15.0) * 15.0).pivot_table(
        index="window", columns="link", values="rate_bps", aggfunc="mean", observed=True)
    expected.columns = expected.columns.astype(str)
    pd.testing.assert_frame_equal(radio, expected[radio.columns], check_names=False,
                                  check_exact=False, rtol=1e-12)
    servers = whole.servers
    used = servers.groupby("server", observed=True).flops.sum()
    assert sorted(queue.columns) == sorted(str(s) for s in used[used > 0].index)
    devices = netsim.load_run(market_run).devices
    devices = devices[devices.market_utility.notna() & (devices.t >= 30.0)]
    assert layers.sum() == len(devices) > 0
    np.testing.assert_array_equal(layers, np.bincount(devices.split_layer.astype(int)))
