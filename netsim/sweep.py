"""Sweeps: a grid of `--set` values x seeds, each an independent simulation, on a process pool
(`local`, the default) or a Dask cluster (`dask`: a LocalCluster on 127.0.0.1, or an existing
scheduler's address). Tasks ship the scenario's path and overrides, never Python objects;
every run writes its own folder under the sweep folder, and `results.parquet` holds one row
per run (parameters, seed, status, attempts, error, key metrics, wall time). A failed run is
retried once and recorded with its error.

Each run's folder is named by a hash of (the scenario file's content, its overrides in order,
the seed), and holds that key in `run.json`: a sweep started again skips exactly the runs that
are complete for the same key, and runs of another grid (or an edited scenario) in the same
folder are left alone, never relabelled.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import signal
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from netsim.inputs import yaml_reader
from netsim.scenario.loader import ScenarioError, load_scenario
from netsim.stop_signals import stop_signals_interrupt

Progress = Callable[[int, int], None]  # (runs finished, runs in all)


def split_values(text: str) -> list[str]:
    """Split on commas outside brackets and braces: `a,{x: 1, y: 2},[1, 2]` -> 3 values."""
    values, depth, current = [], 0, ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            values.append(current.strip())
            current = ""
        else:
            current += char
    values.append(current.strip())
    return [v for v in values if v]


def parse_grid(settings: Sequence[str]) -> list[tuple[str, list[str]]]:
    """`key=v1,v2` items -> [(key, [v1, v2])] (values kept as text; YAML parses them later)."""
    grid = []
    for item in settings:
        if "=" not in item:
            raise ValueError(f"--set {item}: expected KEY=VALUE[,VALUE...]")
        key, _, values = item.partition("=")
        grid.append((key.strip(), split_values(values)))
    return grid


def parse_seeds(text: str) -> list[int]:
    """`0..9` (inclusive), `3`, or `0,4,7`."""
    if ".." in text:
        first, last = (int(x) for x in text.split("..", 1))
        if last < first:
            raise ValueError("the range is empty")
        return list(range(first, last + 1))
    return [int(x) for x in split_values(text)]


@dataclass(frozen=True)
class RunSpec:
    run_id: str
    params: dict[str, str]
    seed: int

    @property
    def cells(self) -> dict[str, Any]:
        """Parameter values for the results table: numbers as numbers, the rest as text."""
        out = {}
        for key, text in self.params.items():
            try:
                value = yaml_reader.parse(text)[0]
            except yaml_reader.YamlError:
                value = text
            out[key] = value if isinstance(value, (int, float, str, bool)) else text
        return out

    @property
    def identity(self) -> dict[str, Any]:
        """What `run.json` holds: the key's inputs besides the scenario's content."""
        return {"run_id": self.run_id, "params": [[k, v] for k, v in self.params.items()],
                "seed": self.seed}

    @property
    def overrides(self) -> list[str]:
        return [f"{key}={value}" for key, value in self.params.items()]


def run_key(scenario_text: bytes, params: dict[str, str], seed: int) -> str:
    """The identity of one run: its folder name, from what determines its results."""
    digest = hashlib.sha256(scenario_text)
    digest.update(json.dumps([list(params.items()), seed]).encode("utf-8"))
    return f"run-{digest.hexdigest()[:16]}"


def expand(grid: list[tuple[str, list[str]]], seeds: Sequence[int],
           scenario_text: bytes) -> list[RunSpec]:
    """Every (grid point, seed) in grid order, each keyed by `run_key`."""
    keys = [key for key, _ in grid]
    specs = []
    for combo in itertools.product(*(values for _, values in grid)):
        params = dict(zip(keys, combo))
        for seed in seeds:
            specs.append(RunSpec(run_key(scenario_text, params, seed), params, seed))
    return specs


def run_metrics(run_dir: Path) -> dict[str, Any]:
    """Key metrics of a finished run folder (for results.parquet)."""
    from netsim.analysis.summary import summarise
    from netsim.record.load import load_run

    tables = load_run(run_dir)
    summary = summarise(tables)
    metrics = {"tasks": summary.arrived, "done": summary.done,
               "missed_fraction": (summary.deadline_missed + summary.dropped)
               / max(summary.arrived, 1),
               "mean_latency_s": summary.mean_latency_s, "p95_latency_s": summary.p95_latency_s,
               "mean_uplink_rate_bps": summary.mean_uplink_rate_bps,
               "sim_wall_s": float(tables.manifest.get("wall_s", np.nan))}
    market = summary.market or {}
    metrics.update({"leader_utility": market.get("mean_leader_utility", np.nan),
                    "optimum_utility": market.get("mean_optimum_utility", np.nan),
                    "random_utility": market.get("mean_random_utility", np.nan),
                    "regret": market.get("regret", np.nan), "score": market.get("score", np.nan),
                    "ratio": market.get("ratio", np.nan)})
    return metrics


def execute(scenario: str, spec: RunSpec, out_dir: str) -> dict[str, Any]:
    """One run, retried once; never raises (the row says what happened). Runs on workers."""
    from netsim.engine import run

    run_dir = Path(out_dir) / spec.run_id
    row: dict[str, Any] = {"run_id": spec.run_id, **spec.cells, "seed": spec.seed}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run.json").write_text(json.dumps(spec.identity))
    start = time.perf_counter()
    for attempt in (1, 2):
        try:
            loaded = load_scenario(scenario, spec.overrides)
            # the run folder is the sweep's own: a retry or a rerun replaces what is there
            # one run per core already: no helper process on top (network/movement.py)
            result = run(loaded, run_dir, seed=spec.seed, overwrite=True, second_core=False)
            row.update(status=result.manifest["status"], attempts=attempt, error=None,
                       **run_metrics(run_dir))
            break
        except Exception as exc:  # recorded in the results row, then retried once
            row.update(status="failed", attempts=attempt,
                       error=f"{type(exc).__name__}: {exc}".strip()[:2000])
            last_trace = traceback.format_exc()
    if row["status"] == "failed":
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "error.txt").write_text(last_trace)
    row["wall_s"] = time.perf_counter() - start
    return row


def _complete_row(out_dir: Path, spec: RunSpec) -> dict[str, Any] | None:
    """The results row of a run already complete under exactly this key, else None."""
    manifest, identity = out_dir / spec.run_id / "manifest.json", out_dir / spec.run_id / "run.json"
    if not (manifest.exists() and identity.exists()):
        return None
    if json.loads(identity.read_text()) != spec.identity:
        return None
    if json.loads(manifest.read_text()).get("status") != "complete":
        return None
    return {"run_id": spec.run_id, **spec.cells, "seed": spec.seed, "status": "complete",
            "attempts": 0, "error": None, **run_metrics(out_dir / spec.run_id),
            "wall_s": 0.0, "skipped": True}


def _ignore_ctrl_c() -> None:
    """Workers leave Ctrl-C to the sweep: a run in progress still stops on it (a run takes
    the signal while it runs), but a worker between runs does not die of it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _local(scenario: str, todo: list[RunSpec], out_dir: Path, workers: int) -> Iterator[dict]:
    """Rows as runs finish. On Ctrl-C (KeyboardInterrupt here) the queued runs are
    cancelled, the running ones asked to stop (SIGTERM: they end `interrupted`), and the
    rows of runs that still finished are given before the interrupt goes on."""
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_ctrl_c)
    futures = [pool.submit(execute, scenario, spec, str(out_dir)) for spec in todo]
    given = set()
    try:
        for future in as_completed(futures):
            given.add(future)
            yield future.result()
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        # the executor keeps no public list of its workers; _processes is the one place
        for process in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(ProcessLookupError, OSError):
                os.kill(process.pid, signal.SIGTERM)
        pool.shutdown(wait=True, cancel_futures=True)
        for future in futures:  # runs that ended while the pool stopped
            if future not in given and future.done() and not future.cancelled() \
                    and future.exception() is None:
                yield future.result()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _dask(scenario: str, todo: list[RunSpec], out_dir: Path, workers: int,
          address: str | None) -> Iterator[dict]:
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_completed
    except ImportError:
        raise RuntimeError("--backend dask needs Dask distributed: pip install 'netsim[dask]'") \
            from None
    cluster = None
    if address is None:
        cluster = LocalCluster(host="127.0.0.1", n_workers=workers, threads_per_worker=1,
                               processes=True, dashboard_address=None)
    client = Client(address or cluster)
    try:
        futures = client.map(execute, [scenario] * len(todo), todo, [str(out_dir)] * len(todo),
                             pure=False)
        for future in dask_completed(futures):
            yield future.result()
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class SweepError(ValueError):
    """A grid with points that do not validate: nothing was run."""


