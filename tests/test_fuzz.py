"""Fuzzing the scenario loader and the runs of what it accepts.

Thousands of hostile scenario files, mutated from the shipped ones as text and as data, must
each load or fail with `ScenarioError`: no other exception, no hang, no code run. A sample
of the mutants that validate runs for a few simulated seconds: each must complete, with
finite times, or be refused by the pre-flight estimate; none may raise."""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netsim
from netsim.preflight import PreflightError
from tests.conftest import SCENARIOS

SOURCES = {path.name: path.read_text() for path in sorted(SCENARIOS.glob("*.yaml"))}
HOSTILE_VALUES = [
    None, True, False, 0, -1, 1, 2**64, -(2**63), 10**400, 1e308, -1e308, 5e-324, float("nan"),
    float("inf"), float("-inf"), -0.0, "", "x" * 10_000, "1e3", "0x10", "nan", "\u202e", "\0",
    [], [1], [1, 2, 3], [[]], {}, {"a": 1}, {"uniform": [1, 0]}, {"normal": {"mean": 0}},
    "/dev/zero", "/etc/passwd", "../../../../etc/shadow", "~", "*", "!!python/none",
]
TEXT_SNIPPETS = [
    "\n- ", ": ", "{", "}", "[", "]", "&a ", "*a", "!!python/object/apply:os.mkdir [MARKER]",
    "!!python/object/apply:builtins.open [MARKER, w]", "!!python/name:os.system ",
    "!!binary AAAA", "<<: *a\n", "\t", "%YAML 1.1\n", "---\n", "...\n", "? ", "|\n  x\n", "\xff",
    "\ufeff", "\x00", "#", "'", '"', "\\", "\r\n", "9" * 5000, "." * 3, "-.inf", ".nan",
]
FUZZ_TIME_BUDGET_S = 120.0


def _paths(node, prefix=()):
    """Every field path of a parsed scenario."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


def _set(node, path, value):
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def data_mutant(rng: random.Random) -> str:
    """A shipped scenario with 1-3 fields replaced by hostile values, or removed."""
    raw = yaml.safe_load(SOURCES[rng.choice(sorted(SOURCES))])
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _paths(raw) if p]
        path = rng.choice(paths)
        if rng.random() < 0.15 and isinstance(path[-1], str):
            parent = raw
            for step in path[:-1]:
                parent = parent[step]
            parent.pop(path[-1], None)
            continue
        parent = raw
        for step in path[:-1]:
            parent = parent[step]
        original = parent[path[-1]]
        number = isinstance(original, (int, float)) and not isinstance(original, bool)
        if number and rng.random() < 0.6:  # a plausible but extreme value of the same field
            try:
                value = original * rng.choice([0, -1, 0.5, 2, 10, 1e3, 1e6, 1e-3, 1e-6])
                value = int(value) if isinstance(original, int) and math.isfinite(value) \
                    else value
            except OverflowError:  # a huge integer from an earlier mutation
                value = -original
        else:
            value = copy.deepcopy(rng.choice(HOSTILE_VALUES))  # never shared between files
        _set(raw, path, value)
    try:
        return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    except (ValueError, OverflowError, yaml.YAMLError):
        return yaml.safe_dump({"name": "x"})


def text_mutant(rng: random.Random, marker: Path) -> bytes:
    """A shipped scenario's text with snippets inserted, bytes flipped or lines repeated;
    payloads that would create `marker` if anything ran them."""
    text = SOURCES[rng.choice(sorted(SOURCES))]
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(text) + 1)
        kind = rng.random()
        if kind < 0.5:
            snippet = rng.choice(TEXT_SNIPPETS).replace("MARKER", f"'{marker}'")
            text = text[:pos] + snippet + text[pos:]
        elif kind < 0.7:
            lines = text.splitlines(keepends=True)
            i = rng.randrange(len(lines))
            text = "".join([*lines[:i + 1], lines[i], *lines[i + 1:]])  # a duplicate key
        elif kind < 0.85:
            text = text[:pos]
        else:
            text = text[:pos] + "a: " + "[" * rng.randint(10, 3000) + text[pos:]
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.2:
        data = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data)
    return data


def _load(path: Path, accepted: list[Path]) -> None:
    start = time.perf_counter()
    try:
        netsim.load_scenario(path)
    except netsim.ScenarioError as err:
        assert str(err).startswith(str(path)) or str(path).startswith(err.source.rstrip(".")), err
    else:
        accepted.append(path)
    assert time.perf_counter() - start < 10.0, f"{path} took {time.perf_counter() - start:.1f} s"


@pytest.fixture(scope="module")
def accepted_mutants(tmp_path_factory):
    """Load 2,000 mutants (half text, half data); return the ones that validated."""
    folder = tmp_path_factory.mktemp("fuzz")
    marker = folder / "PWNED"
    rng = random.Random(20261130)
    accepted: list[Path] = []
    start = time.perf_counter()
    for i in range(2000):
        path = folder / f"m{i:04d}.yaml"
        if i % 2:
            path.write_bytes(text_mutant(rng, marker))
        else:
            path.write_text(data_mutant(rng), encoding="utf-8")
        _load(path, accepted)
    elapsed = time.perf_counter() - start
    assert elapsed < FUZZ_TIME_BUDGET_S, f"2,000 mutants took {elapsed:.0f} s"
    assert not marker.exists()  # no payload ran
    return accepted


def test_two_thousand_mutants_load_or_fail_with_the_projects_error(accepted_mutants):
    # the mutants exercise both outcomes: some still validate, most do not
    assert 50 <= len(accepted_mutants) <= 1900


def test_validated_mutants_run_without_a_traceback(accepted_mutants, tmp_path):
    sample = random.Random(7).sample(accepted_mutants, min(40, len(accepted_mutants)))
    for i, path in enumerate(sample):
        loaded = netsim.load_scenario(path, ["horizon_s=2", "record.device_sample_s=1"])
        try:
            result = netsim.run(loaded, tmp_path / f"run{i}")
        except PreflightError:
            continue  # refused before running: an honest outcome
        assert result.manifest["status"] == "complete", (path, result.manifest.get("error"))
        tasks = netsim.load_run(tmp_path / f"run{i}").tasks
        done = tasks[tasks.status == "done"]
        assert np.isfinite(done.t_done.to_numpy(float)).all(), path
        assert np.isfinite(done.t_arrival.to_numpy(float)).all(), path


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_load_or_fail_with_the_projects_error(tmp_path, data):
    path = tmp_path / "any.yaml"
    path.write_bytes(data)
    with contextlib.suppress(netsim.ScenarioError):
        netsim.load_scenario(path)


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("t_s,devicexmyrab0123456789.-+eE\n\"' nainf")),
               max_size=300))
def test_arbitrary_trace_files_load_or_fail_with_the_projects_error(tmp_path, text):
    from tests.conftest import one_device, write_scenario

    (tmp_path / "trace.csv").write_text(text)
    raw = one_device()
    raw["devices"][0]["arrivals"] = {"process": "trace", "path": "trace.csv"}
    try:
        loaded = netsim.load_scenario(write_scenario(tmp_path, raw), ["horizon_s=1"])
    except netsim.ScenarioError:
        return
    result = netsim.run(loaded, tmp_path / "run")  # a trace that validates replays
    assert result.manifest["status"] == "complete"
    arrivals = netsim.load_run(tmp_path / "run").tasks.t_arrival.to_numpy(float)
    assert all(math.isfinite(t) and 0.0 <= t < 1.0 for t in arrivals)
