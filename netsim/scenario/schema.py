"""Pydantic models of a scenario file: the one place where fields, units and defaults live.

Every field name carries its unit (`_s`, `_m`, `_hz`, `_bps`, `_flops`, `_j`, `_bytes`, `_dbm`,
`_db`). Models are frozen and reject unknown keys with a "did you mean" hint.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    model_validator,
)
from pydantic_core import PydanticCustomError

from netsim.network.fading import FADING_MODELS
from netsim.network.pathloss import PATH_LOSS_MODELS
from netsim.solvers.registry import LEARNS_ONLINE, NEEDS_CHECKPOINT
from netsim.solvers.registry import NAMES as SOLVER_NAMES
from netsim.workload.compression import NAMES as COMPRESSION_LEVELS

# the documented ranges of scenario numbers: far beyond any sensible scenario, small enough
# that whatever validates can run (the pre-flight estimate then checks this machine)
MAX_TIME_S = 1.0e7  # about 116 days
MIN_TICK_S = 1.0e-3
MIN_EPOCH_S = 0.01
MIN_STATE_S = 1.0e-3  # bursty arrivals: shortest mean time in a state
MAX_DEVICES = 1_000_000
MAX_CORES = 100_000
MAX_CORE_FLOPS = 1.0e16
MAX_BANDWIDTH_HZ = 1.0e11
MAX_RATE_PER_S = 1.0e4  # tasks per second per device
MAX_SPEED_MPS = 1000.0
MAX_BYTES = 1 << 40
MAX_SEED = 2**63 - 1
TAIL_CUT = 40.0  # unbounded distributions end this many std (means) out: P < 1e-17

Rate = Annotated[float, Field(gt=0.0, le=MAX_RATE_PER_S)]
Speed = Annotated[float, Field(gt=0.0, le=MAX_SPEED_MPS)]


def _sequence_as_tuple(value: Any) -> Any:
    """YAML gives lists: validate them as tuples (items stay strictly typed)."""
    return tuple(value) if isinstance(value, list) else value


def Pair(item: Any) -> Any:
    """Two values of type `item`, written as a YAML list of two."""
    return Annotated[tuple[item, item], BeforeValidator(_sequence_as_tuple)]


Position = Pair(float)


class StrictModel(BaseModel):
    """Base of every scenario model: frozen, unknown keys rejected with a suggestion, strict
    types (no booleans or strings where numbers belong, no float where an integer does) and
    no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = list(cls.model_fields)
            for key in data:
                if key not in cls.model_fields:
                    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                    hint = f"; did you mean '{close[0]}'?" if close else ""
                    raise PydanticCustomError(
                        "unknown_field",
                        "unknown field '{key}'{hint} (allowed: {allowed})",
                        {"key": str(key), "hint": hint, "allowed": ", ".join(allowed)},
                    )
        return data


# --------------------------------------------------------------------------- distributions


class NormalSpec(StrictModel):
    mean: float
    std: NonNegativeFloat
    min: float | None = None
    max: float | None = None


class ChoiceSpec(StrictModel):
    values: list[float] = Field(min_length=1)
    weights: list[NonNegativeFloat] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> ChoiceSpec:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights has {len(self.weights)} entries, values has {len(self.values)}; "
                    "they must have the same length"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be 0")
        return self


class ExponentialSpec(StrictModel):
    mean: PositiveFloat