def validate_grid(scenario: str | Path, specs: Sequence[RunSpec]) -> None:
    """Load the scenario at every distinct grid point before anything runs; a SweepError
    listing each invalid point otherwise (a bad value would fail every run of it)."""
    problems, seen = [], set()
    for spec in specs:
        key = tuple(spec.overrides)
        if key in seen:
            continue
        seen.add(key)
        try:
            load_scenario(scenario, spec.overrides)
        except ScenarioError as err:
            where = ", ".join(spec.overrides) or "(the scenario itself)"
            problems.append(f"{where}:\n" + "\n".join(str(err).splitlines()[1:]))
    if problems:
        raise SweepError(f"{scenario}: {len(problems)} grid point(s) do not validate; nothing "
                         "was run\n" + "\n".join(problems))


@stop_signals_interrupt()  # Ctrl-C and SIGTERM stop it, whatever the process started with
def sweep(scenario: str | Path, settings: Sequence[str], seeds: Sequence[int], out_dir: Path,
          backend: str = "local", workers: int = 2, address: str | None = None,
          progress: Progress | None = None) -> pd.DataFrame:
    """Run the grid x seeds; write results.parquet (one row per finished run, in grid order)
    as runs finish, and return it. The whole grid is validated first (SweepError). On
    Ctrl-C, queued runs are cancelled, results.parquet keeps the runs that finished, and
    KeyboardInterrupt propagates."""
    specs = expand(parse_grid(settings), seeds, Path(scenario).read_bytes())
    validate_grid(scenario, specs)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "sweep.yaml").write_text(yaml.safe_dump(
        {"scenario": str(scenario), "set": list(settings), "seeds": list(seeds),
         "runs": {s.run_id: {"params": s.params, "seed": s.seed} for s in specs}}))
    rows = [row for spec in specs if (row := _complete_row(out_dir, spec)) is not None]
    done_ids = {row["run_id"] for row in rows}
    todo = [spec for spec in specs if spec.run_id not in done_ids]
    order = {spec.run_id: i for i, spec in enumerate(specs)}  # the grid's order
    if progress is not None:
        progress(len(rows), len(specs))
    if backend == "local":
        results = _local(str(scenario), todo, out_dir, workers)
    elif backend == "dask":
        results = _dask(str(Path(scenario).resolve()), todo, out_dir.resolve(), workers,
                        address)
    else:
        raise ValueError(f"unknown backend '{backend}' (allowed: local, dask)")
    table = _write_results(out_dir, rows, order)

    def add(row: dict) -> None:
        nonlocal table
        if row["status"] == "interrupted":  # stopped by a Ctrl-C: not a finished run
            return
        rows.append({**row, "skipped": False})
        table = _write_results(out_dir, rows, order)
        if progress is not None:
            progress(len(rows), len(specs))

    try:
        for row in results:
            add(row)
    except KeyboardInterrupt:
        # wherever the interrupt landed, let the backend stop and hand over the rows of runs
        # that still finished (a backend already stopped re-raises at once)
        with contextlib.suppress(KeyboardInterrupt, StopIteration):
            row = results.throw(KeyboardInterrupt())
            while True:
                add(row)
                row = next(results)
        # a run may complete just as its worker is stopped, before it hands its row back:
        # its folder says so, and the results keep it
        given = {row["run_id"] for row in rows}
        for spec in todo:
            if spec.run_id not in given and (row := _complete_row(out_dir, spec)) is not None:
                rows.append({**row, "skipped": False})  # it ran here; its wall time is lost
        _write_results(out_dir, rows, order)
        raise
    return table


def _write_results(out_dir: Path, rows: list[dict], order: dict[str, int]) -> pd.DataFrame:
    """results.parquet of the finished runs so far, in grid order (atomically replaced)."""
    table = pd.DataFrame(rows)
    if len(table):
        table = table.iloc[np.argsort([order[r] for r in table.run_id], kind="stable")]
    table = table.reset_index(drop=True)
    tmp = out_dir / "results.parquet.tmp"
    table.to_parquet(tmp, index=False)
    tmp.replace(out_dir / "results.parquet")
    return table
