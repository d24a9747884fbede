"""The tables a researcher joins: a static row per device, market rows told apart from
periodic ones, link id and direction in their own columns, idle rates as NaN."""

from __future__ import annotations

import numpy as np

from tests.conftest import one_device, run_raw


def test_static_devices_market_rows_links_and_idle_rates(tmp_path):
    raw = one_device(horizon_s=30.0)
    raw["devices"][0].update(count=4, memory_bytes=1.0e8, compression="int8",
                             arrivals={"process": "poisson", "rate_per_s": 0.5})
    raw["market"] = {"mechanism": "auction_compute", "epoch_s": 10.0,
                     "auction_compute": {"slots": 2}}
    run = run_raw(tmp_path, raw)
    static = run.devices_static.set_index("device")
    assert list(static.index) == [0, 1, 2, 3]
    assert (static.compute_flops == 1.0e11).all() and (static.memory_bytes == 1.0e8).all()
    assert (static.compression == "int8").all()
    # int8 layers hold 7.09 MB of parameters: 14 fit in 100 MB, so all 12 layers do
    assert (static.max_split_layer == 12).all() and (static.split_layer == 4).all()
    devices = run.devices
    market = devices[devices.kind == "market"]
    assert len(market) == 3 * 4 and set(market.t) == {0.0, 10.0, 20.0}
    assert market.valuation.notna().all()
    assert devices[devices.kind == "sample"].valuation.isna().all()
    idle = devices[devices.uplink_queue == 0]
    assert idle.uplink_rate_bps.isna().all()
    links = run.links
    assert set(zip(links.link_id, links.direction, links.kind)) >= {
        ("bs0", "up", "radio_up"), ("bs0", "down", "radio_down"),
        ("bs0-es0", "up", "wired_up"), ("es0-cloud", "down", "wired_down")}
    assert np.array_equal(links.link, links.link_id + ":" + links.kind)