class Distribution(StrictModel):
    """A number, or exactly one of `uniform: [lo, hi]`, `normal: {...}`, `choice: {...}`,
    `exponential: {mean: ...}`: how an attribute varies across devices or tasks."""

    constant: float | None = None
    uniform: Pair(float) | None = None
    normal: NormalSpec | None = None
    choice: ChoiceSpec | None = None
    exponential: ExponentialSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _number_is_constant(cls, data: Any) -> Any:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"constant": data}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Distribution:
        given = [k for k in ("constant", "uniform", "normal", "choice", "exponential")
                 if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "give a number or exactly one of uniform: [lo, hi], normal: {mean, std}, "
                f"choice: {{values, weights}}, exponential: {{mean}} (got {given or 'none'})"
            )
        if self.uniform is not None and self.uniform[0] > self.uniform[1]:
            raise ValueError(f"uniform needs lo <= hi (got {list(self.uniform)})")
        return self

    def lower_bound(self) -> float:
        """The infimum of the values this distribution can produce (-inf if unbounded)."""
        if self.constant is not None:
            return self.constant
        if self.uniform is not None:
            return self.uniform[0]
        if self.normal is not None:
            return self.normal.min if self.normal.min is not None else -np.inf
        if self.choice is not None:
            return min(self.choice.values)
        return 0.0  # exponential: support (0, inf)

    def upper_bound(self) -> float:
        """The largest value `sample` can return: a normal without `max` and an exponential
        are cut TAIL_CUT standard deviations (means) out, where a draw has probability below
        1e-17, so that every value has a finite, checkable bound."""
        if self.constant is not None:
            return self.constant
        if self.uniform is not None:
            return self.uniform[1]
        if self.normal is not None:
            if self.normal.max is not None:
                return self.normal.max
            return self.normal.mean + TAIL_CUT * self.normal.std
        if self.choice is not None:
            return max(self.choice.values)
        return TAIL_CUT * self.exponential.mean

    def always_above(self, bound: float, strict: bool) -> bool:
        """True if every value drawn is > bound (strict) or >= bound."""
        low = self.lower_bound()
        if self.exponential is not None:
            return low >= bound
        return low > bound if strict else low >= bound

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw `n` values."""
        if self.constant is not None:
            return np.full(n, float(self.constant))
        if self.uniform is not None:
            return rng.uniform(self.uniform[0], self.uniform[1], n)
        if self.normal is not None:
            spec = self.normal
            lo = -np.inf if spec.min is None else spec.min
            return np.clip(rng.normal(spec.mean, spec.std, n), lo, self.upper_bound())
        if self.choice is not None:
            weights = None
            if self.choice.weights is not None:
                weights = np.asarray(self.choice.weights, dtype=float)
                weights = weights / weights.sum()
            return rng.choice(np.asarray(self.choice.values, dtype=float), size=n, p=weights)
        return np.minimum(rng.exponential(self.exponential.mean, n), self.upper_bound())


# --------------------------------------------------------------------------- infrastructure


class Area(StrictModel):
    width_m: float = Field(gt=0.0, le=1.0e6)
    height_m: float = Field(gt=0.0, le=1.0e6)


class LinkSpec(StrictModel):
    """A wired link: capacity and one-way propagation latency."""

    rate_bps: float = Field(gt=0.0, le=1.0e15)
    latency_s: float = Field(default=0.0, ge=0.0, le=10.0)


GPU_MEMORY = Field(default=None, ge=1, le=MAX_BYTES,
                  description="aigc: memory for the model and the generations in progress "
                  "(null: no limit beyond the cores)")


class CloudSpec(StrictModel):
    cores: int = Field(default=64, ge=1, le=MAX_CORES)
    core_flops: float = Field(default=1.0e13, gt=0.0, le=MAX_CORE_FLOPS)
    gpu_memory_bytes: int | None = GPU_MEMORY


class EdgeServerSpec(StrictModel):
    id: str
    position_m: Position
    cores: int = Field(ge=1, le=MAX_CORES)
    core_flops: float = Field(gt=0.0, le=MAX_CORE_FLOPS)
    cloud_link: LinkSpec = LinkSpec(rate_bps=1.0e10, latency_s=0.02)
    gpu_memory_bytes: int | None = GPU_MEMORY
    cloud_offload_wait_s: float | None = Field(
        default=None, gt=0.0, le=MAX_TIME_S,
        description="Forward a task to the cloud when its queueing wait here would exceed "
        "this; null keeps every task at the edge.",
    )


class BaseStationSpec(StrictModel):
    id: str
    position_m: Position
    server: str = Field(description="id of the edge server it feeds, or 'cloud'")
    carrier_ghz: float = Field(gt=0.5, le=330.0)
    bandwidth_hz: float = Field(gt=0.0, le=MAX_BANDWIDTH_HZ,
                                description="uplink bandwidth shared by its devices")
    downlink_bandwidth_hz: float | None = Field(
        default=None, gt=0.0, le=MAX_BANDWIDTH_HZ, description="defaults to bandwidth_hz")
    tx_power_dbm: float = Field(default=30.0, ge=-30.0, le=70.0)
    height_m: float = Field(default=10.0, gt=0.0, le=1000.0)
    antenna_gain_dbi: float = Field(default=0.0, ge=0.0, le=50.0,
                                    description="array/beamforming gain, used both ways")
    backhaul: LinkSpec = LinkSpec(rate_bps=1.0e10, latency_s=0.001)


# --------------------------------------------------------------------------- devices


class UniformPlacement(StrictModel):
    kind: Literal["uniform"] = "uniform"


class DiscPlacement(StrictModel):
    kind: Literal["disc"]
    center_m: Position
    radius_m: float = Field(gt=0.0, le=1.0e6)


class PointsPlacement(StrictModel):
    kind: Literal["points"]
    points_m: list[Position] = Field(min_length=1, max_length=MAX_DEVICES)


Placement = Annotated[UniformPlacement | DiscPlacement | PointsPlacement,
                      Field(discriminator="kind")]


class StaticMobility(StrictModel):
    model: Literal["static"] = "static"


class RandomWaypointMobility(StrictModel):
    model: Literal["random_waypoint"]
    speed_mps: Pair(Speed) = (0.5, 2.0)
    pause_s: Pair(Annotated[float, Field(ge=0.0, le=MAX_TIME_S)]) = (0.0, 30.0)

    @model_validator(mode="after")
    def _ranges_in_order(self) -> RandomWaypointMobility:
        for name in ("speed_mps", "pause_s"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name} needs [low, high] with low <= high (got "
                                 f"[{low:g}, {high:g}])")
        return self


class GaussMarkovMobility(StrictModel):
    model: Literal["gauss_markov"]
    speed_mps: Speed = 1.5
    speed_std_mps: float = Field(default=0.5, ge=0.0, le=MAX_SPEED_MPS)
    direction_std_rad: float = Field(default=0.6, ge=0.0, le=100.0)
    memory: float = Field(default=0.8, ge=0.0, le=1.0,
                          description="alpha of the Gauss-Markov model per second")


class WaypointsMobility(StrictModel):
    model: Literal["waypoints"]
    points_m: list[Position] = Field(min_length=1, max_length=100_000)
    speed_mps: Speed
    loop: bool = False


class TraceMobility(StrictModel):
    """Replay positions from a CSV with columns `t_s,device,x_m,y_m` (device = index within
    the group; e.g. exported from SUMO), linearly interpolated in time. The path is relative
    to the scenario file; devices without rows keep their placement."""

    model: Literal["trace"]
    path: str


Mobility = Annotated[
    StaticMobility | RandomWaypointMobility | GaussMarkovMobility | WaypointsMobility
    | TraceMobility,
    Field(discriminator="model"),
]


class PoissonArrivals(StrictModel):
    process: Literal["poisson"]
    rate_per_s: Rate


class BurstyArrivals(StrictModel):
    """Two-state Markov-modulated Poisson process (MMPP-2)."""

    process: Literal["bursty"]
    rate_low_per_s: float = Field(ge=0.0, le=MAX_RATE_PER_S)
    rate_high_per_s: Rate
    mean_low_s: float = Field(ge=MIN_STATE_S, le=MAX_TIME_S,
                              description="mean time in the low state")
    mean_high_s: float = Field(ge=MIN_STATE_S, le=MAX_TIME_S,
                               description="mean time in the high state")


class DiurnalArrivals(StrictModel):
    """Poisson with rate * (1 + amplitude * cos(2 pi (t - peak_s) / period_s))."""

    process: Literal["diurnal"]
    rate_per_s: Rate
    amplitude: float = Field(default=0.5, ge=0.0, le=1.0)
    period_s: float = Field(default=86400.0, ge=1.0, le=MAX_TIME_S)
    peak_s: float = Field(default=50400.0, ge=-MAX_TIME_S, le=MAX_TIME_S)


class TraceArrivals(StrictModel):
    """Replay arrival times from a CSV file with columns `t_s,device` (device = index within
    the group, 0-based). The path is relative to the scenario file."""

    process: Literal["trace"]
    path: str


Arrivals = Annotated[
    PoissonArrivals | BurstyArrivals | DiurnalArrivals | TraceArrivals,
    Field(discriminator="process"),
]


class DeviceGroupSpec(StrictModel):
    group: str
    count: int = Field(ge=1, le=MAX_DEVICES)
    compute_flops: Distribution
    energy_per_flop_j: Distribution = Distribution(constant=1.0e-11)
    battery_j: Distribution = Distribution(constant=4.0e4)
    memory_bytes: Distribution = Field(
        default=Distribution(constant=4.0e9),
        description="memory for model parameters: a device runs at most the layers whose "
        "parameters fit, whatever its split_layer")
    tx_power_dbm: float = Field(default=23.0, ge=-30.0, le=40.0)
    height_m: float = Field(default=1.5, gt=0.0, description="antenna height; 38.901 path "
                            "loss is valid for 1.5-22.5 m")
    antenna_gain_dbi: float = Field(default=0.0, ge=0.0, le=30.0)
    placement: Placement = UniformPlacement()
    mobility: Mobility = StaticMobility()
    arrivals: Arrivals
    split_layer: int = Field(
        ge=0, le=1000, description="layers run on the device (0 = full offload, L = fully local)")
    compression: Literal[COMPRESSION_LEVELS] = Field(
        default="fp32", description="the model's compression on these devices (and on the "
        "server side of their tasks): scales FLOPs, activation and parameter bytes, and costs "
        "accuracy (netsim/workload/compression.py)")


# --------------------------------------------------------------------------- models


class ChannelSpec(StrictModel):
    path_loss: Literal[tuple(PATH_LOSS_MODELS)] = "umi_street_canyon"  # netsim/network/pathloss.py
    los: Literal["probabilistic", "los", "nlos"] = "probabilistic"
    shadowing_db: float | None = Field(
        default=None, ge=0.0, le=50.0,
        description="log-normal sigma; null = the 3GPP value for LOS/NLOS")
    shadowing_decorrelation_m: float | None = Field(
        default=None, gt=0.0, le=1.0e5,
        description="distance over which shadowing decorrelates (1/e); null = "
        "38.901 Table 7.5-6 for the model and LOS state (UMi 10/13 m, UMa 37/50 m)")
    absorption_db_per_km: float = Field(
        default=0.0, ge=0.0, le=1.0e4, description="molecular absorption (sub-THz carriers)")
    fading: Literal[tuple(FADING_MODELS)] = "rayleigh"  # netsim/network/fading.py
    rician_k_db: float = Field(default=9.0, ge=-50.0, le=50.0)
    coherence_s: float = Field(default=0.05, ge=1.0e-4, le=1.0e3)
    tick_s: float = Field(default=0.1, ge=MIN_TICK_S, le=10.0,
                          description="the channel's clock: fading, rates and band shares")
    noise_dbm_per_hz: float = Field(default=-174.0, ge=-250.0, le=0.0)
    noise_figure_db: float = Field(default=7.0, ge=0.0, le=50.0)
    max_spectral_efficiency: float = Field(
        default=7.4, gt=0.0, le=100.0,
        description="bit/s/Hz cap of the highest modulation and coding scheme")
    handover_margin_db: float = Field(default=3.0, ge=0.0, le=100.0)
    interference: Literal["none", "co_channel"] = Field(
        default="co_channel", description="co_channel: rates come from the SINR, with the "
        "uplinks of other cells and the downlinks of other base stations on overlapping "
        "bands as interference; none: from the SNR")
    frequency_reuse: Literal[1, 3] = Field(
        default=1, description="3: base stations are spread over three sub-bands (each "
        "bandwidth_hz is then its own sub-band) and only those on the same one interfere; "
        "distinct carriers also separate bands")
    large_scale_update_s: float = Field(
        default=1.0, ge=MIN_TICK_S, le=3600.0,
        description="interval of large-scale updates: positions, path loss, "
        "shadowing and attachment (handover) decisions; fading changes every tick")
    rate_trace: str | None = Field(
        default=None, description="CSV `t_s,device,rate_bps` (device = index over all devices "
        "in scenario order): each listed device's uplink rate with the whole band, replayed "
        "in place of the channel model (relative to the scenario file)")
    handover_candidates: int = Field(
        default=4, ge=1, le=64, description="base stations measured per device at each large-scale "
        "update: the nearest ones, plus the serving one")
    handover_filter: float = Field(
        default=0.5, gt=0.0, le=1.0,
        description="weight of the newest measurement in the exponentially filtered "
        "(3GPP layer-3 style) losses that handover decisions compare; 1 = no filtering")


class LowerStepsSpec(StrictModel):
    """A server's load policy for generations: a request that would wait longer than
    `wait_above_s` for a slot runs `steps` denoising steps instead."""

    wait_above_s: float = Field(gt=0.0, le=MAX_TIME_S)
    steps: int = Field(ge=1, le=10_000)


class AigcSpec(StrictModel):
    """AIGC generation requests (workload.kind: aigc): a text-to-image diffusion model
    served at the edge or the cloud (netsim/workload/generation.py)."""

    steps: int | None = Field(default=None, ge=1, le=10_000,
                              description="denoising steps; null = the profile's default")
    prompt_bytes: int | None = Field(default=None, ge=1, le=MAX_BYTES,
                                     description="null = the profile's")
    result_bytes: int | None = Field(default=None, ge=1, le=MAX_BYTES,
                                     description="the image sent back; null = the profile's")
    request_memory_bytes: int = Field(
        default=1 << 30, ge=1, le=MAX_BYTES,
        description="GPU memory one generation in progress holds besides the model's "
        "parameters (an assumption: set it from your serving stack); with a server's "
        "gpu_memory_bytes it caps the generations the server runs at once")
    lower_steps: LowerStepsSpec | None = None


class WorkloadSpec(StrictModel):
    kind: Literal["split_inference", "aigc"] = Field(
        default="split_inference", description="split_inference: the model's layers split "
        "between device and server; aigc: generation requests to a diffusion model")
    model: str = Field(default="clip_vit_b32",
                       description="built-in profile name or path to a profile YAML (aigc: "
                       "a diffusion profile, default sd_v1_5_512)")
    aigc: AigcSpec = AigcSpec()
    deadline_s: float | None = Field(default=None, gt=0.0, le=MAX_TIME_S)
    drop_late: bool = Field(default=False,
                            description="drop a task once it is past its deadline")
    input_bytes: int | None = Field(default=None, ge=1, le=MAX_BYTES,
                                    description="override of the profile's input")
    result_bytes: int | None = Field(default=None, ge=1, le=MAX_BYTES,
                                     description="override of the profile's result")
    flops_scale: Distribution = Field(
        default=Distribution(constant=1.0),
        description="per-task multiplier of every layer's FLOPs")

    @model_validator(mode="before")
    @classmethod
    def _diffusion_model_for_aigc(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "aigc" and "model" not in data:
            return {**data, "model": "sd_v1_5_512"}
        return data


# --------------------------------------------------------------------------- market


class SolverSpec(StrictModel):
    """A solver by name; `fixed` needs its `action` (e.g. a posted price)."""

    name: Literal[SOLVER_NAMES] = "exact"  # the names of netsim/solvers/registry.py
    action: list[float] | float | None = None
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    checkpoint: str | None = Field(default=None, description="trained solver (netsim train); "
                                   "relative to the scenario file")
    allow_other_scenario: bool = Field(
        default=False, description="use a checkpoint trained on another scenario (a "
        "deliberate transfer); otherwise its scenario hash must match this one's")
    mode: Literal["policy", "generate_and_select"] | None = None
    k: int | None = Field(default=None, ge=1, le=1024,
                          description="candidates in generate_and_select")
    online: bool = Field(default=False, description="keep training a diffusion or PPO "
                         "solver during the run, on the market's recent states")
    online_evaluations: int = Field(default=2048, ge=1, le=10_000_000,
                                    description="reward evaluations per online update")

    @model_validator(mode="before")
    @classmethod
    def _name_alone(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _fixed_has_action(self) -> SolverSpec:
        if self.name == "fixed" and self.action is None:
            raise ValueError("solver 'fixed' needs an action, e.g. {name: fixed, action: 1.5}")
        if self.name in NEEDS_CHECKPOINT and self.checkpoint is None:
            raise ValueError(f"solver '{self.name}' needs a checkpoint (netsim train writes one)")
        if self.online and self.name not in LEARNS_ONLINE:
            raise ValueError(f"online training needs a learning solver "
                             f"({' or '.join(LEARNS_ONLINE)}), not '{self.name}'")
        return self


class StackelbergParams(StrictModel):
    """Pricing of layers run on devices (DESIGN 4.1); a, b and C^max come from the network."""

    alpha: Distribution = Distribution(uniform=(5.0, 15.0))
    c: PositiveFloat = Field(default=3.0, description="server cost per layer it computes")
    R: float = Field(default=200.0, description="the server's fixed revenue per epoch")
    p_min: NonNegativeFloat = 0.01
    p_max: PositiveFloat = 3.0
    compute_unit_flops: PositiveFloat = Field(
        default=2.0e10, description="FLOPs in one unit of the game's compute (a, b, C^max)")
    availability: float = Field(default=1.0, gt=0.0, le=1.0,
                                description="share of a device's FLOPS it may sell")
    queue_cost: NonNegativeFloat = Field(
        default=0.0, description="c grows by this factor times the server's busy fraction")

    @model_validator(mode="after")
    def _price_range(self) -> StackelbergParams:
        if self.p_min >= self.p_max:
            raise ValueError(f"p_min ({self.p_min}) must be below p_max ({self.p_max})")
        return self


class ContractParams(StrictModel):
    """Menus for hidden device efficiency (DESIGN 4.2): devices are grouped into K types."""

    types: int = Field(default=4, ge=1, le=50)
    beta: PositiveFloat = 20.0
    q_max: PositiveFloat = Field(default=12.0, description="largest contribution, in layers")
    offers: Literal["split_layer", "compression"] = Field(
        default="split_layer", description="what an item's contribution buys: layers run on "
        "the device, or a lighter or heavier model (a rung of compression_ladder)")
    compression_ladder: list[Literal[COMPRESSION_LEVELS]] = Field(
        default=["prune75", "int8", "fp32"], min_length=2, max_length=len(COMPRESSION_LEVELS),
        description="offers: compression: the levels from the least contribution (lightest, "
        "cheapest to run) to q_max (heaviest)")


class BandwidthAuctionParams(StrictModel):
    """Uplink bandwidth auction per base station (DESIGN 4.3a)."""

    valuation: Distribution = Distribution(uniform=(0.5, 2.0))
    min_share: float = Field(default=0.01, ge=0.0, lt=1.0,
                             description="share weight kept by devices that win nothing")


class ValueFamily(StrictModel):
    """Private values of an auction's bidders, drawn every epoch."""

    values: Literal["uniform", "exponential"] = "uniform"
    value_low: float = Field(default=0.0, ge=0.0, le=1.0e9,
                             description="uniform values: the low end")
    value_high: float = Field(default=1.0, gt=0.0, le=1.0e9,
                              description="uniform values: the high end")
    value_mean: float = Field(default=1.0, gt=0.0, le=1.0e9,
                              description="exponential values: the mean")

    @model_validator(mode="after")
    def _one_family(self) -> ValueFamily:
        other = {"uniform": ("value_mean",), "exponential": ("value_low", "value_high")}
        wrong = [name for name in other[self.values] if name in self.model_fields_set]
        if wrong:
            raise ValueError(f"{', '.join(wrong)} do not apply to {self.values} values")
        if self.values == "uniform" and self.value_low > self.value_high:
            raise ValueError(f"value_low ({self.value_low}) must not exceed value_high "
                             f"({self.value_high})")
        return self


