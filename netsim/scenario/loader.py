"""Loading a scenario: safe YAML, `--set` overrides, schema validation, semantic checks.

Every problem becomes a `ScenarioError` whose lines name the file (and line), the field path
(`base_stations[2].bandwidth_hz`), the bad value and what is allowed.
"""

from __future__ import annotations

import math
import re
import reprlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from netsim.inputs import yaml_reader
from netsim.inputs.files import (
    MAX_SCENARIO_BYTES,
    InputFileError,
    read_text,
)
from netsim.network.pathloss import UT_HEIGHT_RANGE_M
from netsim.scenario.identity import problem_hash
from netsim.scenario.schema import GAME_OF_MECHANISM, Scenario, TraceArrivals
from netsim.solvers.checkpoint import CheckpointError, read_meta, verify
from netsim.workload.generation import DiffusionProfile
from netsim.workload.profiles import (
    ProfileError,
    builtin_profiles,
    load_profile,
    resolve_profile_path,
)
from netsim.workload.traces import read_trace, trace_path

# ranges of the per-device distributions (SI units); a normal needs min and max to fit
DEVICE_RANGES = {"compute_flops": (0.0, 1.0e16), "energy_per_flop_j": (0.0, 1.0),
                 "battery_j": (0.0, 1.0e12), "memory_bytes": (0.0, 1.0e15)}
MIN_CONTRACT_ENERGY_PER_FLOP_J = 1.0e-18  # contract types are FLOPs per joule: finite ratios
FLOPS_SCALE_RANGE = (0.0, 1.0e6)


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a scenario: the field path, what is wrong, and the line."""

    path: str
    message: str
    line: int | None = None


class ScenarioError(ValueError):
    """A scenario that cannot be used; `str()` lists every problem, one per line."""

    def __init__(self, source: str, problems: Sequence[Finding]):
        source = _cut(source, 200)
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: invalid scenario ({len(self.problems)} "
                 f"problem{'s' if len(self.problems) != 1 else ''})"]
        for problem in self.problems:
            where = f"{source}:{problem.line}" if problem.line else source
            lines.append(f"  {where}: {problem.path}: {problem.message}")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and the folder its relative paths (traces, profiles) start from."""

    scenario: Scenario
    base_dir: Path


# --------------------------------------------------------------------------- paths

_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> list[str | int]:
    """`devices[0].count` -> ['devices', 0, 'count']."""
    tokens: list[str | int] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        between = text[pos:match.start()]
        if between not in ("", "."):
            raise ValueError(f"cannot parse field path '{text}'")
        tokens.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not tokens or pos != len(text):
        raise ValueError(f"cannot parse field path '{text}'")
    return tokens


def format_path(tokens: Iterable[str | int]) -> str:
    out = ""
    for token in tokens:
        out += f"[{token}]" if isinstance(token, int) else (f".{token}" if out else token)
    return out or "(top level)"


# --------------------------------------------------------------------------- overrides


def apply_overrides(raw: dict, overrides: Sequence[str], source: str) -> list[list[str | int]]:
    """Apply `a.b[0].c=value` overrides (value parsed as YAML) to the raw scenario dict in
    place; return the field paths they set."""
    paths = []
    for item in overrides:
        if "=" not in item:
            raise ScenarioError(source, [Finding(f"--set {item}", "expected KEY=VALUE")])
        key, _, text = item.partition("=")
        try:
            tokens = parse_path(key.strip())
        except ValueError as err:
            raise ScenarioError(source, [Finding(f"--set {item}", str(err))]) from None
        try:
            value = yaml_reader.parse(text)[0] if text.strip() else None
        except yaml_reader.YamlError as err:
            raise ScenarioError(source, [Finding(f"--set {_cut(item)}", err.message)]) from None
        node: Any = raw
        for depth, token in enumerate(tokens[:-1]):
            node = _descend(node, token, tokens[: depth + 1], item, source)
        last = tokens[-1]
        if isinstance(last, int):
            if not isinstance(node, list) or last >= len(node):
                raise ScenarioError(source, [Finding(
                    format_path(tokens), f"--set {item}: no list entry {last} to set")])
            node[last] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ScenarioError(source, [Finding(
                format_path(tokens), f"--set {item}: parent is not a mapping")])
        paths.append(tokens)
    return paths


