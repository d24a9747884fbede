"""Model compression: int8 activations are a quarter of fp32's, so a split task's upload on a
fixed rate takes a quarter of the time; levels keep the accuracy their sources report."""

from __future__ import annotations

import json

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
