"""Federated rounds with client selection: a round lasts as long as its slowest client's
training plus model upload (hand-computed on fixed rates); a deadline drops stragglers;
fastest-first makes shorter rounds than random selection on unequal devices; with a
participation auction the highest bids above the reserve win and the winners train."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import one_device, run_raw

TX_W = 10 ** (23 / 10) / 1000  # 23 dBm
MODEL_BYTES = 100_000
WORK_FLOPS = 2 * 100 * 1e9  # 2 local epochs x 100 samples x 1 GFLOP


def two_clients(tmp_path, **federated) -> dict:
    """Device 0 trains in 2 s and uploads at 1 Mbit/s; device 1 trains in 4 s and uploads
    at 2 Mbit/s (replayed rates); no tasks."""
    (tmp_path / "none.csv").write_text("t_s,device\n")
    (tmp_path / "rates.csv").write_text("t_s,device,rate_bps\n0,0,1.0e6\n0,1,2.0e6\n")
    raw = one_device(horizon_s=25.0)
    device = raw["devices"][0]
    device.update(arrivals={"process": "trace", "path": "none.csv"})
    raw["devices"] = [{**device, "group": "a", "compute_flops": 1.0e11},
                      {**device, "group": "b", "compute_flops": 5.0e10}]
    raw["channel"]["rate_trace"] = "rates.csv"
    raw["federated"] = {"server": "es0", "round_s": 10.0, "clients_per_round": 2,
                        "local_epochs": 2, "samples": 100, "flops_per_sample": 1.0e9,
                        "model_bytes": MODEL_BYTES, **federated}
    return raw


def test_a_round_lasts_as_long_as_its_slowest_client(tmp_path):
    rounds = run_raw(tmp_path, two_clients(tmp_path)).rounds
    backhaul = MODEL_BYTES * 8 / 1e9 + 0.002
    slowest = WORK_FLOPS / 5e10 + MODEL_BYTES * 8 / 2e6 + backhaul  # 4 s + 0.4 s + 2.8 ms
    first = rounds.iloc[0]
    assert first.round_time_s == pytest.approx(slowest, rel=1e-12)
    assert (first.selected, first.completed, first.stragglers) == (2, 2, 0)
    energy = 2 * WORK_FLOPS * 1e-11 + TX_W * (MODEL_BYTES * 8 / 1e6 + MODEL_BYTES * 8 / 2e6)
    assert first.energy_j == pytest.approx(energy, rel=1e-9)
    assert rounds.t_start.tolist() == [0.0, 10.0, 20.0]  # the last cut by the horizon
    # every round aggregates all the data twice (2 local epochs): gap 1 / (1 + 2 r)
    assert rounds.convergence_gap.tolist()[:2] == pytest.approx([1 / 3, 1 / 5])


def test_a_deadline_drops_stragglers(tmp_path):
    raw = two_clients(tmp_path, deadline_s=3.0)
    run = run_raw(tmp_path, raw)
    first = run.rounds.iloc[0]
    assert (first.completed, first.stragglers) == (1, 1)
    assert list(first.completed_clients) == [0] and list(first.clients) == [0, 1]
    assert first.t_end == 3.0 and first.data_passes == pytest.approx(1.0)  # half x 2
    # the straggler's upload was withdrawn: it spent no radio energy
    devices = run.devices[run.devices.t == run.devices.t.max()].set_index("device")
    assert devices.energy_used_j[1] == pytest.approx(3 * WORK_FLOPS * 1e-11, rel=1e-9)


def unequal_devices(tmp_path, selection: str) -> dict:
    (tmp_path / "none.csv").write_text("t_s,device\n")
    raw = one_device(horizon_s=300.0)
    raw["devices"][0].update(count=20, compute_flops={"uniform": [1.0e9, 1.0e11]},
                             placement={"kind": "disc", "center_m": [50.0, 100.0],
                                        "radius_m": 40.0},
                             arrivals={"process": "trace", "path": "none.csv"})
    raw["federated"] = {"server": "es0", "round_s": 30.0, "clients_per_round": 5,
                        "samples": {"uniform": [50, 150]}, "flops_per_sample": 2.0e8,
                        "model_bytes": 4_000_000, "selection": selection}
    return raw


def test_fastest_first_makes_shorter_rounds_than_random(tmp_path):
    times = {s: run_raw(tmp_path, unequal_devices(tmp_path, s), out=s).rounds.round_time_s
             for s in ("random", "fastest")}
    assert times["fastest"].mean() < 0.5 * times["random"].mean()


def test_a_participation_auction_picks_the_highest_bids_and_they_train(tmp_path):
    raw = unequal_devices(tmp_path, "market")
    raw["market"] = {"mechanism": "participation_auction", "epoch_s": 30.0,
                     "solver": "exact"}
    run = run_raw(tmp_path, raw)
    market_rows = run.devices[run.devices.valuation.notna()]
    rounds = run.rounds.set_index("t_start")
    for t, bids in market_rows.groupby("t"):
        # U[0, 1] values: Myerson's reserve is 1/2; 5 slots to the top bids above it
        above = bids[bids.valuation >= 0.5].sort_values("valuation", ascending=False)
        winners = sorted(above.device.head(5))
        assert list(rounds.loc[t].clients) == winners
        assert set(bids.device[bids.allocation == 1.0]) == set(winners)
        price = max(0.5, bids.valuation.sort_values(ascending=False).iloc[5])
        assert rounds.loc[t].payments == pytest.approx(price * len(winners), rel=1e-12)
    # only the winners ever trained: local FLOPs spent by the others are zero
    last = run.devices[run.devices.t == run.devices.t.max()].set_index("device")
    trained = set(np.concatenate(run.rounds.clients.to_numpy()))
    assert set(last.index[last.local_flops > 0]) == trained


def test_the_report_plots_the_rounds(tmp_path):
    from netsim.analysis.report import report

    run_raw(tmp_path, two_clients(tmp_path))
    assert tmp_path / "run" / "report" / "federated_rounds.png" in report(tmp_path / "run")


def test_each_mechanism_plays_the_game_its_checkpoints_name():
    from netsim.market import MECHANISMS
    from netsim.scenario.schema import GAME_OF_MECHANISM

    for name, mechanism in MECHANISMS.items():
        assert mechanism.name == GAME_OF_MECHANISM.get(name, name)
