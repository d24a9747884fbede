"""`RunRecorder`: the four streamed tables of a run and its manifest, in one folder."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from netsim.record.manifest import package_versions, write_manifest
from netsim.record.tables import SCHEMAS, TableWriter
from netsim.scenario.schema import Scenario


class RunRecorder:
    """Owns `tasks`, `devices`, `links`, `servers` writers and `manifest.json`."""

    def __init__(self, out_dir: Path, scenario: Scenario, seed: int, row_group_rows: int):
        self.out_dir = out_dir
        self.scenario = scenario
        self.seed = seed
        self.row_group_rows = row_group_rows
        self.manifest: dict[str, Any] = {}
        self.tasks = TableWriter(self.out_dir / "tasks", SCHEMAS["tasks"], self.row_group_rows)
        self.devices = TableWriter(self.out_dir / "devices", SCHEMAS["devices"],
                                   self.row_group_rows)
        self.links = TableWriter(self.out_dir / "links", SCHEMAS["links"], self.row_group_rows)
        self.servers = TableWriter(self.out_dir / "servers", SCHEMAS["servers"],
                                   self.row_group_rows)
        self.epochs = TableWriter(self.out_dir / "epochs", SCHEMAS["epochs"], self.row_group_rows)

    def start(self) -> None:
        """Create the folder (replacing an earlier run's tables) and mark the run running."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name in SCHEMAS:
            if (self.out_dir / name).exists():
                shutil.rmtree(self.out_dir / name)
        self.manifest = {
            "status": "running",
            "scenario": self.scenario.model_dump(mode="json"),
            "seed": self.seed,
            "versions": package_versions(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "tables": list(SCHEMAS),
        }
        write_manifest(self.out_dir / "manifest.json", self.manifest)

    def flush_full_tables(self) -> None:
        for name in SCHEMAS:
            getattr(self, name).flush_if_full()

    def finish(self, status: str, counts: dict[str, int], sim_time_s: float, wall_s: float,
               error: str | None = None) -> dict[str, Any]:
        """Flush every table and write the final manifest."""
        rows = {}
        for name in SCHEMAS:
            writer: TableWriter = getattr(self, name)
            writer.flush()
            rows[name] = writer.rows_written
        self.manifest.update(status=status, counts=counts, rows=rows, sim_time_s=sim_time_s,
                             wall_s=wall_s, finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        if error is not None:
            self.manifest["error"] = error
        write_manifest(self.out_dir / "manifest.json", self.manifest)
        return self.manifest
