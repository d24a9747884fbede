"""`RunRecorder`: the four streamed tables of a run and its manifest, in one folder."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from netsim.record.manifest import package_versions, write_manifest
from netsim.record.part_writer import PartWriter
from netsim.record.run_folder import (
    FLUSH_WALL_S,
    HEARTBEAT_S,
    FolderLock,
    claim,
    identity,
    new_run_id,
)
from netsim.record.tables import SCHEMAS, TableWriter
from netsim.scenario.schema import Scenario


class RunRecorder:
    """Owns `tasks`, `devices`, `links`, `servers` writers and `manifest.json`."""

    def __init__(self, out_dir: Path, scenario: Scenario, seed: int, row_group_rows: int,
                 overwrite: bool = False):
        self.out_dir = out_dir
        self.scenario = scenario
        self.seed = seed
        self.row_group_rows = row_group_rows
        self.overwrite = overwrite
        self.run_id = new_run_id()  # in the manifest and in every part's name
        self.manifest: dict[str, Any] = {}
        self._lock: FolderLock | None = None
        self._last_beat = self._last_flush = time.monotonic()
        self.parts = PartWriter()
        for name, schema in SCHEMAS.items():
            setattr(self, name, TableWriter(self.out_dir / name, schema, row_group_rows,
                                            run_id=self.run_id, background=self.parts))

    def start(self) -> None:
        """Claim the folder (refused if it holds another run, unless overwrite; locked for
        this run) and mark the run running."""
        self._lock = claim(self.out_dir, self.overwrite)
        self.manifest = {
            "status": "running",
            "run_id": self.run_id,
            **identity(),
            "scenario": self.scenario.model_dump(mode="json"),
            "seed": self.seed,
            "versions": package_versions(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "heartbeat_s": HEARTBEAT_S,
            "tables": list(SCHEMAS),
        }
        self.heartbeat(0.0)

    def heartbeat(self, sim_time_s: float) -> None:
        """Say the run is alive (and how far it got) in the manifest."""
        self._last_beat = time.monotonic()
        self.manifest.update(heartbeat_at=time.time(), sim_time_s=sim_time_s)
        write_manifest(self.out_dir / "manifest.json", self.manifest)

    def beat_due(self) -> bool:
        return time.monotonic() - self._last_beat >= HEARTBEAT_S

    def flush_due(self) -> bool:
        return time.monotonic() - self._last_flush >= FLUSH_WALL_S

    def flush_full_tables(self) -> None:
        for name in SCHEMAS:
            getattr(self, name).flush_if_full()

    def flush_sampled_tables(self) -> None:
        """Write what the sampled tables hold (so a killed run keeps them); task chunks are
        written by the task log as soon as all their tasks have ended."""
        self._last_flush = time.monotonic()
        for name in SCHEMAS:
            if name != "tasks":
                getattr(self, name).flush(if_empty=False)

    def finish(self, status: str, counts: dict[str, int], sim_time_s: float, wall_s: float,
               error: str | None = None) -> dict[str, Any]:
        """Flush every table and write the final manifest."""
        rows = {}
        for name in SCHEMAS:
            writer: TableWriter = getattr(self, name)
            writer.flush()
            rows[name] = writer.rows_written
        self.parts.drain()  # every part on disk before the manifest says so
        self.manifest.update(status=status, counts=counts, rows=rows, sim_time_s=sim_time_s,
                             wall_s=wall_s, finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        if error is not None:
            self.manifest["error"] = error
        write_manifest(self.out_dir / "manifest.json", self.manifest)
        self.release()
        return self.manifest

    def fail(self, error: str) -> None:
        """Mark the run failed when finishing itself failed (best effort, then unlock)."""
        try:
            self.manifest.update(status="failed", error=error,
                                 finished_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            write_manifest(self.out_dir / "manifest.json", self.manifest)
        finally:
            self.release()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
