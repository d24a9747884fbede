"""How many cores this process may use (its affinity mask where the OS has one): what the
torch thread counts and the engine's helper process are sized by."""

from __future__ import annotations

import os


def available_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
