"""The README's Python example runs as written (on a small run instead of the default one)."""

from __future__ import annotations

import re
from pathlib import Path

import netsim
from tests.conftest import ROOT, SCENARIOS


def test_readme_python_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    (code,) = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S)]
    assert readme.splitlines()[1].startswith("make run") and "make test" in readme.splitlines()[2]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "small.yaml").write_text((SCENARIOS / "small.yaml").read_text())
    netsim.run(netsim.load_scenario(tmp_path / "scenarios" / "small.yaml"),
               tmp_path / "outputs" / "urban_6g")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["result"].manifest["status"] == "complete"
    assert namespace["result"].manifest["scenario"]["horizon_s"] == 30.0
    assert len(namespace["tasks"]) == namespace["run"].manifest["counts"]["arrived"]
    assert Path("outputs/small30/manifest.json").exists()


def test_readme_mechanism_example_runs():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("usable on\ntheir own:\n\n```\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["utility"].shape == (1,) and 0.01 <= namespace["price"][0, 0] <= 3.0


def test_readme_layout_names_every_module():
    readme = (ROOT / "README.md").read_text()
    layout = readme.split("Layout: ", 1)[1].split("\n\n", 1)[0]
    packages = sorted(p.name for p in (ROOT / "netsim").iterdir()
                      if p.is_dir() and not p.name.startswith("__"))
    modules = sorted(p.name for p in (ROOT / "netsim").glob("*.py") if p.name != "__init__.py")
    missing = [f"netsim/{name}" for name in [*packages, *modules]
               if f"`netsim/{name}" not in layout]
    assert missing == []
    for folder in ("solvers/", "scenarios/", "tests/", "benchmarks/"):
        assert f"`{folder}`" in layout