def _descend(node: Any, token: str | int, so_far: list, item: str, source: str) -> Any:
    if isinstance(token, int):
        if isinstance(node, list) and token < len(node):
            return node[token]
        size = len(node) if isinstance(node, list) else 0
        raise ScenarioError(source, [Finding(
            format_path(so_far), f"--set {item}: index {token} out of range (list has {size})")])
    if isinstance(node, list):
        raise ScenarioError(source, [Finding(
            format_path(so_far), f"--set {item}: {format_path(so_far[:-1])} is a list: "
            f"index it with brackets, e.g. {format_path(so_far[:-1])}[0]")])
    if not isinstance(node, dict):
        raise ScenarioError(source, [Finding(
            format_path(so_far), f"--set {item}: parent is not a mapping")])
    return node.setdefault(token, {})


# --------------------------------------------------------------------------- line numbers


class LineFinder:
    """Line numbers of field paths in the file (of the deepest part of the path the file
    has); none for values that came from --set."""

    def __init__(self, lines: dict[tuple, int] | None = None,
                 overridden: Sequence[Sequence[str | int]] = ()):
        self.lines = lines or {}
        self.overridden = [tuple(path) for path in overridden]

    def __call__(self, tokens: Sequence[str | int]) -> int | None:
        path = tuple(tokens)
        if any(path[: len(o)] == o for o in self.overridden):
            return None
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


# --------------------------------------------------------------------------- validation


def _cut(text: str, limit: int = 80) -> str:
    """Text for an error message, at most `limit` characters."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _clean_loc(loc: Sequence[str | int], raw: Any) -> list[str | int]:
    """Drop pydantic's union tags and wrapper names: keep only steps that exist in `raw`."""
    tokens: list[str | int] = []
    node = raw
    for step in loc:
        in_list = isinstance(step, int) and isinstance(node, list) and step < len(node)
        in_dict = isinstance(step, str) and isinstance(node, dict) and step in node
        if in_list or in_dict:
            node = node[step]
            tokens.append(step)
    return tokens


def _value_at(raw: Any, tokens: Sequence[str | int]) -> Any:
    node = raw
    for token in tokens:
        node = node[token]
    return node


def _pydantic_problems(err: ValidationError, raw: dict, lines: LineFinder) -> list[Finding]:
    problems = []
    seen = set()
    for detail in err.errors(include_url=False):
        loc = detail["loc"]
        tokens = _clean_loc(loc, raw)
        if detail["type"] == "unknown_field":
            tokens = [*tokens, detail["ctx"]["key"]]
            message = detail["msg"].replace(f"field '{detail['ctx']['key']}'", "field")
        elif detail["type"] == "missing":
            last = loc[-1] if loc else None
            if isinstance(last, int):
                message = f"too few items (item {last} is missing)"
            else:
                tokens = [*tokens, last] if last is not None and last not in tokens else tokens
                message = "required field is missing"
        else:
            message = detail["msg"].removeprefix("Value error, ")
            if tokens and "got " not in message:
                message += f" (got {_cut(reprlib.repr(_value_at(raw, tokens)))})"
        key = (tuple(tokens), message)
        if key in seen:
            continue
        seen.add(key)
        problems.append(Finding(format_path(tokens), message, lines(tokens)))
    return problems


