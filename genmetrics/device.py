"""Which device a computation runs on: one rule for every command and library call."""
from __future__ import annotations

import os
from contextlib import contextmanager

import torch

from .defaults import DEFAULTS
from .errors import GenmetricsError


def resolve_device(device: str | torch.device = DEFAULTS.device) -> torch.device:
    """"auto" is a CUDA device when there is one, else the CPU. Under torchrun, "auto" and "cuda" mean
    the rank's own GPU, cuda:LOCAL_RANK."""
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except RuntimeError:
        raise GenmetricsError(f"--device {device!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GenmetricsError(f"--device {device} was asked for but no CUDA GPU is available; use --device cpu")
    if device.type == "cuda" and device.index is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    return device


@contextmanager
def intra_op_threads(n: int | None):
    """torch's intra-op thread count set to ``n`` inside the block and restored after it (None: unchanged)."""
    previous = torch.get_num_threads()
    if n is None or n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
