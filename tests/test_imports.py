"""Imports: no module imports itself in a cycle, and the parts a contributor extends
(mechanisms, solvers, the scenario schema) import without the engine."""

from __future__ import annotations

import ast
import subprocess
import sys

import networkx as nx

from tests.conftest import ROOT

PACKAGES = ("netsim", "solvers")


def _module_name(path) -> str:
    """A file's module name as installed (solvers/ installs as netsim.solvers)."""
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    name = "netsim." + name if name.startswith("solvers") else name
    return name.removesuffix(".__init__")


def _runtime_imports(tree: ast.Module):
    """Module-level imports, without those only a type checker sees."""
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                yield from (alias.name for alias in inner.names)
            elif isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                yield inner.module
                yield from (f"{inner.module}.{alias.name}" for alias in inner.names)


def import_graph() -> nx.DiGraph:
    files = {_module_name(f): f for package in PACKAGES for f in (ROOT / package).rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target in _runtime_imports(tree):
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                graph.add_edge(name, target)
    return graph


def test_no_module_level_import_cycles():
    cycles = list(nx.simple_cycles(import_graph()))
    assert cycles == []


def test_the_graph_sees_real_imports():
    graph = import_graph()
    assert graph.has_edge("netsim.engine", "netsim.market")
    assert graph.has_edge("netsim.solvers.diffusion", "netsim.solvers.learning")


def test_mechanisms_solvers_and_schema_import_without_the_engine():
    code = ("import sys, netsim.mechanisms.stackelberg, netsim.mechanisms.auctions, solvers, "
            "netsim.scenario.schema; print(sorted(m for m in ('netsim.engine', 'simpy', "
            "'pyarrow', 'torch', 'netsim.record.recorder') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_users_own_solvers_folder_does_not_shadow_netsims(tmp_path):
    (tmp_path / "solvers").mkdir()
    (tmp_path / "solvers" / "__init__.py").write_text("raise ImportError('the user\'s own')\n")
    scenario = ROOT / "scenarios" / "paper_case_study.yaml"
    result = subprocess.run([sys.executable, "-m", "netsim.cli", "run", str(scenario), "--set",
                             "horizon_s=60", "--quiet", "--no-plots", "--out", "run"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "market: stackelberg solved by exact" in result.stdout


def test_no_package_level_import_cycles():
    graph = import_graph()
    package = {name: ".".join(name.split(".")[:2]) for name in graph}
    packages = nx.DiGraph((package[a], package[b]) for a, b in graph.edges
                          if package[a] != package[b] and package[b] != "netsim")
    assert list(nx.simple_cycles(packages)) == []


def test_no_module_reads_another_objects_private_attributes():
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                        and not node.attr.startswith("__")
                        and ast.unparse(node.value) not in ("self", "cls")):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


def test_registries_and_the_schema_name_the_same_models():
    import typing

    from netsim.market.bindings import BINDINGS
    from netsim.network.fading import FADING_MODELS
    from netsim.network.mobility import MOBILITY_MODELS
    from netsim.network.pathloss import PATH_LOSS_MODELS
    from netsim.scenario import schema
    from netsim.workload.arrivals import ARRIVAL_PROCESSES

    def variants(union, tag: str) -> set[str]:
        members = typing.get_args(typing.get_args(union)[0])
        return {typing.get_args(m.model_fields[tag].annotation)[0] for m in members}

    assert variants(schema.Mobility, "model") == set(MOBILITY_MODELS)
    assert variants(schema.Arrivals, "process") == set(ARRIVAL_PROCESSES)
    mechanisms = typing.get_args(schema.MarketSpec.model_fields["mechanism"].annotation)
    assert set(mechanisms) == set(BINDINGS)
    fading = typing.get_args(schema.ChannelSpec.model_fields["fading"].annotation)
    assert set(fading) == set(FADING_MODELS)
    path_loss = typing.get_args(schema.ChannelSpec.model_fields["path_loss"].annotation)
    assert set(path_loss) == set(PATH_LOSS_MODELS)