def _semantic_problems(scn: Scenario, base_dir: Path) -> list[Finding]:
    """Cross-field checks the schema alone cannot express."""
    problems: list[Finding] = []
    width, height = scn.area.width_m, scn.area.height_m

    def inside(path: str, point: tuple[float, float]) -> None:
        x, y = point
        if not (0.0 <= x <= width and 0.0 <= y <= height):
            problems.append(Finding(path, f"position {list(point)} is outside the area "
                                          f"[0, {width:g}] x [0, {height:g}] m"))

    def unique(kind: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                problems.append(Finding(f"{kind}[{i}]", f"duplicate id '{ident}'"))
            seen.add(ident)

    unique("edge_servers", [s.id for s in scn.edge_servers])
    unique("base_stations", [b.id for b in scn.base_stations])
    unique("devices", [g.group for g in scn.devices])
    server_ids = [s.id for s in scn.edge_servers]
    for i, server in enumerate(scn.edge_servers):
        inside(f"edge_servers[{i}].position_m", server.position_m)
    for i, bs in enumerate(scn.base_stations):
        inside(f"base_stations[{i}].position_m", bs.position_m)
        if bs.server != "cloud" and bs.server not in server_ids:
            allowed = ", ".join([*server_ids, "cloud"])
            problems.append(Finding(f"base_stations[{i}].server",
                                    f"no edge server '{bs.server}' (allowed: {allowed})"))

    n_layers = None
    try:
        profile = load_profile(resolve_profile_path(scn.workload.model, base_dir))
        n_layers = profile.n_layers
        problems.extend(_workload_problems(scn, profile))
    except ProfileError as err:
        builtin = ", ".join(builtin_profiles())
        problems.append(Finding("workload.model", f"{err} (built-in profiles: {builtin}, or "
                                                  "the path of a profile YAML)"))

    def in_range(path: str, dist, low: float, high: float, strict_low: bool) -> None:
        lowest, highest = dist.lower_bound(), dist.upper_bound()
        if not dist.always_above(low, strict_low) or highest > high:
            need = f"{'>' if strict_low else '>='} {low:g} and <= {high:g}"
            problems.append(Finding(path, f"every value must be {need} (this distribution "
                                          f"gives {lowest:g} to {highest:g})"))

    in_range("workload.flops_scale", scn.workload.flops_scale, *FLOPS_SCALE_RANGE, True)
    # the contract's hidden type is FLOPs per joule: it needs energy per FLOP > 0
    contract = scn.market is not None and scn.market.mechanism == "contract"
    for i, group in enumerate(scn.devices):
        where = f"devices[{i}]"
        for name, (low, high) in DEVICE_RANGES.items():
            strict = name == "compute_flops"
            if contract and name == "energy_per_flop_j":
                low, strict = MIN_CONTRACT_ENERGY_PER_FLOP_J, False
            in_range(f"{where}.{name}", getattr(group, name), low, high, strict)
        low, high = UT_HEIGHT_RANGE_M
        if not low <= group.height_m <= high:
            problems.append(Finding(f"{where}.height_m", f"{group.height_m:g} m is outside "
                                    f"{low:g}-{high:g} m, where the 3GPP 38.901 "
                                    f"'{scn.channel.path_loss}' model is valid"))
        if n_layers is not None and group.split_layer > n_layers:
            problems.append(Finding(f"{where}.split_layer", f"{group.split_layer} is not in "
                                    f"0..{n_layers} (layers of '{scn.workload.model}')"))
        placement = group.placement
        if placement.kind == "disc":
            inside(f"{where}.placement.center_m", placement.center_m)
        elif placement.kind == "points":
            for j, point in enumerate(placement.points_m):
                inside(f"{where}.placement.points_m[{j}]", point)
        if group.mobility.model == "waypoints":
            for j, point in enumerate(group.mobility.points_m):
                inside(f"{where}.mobility.points_m[{j}]", point)
        if isinstance(group.arrivals, TraceArrivals):
            problems.extend(_trace_problems(group.arrivals.path, group.count, base_dir,
                                            f"{where}.arrivals.path"))
        if group.mobility.model == "trace":
            problems.extend(_trace_problems(group.mobility.path, group.count, base_dir,
                                            f"{where}.mobility.path", ("x_m", "y_m"),
                                            (width, height)))
    if scn.channel.rate_trace is not None:
        problems.extend(_trace_problems(scn.channel.rate_trace, scn.n_devices, base_dir,
                                        "channel.rate_trace", ("rate_bps",)))
    problems.extend(_event_problems(scn))
    problems.extend(_federated_problems(scn))
    if scn.market is not None and scn.market.solver.checkpoint is not None:
        checkpoint = Path(scn.market.solver.checkpoint)
        checkpoint = checkpoint if checkpoint.is_absolute() else base_dir / checkpoint
        if not checkpoint.exists():
            problems.append(Finding("market.solver.checkpoint",
                                    f"checkpoint {checkpoint} does not exist"))
        else:
            problems.extend(_checkpoint_problems(scn, checkpoint))
    return problems


def _workload_problems(scn: Scenario, profile) -> list[Finding]:
    """The profile must suit the workload's kind; generation settings must be servable."""
    wl = scn.workload
    diffusion = isinstance(profile, DiffusionProfile)
    if (wl.kind == "aigc") != diffusion:
        need = "a diffusion profile" if wl.kind == "aigc" else "a split-inference profile"
        return [Finding("workload.model", f"'{wl.model}' is not {need}, which workload.kind "
                        f"'{wl.kind}' needs")]
    if not diffusion:
        return []
    problems = []
    steps = wl.aigc.steps or profile.default_steps
    if wl.aigc.lower_steps is not None and wl.aigc.lower_steps.steps >= steps:
        problems.append(Finding("workload.aigc.lower_steps.steps", f"{wl.aigc.lower_steps.steps}"
                                f" must be below the steps run otherwise ({steps})"))
    need = profile.param_bytes + wl.aigc.request_memory_bytes
    servers = [(f"edge_servers[{i}]", s.gpu_memory_bytes) for i, s in enumerate(scn.edge_servers)]
    for where, memory in [*servers, ("cloud", scn.cloud.gpu_memory_bytes)]:
        if memory is not None and memory < need:
            problems.append(Finding(f"{where}.gpu_memory_bytes", f"{memory} bytes cannot hold "
                                    f"the model ({profile.param_bytes}) and one request "
                                    f"({wl.aigc.request_memory_bytes})"))
    return problems


def _federated_problems(scn: Scenario) -> list[Finding]:
    """The aggregating server and the groups must exist; a market that selects clients
    needs federated rounds that ask it, one per epoch."""
    fl, market = scn.federated, scn.market
    auction = market is not None and market.mechanism == "participation_auction"
    if fl is None:
        return [Finding("market.mechanism", "participation_auction selects federated "
                        "clients: it needs a `federated` section with selection: market")
                ] if auction else []
    problems = []
    servers = [s.id for s in scn.edge_servers]
    if fl.server != "cloud" and fl.server not in servers:
        problems.append(Finding("federated.server", f"no edge server '{fl.server}' (allowed: "
                                f"{', '.join([*servers, 'cloud'])})"))
    groups = [g.group for g in scn.devices]
    for i, group in enumerate(fl.groups or []):
        if group not in groups:
            problems.append(Finding(f"federated.groups[{i}]", f"no device group '{group}' "
                                    f"(allowed: {', '.join(groups)})"))
    if fl.selection == "market":
        if not auction:
            problems.append(Finding("federated.selection", "market selection needs "
                                    "market.mechanism: participation_auction"))
        elif market.epoch_s != fl.round_s:
            problems.append(Finding("market.epoch_s", f"{market.epoch_s:g} s must equal "
                                    f"federated.round_s ({fl.round_s:g} s): the market selects "
                                    "each round's clients"))
    elif auction:
        problems.append(Finding("federated.selection", f"'{fl.selection}' leaves the "
                                "participation auction nothing to decide: use market"))
    if fl.samples.lower_bound() < 1 or fl.samples.upper_bound() > 1e12:
        problems.append(Finding("federated.samples", "every value must be >= 1 and <= 1e12"))
    return problems


def _event_problems(scn: Scenario) -> list[Finding]:
    """Each event's target must exist (the cloud never fails). Events after the horizon
    never happen (a shortened run keeps its scenario's events)."""
    servers = [s.id for s in scn.edge_servers]
    links = [*(f"{b.id}-{b.server}" for b in scn.base_stations),
             *(f"{s}-cloud" for s in servers)]
    known = {"server_down": ("edge server", servers),
             "base_station_down": ("base station", [b.id for b in scn.base_stations]),
             "link_down": ("link", links), "link_scale": ("link", links),
             "arrival_scale": ("device group", [g.group for g in scn.devices])}
    problems = []
    for i, event in enumerate(scn.events):
        if event.kind in known and event.target not in known[event.kind][1]:
            what, allowed = known[event.kind]
            problems.append(Finding(f"events[{i}].target", f"no {what} '{event.target}' "
                                    f"(allowed: {', '.join(allowed) or 'none'})"))
    return problems


def _checkpoint_problems(scn: Scenario, path: Path) -> list[Finding]:
    """A checkpoint must be one netsim writes (never a pickle), of the solver named, for
    this mechanism, and trained on this scenario unless the transfer is deliberate."""
    spec = scn.market.solver
    try:
        meta = read_meta(path)
        if meta.get("solver") != spec.name:
            raise CheckpointError(f"{path}: a checkpoint of solver '{meta.get('solver')}', "
                                  f"not '{spec.name}'")
        game = GAME_OF_MECHANISM.get(scn.market.mechanism, scn.market.mechanism)
        verify(path, meta, game, problem_hash(scn), spec.allow_other_scenario)
    except CheckpointError as exc:
        return [Finding("market.solver.checkpoint", str(exc))]
    return []


def _trace_problems(path_text: str, count: int, base_dir: Path, where: str,
                    extra: tuple[str, ...] = (), area: tuple[float, float] | None = None,
                    ) -> list[Finding]:
    """Check a trace: columns t_s, device (and `extra` numbers), every row's values finite
    and in range; with `area`, x_m and y_m inside it. The first bad row is reported by its
    line (CSV) or row (Parquet) and column."""
    path = trace_path(path_text, base_dir)
    required = ("t_s", "device", *extra)
    try:
        trace = read_trace(path)
    except InputFileError as err:
        return [Finding(where, str(err))]
    missing = [column for column in required if column not in trace.columns]
    if missing:
        # only names that look like column names: the first line of a file that is not a
        # trace (say /etc/passwd) is not echoed
        shown = [c for c in trace.columns if _COLUMN_NAME.fullmatch(c)]
        return [Finding(where, f"{path}: columns must include {', '.join(required)} (missing: "
                               f"{', '.join(missing)}; found: {', '.join(shown) or 'none'})")]
    for place, row in zip(trace.places, trace.rows):
        for column in required:
            text = row.get(column)
            at = f"{path} {place}, column {column}"
            try:
                value = int(text) if column == "device" else float(text)
            except (TypeError, ValueError, OverflowError):
                kind = "an integer" if column == "device" else "a number"
                return [Finding(where, f"{at}: {_cut(repr(text), 40)} is not {kind}")]
            if not math.isfinite(value):
                return [Finding(where, f"{at}: {text!r} is not a finite number")]
            if column == "t_s" and value < 0:
                return [Finding(where, f"{at}: {value} must be >= 0")]
            if column == "device" and not 0 <= value < count:
                return [Finding(where, f"{at}: {value} is not in 0..{count - 1} (the group's "
                                       "devices)")]
            if column == "rate_bps" and value <= 0:
                return [Finding(where, f"{at}: {value} must be > 0")]
            if area is not None and column in ("x_m", "y_m"):
                limit = area[0] if column == "x_m" else area[1]
                if not 0.0 <= value <= limit:
                    return [Finding(where, f"{at}: {value} is outside [0, {limit:g}] m")]
    return []


def validate(raw: Any, source: str, base_dir: Path, lines: LineFinder | None = None) -> Scenario:
    """Validate a raw mapping into a `Scenario`, or raise `ScenarioError`."""
    lines = lines or LineFinder(None)
    if not isinstance(raw, dict):
        raise ScenarioError(source, [Finding("(top level)", "the file must hold a mapping "
                                                            f"(got {type(raw).__name__})")])
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(source, _pydantic_problems(err, raw, lines)) from None
    problems = _semantic_problems(scenario, base_dir)
    if problems:
        problems = [Finding(p.path, p.message, lines(parse_path(p.path))) for p in problems]
        raise ScenarioError(source, problems)
    return scenario


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> LoadedScenario:
    """Read, override and validate a scenario file."""
    path = Path(path)
    source = str(path)
    try:
        text = read_text(path, "scenario", MAX_SCENARIO_BYTES)
        raw, lines = yaml_reader.parse(text)
    except InputFileError as err:
        raise ScenarioError(source, [Finding("(file)", str(err))]) from None
    except yaml_reader.YamlError as err:
        raise ScenarioError(source, [Finding("(syntax)", err.message, err.line)]) from None
    overridden = []
    if overrides:
        raw = raw if isinstance(raw, dict) else {}
        overridden = apply_overrides(raw, overrides, source)
    base_dir = path.parent.resolve()
    return LoadedScenario(validate(raw, source, base_dir, LineFinder(lines, overridden)),
                          base_dir)
