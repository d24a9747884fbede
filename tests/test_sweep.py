"""Sweeps: grid x seeds on a process pool and on a Dask LocalCluster; failures; resuming."""

from __future__ import annotations

import pandas as pd
import pytest

from netsim.sweep import SweepError, parse_grid, parse_seeds, split_values, sweep
from tests.conftest import SCENARIOS

SMALL = str(SCENARIOS / "small.yaml")
GRID = ["horizon_s=4,8", "devices[0].count=3,6"]
METRICS = ["run_id", "horizon_s", "devices[0].count", "seed", "status", "tasks", "done",
           "mean_latency_s"]


def test_parsing():
    assert split_values("exact,{name: fixed, action: 1.5},[1, 2]") == [
        "exact", "{name: fixed, action: 1.5}", "[1, 2]"]
    assert parse_grid(["a.b=1,2"]) == [("a.b", ["1", "2"])]
    assert parse_seeds("0..3") == [0, 1, 2, 3] and parse_seeds("5") == [5]
    with pytest.raises(ValueError):
        parse_seeds("3..1")


# a million devices with one-hour large-scale intervals validate, but the pre-flight
# estimate refuses them (billions of tasks drawn at once): a run that fails, every time
TOO_BIG = ["devices[0].count=3,1000000", "channel.large_scale_update_s=3600"]


def test_local_sweep_rows_failures_and_resume(tmp_path):
    table = sweep(SMALL, [*GRID[:1], *TOO_BIG], [0, 1], tmp_path / "sw")
    assert len(table) == 8
    ok = table[table["devices[0].count"] == 3]
    assert (ok.status == "complete").all() and (ok.attempts == 1).all()
    assert sorted(zip(ok.horizon_s, ok.seed)) == [(4, 0), (4, 1), (8, 0), (8, 1)]
    # more simulated time, more tasks; each row's metrics come from its own run folder
    assert ok[ok.horizon_s == 8].tasks.mean() > ok[ok.horizon_s == 4].tasks.mean()
    failed = table[table["devices[0].count"] == 1000000]
    assert (failed.status == "failed").all() and (failed.attempts == 2).all()
    assert failed.error.str.contains("PreflightError: this run needs").all()
    again = sweep(SMALL, [*GRID[:1], *TOO_BIG], [0, 1], tmp_path / "sw")
    assert again[again.status == "complete"].skipped.all()
    assert (again[again.status == "failed"].attempts == 2).all()  # failures are tried again
    pd.testing.assert_frame_equal(
        again[again.status == "complete"][METRICS].reset_index(drop=True),
        ok[METRICS].reset_index(drop=True))


def test_an_invalid_grid_point_stops_the_sweep_before_any_run(tmp_path):
    with pytest.raises(SweepError) as err:
        sweep(SMALL, [*GRID[:1], "devices[0].count=3,0"], [0, 1], tmp_path / "sw")
    assert "2 grid point(s) do not validate; nothing was run" in str(err.value)
    assert "devices[0].count=0" in str(err.value)
    assert "devices[0].count: Input should be greater than or equal to 1" in str(err.value)
    assert not (tmp_path / "sw").exists()


def test_dask_backend_matches_local(tmp_path):
    pytest.importorskip("distributed")
    local = sweep(SMALL, GRID, [0, 1], tmp_path / "local")
    dask = sweep(SMALL, GRID, [0, 1], tmp_path / "dask", backend="dask", workers=2)
    assert len(local) == len(dask) == 8
    pd.testing.assert_frame_equal(local[METRICS], dask[METRICS])


def test_sweep_report_plots_each_parameter(tmp_path):
    from netsim.analysis.report import sweep_report

    sweep(SMALL, GRID, [0, 1], tmp_path / "sw")
    written = sweep_report(tmp_path / "sw")
    assert sorted(p.name for p in written) == ["sweep_devices_0__count.png", "sweep_horizon_s.png"]
    assert all(p.stat().st_size > 10_000 for p in written)
