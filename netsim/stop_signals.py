"""Ctrl-C and SIGTERM as KeyboardInterrupt for the long commands that stop cleanly on it
(a sweep, a training), also in a process that started with SIGINT ignored (a script's
background job, a test runner's worker), where Python installs no handler of its own. A run
has its own handlers (engine.py: it stops between ticks)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While inside, SIGINT and SIGTERM raise KeyboardInterrupt; the previous handlers come
    back after. Only the main thread may set handlers: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, interrupt)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
