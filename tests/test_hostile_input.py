"""Input that can never crash or hang netsim: each class of hostile scenario file and
`--set` value gets the project's error, naming the file, the line and what is wrong, in
bounded time, and never echoes other contents of a file."""

from __future__ import annotations

import os
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from netsim.scenario import ScenarioError, load_scenario
from tests.conftest import SCENARIOS, one_device, write_scenario

SMALL = (SCENARIOS / "small.yaml").read_text()


def problems(path, overrides=()) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return str(info.value).splitlines()[1:]


def write(tmp_path, content, name="s.yaml"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_non_utf8_bytes_name_their_line(tmp_path):
    path = write(tmp_path, SMALL.encode().replace(b"name: small", b"name: sm\xffall"))
    (line,) = problems(path)
    assert "(file): scenario" in line and "is not UTF-8 text (byte" in line
    assert "line 6" in line or "line " in line
    (line,) = problems(write(tmp_path, bytes(range(256)) * 16, "binary.yaml"))
    assert "not UTF-8 text" in line


def test_deep_nesting_is_refused_without_recursion(tmp_path):
    (line,) = problems(write(tmp_path, "a: " + "[" * 100_000))
    assert "nest" in line  # the C parser's own limit (1000) or ours (64), before ours
    (line,) = problems(write(tmp_path, "a:\n" + "".join(" " * i + "- \n" for i in range(1, 400)),
                             "deep2.yaml"))
    assert "nested more than 64 levels deep" in line


def test_an_alias_bomb_is_refused_quickly_and_its_error_is_short(tmp_path):
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, this = chr(96 + i), chr(97 + i)
        rows.append(f"{this}: &{this} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = write(tmp_path, "\n".join(rows) + "\n")
    assert len(path.read_bytes()) < 600
    start = time.perf_counter()
    (line,) = problems(path)
    assert time.perf_counter() - start < 5.0
    assert "more than 2,000,000 values (aliases included)" in line and len(line) < 300


def test_an_alias_within_bounds_still_reads_and_names_the_field(tmp_path):
    text = SMALL.replace("area: {width_m: 400, height_m: 200}",
                         "area: &area {width_m: 400, height_m: 200}\nextra_area: *area")
    assert text != SMALL
    (line,) = problems(write(tmp_path, text))
    assert "extra_area: unknown field" in line


def test_duplicate_keys_are_refused_naming_both_lines(tmp_path):
    text = SMALL.replace("horizon_s: 60", "horizon_s: 60\nhorizon_s: 90")
    assert text != SMALL
    (line,) = problems(write(tmp_path, text))
    first = SMALL.splitlines().index("horizon_s: 60") + 1
    assert f":{first + 1}: (syntax): duplicate key 'horizon_s' (first on line {first})" in line


def test_huge_integer_literals_are_refused(tmp_path):
    (line,) = problems(write(tmp_path, SMALL.replace("seed: 0", "seed: " + "9" * 5000)))
    assert "(5,000 characters) cannot be read as a number" in line and len(line) < 300


@pytest.mark.parametrize("value, why", [
    (".nan", "finite number"), (".inf", "finite number"), ("-.inf", "finite number"),
    ("true", "valid number"), ("'60'", "valid number"), ("60.0", None),
])
def test_nan_inf_booleans_and_strings_are_not_numbers(tmp_path, value, why):
    path = write(tmp_path, SMALL.replace("horizon_s: 60", f"horizon_s: {value}"))
    if why is None:
        assert load_scenario(path).scenario.horizon_s == 60.0
        return
    (line,) = problems(path)
    assert "horizon_s" in line and why in line


def test_an_integer_field_refuses_a_fraction_and_a_boolean(tmp_path):
    for value in ("2.5", "true", "'20'"):
        path = write(tmp_path, SMALL.replace("count: 20", f"count: {value}"))
        (line,) = problems(path)
        assert "devices[0].count: Input should be a valid integer" in line


def test_exponent_floats_read_as_numbers(tmp_path):
    path = write(tmp_path, SMALL.replace("energy_per_flop_j: 1.0e-11", "energy_per_flop_j: 1e-11"))
    assert path.read_text() != SMALL
    assert load_scenario(path).scenario.devices[0].energy_per_flop_j.lower_bound() == 1e-11


def test_paths_that_are_not_regular_files_are_refused_before_reading(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    start = time.perf_counter()
    (line,) = problems(fifo)
    assert "is not a regular file" in line and time.perf_counter() - start < 5.0
    (line,) = problems("/dev/zero")
    assert "is not a regular file" in line
    (line,) = problems(tmp_path)
    assert "is a folder" in line
    (line,) = problems(tmp_path / ("x" * 5000 + ".yaml"))
    assert "cannot be opened (File name too long)" in line and len(line) < 400


def test_a_file_too_large_is_refused_before_parsing(tmp_path):
    path = write(tmp_path, SMALL + "#" * (9 << 20) + "\n")
    start = time.perf_counter()
    (line,) = problems(path)
    assert "more than the 8,388,608 allowed" in line and time.perf_counter() - start < 5.0


def test_set_values_with_bad_syntax_or_tags_get_the_project_error():
    (line,) = problems(SCENARIOS / "small.yaml", ["horizon_s=[1, 2"])
    assert "--set horizon_s=[1, 2: not valid YAML" in line
    (line,) = problems(SCENARIOS / "small.yaml", ["horizon_s=!!python/object/apply:os.getpid []"])
    assert "is not allowed (plain data only)" in line


@pytest.mark.parametrize("model", ["'/etc'", "'/etc/passwd'", "'/dev/zero'", "x" * 5000,
                                   '"a\\0b"', "'../scenarios/small.yaml'"])
def test_a_model_that_is_not_a_profile_is_a_clear_error_without_file_contents(model):
    lines = problems(SCENARIOS / "small.yaml", [f"workload.model={model}"])
    text = "\n".join(lines)
    assert "workload.model" in text and "built-in profiles: clip_vit_b32" in text
    assert "root:" not in text and "seed" not in text  # nothing the files hold
    assert len(text) < 800


def test_the_error_never_formats_a_huge_value(tmp_path):
    huge = "[" + ", ".join(["1"] * 50_000) + "]"
    (line,) = problems(write(tmp_path, SMALL.replace("horizon_s: 60", f"horizon_s: {huge}")))
    assert "horizon_s" in line and len(line) < 400


def _with_arrival_trace(tmp_path, trace_name: str):
    raw = one_device()
    raw["devices"][0]["arrivals"] = {"process": "trace", "path": trace_name}
    return write_scenario(tmp_path, raw)


@pytest.mark.parametrize("text, expected", [
    ("t_s,device\n0.5,0\nnan,0\n", "line 3, column t_s: 'nan' is not a finite number"),
    ("t_s,device\n0.5,0\n\n\ninf,0\n", "line 5, column t_s: 'inf' is not a finite number"),
    ('t_s,device\n"0.5\n",0\n1e400,0\n', "line 4, column t_s: '1e400' is not a finite number"),
    ("t_s,device\n0.5\n", "line 2, column device: None is not an integer"),
    ("root:x:0:0:root:/root:/bin/bash\n", "missing: t_s, device; found: none"),
])
def test_trace_rows_are_finite_and_named_by_file_line(tmp_path, text, expected):
    (tmp_path / "arrivals.csv").write_text(text)
    (line,) = problems(_with_arrival_trace(tmp_path, "arrivals.csv"))
    assert expected in line and "/bin/bash" not in line


def test_a_parquet_trace_with_nan_rates_is_refused_by_row(tmp_path):
    table = pa.table({"t_s": [0.0, 1.0], "device": [0, 0], "rate_bps": [1e6, float("nan")]})
    pq.write_table(table, tmp_path / "rates.parquet")
    raw = one_device()
    raw["channel"]["rate_trace"] = "rates.parquet"
    (line,) = problems(write_scenario(tmp_path, raw))
    assert "rates.parquet row 2, column rate_bps: 'nan' is not a finite number" in line
    (tmp_path / "rates.parquet").write_bytes(b"PAR1 not really")
    (line,) = problems(write_scenario(tmp_path, raw))
    assert "cannot be read as Parquet" in line


@pytest.mark.parametrize("name", ["/dev/zero", "fifo.csv", "folder", "binary.csv"])
def test_trace_paths_that_cannot_be_traces_are_refused_without_reading(tmp_path, name):
    os.mkfifo(tmp_path / "fifo.csv")
    (tmp_path / "folder").mkdir()
    (tmp_path / "binary.csv").write_bytes(b"t_s,device\n\xff\xfe\x00")
    start = time.perf_counter()
    (line,) = problems(_with_arrival_trace(tmp_path, name))
    assert time.perf_counter() - start < 5.0
    assert any(why in line for why in ("not a regular file", "is a folder", "not UTF-8 text"))


@pytest.mark.parametrize("override, field, allowed", [
    ("devices[0].count=100000000000000000000", "devices[0].count", "less than or equal to 1000000"),
    ("devices[0].count=2000000", "devices[0].count", "less than or equal to 1000000"),
    ("devices[0].count=1e6", "devices[0].count", "valid integer"),
    ("edge_servers[0].cores=1000000000", "edge_servers[0].cores", "less than or equal to 100000"),
    ("horizon_s=.inf", "horizon_s", "finite number"),
    ("horizon_s=1e8", "horizon_s", "less than or equal to 10000000"),
    ("seed=-1", "seed", "greater than or equal to 0"),
    ("devices[0].arrivals.rate_per_s=1e308", "devices[0].arrivals.rate_per_s",
     "less than or equal to 10000"),
    ("devices[0].arrivals={process: bursty, rate_low_per_s: 1, rate_high_per_s: 5, "
     "mean_low_s: 1e-9, mean_high_s: 1}", "devices[0].arrivals.mean_low_s",
     "greater than or equal to 0.001"),
    ("market={mechanism: stackelberg, epoch_s: 1e-6}", "market.epoch_s",
     "greater than or equal to 0.01"),
    ("record.row_group_rows=1000000000000", "record.row_group_rows",
     "less than or equal to 10000000"),
    ("channel.tick_s=1e-9", "channel.tick_s", "greater than or equal to 0.001"),
    ("devices[0].energy_per_flop_j=.nan", "devices[0].energy_per_flop_j", "finite number"),
    ("base_stations[0].bandwidth_hz=true", "base_stations[0].bandwidth_hz", "valid number"),
])
def test_every_count_rate_size_and_time_has_a_range(override, field, allowed):
    text = "\n".join(problems(SCENARIOS / "small.yaml", [override]))
    assert f"{field}: " in text and allowed in text


def test_the_estimate_counts_tasks_and_refuses_what_cannot_fit(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import netsim
    from netsim import preflight
    from netsim.cli import main

    loaded = load_scenario(SCENARIOS / "small.yaml", ["devices[0].count=500"])
    found = preflight.estimate(loaded.scenario, loaded.base_dir)
    assert found.tasks == pytest.approx(500 * 1.0 * 60)  # count x rate x horizon
    assert found.ticks == 600 and found.device_rows == pytest.approx(500 * 60 / 5)
    monkeypatch.setattr(preflight, "available_memory_bytes", lambda: 100 << 20)
    with pytest.raises(preflight.PreflightError, match=r"about 30,000 tasks.*100 MiB available"):
        netsim.run(loaded, tmp_path / "refused")
    assert not (tmp_path / "refused").exists()  # refused before anything was written
    small = str(SCENARIOS / "small.yaml")
    refused = CliRunner().invoke(main, ["run", small, "--out", str(tmp_path / "cli"), "--quiet"])
    assert refused.exit_code == 2 and "--ignore-estimate" in refused.output
    ran = CliRunner().invoke(main, ["run", small, "--out", str(tmp_path / "cli"), "--quiet",
                                    "--no-plots", "--ignore-estimate", "--set", "horizon_s=5"])
    assert ran.exit_code == 0, ran.output