class ComputeAuctionParams(ValueFamily):
    """K-slot compute auction per edge server (DESIGN 4.3b)."""

    slots: int = Field(default=4, ge=1, le=100_000)


class ParticipationAuctionParams(ValueFamily):
    """Federated client selection by auction: every round, the candidates bid their value
    of taking part; the federated clients_per_round slots go to the highest bids at or above
    the solver's reserve, each paying the (K+1)-th price."""


class DoubleAuctionParams(StrictModel):
    """Compute traded between devices (a double auction per edge server, McAfee's rule): the
    faster half of a server's devices sell a share of their FLOPS for the epoch, the others'
    tasks buy it."""

    value: Distribution = Field(default=Distribution(uniform=(0.0, 1.0)),
                                description="a buyer's value per unit, drawn every epoch")
    energy_price_per_j: float = Field(default=1.0, gt=0.0, le=1.0e9,
                                      description="a seller's cost per joule it spends")
    compute_unit_flops: float = Field(default=2.0e10, gt=0.0, le=1.0e16,
                                      description="FLOPs in one unit traded")
    spare_share: float = Field(default=0.5, gt=0.0, le=1.0,
                               description="share of its FLOPS a seller hands over per trade")


# the game each market mechanism plays (a solver is trained for a game; several mechanisms
# may share one: netsim/market/bindings.py, where a test checks this table)
GAME_OF_MECHANISM = {"participation_auction": "auction_compute"}


