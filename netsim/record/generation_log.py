"""The `generations` table: steps and quality of every AIGC image delivered."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from netsim.record.tables import GENERATIONS, TableWriter

if TYPE_CHECKING:
    from netsim.workload.generation import DiffusionProfile


class GenerationLog:
    """The steps and quality of every image delivered: rows of the `generations` table
    (latency and where it ran are in the `tasks` row of the same task_id)."""

    def __init__(self, writer: TableWriter, profile: DiffusionProfile, steps: int,
                 lower_steps: int | None):
        self.writer = writer
        self.steps = steps
        self.lower_steps = steps if lower_steps is None else lower_steps
        self.quality = {steps: float(profile.quality(steps)),
                        self.lower_steps: float(profile.quality(self.lower_steps))}

    def record(self, ids: np.ndarray, devices: np.ndarray, lowered: np.ndarray) -> None:
        """Images of tasks `ids` delivered; `lowered`: run with the server's lower steps."""
        steps = np.where(lowered, self.lower_steps, self.steps)
        quality = np.where(lowered, self.quality[self.lower_steps], self.quality[self.steps])
        self.writer.add_batch(pa.Table.from_arrays(
            [pa.array(ids, pa.int64()), pa.array(devices.astype(np.int32)),
             pa.array(steps.astype(np.int32)), pa.array(quality)], schema=GENERATIONS))
