"""Scenario files: exact error messages for bad input, round trips and --set overrides."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from netsim.cli import main
from netsim.scenario import ScenarioError, load_scenario
from netsim.scenario.loader import parse_path
from tests.conftest import SCENARIOS, one_device, write_scenario

SMALL = (SCENARIOS / "small.yaml").read_text()


def errors_of(path, overrides=()) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return str(info.value).splitlines()


def test_shipped_scenarios_are_valid():
    for path in sorted(SCENARIOS.glob("*.yaml")):
        assert load_scenario(path).scenario.n_devices > 0, path


def test_negative_bandwidth_names_file_line_field_and_value(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SMALL.replace("bandwidth_hz: 1.0e+8         # uplink",
                                  "bandwidth_hz: -5         # uplink"))
    lines = errors_of(path)
    assert lines[0] == f"{path}: invalid scenario (1 problem)"
    assert lines[1] == (f"  {path}:20: base_stations[0].bandwidth_hz: "
                        "Input should be greater than 0 (got -5)")


def test_unknown_key_gets_did_you_mean(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SMALL.replace("    mobility:", "    mobilty:"))
    (line,) = errors_of(path)[1:]
    assert line.startswith(f"  {path}:35: devices[0].mobilty: unknown field; "
                           "did you mean 'mobility'? (allowed: group, count,")


def test_cross_field_checks_list_every_problem(tmp_path):
    path = tmp_path / "bad.yaml"
    text = SMALL.replace("server: es0                  #", "server: es9                  #")
    text = text.replace("position_m: [300, 100]", "position_m: [500, 100]")
    lines = errors_of(path := write_text(path, text))
    assert lines == [
        f"{path}: invalid scenario (2 problems)",
        f"  {path}:18: base_stations[0].server: no edge server 'es9' (allowed: es0, cloud)",
        f"  {path}:23: base_stations[1].position_m: position [500.0, 100.0] is outside "
        "the area [0, 400] x [0, 200] m",
    ]


def write_text(path, text):
    path.write_text(text)
    return path


def test_literal_and_override_errors_have_no_line(tmp_path):
    path = write_text(tmp_path / "s.yaml", SMALL)
    lines = errors_of(path, ["channel.fading=foo", "horizon_s=0"])
    assert lines[1:] == [
        f"  {path}: horizon_s: Input should be greater than 0 (got 0)",
        f"  {path}: channel.fading: Input should be 'none', 'rayleigh' or 'rician' (got 'foo')",
    ]


def test_split_layer_beyond_model_depth(tmp_path):
    path = write_text(tmp_path / "s.yaml", SMALL)
    assert errors_of(path, ["devices[0].split_layer=13"])[1] == (
        f"  {path}: devices[0].split_layer: 13 is not in 0..12 (layers of 'clip_vit_b32')")


def test_distribution_must_be_positive(tmp_path):
    raw = one_device()
    raw["devices"][0]["compute_flops"] = {"normal": {"mean": 1e11, "std": 1e11}}
    path = write_scenario(tmp_path, raw)
    assert "devices[0].compute_flops: every value must be > 0" in errors_of(path)[1]


def test_trace_errors_name_row_and_column(tmp_path):
    (tmp_path / "arrivals.csv").write_text("t_s,device\n0.5,0\n1.0,3\n")
    raw = one_device()
    raw["devices"][0]["arrivals"] = {"process": "trace", "path": "arrivals.csv"}
    path = write_scenario(tmp_path, raw)
    assert errors_of(path)[1].endswith(
        "devices[0].arrivals.path: " + str(tmp_path / "arrivals.csv")
        + " line 3, column device: 3 is not in 0..0 (the group's devices)")


def test_missing_field_and_bad_tag(tmp_path):
    raw = one_device()
    del raw["horizon_s"]
    raw["devices"][0]["arrivals"] = {"process": "poison", "rate_per_s": 1}
    lines = errors_of(write_scenario(tmp_path, raw))
    assert any(line.endswith("horizon_s: required field is missing") for line in lines)
    assert any("devices[0].arrivals: Input tag 'poison'" in line and "'poisson'" in line
               for line in lines)


def test_yaml_syntax_error_has_line(tmp_path):
    path = write_text(tmp_path / "s.yaml", "name: x\nhorizon_s: [1, 2\n")
    assert errors_of(path)[1].startswith(f"  {path}:")
    assert "not valid YAML" in errors_of(path)[1]


def test_valid_scenario_round_trips(tmp_path):
    loaded = load_scenario(SCENARIOS / "urban_6g.yaml")
    dumped = loaded.scenario.model_dump(mode="json")
    again = load_scenario(write_scenario(tmp_path, dumped)).scenario
    assert again == loaded.scenario


def test_overrides_set_nested_and_list_fields(tmp_path):
    path = write_text(tmp_path / "s.yaml", SMALL)
    scn = load_scenario(path, ["horizon_s=5", "devices[0].count=3",
                               "channel.fading=rician", "base_stations[1].carrier_ghz=28"]).scenario
    assert (scn.horizon_s, scn.devices[0].count, scn.channel.fading) == (5.0, 3, "rician")
    assert scn.base_stations[1].carrier_ghz == 28.0
    assert errors_of(path, ["devices[3].count=1"])[1] == (
        f"  {path}: devices[3]: --set devices[3].count=1: index 3 out of range (list has 1)")
    assert errors_of(path, ["devices.0.count=1"])[1] == (
        f"  {path}: devices.0: --set devices.0.count=1: devices is a list: index it with "
        "brackets, e.g. devices[0]")


def test_parse_path():
    assert parse_path("devices[0].mobility.speed_mps") == ["devices", 0, "mobility", "speed_mps"]
    with pytest.raises(ValueError):
        parse_path("devices[x]")


def test_cli_validate_exit_codes(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["validate", str(SCENARIOS / "small.yaml")])
    assert ok.exit_code == 0 and "ok (small: 20 devices" in ok.output
    bad = runner.invoke(main, ["validate", str(SCENARIOS / "small.yaml"),
                               "--set", "area.width_m=-1"])
    assert bad.exit_code == 2
    assert "area.width_m: Input should be greater than 0 (got -1)" in bad.output


def test_scenario_file_is_safe_loaded(tmp_path):
    path = write_text(tmp_path / "s.yaml", "!!python/object/apply:os.system ['echo hi']\n")
    assert "python/object/apply:os.system' is not allowed" in errors_of(path)[1]
    assert yaml.safe_load(SMALL)["name"] == "small"


def test_cli_schema_lists_every_field():
    import json

    result = CliRunner().invoke(main, ["schema"])
    schema = json.loads(result.output)
    assert result.exit_code == 0
    assert {"horizon_s", "base_stations", "devices", "channel", "market"} <= set(
        schema["properties"])
    channel = schema["$defs"]["ChannelSpec"]["properties"]
    assert channel["tick_s"]["default"] == 0.1 and "large_scale_update_s" in channel


def test_field_reference_is_generated_from_the_schema():
    from netsim.scenario.reference import markdown
    from tests.conftest import ROOT

    assert (ROOT / "docs" / "scenario_fields.md").read_text() == markdown(), (
        "docs/scenario_fields.md is stale: run `netsim schema --markdown > "
        "docs/scenario_fields.md`")
    assert "| `devices[].mobility<random_waypoint>.speed_mps` |" in markdown()


def test_device_heights_outside_the_path_loss_model_are_refused(tmp_path):
    path = write_text(tmp_path / "s.yaml", SMALL)
    assert errors_of(path, ["devices[0].height_m=100"])[1] == (
        f"  {path}: devices[0].height_m: 100 m is outside 1.5-22.5 m, where the 3GPP 38.901 "
        "'umi_street_canyon' model is valid")
    assert load_scenario(path, ["devices[0].height_m=22.5"]).scenario.devices[0].height_m == 22.5
