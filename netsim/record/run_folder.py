"""One run per output folder: claiming a folder, the lock that keeps a second process out,
and telling a run that is going on from one whose process died.

A run's manifest carries its run id, process id, host and a heartbeat (refreshed every few
seconds of wall time while it runs). A manifest that says `running` whose process is gone
(on this host) or whose heartbeat is stale (on another host) is reported as `crashed`."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import IO, Any

from netsim.record.manifest import read_manifest
from netsim.record.tables import SCHEMAS

HEARTBEAT_S = 2.0  # wall seconds between heartbeats
FLUSH_WALL_S = 10.0  # wall seconds between flushes of the sampled tables, at most
STALE_AFTER_S = 30.0  # a heartbeat this old on another host means the run is gone
LOCK_NAME = ".netsim.lock"
# what a run writes into its folder (and --overwrite removes); nothing else is touched
RUN_OUTPUTS = (*SCHEMAS, "plots", "report", "manifest.json", "manifest.tmp")


class OutputFolderError(RuntimeError):
    """A folder that holds another run, or that another process is writing to."""


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def identity() -> dict[str, Any]:
    """Who is running: for the manifest."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


class FolderLock:
    """An exclusive advisory lock on a run folder, held for the life of a run. The kernel
    releases it when the process dies, so a crashed run never leaves the folder locked."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.folder / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise OutputFolderError(f"{self.folder}: another netsim run is writing here "
                                    f"({holder}); choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def claim(folder: Path, overwrite: bool) -> FolderLock:
    """Lock `folder` for a new run; refuse it if it holds another run, unless `overwrite`,
    which first removes that run's tables, plots, report and manifest."""
    lock = FolderLock(folder)
    lock.acquire()
    try:
        previous = [name for name in RUN_OUTPUTS if (folder / name).exists()]
        if previous and not overwrite:
            raise OutputFolderError(
                f"{folder} holds another run ({describe(folder)}); pass --overwrite to "
                "replace it, or choose another --out")
        for name in previous:
            path = folder / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    except BaseException:
        lock.release()
        raise
    return lock


def describe(folder: Path) -> str:
    """A short account of the run in `folder`, for messages."""
    try:
        manifest = read_manifest(folder)
    except (OSError, ValueError):
        return "tables without a readable manifest"
    return (f"run {manifest.get('run_id', '?')}, {effective_status(manifest)}, started "
            f"{manifest.get('started_at', '?')}")


def effective_status(manifest: dict[str, Any], now: float | None = None) -> str:
    """The manifest's status, except `crashed` for a run marked running whose process is
    gone (this host) or whose heartbeat stopped (another host)."""
    status = manifest.get("status", "unknown")
    if status != "running":
        return status
    now = time.time() if now is None else now
    if manifest.get("host") == socket.gethostname() and "pid" in manifest:
        if not _alive(int(manifest["pid"])):
            return "crashed"
        return "running"
    beat = manifest.get("heartbeat_at")
    if beat is None or now - float(beat) > STALE_AFTER_S:
        return "crashed"
    return "running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