class MarketSpec(StrictModel):
    mechanism: Literal["stackelberg", "contract", "auction_bandwidth", "auction_compute",
                       "double_auction", "participation_auction"]
    solver: SolverSpec = SolverSpec()
    epoch_s: float = Field(default=60.0, ge=MIN_EPOCH_S, le=MAX_TIME_S,
                           description="the market re-solves every epoch (whole ticks)")
    information: Literal["full", "partial"] = "full"
    observation_noise: float = Field(
        default=0.2, ge=0.0, le=10.0,
        description="partial information: sigma of the log-normal error on each "
        "follower parameter the leader observes")
    stackelberg: StackelbergParams = StackelbergParams()
    contract: ContractParams = ContractParams()
    auction_bandwidth: BandwidthAuctionParams = BandwidthAuctionParams()
    auction_compute: ComputeAuctionParams = ComputeAuctionParams()
    double_auction: DoubleAuctionParams = DoubleAuctionParams()
    participation_auction: ParticipationAuctionParams = ParticipationAuctionParams()


class RecordSpec(StrictModel):
    sample_s: float = Field(default=1.0, ge=MIN_TICK_S, le=MAX_TIME_S,
                            description="servers and links table period (whole ticks)")
    device_sample_s: float = Field(default=10.0, ge=MIN_TICK_S, le=MAX_TIME_S,
                                   description="devices table period (whole ticks)")
    row_group_rows: int = Field(default=100_000, ge=10, le=10_000_000,
                                description="rows per Parquet part")
    flush_s: float = Field(default=60.0, ge=MIN_TICK_S, le=MAX_TIME_S,
                           description="write the sampled tables at least this often in "
                           "simulated time (and every 10 s of wall time), so that a killed "
                           "run keeps them")


