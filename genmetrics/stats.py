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

from ._io import NPZ_READ_ERRORS, atomic_write, check_output, unreadable_npz
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


def save_statistics(path: str | Path, stats: Statistics, *, force: bool = False, write: bool = True) -> None:
    """Write ``mu``, ``sigma`` (float64) and our metadata atomically; pytorch-fid reads the file as is.

    An existing ``path`` is replaced only with ``force``. Statistics of fewer than 2 images are refused:
    their covariance (which divides by N - 1) is undefined.
    """
    if stats.n is not None and stats.n < 2:
        raise GenmetricsError(f"{stats.source or path}: statistics need at least 2 images, found {stats.n}")
    check_output(path, force=force)
    if write:  # under torchrun every rank checks (so all fail alike) and rank 0 writes
        write_statistics(path, stats)


def write_statistics(path: str | Path, stats: Statistics) -> None:
    """``save_statistics`` without the checks of a user's output (the cache's writer)."""
    meta = {**stats.meta, "n": stats.n}
    with atomic_write(path) as handle:
        np.savez(handle, mu=stats.mu, sigma=stats.sigma, **{META_KEY: np.array(json.dumps(meta))})


def load_statistics(path: str | Path) -> Statistics:
    """Read a statistics npz: ours, or pytorch-fid's / clean-fid's (``mu`` and ``sigma`` only).

    The arrays are checked (see ``check_covariance``): an invalid file is an error naming it, never a
    silently wrong FID.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            if "mu" not in data or "sigma" not in data:
                raise GenmetricsError(f"{path} has no 'mu' and 'sigma' arrays (it holds "
                                      f"{', '.join(data.keys()) or 'nothing'}); make one with genmetrics stats")
            mu, sigma = np.asarray(data["mu"]), np.asarray(data["sigma"])
            meta = json.loads(str(data[META_KEY])) if META_KEY in data else {}
    except NPZ_READ_ERRORS as exc:
        raise unreadable_npz(path, exc, "statistics file") from None
    if mu.ndim != 1 or mu.shape[0] < 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise GenmetricsError(f"{path}: mu has shape {mu.shape} and sigma {sigma.shape}; expected (D,) "
                              f"and (D, D) with D >= 1")
    stored = sigma.dtype
    mu, sigma = _as_float64(path, "mu", mu), _as_float64(path, "sigma", sigma)
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise GenmetricsError(f"{path}: mu or sigma holds non-finite values")
    check_covariance(sigma, stored, str(path))
    return Statistics(mu, sigma, meta.get("n"), meta, str(path))


def _as_float64(path, name: str, value: np.ndarray) -> np.ndarray:
    if value.dtype.kind not in "iuf":
        raise GenmetricsError(f"{path}: {name} is a {value.dtype} array; expected numbers")
    return value.astype(np.float64)


# Largest asymmetry max|sigma - sigma^T| accepted, relative to max|sigma|. A covariance is symmetric by
# construction: ours exactly, np.cov's exactly (one symmetric BLAS product); a tool summing in float32 in
# another order is off by round-off, about sqrt(N) eps32 (1 + mu^2/var) of the scale, ~3e-5 for 50,000
# images of centred features. 1e-3 (some 8,000 float32 eps) leaves a wide margin above that, while a wrong
# matrix (a transposed half, an unrelated array) is off by O(1).
SYMMETRY_TOLERANCE = 1e-3

# sigma + tol I must have a Cholesky factor, tol = PSD_SLACK * D * eps(stored dtype) * max|sigma|. A valid
# covariance has eigenvalues >= 0, less round-off: rounding to the stored dtype moves them by at most
# D eps max|sigma| (measured: 0.001 of that), and the computation itself by up to ~ (1 + mu^2/var) of it:
# measured on ReLU features (D = 2048, N = 50..3000, mu^2/var up to 23), ours and np.cov in float64 reach
# 2.5 D eps64, a one-pass float32 E[xx^T] - mu mu^T 28 D eps32. 100 covers these with a margin; a matrix
# that is not a covariance (negative definite, a sign error) fails by O(1).
PSD_SLACK = 100
PSD_MAX_TOLERANCE = 0.1  # never accept eigenvalues below -0.1 max|sigma|, even for float16 files


def check_covariance(sigma: np.ndarray, stored_dtype, name: str) -> None:
    """Raise GenmetricsError unless ``sigma`` (float64, finite, D x D) is symmetric and positive
    semi-definite to round-off. One Cholesky factorisation, no eigendecomposition: at D = 2048 about
    0.2 s on one (shared) core."""
    import scipy.linalg

    diagonal = np.diag(sigma)
    if diagonal.min() < 0:
        raise GenmetricsError(f"{name}: sigma has negative variances on its diagonal, so it is not a "
                              f"covariance matrix")
    scale = float(diagonal.max())  # max|sigma| of a covariance (|s_ij| <= sqrt(s_ii s_jj))
    if scale == 0.0:
        if np.any(sigma):
            raise GenmetricsError(f"{name}: sigma has zero variances but non-zero covariances, so it is not "
                                  f"a covariance matrix")
        return  # every feature constant: the zero matrix is a valid covariance
    work = sigma - sigma.T
    asymmetry = float(np.abs(work).max()) / scale
    if asymmetry > SYMMETRY_TOLERANCE:
        raise GenmetricsError(f"{name}: sigma is not symmetric (max|sigma - sigma^T| = {asymmetry:.2g} of "
                              f"max|sigma|, more than {SYMMETRY_TOLERANCE:g}), so it is not a covariance matrix")
    dims = sigma.shape[0]
    eps = np.finfo(stored_dtype if np.issubdtype(stored_dtype, np.floating) else np.float64).eps
    tolerance = min(PSD_SLACK * dims * float(eps), PSD_MAX_TOLERANCE)
    work *= -0.5
    work += sigma  # (sigma + sigma^T) / 2, what the FID uses
    work /= scale
    work.flat[::dims + 1] += tolerance
    try:
        scipy.linalg.cholesky(work, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:  # an eigenvalue below -tolerance * scale
        raise GenmetricsError(f"{name}: sigma is not positive semi-definite (it has an eigenvalue below "
                              f"{-tolerance * scale:.3g}, more negative than round-off), so it is not a "
                              f"covariance matrix") from None


def is_statistics_file(path) -> bool:
    """A .npz with ``mu`` and ``sigma`` arrays (False for one that cannot be read)."""
    if not isinstance(path, (str, Path)) or not str(path).lower().endswith(".npz") or not Path(path).is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            return "mu" in data.files and "sigma" in data.files
    except NPZ_READ_ERRORS:
        return False
