"""Radio transfers: exact integration over rate changes, band shares, distance, handover."""

from __future__ import annotations

import numpy as np
import pytest

import netsim
from netsim.network.channel import Channel
from netsim.network.large_scale_kernels import BaseStationGrid, nearest_base_stations
from netsim.network.pathloss import los_probability, path_loss_db
from netsim.network.radio import RadioPool
from netsim.scenario.schema import ChannelSpec
from tests.conftest import one_device, run_raw

BAND_HZ = 1000.0


def fixed_rate_pool(n_devices: int, bandwidth_hz=(BAND_HZ,), constant_psd: bool = True):
    """A pool in which `se(values)` sets each device's spectral efficiency on the downlink
    model (the rate is linear in the share); the cap is out of the way."""
    return RadioPool(n_devices, np.asarray(bandwidth_hz, float), 0.1, 100.0, constant_psd)


def se(values, band_hz=BAND_HZ):
    """Link function giving spectral efficiencies `values` (bit/s/Hz) over a band of band_hz:
    received power (2^se - 1) x band at a noise density of 1."""
    values = np.asarray(values, dtype=float)
    band = np.broadcast_to(np.asarray(band_hz, dtype=float), values.shape)
    return lambda idx: ((np.exp2(values[idx]) - 1.0) * band[idx], np.ones(len(idx)))


def enqueue(pool: RadioPool, device: int, ready_s: float, bits: float, payload: int) -> None:
    pool.enqueue_many(np.array([device]), np.array([ready_s]), np.array([bits]),
                      np.array([payload]))


def advance(pool: RadioPool, *args) -> list[tuple[int, float, float]]:
    """The transfers that ended, as (payload, start, end) tuples."""
    return list(zip(*(column.tolist() for column in pool.advance(*args))))


def test_transfer_across_rate_change_takes_integrated_time():
    pool = fixed_rate_pool(1)
    bs = np.zeros(1, dtype=int)
    enqueue(pool, 0, 0.05, 1000.0, 10)
    # rate 2000 bit/s in [0, 0.1): 0.05 s of it sends 100 bits; then 500 bit/s from 0.1
    assert advance(pool, 0.0, 0.1, se([2.0]), bs) == []
    assert pool.remaining_bits[0] == pytest.approx(900.0)
    assert advance(pool, 0.1, 0.2, se([0.5]), bs) == []  # 50 bits
    assert advance(pool, 0.2, 0.3, se([0.5]), bs) == []  # 50 bits
    # 800 bits left at 8000 bit/s: exactly the whole tick
    assert advance(pool, 0.3, 0.4, se([8.0]), bs) == [(10, 0.05, pytest.approx(0.4))]
    # naive use of the starting rate would have given 0.05 + 1000/2000 = 0.55 s
    enqueue(pool, 0, 0.4, 1000.0, 11)
    assert advance(pool, 0.4, 0.5, se([8.0]), bs) == []
    assert advance(pool, 0.5, 0.6, se([4.0]), bs) == [
        (11, 0.4, pytest.approx(0.5 + 200.0 / 4000.0))]


def test_shares_of_active_uplinks_sum_to_the_band():
    bandwidth = np.array([1e8, 4e8])
    pool = fixed_rate_pool(7, bandwidth)
    bs = np.array([0, 0, 0, 1, 1, 1, 1])
    for device in range(7):
        enqueue(pool, device, 0.0, 1e12, device)  # long transfers: all active
    pool.set_weights(np.array([1, 1, 2, 1, 3, 0.5, 0.5]))
    advance(pool, 0.0, 0.1, se(np.ones(7), bandwidth[bs]), bs)
    shares = np.array(pool.rate_bps)  # 1 bit/s/Hz: rates are the shares
    assert shares[:3].sum() == pytest.approx(1e8)
    assert shares[3:].sum() == pytest.approx(4e8)
    assert shares[2] == pytest.approx(2 * shares[0])  # proportional to the weights
    assert shares[4] == pytest.approx(3 * shares[3])
    # equal weights: equal shares
    pool.set_weights(None)
    advance(pool, 0.1, 0.2, se(np.ones(7), bandwidth[bs]), bs)
    assert np.allclose(pool.rate_bps[:3], 1e8 / 3) and np.allclose(pool.rate_bps[3:7], 1e8)


def test_transfers_that_do_not_overlap_each_get_the_whole_band():
    # 1000 bit/s on the whole band; two 2-bit transfers 50 ms apart in one 100 ms tick
    pool = fixed_rate_pool(2)
    enqueue(pool, 0, 0.010, 2.0, 0)
    enqueue(pool, 1, 0.060, 2.0, 1)
    done = advance(pool, 0.0, 0.1, se([1.0, 1.0]), np.zeros(2, dtype=int))
    # each alone: 2 ms (sharing for the whole tick would have made each take 4 ms)
    assert done == [(0, 0.010, pytest.approx(0.012)), (1, 0.060, pytest.approx(0.062))]


