"""Every solver netsim knows, by the name scenarios and the CLI use: where it lives and what it
needs. The one list of solver names (the schema's allowed names and the CLI's choices come
from here); standard library only, so the schema imports it without loading any solver."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SolverInfo:
    module: str
    cls: str
    needs_checkpoint: bool = False  # loaded from what `netsim train` wrote
    learns_online: bool = False  # can keep training during a run (`online: true`)
    trainable: bool = False  # `netsim train --solver NAME` trains it


SOLVERS: dict[str, SolverInfo] = {
    "exact": SolverInfo("netsim.solvers.exact", "ExactSolver"),
    "convex": SolverInfo("netsim.solvers.convex", "ConvexSolver"),
    "random": SolverInfo("netsim.solvers.random", "RandomSolver", trainable=True),
    "fixed": SolverInfo("netsim.solvers.random", "FixedSolver"),
    "diffusion": SolverInfo("netsim.solvers.diffusion", "DiffusionSolver",
                            needs_checkpoint=True, learns_online=True, trainable=True),
    "ppo": SolverInfo("netsim.solvers.ppo", "PPOSolver", needs_checkpoint=True,
                      learns_online=True, trainable=True),
    "constant": SolverInfo("netsim.solvers.constant", "ConstantSolver", needs_checkpoint=True,
                           trainable=True),
}
NAMES = tuple(SOLVERS)
NEEDS_CHECKPOINT = tuple(name for name, info in SOLVERS.items() if info.needs_checkpoint)
LEARNS_ONLINE = tuple(name for name, info in SOLVERS.items() if info.learns_online)
TRAINABLE = tuple(name for name, info in SOLVERS.items() if info.trainable)
