"""The model profiler: FLOPs equal the analytic count; the shipped ViT-B/32 profile agrees."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import netsim
from netsim.cli import main
from netsim.workload.profiler import VitConfig, profile_model, write_profile
from netsim.workload.profiles import load_profile, resolve_profile_path
from tests.conftest import one_device, write_scenario


def test_tiny_vit_flops_equal_the_analytic_count():
    cfg = VitConfig(layers=2, width=64, heads=4, patch=8, image=32, embed=16)
    profile = profile_model(cfg, repeats=1)
    n, d = cfg.tokens, cfg.width  # 17 tokens
    macs = 3 * n * d * d + 2 * n * n * d + n * d * d + 8 * n * d * d  # qkv, attention, out, mlp
    assert [layer["flops"] for layer in profile["layers"]] == [2 * macs] * 2
    assert profile["stem_flops"] == 2 * (n - 1) * d * 3 * 8 * 8
    assert profile["head_flops"] == 2 * d * 16
    assert profile["layers"][0]["activation_bytes"] == n * d * 4
    assert profile["layers"][0]["param_bytes"] == (12 * d * d + 13 * d) * 4
    int8 = profile_model(cfg, dtype="int8", repeats=1)["layers"][0]
    assert int8["activation_bytes"] == n * d
    assert int8["param_bytes"] == 12 * d * d + 13 * d  # one byte per parameter


def test_shipped_clip_profile_agrees_with_the_profiler():
    measured = profile_model(VitConfig(), repeats=1)
    shipped = load_profile(resolve_profile_path("clip_vit_b32"))
    assert np.array_equal(shipped.layer_flops, [layer["flops"] for layer in measured["layers"]])
    assert np.array_equal(shipped.activation_bytes,
                          [layer["activation_bytes"] for layer in measured["layers"]])
    assert np.array_equal(shipped.param_bytes,
                          [layer["param_bytes"] for layer in measured["layers"]])
    assert (shipped.stem_flops, shipped.head_flops) == (measured["stem_flops"],
                                                        measured["head_flops"])
    assert (shipped.input_bytes, shipped.result_bytes) == (measured["input_bytes"],
                                                           measured["result_bytes"])
    assert all(layer["latency_s"] > 0 for layer in measured["layers"])


def test_a_written_profile_drives_a_scenario(tmp_path):
    cfg = VitConfig(layers=4, width=64, heads=4, patch=8, image=32, embed=16)
    write_profile(profile_model(cfg, dtype="fp16", repeats=1), tmp_path / "tiny.yaml")
    raw = one_device(horizon_s=5.0, workload={"model": "tiny.yaml"})
    raw["devices"][0]["split_layer"] = 2
    loaded = netsim.load_scenario(write_scenario(tmp_path, raw))
    netsim.run(loaded, tmp_path / "run")
    tasks = netsim.load_run(tmp_path / "run").tasks
    assert (tasks.bytes_up == 17 * 64 * 2).all() and (tasks.status == "done").all()
    bad = one_device(horizon_s=5.0, workload={"model": "tiny.yaml"})
    bad["devices"][0]["split_layer"] = 5
    with pytest.raises(netsim.ScenarioError, match=r"not in 0\.\.4"):
        netsim.load_scenario(write_scenario(tmp_path, bad, "bad.yaml"))


def test_cli_profile_model(tmp_path):
    result = CliRunner().invoke(main, ["profile-model", "--layers", "1", "--width", "32",
                                       "--heads", "2", "--patch", "8", "--image", "16",
                                       "--out", str(tmp_path / "p.yaml")])
    assert result.exit_code == 0, result.output
    assert load_profile(tmp_path / "p.yaml").n_layers == 1
    bad = CliRunner().invoke(main, ["profile-model", "--width", "30", "--heads", "4"])
    assert bad.exit_code == 2 and "multiple of --heads" in bad.output
