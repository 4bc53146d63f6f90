"""Memorization: AuthPct (Alaa et al. 2022, "How Faithful is your Synthetic Data?", authenticity), and the
nearest training images of the most suspicious samples.

AuthPct as dgm-eval computes it (layer6ai-labs/dgm-eval ``metrics/authpct.py``): for each generated sample
g, its nearest training sample t (distance d1); t's own nearest other training sample (distance d2); g is
authentic when d2 < d1, i.e. g is farther from t than t's training neighbour is. AuthPct is the percentage
of authentic samples: 100 when no sample sits unusually close to a training image, lower when samples
copy training images. Distances as dgm-eval's: ``torch.cdist`` in float32 (here over row blocks, so memory
is O(block x n)). ``authpct`` ranks no model by itself (a model that memorises nothing can still be poor),
but higher is better for the question it answers.

The number is not the evidence: ``nearest_training_neighbours`` lists, for the generated samples with the
smallest ratio d1 / d2 (the most copy-like), their closest training images, so a user can look at them
(``genmetrics.memorization_report`` writes them as a PNG grid and JSON; ``genmetrics eval --metrics authpct``
reports them as ``memorization`` in its result).
"""
from __future__ import annotations

import numpy as np
import torch

from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from .registry import GENERATED_FEATURES, REFERENCE_FEATURES, TRAIN_KEEPS_STATISTICS, Key, register_metric

_BLOCK = 1024  # query rows per cdist block


def _nearest(queries: torch.Tensor, points: torch.Tensor, k: int, exclude_self: bool = False):
    """The k smallest float32 Euclidean distances from each query to ``points`` and their indices."""
    values, indices = [], []
    for start in range(0, len(queries), _BLOCK):
        distances = torch.cdist(queries[start:start + _BLOCK], points)
        if exclude_self:  # dgm-eval's fill_diagonal_(inf): a training point is not its own neighbour
            rows = torch.arange(len(distances))
            distances[rows, rows + start] = float("inf")
        found = distances.topk(k, dim=1, largest=False)
        values.append(found.values)
        indices.append(found.indices)
    return torch.cat(values), torch.cat(indices)


def _as_tensor(x, side: str) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    if x.dim() != 2 or len(x) < (2 if side == "training" else 1):
        raise GenmetricsError(f"memorization needs (N, D) {side} features (at least 2 training rows), got {tuple(x.shape)}")
    return x


def authenticity(train_features, generated_features) -> dict:
    """Per generated sample: ``d1`` (to its nearest training sample ``nearest``), ``d2`` (that sample's
    distance to its own nearest training neighbour) and ``authentic`` (d2 < d1); and ``authpct``."""
    train, generated = _as_tensor(train_features, "training"), _as_tensor(generated_features, "generated")
    if train.shape[1] != generated.shape[1]:
        raise GenmetricsError(f"features of different dimension: {train.shape[1]} vs {generated.shape[1]}")
    with torch.no_grad():
        train_nn, _ = _nearest(train, train, 1, exclude_self=True)
        d1, nearest = _nearest(generated, train, 1)
    d1, nearest, d2 = d1[:, 0], nearest[:, 0], train_nn[nearest[:, 0], 0]
    authentic = d2 < d1
    return {"authpct": float(100 * authentic.sum() / len(authentic)), "d1": d1.numpy(), "d2": d2.numpy(),
            "nearest": nearest.numpy(), "authentic": authentic.numpy()}


def nearest_training_neighbours(train_features, generated_features, samples: int = DEFAULTS.memorization_samples,
                                k: int = DEFAULTS.memorization_neighbours, *, train_files=None, generated_files=None,
                                found: dict | None = None) -> list[dict]:
    """The ``samples`` most copy-like generated samples (smallest d1 / d2) and their ``k`` nearest training
    samples: ``[{"generated": i, "generated_file": name or None, "ratio": d1/d2, "authentic": bool,
    "neighbours": [{"train": j, "train_file": name or None, "distance": d}, ...]}, ...]``, most copy-like
    first, neighbours nearest first. ``train_files``/``generated_files``: the inputs' file names, when they
    are files. ``found``: ``authenticity``'s result on the same features, if already computed."""
    if samples < 0 or k < 1:
        raise GenmetricsError(f"memorization: samples must be >= 0 and neighbours >= 1, got {samples} and {k}")
    found = authenticity(train_features, generated_features) if found is None else found
    # float64: d1 / (a d2 of 0, floored at float32 tiny) stays finite (JSON has no inf)
    ratio = found["d1"].astype(np.float64) / np.maximum(found["d2"], np.finfo(np.float32).tiny)
    order = np.argsort(ratio, kind="stable")[:samples]
    train, generated = _as_tensor(train_features, "training"), _as_tensor(generated_features, "generated")
    with torch.no_grad():
        distances, indices = _nearest(generated[torch.as_tensor(order)], train, min(k, len(train)))

    def name(files, i):
        return str(files[i]) if files else None  # a cached array input has files == []

    return [{"generated": int(i), "generated_file": name(generated_files, i), "ratio": float(ratio[i]),
             "authentic": bool(found["authentic"][i]),
             "neighbours": [{"train": int(j), "train_file": name(train_files, j), "distance": float(d)}
                            for j, d in zip(row_i, row_d)]}
            for i, row_i, row_d in zip(order, indices.tolist(), distances.tolist())]


def _authpct_of(inputs) -> dict:
    """AuthPct, and the nearest-neighbour list that ``genmetrics eval`` reports beside it (``memorization``)."""
    train, generated = inputs.reference_features, inputs.generated_features
    found = authenticity(train, generated)
    options = inputs.options
    rows = nearest_training_neighbours(train, generated, options.memorization_samples,
                                       options.memorization_neighbours, found=found,
                                       train_files=getattr(inputs.reference, "files", None),
                                       generated_files=getattr(inputs.generated, "files", None))
    return {"authpct": found["authpct"], "memorization": rows}


register_metric("authpct", [Key("authpct", True, "AuthPct (% of samples not closer to a training image than "
                                                  "its neighbour)", short="AuthPct")],
                {REFERENCE_FEATURES, GENERATED_FEATURES}, _authpct_of, not_applicable={"train": TRAIN_KEEPS_STATISTICS},
                options=("memorization_samples", "memorization_neighbours"), report=("memorization",),
                note="reference = the training images")