# --------------------------------------------------------------------------- federated


class FederatedSpec(StrictModel):
    """Federated training rounds with client selection (netsim/entities/federated.py): every
    `round_s` the server selects clients among the groups taking part; each trains locally
    (local_epochs x its samples x flops_per_sample on its own compute) and uploads the
    model over its uplink; the round ends at the last upload or at the deadline, and
    clients not done by then are dropped as stragglers."""

    server: str = Field(description="the edge server (or 'cloud') that aggregates")
    groups: list[str] | None = Field(default=None, description="device groups taking part "
                                     "(null: all)")
    round_s: float = Field(gt=0.0, le=MAX_TIME_S, description="a round starts every round_s "
                           "(whole ticks), the first at 0")
    deadline_s: float | None = Field(default=None, gt=0.0, le=MAX_TIME_S,
                                     description="stragglers dropped after this; null = "
                                     "round_s")
    clients_per_round: int = Field(ge=1, le=MAX_DEVICES)
    selection: Literal["random", "fastest", "market"] = Field(
        default="random", description="random; fastest: the shortest estimated compute "
        "plus upload at the current rates; market: the market's mechanism (e.g. "
        "participation_auction) chooses, every round")
    local_epochs: int = Field(default=1, ge=1, le=10_000)
    samples: Distribution = Field(description="training samples per client (drawn once)")
    flops_per_sample: float = Field(gt=0.0, le=1.0e15,
                                    description="forward and backward pass of one sample")
    model_bytes: int = Field(ge=1, le=MAX_BYTES, description="the model a client uploads, "
                             "at fp32")
    compression: Literal[COMPRESSION_LEVELS] = Field(
        default="fp32", description="of the uploaded model (its parameter bytes)")

    @model_validator(mode="after")
    def _deadline_in_round(self) -> FederatedSpec:
        if self.deadline_s is not None and self.deadline_s > self.round_s:
            raise ValueError(f"deadline_s ({self.deadline_s:g}) must not exceed round_s "
                             f"({self.round_s:g}): rounds do not overlap")
        return self