def test_overlapping_transfers_share_the_band_for_exactly_the_overlap():
    # 1000 bit/s band. A (20 bits) starts at 10 ms alone: 10 bits by 20 ms; B (20 bits)
    # starts then and both get 500 bit/s: A's last 10 bits end at 40 ms, when B has sent 10;
    # B alone again: its last 10 bits at 1000 bit/s end at 50 ms. By hand, not by the code.
    pool = fixed_rate_pool(2)
    enqueue(pool, 0, 0.010, 20.0, 0)
    enqueue(pool, 1, 0.020, 20.0, 1)
    done = advance(pool, 0.0, 0.1, se([1.0, 1.0]), np.zeros(2, dtype=int))
    assert done == [(0, 0.010, pytest.approx(0.040)), (1, 0.020, pytest.approx(0.050))]
    # three equal transfers starting together end together, each at a third of the rate
    pool = fixed_rate_pool(3)
    pool.track_airtime()
    for device in range(3):
        enqueue(pool, device, 0.0, 10.0, device)
    done = advance(pool, 0.0, 0.1, se([1.0, 1.0, 1.0]), np.zeros(3, dtype=int))
    assert [d[2] for d in done] == pytest.approx([0.030] * 3)
    assert pool.take_airtime()[1] == pytest.approx([0.030] * 3)
    # a device whose transfer ended no longer takes a share
    short = fixed_rate_pool(3, [300.0])
    for device, bits in enumerate([10.0, 1e9, 1e9]):
        enqueue(short, device, 0.0, bits, device)
    done = advance(short, 0.0, 0.1, se(np.ones(3), 300.0), np.zeros(3, dtype=int))
    assert [d[0] for d in done] == [0]
    advance(short, 0.1, 0.2, se(np.ones(3), 300.0), np.zeros(3, dtype=int))
    assert np.allclose(short.rate_bps[1:], 150.0)


def test_uplink_power_stays_with_the_device_on_a_smaller_share():
    # uplink: a device's own power on a share W_i gives SNR = P / (N W_i). Two devices with
    # P / N = 1000 Hz on a 1000 Hz band: alone, 1000 log2(2) = 1000 bit/s; sharing, each
    # 500 log2(1 + 2) = 792.5 bit/s (more than half of the whole band's rate).
    pool = fixed_rate_pool(2, constant_psd=False)
    for device in range(2):
        enqueue(pool, device, 0.0, 1e9, device)
    advance(pool, 0.0, 0.1, lambda idx: (np.full(len(idx), 1000.0), np.ones(len(idx))),
                 np.zeros(2, dtype=int))
    assert pool.rate_bps[:2] == pytest.approx([500.0 * np.log2(3.0)] * 2)


def test_downlink_rates_of_a_cell_sum_to_its_shannon_capacity():
    # downlink: the base station's power at constant density, so four users at the same
    # place share a capacity of W log2(1 + P / (N W)) and never exceed it
    band = 1e7
    pool = fixed_rate_pool(4, [band])
    snr = 100.0
    for device in range(4):
        enqueue(pool, device, 0.0, 1e12, device)
    advance(pool, 0.0, 0.1, lambda idx: (np.full(len(idx), snr * band), np.ones(len(idx))),
                 np.zeros(4, dtype=int))
    assert sum(pool.rate_bps[:4]) == pytest.approx(band * np.log2(1.0 + snr))


def test_device_queue_is_fifo_and_back_to_back():
    pool = fixed_rate_pool(1)
    enqueue(pool, 0, 0.01, 100.0, 0)
    enqueue(pool, 0, 0.02, 100.0, 1)
    enqueue(pool, 0, 0.25, 100.0, 2)
    done = advance(pool, 0.0, 0.1, se([10.0]), np.zeros(1, dtype=int))
    assert done == [(0, 0.01, pytest.approx(0.02)),
                    (1, pytest.approx(0.02), pytest.approx(0.03))]
    assert advance(pool, 0.1, 0.2, se([10.0]), np.zeros(1, dtype=int)) == []
    assert advance(pool, 0.2, 0.3, se([10.0]), np.zeros(1, dtype=int)) == [
        (2, 0.25, pytest.approx(0.26))]


def test_completions_come_in_time_order_across_devices():
    pool = fixed_rate_pool(3, [3000.0])
    for device, ready in enumerate([0.05, 0.01, 0.03]):
        enqueue(pool, device, ready, 10.0, device)
    done = advance(pool, 0.0, 0.1, se(np.full(3, 10.0), 3000.0), np.zeros(3, dtype=int))
    assert [d[0] for d in done] == [1, 2, 0]


