"""Parquet parts encoded and written on a background thread: pyarrow releases the GIL while
it encodes, compresses and writes, so the simulation goes on on the other core meanwhile.

Parts are named when submitted, so their numbering is the order of the simulation's
flushes whatever the thread does; a bounded queue keeps at most a few tables waiting (and
so a killed run loses at most those); `drain` waits for every part submitted (the recorder
drains before writing the final manifest), and a write that failed raises there or at the
next submit."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

QUEUED_PARTS = 4


def write_part(table: pa.Table, path: Path, categorical: list[str]) -> None:
    """One complete part file, or none: written beside it, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # dictionary-encode only the categorical columns: trying it on float columns costs
    # three times the write and makes bigger files
    pq.write_table(table, tmp, use_dictionary=categorical)
    tmp.replace(path)


class PartWriter:
    """One writer thread for a run's tables."""

    def __init__(self) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUED_PARTS)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None  # started by the first part

    def submit(self, table: pa.Table, path: Path, categorical: list[str]) -> None:
        self._raise_failure()
        if self._thread is None:  # a simulation that never writes (training draws states
            # from thousands) starts no thread
            self._thread = threading.Thread(target=self._work, name="netsim-parts",
                                            daemon=True)
            self._thread.start()
        self._queue.put((table, path, categorical))

    def drain(self) -> None:
        """Return once every submitted part is on disk."""
        self._queue.join()
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise RuntimeError(f"writing a table part failed: {error}") from error

    def _work(self) -> None:
        while True:
            table, path, categorical = self._queue.get()
            try:
                if self._error is None:
                    write_part(table, path, categorical)
            except BaseException as err:  # handed to the simulation at its next call
                self._error = err
            finally:
                self._queue.task_done()
