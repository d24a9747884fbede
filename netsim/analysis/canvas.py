"""Saving figures, stamped with the run they show."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from netsim.record.load import RunTables

_caption: list[str] = []  # the provenance stamped on figures (see `provenance`)


@contextlib.contextmanager
def provenance(run: RunTables) -> Iterator[None]:
    """Stamp every figure saved inside this block with the run's scenario and seed, so a
    copied PNG keeps where it came from."""
    _caption.append(f"netsim: {run.manifest['scenario']['name']}, seed {run.manifest['seed']}")
    try:
        yield
    finally:
        _caption.pop()


def save(fig, path: Path) -> Path:
    fig.tight_layout()
    if _caption:
        fig.text(0.995, 0.003, _caption[-1], ha="right", va="bottom", fontsize=7,
                 color="grey")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
