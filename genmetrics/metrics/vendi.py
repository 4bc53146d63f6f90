"""The Vendi score (Friedman & Dieng 2023, "The Vendi Score: A Diversity Evaluation Metric for Machine Learning").

exp of the Shannon entropy of the eigenvalues of K / n, K the cosine-similarity kernel of the samples: the
``vendi-score`` package's default for embeddings (``vendi.score_X(X)``: rows L2-normalised, K = X X^T, q = 1).
It is the effective number of distinct samples: 1 for n identical points, n for n orthogonal ones. The
non-zero eigenvalues of X X^T / n are those of X^T X / n, so the smaller of the two matrices is used.
Per class (``labels``): the score of each class's samples, and their mean.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from ..errors import GenmetricsError
from .registry import GENERATED_FEATURES, Key, register_metric


def vendi_score(features, labels=None) -> float | dict:
    """The Vendi score of ``features`` (N, D); with ``labels`` (N,), ``{"per_class": {label: score}, "mean": ...}``."""
    x = np.asarray(features, np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise GenmetricsError(f"the Vendi score needs (N, D) features, got shape {x.shape}")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(x),):
            raise GenmetricsError(f"{labels.shape[0] if labels.ndim else 0} labels for {len(x)} samples")
        per_class = {str(label): vendi_score(x[labels == label]) for label in np.unique(labels)}
        return {"per_class": per_class, "mean": float(np.mean(list(per_class.values())))}
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if not np.all(norms > 0):
        raise GenmetricsError("a sample has all-zero features: its cosine similarity is undefined")
    x = x / norms
    n = len(x)
    gram = x.T @ x if x.shape[1] < n else x @ x.T
    eigenvalues = scipy.linalg.eigvalsh(gram / n)
    p = eigenvalues[eigenvalues > 0]  # vendi-score entropy_q drops the round-off negatives the same way
    return float(np.exp(-(p * np.log(p)).sum()))


def _vendi_of(inputs) -> dict:
    return {"vendi": vendi_score(inputs.generated_features)}


register_metric("vendi", [Key("vendi", True, "Vendi score (diversity)", short="Vendi")], {GENERATED_FEATURES},
                _vendi_of)