def test_path_loss_grows_and_rate_falls_with_distance():
    d = np.array([20.0, 50.0, 100.0, 200.0, 400.0])
    for model in ("umi_street_canyon", "uma"):
        for los in (True, False):
            loss = path_loss_db(model, d, 28.0, 10.0, 1.5, los)
            assert np.all(np.diff(loss) > 0)
    assert np.all(np.diff(los_probability("umi_street_canyon", d)) <= 0)
    spec = ChannelSpec(los="los", shadowing_db=0.0, fading="none")
    channel = Channel(spec, np.array([[0.0, 0.0]]), np.array([10.0]), np.array([28.0]),
                      np.full(5, 1.5), 0)
    xy = np.column_stack([d, np.zeros(5)])
    loss = channel.candidate_loss_db(xy, np.zeros((5, 1), dtype=int), np.zeros(5))[:, 0]
    rx = 200.0 * 10 ** (-loss / 10)
    rate = channel.rate_bps(rx, np.full(5, 1e8))
    assert np.all(np.diff(rate) < 0)


def test_fading_is_correlated_in_time_with_unit_mean():
    from scipy.special import j0

    spec = ChannelSpec(fading="rayleigh", coherence_s=0.5)
    channel = Channel(spec, np.zeros((1, 2)), np.array([10.0]), np.array([3.5]),
                      np.full(20_000, 1.5), 1)
    every = np.arange(20_000)
    before = channel.fading_power(every, 1.0).copy()
    after = channel.fading_power(every, 1.2)
    assert np.mean(after) == pytest.approx(1.0, abs=0.03)
    # Clarke: |h|^2 has correlation J0(2 pi f_D tau)^2, with f_D = 9 / (16 pi T_c)
    f_d = 9.0 / (16.0 * np.pi * 0.5)
    expected = j0(2.0 * np.pi * f_d * 0.2) ** 2
    assert np.corrcoef(before, after)[0, 1] == pytest.approx(expected, abs=0.03)
    # a pure function of (device, time): looking again, or at fewer devices, changes nothing
    assert np.array_equal(channel.fading_power(every[::7], 1.0), before[::7])


def test_device_moving_across_cells_hands_over(tmp_path):
    raw = one_device(horizon_s=30.0)
    raw["area"] = {"width_m": 600.0, "height_m": 200.0}
    raw["base_stations"].append({**raw["base_stations"][0], "id": "bs1",
                                 "position_m": [550.0, 100.0]})
    raw["edge_servers"][0]["position_m"] = [300.0, 100.0]
    raw["devices"][0]["placement"] = {"kind": "points", "points_m": [[60.0, 100.0]]}
    raw["devices"][0]["mobility"] = {"model": "waypoints", "points_m": [[540.0, 100.0]],
                                     "speed_mps": 20.0}
    tables = run_raw(tmp_path, raw)
    devices = tables.devices.sort_values("t")
    assert devices.bs.iloc[0] == "bs0" and devices.bs.iloc[-1] == "bs1"
    assert tables.manifest["counts"]["handovers"] == 1
    # the handover happens past the midpoint (hysteresis), and the device keeps moving
    first_bs1 = devices[devices.bs == "bs1"].iloc[0]
    assert first_bs1.x_m > 300.0
    assert devices.x_m.iloc[-1] == pytest.approx(540.0)
    # tasks were served through both cells
    assert set(tables.tasks.bs.dropna()) == {"bs0", "bs1"}


@pytest.mark.parametrize("model", ["umi_street_canyon", "uma"])
def test_path_loss_is_continuous_at_the_breakpoint(model):
    d_bp = 4 * (10.0 - 1) * (1.5 - 1) * 3.5e9 / 299_792_458.0
    near, far = path_loss_db(model, np.array([d_bp - 1e-6, d_bp + 1e-6]), 3.5, 10.0, 1.5, True)
    assert near == pytest.approx(far, abs=1e-3)
    # a known value: UMi LOS at 100 m, 28 GHz, 10 m / 1.5 m antennas
    d3d = np.hypot(100.0, 8.5)
    expected = 32.4 + 21 * np.log10(d3d) + 20 * np.log10(28.0)
    assert path_loss_db("umi_street_canyon", np.array([100.0]), 28.0, 10.0, 1.5, True)[0] == \
        pytest.approx(expected)


