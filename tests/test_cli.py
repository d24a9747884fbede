"""The command line: one positional scenario or folder per command, one seed syntax,
--quiet and --verbose everywhere, clean errors with documented exit codes, a fast --help,
and `compare` labels that say how runs differ."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from netsim.cli import EXIT_CODES, main
from tests.conftest import ROOT, SCENARIOS, one_device, write_scenario

SMALL = str(SCENARIOS / "small.yaml")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_help_is_fast():
    best = min(_wall([sys.executable, "-m", "netsim.cli", "--help"]) for _ in range(3))
    assert best < 0.5, f"--help took {best:.2f} s"


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, capture_output=True, check=True, timeout=60)
    return time.perf_counter() - start


def test_every_command_takes_quiet_and_verbose():
    for name, command in main.commands.items():
        options = {p.name for p in command.params}
        assert {"quiet", "verbose"} <= options, name


@pytest.mark.parametrize("args, message", [
    (("report", "."), "not a netsim run folder"),
    (("compare", "."), "not a netsim run folder"),
    (("status", "."), "not a netsim run"),
    (("sweep", SMALL, "--seeds", "4..1", "--out", "x"), "--seeds 4..1: the range is empty"),
    (("train", SMALL, "--solver", "constant", "--seeds", "4..1", "--out", "x"),
     "--seeds 4..1: the range is empty"),
    (("train", SMALL, "--solver", "constant", "--out", "x"), "no `market:` block"),
    (("run", "missing.yaml"), "scenario missing.yaml does not exist"),
    (("sweep", SMALL, "--workers", "0", "--out", "x"), "--workers"),
    (("report", str(SCENARIOS), "--window-s", "0"), "--window-s"),
    (("profile-model", "--width", "100", "--heads", "3"), "multiple of --heads"),
])
def test_misuse_gets_a_clean_error_and_a_documented_code(tmp_path, monkeypatch, args,
                                                         message):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code in EXIT_CODES and result.exit_code != 0, result.output
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.count(message) == 1  # said once, not twice
    assert "Traceback" not in result.output and not isinstance(result.exception,
                                                               (KeyError, AttributeError))


def test_report_writes_where_asked_and_compare_labels_differences(tmp_path):
    scenario = write_scenario(tmp_path, one_device(horizon_s=5.0))
    runs = []
    for horizon, seed in ((5.0, 0), (5.0, 1), (6.0, 0)):
        out = tmp_path / f"run-{horizon}-{seed}"
        result = invoke("run", str(scenario), "--set", f"horizon_s={horizon}", "--seed",
                        str(seed), "--out", str(out), "--no-plots", "--quiet")
        assert result.exit_code == 0, result.output
        runs.append(str(out))
    result = invoke("report", runs[0], "--out", str(tmp_path / "mine"), "-q")
    assert result.exit_code == 0 and (tmp_path / "mine" / "summary.md").exists()
    result = invoke("compare", *runs, "--out", str(tmp_path / "cmp"), "-q")
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    assert table.configuration.tolist() == ["horizon_s=5.0", "horizon_s=6.0"]
    assert table.runs.tolist() == [2, 1]  # two seeds of one configuration, grouped


def test_examples_are_listed_and_copied(tmp_path):
    listed = invoke("examples")
    shipped = sorted(p.name for p in SCENARIOS.glob("*.yaml"))
    assert listed.exit_code == 0 and all(name in listed.output for name in shipped)
    assert invoke("examples", "--copy", str(tmp_path / "mine")).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "mine").glob("*.yaml")) == shipped
    again = invoke("examples", "--copy", str(tmp_path / "mine"))
    assert again.exit_code == 2 and "nothing copied" in again.output


def test_verbose_logs_what_is_done(tmp_path):
    scenario = write_scenario(tmp_path, one_device(horizon_s=2.0))
    result = subprocess.run([sys.executable, "-m", "netsim.cli", "run", str(scenario), "-v",
                             "--quiet", "--no-plots", "--out", str(tmp_path / "r")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0
    assert "INFO netsim: loaded" not in result.stderr  # --quiet wins over -v
    result = subprocess.run([sys.executable, "-m", "netsim.cli", "validate", str(scenario),
                             "-v"], capture_output=True, text=True, timeout=300)
    assert "INFO netsim: loaded" in result.stderr
