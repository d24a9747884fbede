"""How many threads torch uses, chosen for what the process does: one for batch-1 decisions
inside a market (a thread pool costs more than it saves on tiny tensors, and a sweep runs a
simulation per core), every core this process may use for training."""

from __future__ import annotations

import contextlib


def use_torch_threads(n: int) -> None:
    """Intra-op threads = n and one inter-op thread (torch allows setting the latter only
    before its first parallel work, hence the suppress)."""
    import torch

    torch.set_num_threads(max(1, n))
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)