def test_mobility_trace_replays_positions_and_drives_handover(tmp_path):
    (tmp_path / "walk.csv").write_text("t_s,device,x_m,y_m\n0,0,60,100\n20,0,540,100\n")
    raw = one_device(horizon_s=30.0)
    raw["area"] = {"width_m": 600.0, "height_m": 200.0}
    raw["base_stations"].append({**raw["base_stations"][0], "id": "bs1",
                                 "position_m": [550.0, 100.0]})
    raw["edge_servers"][0]["position_m"] = [300.0, 100.0]
    raw["devices"][0]["mobility"] = {"model": "trace", "path": "walk.csv"}
    tables = run_raw(tmp_path, raw)
    devices = tables.devices.sort_values("t")
    at = devices.set_index("t")
    assert at.x_m[0.0] == pytest.approx(60.0) and at.x_m[10.0] == pytest.approx(300.0)
    assert at.x_m[30.0] == pytest.approx(540.0)  # held after the last row
    assert devices.bs.iloc[0] == "bs0" and devices.bs.iloc[-1] == "bs1"
    (tmp_path / "bad.csv").write_text("t_s,device,x_m,y_m\n0,0,60,100\n5,0,900,100\n")
    raw["devices"][0]["mobility"] = {"model": "trace", "path": "bad.csv"}
    from tests.conftest import write_scenario

    with pytest.raises(netsim.ScenarioError, match=r"line 3, column x_m: 900.0 is outside"):
        netsim.load_scenario(write_scenario(tmp_path, raw, "bad.yaml"))


@pytest.mark.parametrize("model, los_m, nlos_m", [("umi_street_canyon", 10.0, 13.0),
                                                  ("uma", 37.0, 50.0)])
def test_shadowing_decorrelates_over_38901_distances_by_default(model, los_m, nlos_m):
    # 38.901 Table 7.5-6: after moving d, shadowing keeps a correlation exp(-d / d_corr)
    n = 40_000
    for state, d_corr in (("los", los_m), ("nlos", nlos_m)):
        spec = ChannelSpec(path_loss=model, los=state, shadowing_db=4.0, fading="none")
        channel = Channel(spec, np.array([[0.0, 0.0]]), np.array([25.0]), np.array([3.5]),
                          np.full(n, 1.5), 5)
        xy = np.column_stack([np.full(n, 100.0), np.zeros(n)])
        cand = np.zeros((n, 1), dtype=int)
        before = channel.candidate_loss_db(xy, cand, np.zeros(n))[:, 0]
        moved = np.full(n, d_corr)  # odometer: each device moved d_corr since
        after = channel.candidate_loss_db(xy, cand, moved)[:, 0]
        assert np.corrcoef(before, after)[0, 1] == pytest.approx(np.exp(-1.0), abs=0.02)


def nearest(xy, bs_xy, k, serving):
    grid = BaseStationGrid(bs_xy)
    return nearest_base_stations(xy, bs_xy, k, np.asarray(serving, dtype=np.int64),
                                 grid.origin, grid.cell, grid.side, grid.cell_start,
                                 grid.members)


@pytest.mark.parametrize("n_bs", [5, 30, 169])
def test_nearest_base_stations_are_the_k_closest_nearest_first_with_the_serving_one(n_bs):
    rng = np.random.default_rng(n_bs)
    # devices also outside the stations' box; stations at random, with a repeated one
    xy, bs_xy = rng.uniform(-300, 1300, (2000, 2)), rng.uniform(0, 1000, (n_bs, 2))
    bs_xy[-1] = bs_xy[0]
    distance = np.hypot(*(xy[:, None, :] - bs_xy[None, :, :]).transpose(2, 0, 1))
    by_distance = np.argsort(distance, axis=1, kind="stable")  # the oracle: a full sort
    k = 4
    cand = nearest(xy, bs_xy, k, np.full(len(xy), -1))
    assert np.array_equal(cand, by_distance[:, :k])
    serving = by_distance[:, -1]  # the farthest: it takes the last measured place
    cand = nearest(xy, bs_xy, k, serving)
    assert np.array_equal(cand[:, :k - 1], by_distance[:, :k - 1])
    assert np.array_equal(cand[:, k - 1], serving)
    near = by_distance[:, 1]  # already measured: nothing changes
    assert np.array_equal(nearest(xy, bs_xy, k, near), by_distance[:, :k])


def test_nearest_base_stations_on_a_regular_grid_break_ties_by_index():
    # devices at the centres of squares of four stations: four at exactly the same distance
    side = np.arange(10) * 100.0
    bs_xy = np.array([(x, y) for y in side for x in side])
    xy = np.array([(x + 50.0, y + 50.0) for y in side[:-1] for x in side[:-1]])
    distance = ((xy[:, None, :] - bs_xy[None, :, :]) ** 2).sum(axis=2)
    by_distance = np.argsort(distance, axis=1, kind="stable")
    assert np.array_equal(nearest(xy, bs_xy, 6, np.full(len(xy), -1)), by_distance[:, :6])
