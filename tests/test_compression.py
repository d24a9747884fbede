"""Model compression: int8 activations are a quarter of fp32's, so a split task's upload on a
fixed rate takes a quarter of the time; levels keep the accuracy their sources report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from netsim.workload.compression import LEVELS, compress
from netsim.workload.profiles import BUILTIN_DIR, load_profile
from tests.conftest import one_device, run_raw

ACTIVATION_FP32 = 50 * 768 * 4  # tokens x width x 4 bytes (CLIP ViT-B/32)
PARAMS_FP32 = (12 * 768 * 768 + 13 * 768) * 4


def test_levels_scale_the_profile_by_bits_and_kept_weights():
    clip = load_profile(BUILTIN_DIR / "clip_vit_b32.yaml")
    int8, fp16, prune = (compress(clip, name) for name in ("int8", "fp16", "prune75"))
    assert int8.activation_bytes[0] == ACTIVATION_FP32 // 4 == 38_400
    assert fp16.activation_bytes[0] == ACTIVATION_FP32 // 2
    assert int8.param_bytes[0] == PARAMS_FP32 // 4
    assert prune.param_bytes[0] == PARAMS_FP32 // 4
    assert prune.activation_bytes[0] == ACTIVATION_FP32  # pruned weights, dense activations
    assert prune.layer_flops[0] == pytest.approx(715_468_800 / 4, rel=1e-15)
    # the sources' figures: fp16 matches fp32 (Micikevicius 2018); int8 within 2%
    # (Krishnamoorthi 2018); pruning with retraining keeps accuracy (Han 2015)
    assert LEVELS["fp16"].accuracy == 1.0
    assert LEVELS["int8"].accuracy == pytest.approx(0.98)
    assert LEVELS["prune50"].accuracy == LEVELS["prune75"].accuracy == 1.0


@pytest.mark.parametrize("level, upload_bytes", [("fp32", ACTIVATION_FP32),
                                                  ("int8", ACTIVATION_FP32 // 4)])
def test_int8_cuts_the_uplink_time_fourfold_on_a_fixed_rate(tmp_path, level, upload_bytes):
    (tmp_path / "one.csv").write_text("t_s,device\n1.0,0\n")
    (tmp_path / "rates.csv").write_text("t_s,device,rate_bps\n0,0,1.0e6\n")
    raw = one_device(horizon_s=5.0)
    raw["devices"][0].update(arrivals={"process": "trace", "path": "one.csv"}, split_layer=6,
                             compression=level)
    raw["channel"]["rate_trace"] = "rates.csv"
    run = run_raw(tmp_path, raw)
    task = run.tasks.iloc[0]
    assert task.bytes_up == upload_bytes
    # 1 Mbit/s: fp32 153,600 B take 1.2288 s; int8 38,400 B take 0.3072 s
    assert task.t_uplink_done - task.t_uplink_start == pytest.approx(upload_bytes * 8 / 1e6,
                                                                     rel=1e-9)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    if level == "int8":
        assert manifest["compression"] == {"d": {"level": "int8", "accuracy": 0.98}}
        # int8 runs the 6 layers at twice the float speed: (stem + 6 layers) / 2 / 1e11 FLOPS
        assert task.t_local_done - 1.0 == pytest.approx(
            (231_211_008 + 6 * 715_468_800) / 2 / 1e11, rel=1e-12)
    else:
        assert "compression" not in manifest


def test_a_contract_menu_offers_compression_levels_by_hidden_type(tmp_path):
    """Items are (compression, reward): more efficient types take heavier models (more
    work for a larger reward); each device then runs its tasks at the level it chose."""
    raw = one_device(horizon_s=30.0)
    raw["devices"][0].update(count=12, split_layer=6,
                             energy_per_flop_j={"uniform": [1e-12, 1e-10]},
                             placement={"kind": "disc", "center_m": [150.0, 100.0],
                                        "radius_m": 10.0},
                             arrivals={"process": "poisson", "rate_per_s": 2.0})
    raw["edge_servers"][0]["cores"] = 16
    raw["market"] = {"mechanism": "contract", "epoch_s": 60.0,
                     "contract": {"types": 3, "offers": "compression",
                                  "compression_ladder": ["prune75", "int8", "fp32"]}}
    run = run_raw(tmp_path, raw)
    first_layers = 231_211_008 + 6 * 715_468_800  # stem + 6 layers at fp32
    tasks = run.tasks[run.tasks.t_arrival > 0.0]
    # each device's compute FIFO: its first task's local time gives its FLOPs factor
    first = tasks.sort_values("t_arrival").groupby("device").first()
    factor = (first.t_local_done - first.t_arrival) * 1e11 / first_layers
    assert set(np.round(factor, 9)) <= {0.25, 0.5, 1.0}
    assert len(set(np.round(factor, 9))) >= 2  # the menu separates the types
    market = run.devices[run.devices.theta.notna()].set_index("device")  # epoch 0 rows
    theta = market.theta.reindex(first.index).to_numpy()  # each device's type
    order = np.argsort(theta, kind="stable")
    assert (np.diff(factor.to_numpy()[order]) >= -1e-9).all()  # heavier for the efficient
    # int8 devices upload a quarter of the activations
    int8 = first.index[np.isclose(factor, 0.5)]
    assert (tasks[tasks.device.isin(int8)].bytes_up == 38_400).all()

