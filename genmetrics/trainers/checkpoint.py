"""Checkpoints: one torch file that says how it was made (config), where it stands (step, data order,
RNG states) and what it holds (networks, optimisers). Written atomically; read with ``weights_only=True``
(plain tensors, lists and dicts: loading a checkpoint runs no pickled code).

Layout of a run folder::

    RUN/config.json                 the resolved configuration
    RUN/checkpoints/latest.pt       the last step (every --checkpoint-every steps, at the end, on Ctrl-C/SIGTERM)
    RUN/checkpoints/best.pt         the best evaluation so far (the last checkpoint when there is none)
    RUN/samples/step_NNNNNN.png     sample grids from fixed noise (toy data: scatter plots)
    RUN/metrics.jsonl               one JSON object per line: step, time, losses, evaluations
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from .._io import atomic_write
from ..errors import GenmetricsError

FORMAT = "genmetrics-gan-checkpoint/1"
LATEST, BEST = "latest.pt", "best.pt"


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """Write ``payload`` (tagged with FORMAT) atomically."""
    with atomic_write(path) as handle:
        torch.save({"format": FORMAT, **payload}, handle)


def read_checkpoint(path: str | Path) -> dict:
    """A checkpoint written by ``save_checkpoint``; GenmetricsError for anything else."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as exc:
        raise GenmetricsError(f"{path}: not a readable genmetrics checkpoint ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise GenmetricsError(f"{path}: not a genmetrics training checkpoint (expected {FORMAT}); "
                              f"make one with genmetrics train")
    return payload


def find_checkpoint(path: str | Path, prefer: str = BEST) -> Path:
    """A checkpoint file from a run folder (``prefer``, else the other one) or from a .pt path."""
    path = Path(path).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        folder = checkpoint_dir(path)
        for name in (prefer, LATEST if prefer == BEST else BEST):
            if (folder / name).is_file():
                return folder / name
        raise GenmetricsError(f"{path} holds no checkpoints/{BEST} or checkpoints/{LATEST}: is it a run folder "
                              f"of genmetrics train?")
    raise GenmetricsError(f"{path}: no such run folder or checkpoint file; train one with genmetrics train")
