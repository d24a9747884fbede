"""Moving the devices and re-attaching them at every large-scale update, in this process or
one update ahead in a helper process on the second core.

Where devices are and which base station serves them depends on the seed and the time
alone, never on tasks or decisions (mobility and the channel's shadowing draw from their own
streams), so the next update can be computed while the ticks before it run. With enough
devices (at 10,000 an update costs about 15 ms, a third of a simulated second's work) and a
second core, a forked helper process does it and the engine only copies the results in.
The helper runs the same code on the same state (a copy made by the fork), so the results
are identical to the in-process path; a test runs both. Its arrays come back through memory
shared before the fork (`SharedArrays`), not through the pipe: pickling 1.4 MB an update
and pushing it through a pipe cost both processes about a millisecond each.
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing
import signal
from typing import Any

import numpy as np

from netsim.cores import available_cores
from netsim.network.access import RadioAccess

HELPER_MIN_DEVICES = 1_000  # measured: at 1,000 devices the helper cuts the wall time by a fifth


def helper_possible() -> bool:
    """A second core, `fork`, and a process allowed to have children (not a pool worker)."""
    return (available_cores() >= 2 and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon)


class SharedArrays:
    """Arrays of fixed names, shapes and types in one anonymous shared mapping: made before
    a fork, what one process writes the other reads."""

    def __init__(self, like: dict[str, np.ndarray]):
        offsets, total = {}, 0
        for name, array in like.items():
            offsets[name] = total
            total += -(-array.nbytes // 8) * 8  # each array 8-byte aligned
        self._buffer = mmap.mmap(-1, max(total, 8))
        self.arrays = {name: np.ndarray(array.shape, array.dtype, self._buffer, offsets[name])
                       for name, array in like.items()}

    def write(self, values: dict[str, np.ndarray]) -> None:
        for name, array in self.arrays.items():
            array[...] = values[name]

    def read(self) -> dict[str, np.ndarray]:
        """Copies of the arrays (the writer may overwrite the shared ones afterwards)."""
        return {name: array.copy() for name, array in self.arrays.items()}


class Movement:
    """Device positions, distance travelled and attachment, advanced to each update time."""

    def __init__(self, mobility: list, access: RadioAccess, xy: np.ndarray,
                 odometer_m: np.ndarray, use_helper: bool):
        self.mobility = mobility
        self.access = access
        self.xy = xy  # shared with the engine: updated in place
        self.odometer_m = odometer_m
        self.use_helper = use_helper
        self._t = 0.0
        self._conn: Any = None
        self._process: Any = None
        self._asked: float | None = None
        self._shared: SharedArrays | None = None

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """What an update produces: (arrays, other values)."""
        published = {"xy": self.xy, "odometer_m": self.odometer_m, **self.access.published()}
        arrays = {k: v for k, v in published.items() if isinstance(v, np.ndarray)}
        return arrays, {k: v for k, v in published.items() if k not in arrays}

    @property
    def helper_running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def step(self, t: float) -> None:
        """Move every device to time t, then measure and re-attach."""
        before = self.xy.copy()
        for model in self.mobility:
            model.step(self.xy, t - self._t)
        self._t = t
        if np.array_equal(before, self.xy):
            return  # nobody moved: the same losses, so the same filtered values and cells
        self.odometer_m += np.hypot(*(self.xy - before).T)
        self.access.attach(self.xy, self.odometer_m)

    def share_state(self) -> dict[str, Any]:
        """In the helper: put the arrays of the state into the shared memory; returns the
        other values (sent through the pipe)."""
        arrays, values = self.state()
        self._shared.write(arrays)
        return values

    def prepare(self, t: float) -> None:
        """The next update will be at t: the helper starts on it now (no-op in process)."""
        if not self.use_helper:
            return
        if self._conn is None:
            self._start_helper()
        self._conn.send(t)
        self._asked = t

    def update(self, t: float) -> None:
        """Devices at time t: computed here, or taken from the helper."""
        if not self.use_helper:
            self.step(t)
            return
        if self._asked is None:
            self.prepare(t)
        if self._asked != t:
            raise RuntimeError(f"movement: update at t={t} but the helper computed "
                               f"t={self._asked}")
        self._asked = None
        try:
            outcome, payload = self._conn.recv()
        except EOFError:
            raise RuntimeError("movement: the helper process ended unexpectedly") from None
        if outcome == "error":
            raise RuntimeError(f"movement helper: {payload}")
        # the helper writes the shared arrays again only when asked for the next update
        published = {**self._shared.read(), **payload}
        self.xy[:] = published.pop("xy")
        self.odometer_m[:] = published.pop("odometer_m")
        self.access.adopt(published)

    def close(self) -> None:
        """Stop the helper, if one runs."""
        if self._conn is None:
            return
        with contextlib.suppress(OSError):  # the helper is already gone
            self._conn.send(None)
        self._conn.close()
        self._process.join(timeout=1.0)
        if self._process.is_alive():
            self._process.terminate()
        self._conn = self._process = None

    def _start_helper(self) -> None:
        context = multiprocessing.get_context("fork")
        self._shared = SharedArrays(self.state()[0])
        mine, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs, self), daemon=True,
                                        name="netsim-movement")
        self._process.start()
        theirs.close()
        self._conn = mine


def _serve(conn, movement: Movement) -> None:
    """The helper's loop: a time in, the devices' state at that time out; ends on None or
    when the engine's end of the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine handles Ctrl-C and stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            t = conn.recv()
        except EOFError:
            return
        if t is None:
            return
        try:
            movement.step(t)
            conn.send(("ok", movement.share_state()))
        except Exception as err:  # handed to the engine, which raises it
            conn.send(("error", f"{type(err).__name__}: {err}"))
            return
