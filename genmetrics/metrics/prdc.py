"""Improved precision and recall, density and coverage: k-nearest-neighbour manifolds in feature space.

- Precision / recall (Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric for Assessing
  Generative Models"): each real (fake) sample's ball reaches its k-th nearest real (fake) neighbour,
  k = 3; a fake sample is precise if it lies in some real ball, a real sample is recalled if it lies in
  some fake ball; the test is inclusive (``<=``), as the authors' ``ManifoldEstimator``.
- Density / coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative
  Models"): k = 5; density = sum over fakes of the number of real balls holding it / (k M); coverage =
  fraction of real balls holding at least one fake; strict test (``<``) as the ``prdc`` package (clovaai).
The radius is the (k+1)-th smallest distance from a point to its own set, the first being itself.

All distances are squared Euclidean (same order as Euclidean, so the same decisions), from
|x|^2 + |y|^2 - 2 x.y in float64, in blocks of rows so that 50,000 x 50,000 fits in bounded memory, on the
GPU when the features are there (CUDA tensors) or ``device`` names a CUDA device.
"""
from __future__ import annotations

import numpy as np
import torch

from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from .registry import GENERATED_FEATURES, REFERENCE_FEATURES, TRAIN_KEEPS_STATISTICS, Key, register_metric
from .result import PRDC_KEYS, PRDCResult

PR_K = DEFAULTS.pr_k  # 3: Kynkaanniemi et al. 2019, section 3 (k = 3)
DC_K = DEFAULTS.dc_k  # 5: Naeem et al. 2020, section 4 (k = 5); prdc README
BLOCK_ELEMENTS = 1 << 24  # distances held at once: 16M float64 = 128 MiB


def _squared_distances(a: torch.Tensor, b: torch.Tensor, b_norms: torch.Tensor) -> torch.Tensor:
    d = (a * a).sum(1, keepdim=True) + b_norms[None, :] - 2 * (a @ b.T)
    return d.clamp_min_(0)


def _blocks(n_rows: int, n_cols: int):
    step = max(1, BLOCK_ELEMENTS // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def knn_radii(x: torch.Tensor, ks: tuple[int, ...]) -> dict[int, torch.Tensor]:
    """Squared distance from each point of ``x`` to its k-th nearest other point, for each k."""
    if len(x) <= max(ks):
        raise GenmetricsError(f"{len(x)} samples cannot give {max(ks)}-nearest-neighbour radii; "
                              f"use more images or a smaller k")
    norms = (x * x).sum(1)
    found = {k: torch.empty(len(x), dtype=x.dtype, device=x.device) for k in ks}
    for rows in _blocks(len(x), len(x)):
        smallest = torch.topk(_squared_distances(x[rows], x, norms), max(ks) + 1, dim=1, largest=False).values
        for k in ks:
            found[k][rows] = smallest[:, k]  # index 0 is the point itself
    return found


def _as_float64(x, device) -> torch.Tensor:
    return torch.as_tensor(x if isinstance(x, torch.Tensor) else np.asarray(x), dtype=torch.float64, device=device)


def prdc(real, fake, pr_k: int = PR_K, dc_k: int = DC_K, device: str | torch.device | None = None) -> PRDCResult:
    """Precision, recall (k = ``pr_k``), density and coverage (k = ``dc_k``) of ``fake`` against ``real``.

    ``device``: where the float64 distances are computed; None keeps tensors where they are (so CUDA
    tensors are scored on their GPU) and puts arrays on the CPU. Returns a ``PRDCResult``, which also
    reads as the former dict of the four values.
    """
    if device is None:
        device = real.device if isinstance(real, torch.Tensor) else "cpu"
    real, fake = _as_float64(real, device), _as_float64(fake, device)
    if real.shape[1] != fake.shape[1]:
        raise GenmetricsError(f"features of different dimension: {real.shape[1]} (real) vs {fake.shape[1]} (fake)")
    real_r = knn_radii(real, (pr_k, dc_k))
    fake_r = knn_radii(fake, (pr_k,))[pr_k]
    fake_norms = (fake * fake).sum(1)
    precise = torch.zeros(len(fake), dtype=torch.bool, device=real.device)
    density = torch.zeros(len(fake), dtype=torch.float64, device=real.device)
    recalled = torch.empty(len(real), dtype=torch.bool, device=real.device)
    covered = torch.empty(len(real), dtype=torch.bool, device=real.device)
    for rows in _blocks(len(real), len(fake)):
        d = _squared_distances(real[rows], fake, fake_norms)  # (block of real, all fake)
        precise |= (d <= real_r[pr_k][rows, None]).any(0)
        density += (d < real_r[dc_k][rows, None]).sum(0)
        recalled[rows] = (d <= fake_r[None, :]).any(1)
        covered[rows] = d.min(1).values < real_r[dc_k][rows]
    return PRDCResult(precision=float(precise.double().mean()), recall=float(recalled.double().mean()),
                      density=float(density.sum() / (dc_k * len(fake))), coverage=float(covered.double().mean()),
                      pr_k=pr_k, dc_k=dc_k)


def _prdc_of(inputs) -> dict:
    """All four values from one k-NN pass (registry compute function shared by the four metrics)."""
    return prdc(inputs.reference_features, inputs.generated_features, inputs.options.pr_k, inputs.options.dc_k,
                inputs.device).to_dict()


# One metric per value (each selectable alone); they share one compute function, so one pass serves all.
# Each reads both k's: the one call computes both radii, and a set too small for either k fails.
for _name in PRDC_KEYS:
    register_metric(_name, [Key(_name, True, _name)], {REFERENCE_FEATURES, GENERATED_FEATURES}, _prdc_of,
                    options=("pr_k", "dc_k"), not_applicable={"train": TRAIN_KEEPS_STATISTICS})
