"""Streaming float64 mean and covariance, and the statistics file (pytorch-fid's npz layout).

The accumulator keeps the count, the sum and the sum of outer products in float64, so memory does not
grow with the number of images and two accumulators (e.g. of distributed ranks) add up exactly. The
covariance is unbiased (divides by N - 1), as ``np.cov`` in pytorch-fid's
``calculate_activation_statistics``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ._io import atomic_write
from .errors import GenmetricsError

META_KEY = "genmetrics_meta"  # a JSON string beside pytorch-fid's mu and sigma


class RunningStats:
    """Accumulates n, sum(x) and sum(x x^T) in float64 on the features' device."""

    def __init__(self):
        self.n = 0
        self.sum: torch.Tensor | None = None
        self.outer: torch.Tensor | None = None

    def update(self, x: torch.Tensor) -> None:
        x = torch.as_tensor(x).to(torch.float64)
        if self.sum is None:
            dim = x.shape[1]
            self.sum = torch.zeros(dim, dtype=torch.float64, device=x.device)
            self.outer = torch.zeros(dim, dim, dtype=torch.float64, device=x.device)
        self.n += x.shape[0]
        self.sum += x.sum(dim=0)
        self.outer.addmm_(x.T, x)

    def merge(self, other: "RunningStats") -> "RunningStats":
        if other.sum is not None:
            if self.sum is None:
                self.sum, self.outer = other.sum.clone(), other.outer.clone()
            else:
                self.sum += other.sum
                self.outer += other.outer
            self.n += other.n
        return self

    def all_reduce(self) -> "RunningStats":
        """Sum the accumulators of all torch.distributed ranks (a no-op in a single process)."""
        from . import distributed

        if not distributed.active():
            return self
        dim = int(distributed.all_reduce(torch.tensor(0 if self.sum is None else self.sum.shape[0]), "max"))
        if self.sum is None:
            self.sum = torch.zeros(dim, dtype=torch.float64)
            self.outer = torch.zeros(dim, dim, dtype=torch.float64)
        self.sum = distributed.all_reduce(self.sum)
        self.outer = distributed.all_reduce(self.outer)
        self.n = int(distributed.all_reduce(torch.tensor(self.n, dtype=torch.float64)))
        return self

    def mean(self) -> np.ndarray:
        return (self.sum / self.n).cpu().numpy()

    def covariance(self) -> np.ndarray:
        mu = self.sum / self.n
        cov = (self.outer - self.n * torch.outer(mu, mu)) / (self.n - 1)
        return ((cov + cov.T) / 2).cpu().numpy()  # exactly symmetric


@dataclass
class Statistics:
    """Mean and covariance of one input's features, with how they were made."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int | None
    meta: dict = field(default_factory=dict)
    source: str = ""

    @property
    def dims(self) -> int:
        return int(self.mu.shape[0])


def save_statistics(path: str | Path, stats: Statistics) -> None:
    """Write ``mu``, ``sigma`` (float64) and our metadata atomically; pytorch-fid reads the file as is."""
    meta = {**stats.meta, "n": stats.n}
    with atomic_write(path) as handle:
        np.savez(handle, mu=stats.mu, sigma=stats.sigma, **{META_KEY: np.array(json.dumps(meta))})


def load_statistics(path: str | Path) -> Statistics:
    """Read a statistics npz: ours, or pytorch-fid's / clean-fid's (``mu`` and ``sigma`` only)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if "mu" not in data or "sigma" not in data:
                raise GenmetricsError(f"{path} has no 'mu' and 'sigma' arrays (it holds "
                                      f"{', '.join(data.keys()) or 'nothing'}); make one with genmetrics stats")
            mu, sigma = np.asarray(data["mu"], np.float64), np.asarray(data["sigma"], np.float64)
            meta = json.loads(str(data[META_KEY])) if META_KEY in data else {}
    except (ValueError, OSError) as exc:
        raise GenmetricsError(f"{path}: cannot read the statistics file ({exc})") from None
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise GenmetricsError(f"{path}: mu has shape {mu.shape} and sigma {sigma.shape}; expected (D,) "
                              f"and (D, D)")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise GenmetricsError(f"{path}: mu or sigma holds non-finite values")
    return Statistics(mu, sigma, meta.get("n"), meta, str(path))


def is_statistics_file(path) -> bool:
    """A .npz with ``mu`` and ``sigma`` arrays."""
    if not isinstance(path, (str, Path)) or not str(path).lower().endswith(".npz") or not Path(path).is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            return "mu" in data.files and "sigma" in data.files
    except (ValueError, OSError):
        return False
