"""The `netsim` command: validate, run, report, compare, sweep and train scenarios.

Every command takes its scenario (or folder) as a positional argument, `--quiet` and
`--verbose`, and exits with a documented code (EXIT_CODES). Heavy modules (the engine,
pandas, matplotlib, torch) load inside the commands that use them, so `--help` is fast.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import click

from netsim.solvers.registry import TRAINABLE

EXIT_CODES = {0: "done", 1: "a run (or some runs of a sweep) failed",
              2: "bad input: a scenario, an argument or a folder that is not what it should be",
              130: "interrupted (Ctrl-C or SIGTERM); what was written is readable"}
SET_HELP = ("Override a scenario field, e.g. --set horizon_s=120 or "
            "--set devices[0].count=50 (value parsed as YAML). Repeatable.")
SEEDS_HELP = "Seeds: 0..9 (inclusive), 3, or 0,4,7."
log = logging.getLogger("netsim")


def fail(message: str, code: int = 2) -> None:
    """Say what is wrong on stderr and exit with `code` (see EXIT_CODES)."""
    click.echo(message, err=True)
    sys.exit(code)


def chatty(command: Callable) -> Callable:
    """Add --quiet and --verbose to a command: they set the `netsim` logger's level
    (warnings by default, info with -v, debug with -vv, errors only with --quiet) and
    whether progress bars show."""
    @click.option("-q", "--quiet", is_flag=True, help="Only results and errors: no progress "
                  "bars, no log messages.")
    @click.option("-v", "--verbose", count=True, help="Log what is done (-vv: in detail).")
    @functools.wraps(command)
    def wrapper(*args, quiet: bool, verbose: int, **kwargs):
        level = (logging.ERROR if quiet else logging.WARNING if not verbose
                 else logging.INFO if verbose == 1 else logging.DEBUG)
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", force=True)
        log.setLevel(level)
        click.get_current_context().meta["quiet"] = quiet
        return command(*args, **kwargs)
    return wrapper


def _quiet() -> bool:
    return click.get_current_context().meta.get("quiet", False)


def _console():
    from rich.console import Console

    return Console(stderr=True)


def _load(path: str, overrides: tuple[str, ...]):
    from netsim.scenario import ScenarioError, load_scenario

    try:
        loaded = load_scenario(path, overrides)
    except ScenarioError as err:
        fail(str(err))
    log.info("loaded %s (%s)", path, loaded.scenario.name)
    return loaded


def _seeds(text: str) -> list[int]:
    from netsim.sweep import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as err:
        fail(f"--seeds {text}: {err}")


def _run_folder(folder: str):
    """The tables of a run folder, or a clean error if it is not one."""
    from netsim.record.load import load_run

    try:
        return load_run(folder)
    except (OSError, ValueError) as err:
        fail(f"{folder}: not a netsim run folder ({err})")


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Exit codes: " + "; ".join(f"{code} {what}"
                                               for code, what in EXIT_CODES.items()) + ".")
@click.version_option(package_name="netsim")
def main() -> None:
    """netsim: simulate 6G mobile edge networks described in YAML scenario files.

    \b
    netsim validate scenarios/small.yaml
    netsim run scenarios/urban_6g.yaml --seed 7 --out outputs/urban7
    netsim examples --copy my_scenarios
    """


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@chatty
def validate(scenario: str, overrides: tuple[str, ...]) -> None:
    """Check a scenario file (schema and cross-field rules) without running it."""
    from netsim.preflight import estimate

    loaded = _load(scenario, overrides)
    scn = loaded.scenario
    click.echo(f"{scenario}: ok ({scn.name}: {scn.n_devices} devices, "
               f"{len(scn.base_stations)} base stations, {len(scn.edge_servers)} edge servers, "
               f"{scn.horizon_s:g} s)")
    click.echo(f"estimate: {estimate(scn, loaded.base_dir).describe()}")


@main.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--seed", type=int, default=None, help="Root seed (default: the scenario's).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: outputs/<scenario file name>).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@click.option("--plots/--no-plots", default=True, help="Draw PNG plots after the run.")
@click.option("--ignore-estimate", is_flag=True,
              help="Run even if the pre-flight estimate says it will not fit in memory.")
@click.option("--overwrite", is_flag=True,
              help="Replace the run already in the output folder (its tables, plots, report).")
@chatty
def run_command(scenario: str, seed: int | None, out_dir: str | None,
                overrides: tuple[str, ...], plots: bool, ignore_estimate: bool,
                overwrite: bool) -> None:
    """Run a scenario and write its tables (Parquet), manifest and plots to a folder."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from netsim.analysis.plots import default_window_s, plot_run
    from netsim.analysis.streaming import TaskStats
    from netsim.analysis.summary import summarise
    from netsim.engine import Simulation
    from netsim.preflight import PreflightError, check_fits
    from netsim.record.run_folder import OutputFolderError

    loaded = _load(scenario, overrides)
    if not ignore_estimate:
        try:
            check_fits(loaded.scenario, loaded.base_dir)
        except PreflightError as err:
            fail(f"{scenario}: {err}")
    out = Path(out_dir) if out_dir else Path("outputs") / Path(scenario).stem
    log.info("running %s into %s", scenario, out)
    with Progress(TextColumn("[bold]simulating"), BarColumn(),
                  TextColumn("{task.completed:.0f}/{task.total:.0f} s simulated"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=_console(),
                  disable=_quiet()) as bar:
        job = bar.add_task("run", total=loaded.scenario.horizon_s)
        try:
            sim = Simulation(loaded, out, seed, lambda t, _: bar.update(job, completed=t),
                             overwrite)
            result = sim.run()
        except OutputFolderError as err:
            bar.stop()
            fail(str(err))
        except Exception as err:  # the manifest says `failed`, with this error
            bar.stop()
            fail(f"run failed: {type(err).__name__}: {err}\n(the manifest in {out} says "
                 "'failed'; the tables written so far are readable)", 1)
    manifest = result.manifest
    tables = _run_folder(str(out))
    window_s = default_window_s(tables)
    stats = TaskStats.of(tables, 0.0, window_s)  # one streamed pass for summary and plots
    for line in summarise(tables, stats).lines():
        click.echo(line)
    if plots:
        log.info("drawing plots into %s", out / "plots")
        plot_run(tables, out / "plots", window_s, stats)
    click.echo(f"outputs: {out} ({manifest['status']}, {manifest['sim_time_s']:g} s simulated "
               f"in {manifest['wall_s']:.1f} s)")
    if manifest["status"] == "interrupted":
        fail(f"interrupted at t={manifest['sim_time_s']:.1f} s; the partial run in {out} is "
             "readable (status 'interrupted')", 130)


@main.command("status")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@chatty
def status_command(folder: str) -> None:
    """Say whether a run is complete, running, interrupted, failed or crashed, and what it
    has written (rows per table on disk)."""
    from netsim.record.load import table_rows
    from netsim.record.manifest import read_manifest
    from netsim.record.run_folder import effective_status
    from netsim.record.tables import SCHEMAS

    path = Path(folder)
    try:
        manifest = read_manifest(path)
    except (OSError, ValueError):
        fail(f"{folder}: not a netsim run (no readable manifest.json)")
    status = effective_status(manifest)
    horizon = manifest.get("scenario", {}).get("horizon_s")
    click.echo(f"{folder}: {status} (run {manifest.get('run_id', '?')}, pid "
               f"{manifest.get('pid', '?')} on {manifest.get('host', '?')}, started "
               f"{manifest.get('started_at', '?')})")
    click.echo(f"  simulated {manifest.get('sim_time_s', 0.0):g} of {horizon} s")
    if manifest.get("error"):
        click.echo(f"  error: {manifest['error']}")
    for name in SCHEMAS:
        click.echo(f"  {name}: {table_rows(path, name, manifest.get('run_id')):,} rows written")


@main.command("train")
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--solver", type=click.Choice(TRAINABLE), required=True)
@click.option("--epochs", type=int, default=500, show_default=True,
              help="Training epochs, each a batch of --batch reward evaluations.")
@click.option("--seeds", default="0..2", show_default=True,
              help=SEEDS_HELP + " One solver is trained per seed.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
@click.option("--states", type=int, default=2048, show_default=True,
              help="Training states drawn from the scenario.")
@click.option("--source", type=click.Choice(["seeds", "runs"]), default="seeds",
              show_default=True, help="seeds: the market's state at t = 0 of the scenario "
              "built from seeds 0, 1, ...; runs: every state its market meets in whole runs "
              "(moving with mobility, queues and batteries; slower to collect).")
@click.option("--batch", type=int, default=512, show_default=True)
@click.option("--reward", type=click.Choice(["utility", "gap", "improved"]), default="utility",
              show_default=True, help="Leader utility, its gap to the optimum, or paper P1's "
              "binary 'improved since the last step'.")
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
@click.option("--save-every", type=click.IntRange(min=0), default=50, show_default=True,
              help="Write checkpoints and curves every N epochs while training (0: only at "
              "the end); an interrupted training keeps the latest.")
@click.option("--resume", is_flag=True, help="Continue an interrupted training in --out from "
              "its latest snapshot (diffusion, ppo), exactly as if it had not stopped.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=SET_HELP)
@chatty
def train_command(scenario: str, solver: str, epochs: int, seeds: str, out_dir: str,
                  states: int, source: str, batch: int, reward: str, device: str,
                  save_every: int, resume: bool, overrides: tuple[str, ...]) -> None:
    """Train a solver on a scenario's market; write checkpoints and learning curves."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from netsim.stop_signals import stop_signals_interrupt
    from netsim.training import train  # torch loads only for this command

    seed_list = _seeds(seeds)
    loaded = _load(scenario, overrides)
    if loaded.scenario.market is None:
        fail(f"{scenario}: no `market:` block, nothing to train on")
    if epochs < 1 or states < 1 or batch < 1:
        fail("--epochs, --states and --batch must be at least 1")
    if resume and solver not in ("diffusion", "ppo"):
        fail(f"--resume is built for the learning solvers (diffusion, ppo), not '{solver}'")
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                  TextColumn("ETA"), TimeRemainingColumn(), console=_console(),
                  disable=_quiet()) as bar:
        job = bar.add_task(f"collecting {states} states from {source}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(job, description=f"training {solver} (epochs)", completed=done,
                       total=total)

        try:
            with stop_signals_interrupt():
                curves = train(loaded, solver, epochs, seed_list, Path(out_dir),
                               n_states=states, batch=batch, device=device, reward=reward,
                               source=source, progress=progress, save_every=save_every,
                               resume=resume)
        except KeyboardInterrupt:
            bar.stop()
            again = (f"; --resume continues from the last snapshot (every {save_every} "
                     "epochs)" if solver in ("diffusion", "ppo") else "")
            fail(f"training stopped: {out_dir} keeps each seed's checkpoint and curves up to "
                 f"its last finished epoch{again}", 130)
    last = curves[curves.epoch == curves.epoch.max()]
    click.echo(f"{solver}: final ratio to the optimum {last.ratio.mean():.4f} "
               f"(mean over {len(seed_list)} seeds); outputs: {out_dir}")


@main.command("report")
@click.argument("folder", type=click.Path(file_okay=False, exists=True))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Where to write (default: FOLDER/report, or FOLDER for training and sweep "
              "folders).")
@click.option("--warmup-s", type=float, default=0.0, show_default=True,
              help="Leave out the first seconds of a run (tasks arriving, samples taken).")
@click.option("--window-s", type=float, default=None,
              help="Time window of the time-series plots (default: 1/60 of the run).")
@click.option("--animate", is_flag=True, help="Also a GIF of the devices moving over the "
              "area (topology.gif; up to 120 frames, a few seconds to draw).")
@chatty
def report_command(folder: str, out_dir: str | None, warmup_s: float,
                   window_s: float | None, animate: bool) -> None:
    """Plots and summary.md for a run folder (netsim run), paper P1's figures for a training
    folder (netsim train), or metrics against swept parameters for a sweep folder."""
    path = Path(folder)
    out = Path(out_dir) if out_dir else None
    if warmup_s < 0 or (window_s is not None and window_s <= 0):
        fail("--warmup-s must be >= 0 and --window-s > 0")
    if list(path.glob("curves-*.parquet")):
        from netsim.analysis.training_plots import plot_training

        written = plot_training(path, out)
    elif (path / "results.parquet").exists():
        from netsim.analysis.report import sweep_report

        written = sweep_report(path, out)
    else:
        from netsim.analysis.report import report

        _run_folder(folder)
        written = report(path, warmup_s, window_s, out, animate)
    for item in written:
        click.echo(str(item))


@main.command("compare")
@click.argument("runs", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="outputs/compare",
              show_default=True)
@click.option("--warmup-s", type=float, default=0.0, show_default=True)
@chatty
def compare_command(runs: tuple[str, ...], out_dir: str, warmup_s: float) -> None:
    """Key metrics of several runs side by side (mean and 95% CI over seeds of the same
    configuration) and overlaid latency CDFs; runs are labelled by the scenario fields in
    which they differ."""
    from netsim.analysis.report import compare

    for folder in runs:
        _run_folder(folder)
    table = compare([Path(r) for r in runs], Path(out_dir), warmup_s)
    columns = [c for c in table.columns if not c.endswith("_ci95")]
    click.echo(table[columns].to_string(index=False))
    click.echo(f"table and plot: {out_dir}")


@main.command("schema")
@click.option("--markdown", is_flag=True, help="A Markdown table of every field instead.")
@chatty
def schema_command(markdown: bool) -> None:
    """Print the JSON Schema of scenario files (every field, its unit, default and range)."""
    import json

    from netsim.scenario.schema import Scenario

    if markdown:
        from netsim.scenario.reference import markdown as reference

        click.echo(reference(), nl=False)
    else:
        click.echo(json.dumps(Scenario.model_json_schema(), indent=2))


@main.command("examples")
@click.option("--copy", "copy_to", type=click.Path(file_okay=False), default=None,
              help="Copy the example scenarios into this folder (created; nothing replaced).")
@chatty
def examples_command(copy_to: str | None) -> None:
    """List the example scenarios shipped with netsim, or copy them to a folder."""
    import shutil

    from netsim.examples import example_files

    files = example_files()
    if copy_to is None:
        for path in files:
            first = path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
            click.echo(f"{path.name:28} {first[:90]}")
        click.echo(f"({len(files)} scenarios in {files[0].parent}; netsim examples --copy DIR)")
        return
    target = Path(copy_to)
    target.mkdir(parents=True, exist_ok=True)
    existing = [p.name for p in files if (target / p.name).exists()]
    if existing:
        fail(f"{copy_to}: already holds {', '.join(existing)}; nothing copied")
    for path in files:
        shutil.copy2(path, target / path.name)
    click.echo(f"{len(files)} scenarios copied to {copy_to}")


@main.command("sweep")
@click.argument("scenario", type=click.Path(dir_okay=False, exists=True))
@click.option("--set", "settings", multiple=True, metavar="KEY=V1,V2,...",
              help="A swept field and its values (a grid over every --set). Repeatable.")
@click.option("--seeds", default="0", show_default=True, help=SEEDS_HELP)
@click.option("--backend", type=click.Choice(["local", "dask"]), default="local",
              show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--address", default=None, help="An existing Dask scheduler, tcp://HOST:8786.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
@chatty
def sweep_command(scenario: str, settings: tuple[str, ...], seeds: str, backend: str,
                  workers: int, address: str | None, out_dir: str) -> None:
    """Run a grid of overrides x seeds; one folder per run and results.parquet."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from netsim.scenario import ScenarioError
    from netsim.sweep import SweepError, sweep

    seed_list = _seeds(seeds)
    try:
        with Progress(TextColumn("[bold]sweep"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} runs"), TimeElapsedColumn(),
                      console=_console(), disable=_quiet()) as bar:
            job = bar.add_task("sweep", total=None)
            table = sweep(scenario, settings, seed_list, Path(out_dir), backend, workers,
                          address, lambda done, total: bar.update(job, completed=done,
                                                                  total=total))
    except (SweepError, ScenarioError, ValueError) as err:
        fail(str(err))
    except KeyboardInterrupt:
        fail(f"sweep stopped: queued runs cancelled; {Path(out_dir) / 'results.parquet'} "
             "lists the runs that finished", 130)
    failed = table[table.status != "complete"]
    skipped = int(table.skipped.sum())
    click.echo(f"{len(table)} runs ({skipped} skipped: already complete with the same scenario, "
               f"values and seed), {len(failed)} not complete; results: "
               f"{Path(out_dir) / 'results.parquet'}")
    for row in failed.itertuples():
        click.echo(f"  {row.run_id}: {row.status}: {row.error}", err=True)
    if len(failed):
        sys.exit(1)


@main.command("profile-model")
@click.option("--layers", type=int, default=12, show_default=True)
@click.option("--width", type=int, default=768, show_default=True)
@click.option("--heads", type=int, default=12, show_default=True)
@click.option("--patch", type=int, default=32, show_default=True)
@click.option("--image", type=int, default=224, show_default=True)
@click.option("--dtype", type=click.Choice(["fp32", "fp16", "int8"]), default="fp32",
              show_default=True, help="Precision of activations and parameters (the "
              "quantisation knob; a device group's `compression` applies it in a scenario).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the profile YAML here (scenarios reference it as workload.model).")
@chatty
def profile_model_command(layers: int, width: int, heads: int, patch: int, image: int,
                          dtype: str, out: str | None) -> None:
    """Build a CLIP-like ViT image encoder (random weights) and measure each layer."""
    from netsim.workload.profiler import VitConfig, profile_model, write_profile

    if min(layers, width, heads, patch, image) < 1:
        fail("--layers, --width, --heads, --patch and --image must be at least 1")
    if width % heads or image % patch:
        fail("--width must be a multiple of --heads and --image of --patch")
    profile = profile_model(VitConfig(layers, width, heads, patch, image), dtype)
    click.echo(f"{'layer':>5} {'GFLOPs':>8} {'activation KiB':>15} {'params MiB':>11} "
               f"{'latency ms':>11}")
    for i, layer in enumerate(profile["layers"], start=1):
        click.echo(f"{i:>5} {layer['flops'] / 1e9:>8.3f} {layer['activation_bytes'] / 1024:>15.1f}"
                   f" {layer['param_bytes'] / 2**20:>11.2f} {layer['latency_s'] * 1e3:>11.2f}")
    click.echo(f"stem {profile['stem_flops'] / 1e9:.3f} GFLOPs, head "
               f"{profile['head_flops'] / 1e9:.4f} GFLOPs")
    if out:
        write_profile(profile, Path(out))
        click.echo(f"profile: {out}")


if __name__ == "__main__":
    main()
