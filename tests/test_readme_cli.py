"""Every netsim command shown in the README runs, in order, in a scratch folder (heavy
arguments scaled down: fewer epochs, seeds and simulated seconds)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys

from tests.conftest import ROOT

SCALE = [("--epochs 500", "--epochs 2 --states 64 --batch 64"),
         ("--epochs 120", "--epochs 2 --states 64 --batch 64"), ("--seeds 0..2", "--seeds 0"),
         ("--seeds 0..4", "--seeds 0"), ("horizon_s=600", "horizon_s=60")]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```\n(.*?)```", text, re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(".venv/bin/netsim") and "..." not in line:
                commands.append(line)
    return commands


def test_readme_commands_run(tmp_path):
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    commands = readme_commands()
    assert len(commands) >= 11
    for command in commands:
        for old, new in SCALE:
            command = command.replace(old, new)
        argv = [sys.executable, "-m", "netsim.cli", *shlex.split(command)[1:]]
        if argv[3] == "run" and "horizon_s" not in command:
            argv += ["--set", "horizon_s=60", "--no-plots", "--quiet"]
        result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    assert (tmp_path / "outputs" / "small7" / "report" / "summary.md").exists()
    assert (tmp_path / "outputs" / "train_case" / "training_curves.png").exists()
    assert (tmp_path / "outputs" / "train_bw" / "diffusion-seed0.safetensors").exists()
    assert (tmp_path / "outputs" / "cmp" / "compare.csv").exists()
    assert (tmp_path / "outputs" / "sweep1" / "results.parquet").exists()