# --------------------------------------------------------------------------- faults

EVENT_KINDS = ("server_down", "base_station_down", "link_down", "link_scale", "arrival_scale",
               "channel_degrade")
# what each kind needs besides at_s (and may take)
EVENT_NEEDS = {"server_down": ("target",), "base_station_down": ("target",),
               "link_down": ("target",), "link_scale": ("target", "factor"),
               "arrival_scale": ("target", "factor"), "channel_degrade": ("loss_db",)}
EVENT_TAKES = {"server_down": ("policy",), "channel_degrade": ("region_m",)}


class EventSpec(StrictModel):
    """A timed fault or load change, from `at_s` until `until_s` (null: to the end). Kinds:
    server_down (an edge server; `policy`: its queued and running tasks go to the cloud, or
    are dropped), base_station_down (its devices hand over, or wait with no link),
    link_down (a wired link holds everything sent over it until it is back), link_scale
    (its capacity times `factor`), arrival_scale (a device group's arrival rate times
    `factor`: a flash crowd), channel_degrade (`loss_db` more path loss for the devices inside
    `region_m`, or everywhere). Links are named like the links table: `BS-SERVER` for a
    backhaul, `SERVER-cloud` for an edge server's link to the cloud."""

    at_s: float = Field(ge=0.0, le=MAX_TIME_S, description="when it starts (at the first "
                        "tick at or after)")
    until_s: float | None = Field(default=None, gt=0.0, le=MAX_TIME_S,
                                  description="when it ends; null: never")
    kind: Literal[EVENT_KINDS]
    target: str | None = Field(default=None, description="the edge server, base station, "
                               "link (`bs0-es0`, `es0-cloud`) or device group it hits")
    factor: float | None = Field(default=None, gt=0.0, le=1.0e4,
                                 description="link_scale: capacity x; arrival_scale: rate x")
    loss_db: float | None = Field(default=None, gt=0.0, le=300.0,
                                  description="channel_degrade: extra path loss")
    region_m: Pair(Position) | None = Field(
        default=None, description="channel_degrade: two opposite corners [[x0, y0], [x1, "
        "y1]]; null: everywhere")
    policy: Literal["reroute", "drop"] = Field(
        default="reroute", description="server_down: its tasks go to the cloud, or end "
        "dropped")

    @model_validator(mode="after")
    def _fields_of_kind(self) -> EventSpec:
        needs, takes = EVENT_NEEDS[self.kind], EVENT_TAKES.get(self.kind, ())
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.kind} needs {', '.join(missing)}")
        extra = [name for name in ("target", "factor", "loss_db", "region_m", "policy")
                 if name in self.model_fields_set and name not in (*needs, *takes)]
        if extra:
            raise ValueError(f"{', '.join(extra)} do not apply to {self.kind}")
        if self.until_s is not None and self.until_s <= self.at_s:
            raise ValueError(f"until_s ({self.until_s:g}) must be after at_s ({self.at_s:g})")
        return self


class Scenario(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    horizon_s: float = Field(gt=0.0, le=MAX_TIME_S)
    area: Area
    cloud: CloudSpec = CloudSpec()
    edge_servers: list[EdgeServerSpec] = Field(default_factory=list)
    base_stations: list[BaseStationSpec] = Field(min_length=1)
    devices: list[DeviceGroupSpec] = Field(min_length=1)
    channel: ChannelSpec = ChannelSpec()
    workload: WorkloadSpec = WorkloadSpec()
    record: RecordSpec = RecordSpec()
    market: MarketSpec | None = None
    events: list[EventSpec] = Field(default_factory=list, max_length=10_000)
    federated: FederatedSpec | None = None

    @property
    def n_devices(self) -> int:
        return sum(group.count for group in self.devices)
