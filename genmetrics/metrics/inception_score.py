"""Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))), mean and std over splits.

As the original improved-gan ``inception_score.py`` and torch-fidelity ``metric_isc.py``: softmax of the
unbiased logits in float64, split boundaries ``i * N // splits``, p(y) the mean over each split, the
standard deviation over splits with ddof=0. No shuffling unless ``shuffle_seed`` is given;
``shuffle_seed=2020`` reproduces torch-fidelity's default ``RandomState(2020)`` permutation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_softmax

from .._version import __version__
from ..defaults import DEFAULTS, EXTRACTION_OPTIONS, check_keywords
from ..errors import GenmetricsError
from ..features.compute import compute_logits
from .registry import GENERATED_LOGITS, Key, register_metric
from .result import MetricResult


def inception_score_from_logits(logits, splits: int = DEFAULTS.splits,
                                shuffle_seed: int | None = DEFAULTS.shuffle_seed) -> tuple[float, float]:
    """(mean, std) of the Inception Score of ``logits`` (N, classes)."""
    logits = np.asarray(logits)
    n = logits.shape[0]
    if splits < 1:
        raise GenmetricsError(f"--splits must be at least 1, got {splits}")
    if n < splits:
        raise GenmetricsError(f"{n} images cannot make {splits} splits; use --splits {max(1, n)} or more images")
    if shuffle_seed is not None:
        logits = logits[np.random.RandomState(shuffle_seed).permutation(n)]
    log_p = log_softmax(logits.astype(np.float64), axis=1)
    p = np.exp(log_p)
    scores = []
    for i in range(splits):
        part, log_part = p[i * n // splits:(i + 1) * n // splits], log_p[i * n // splits:(i + 1) * n // splits]
        log_marginal = np.log(part.mean(axis=0, keepdims=True))
        kl = (part * (log_part - log_marginal)).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


@dataclass
class ISResult(MetricResult):
    inception_score: float
    inception_score_std: float
    splits: int
    n: int
    shuffle_seed: int | None
    resize: str | None
    weights_sha256: str | None
    weights_canonical: bool | None
    input: str = ""
    skipped: int = 0
    version: str = __version__
    extractor: str = "inception"  # digits: the IS of the bundled digits classifier (at most 10)
    backend: str | None = None  # what ran the network (features/onnx_backend.py); None for a features file

    PROTOCOL = ("splits", "n", "shuffle_seed", "extractor", "resize", "weights_sha256", "weights_canonical",
                "backend", "version")


def inception_score(images, *, splits: int = DEFAULTS.splits,
                    shuffle_seed: int | None = DEFAULTS.shuffle_seed, **options) -> ISResult:
    """Inception Score of ``images`` (any input the loader accepts, or a features npz with logits).

    Options: ``resize``, ``weights``, ``device``, ``batch_size``, ``workers``, ``skip_bad``, ``progress``;
    ``extractor="digits"`` scores with the bundled digits classifier's 10 classes instead (at most 10).
    """
    check_keywords(options, EXTRACTION_OPTIONS, "inception_score")
    logits, meta = compute_logits(images, **options)
    mean, std = inception_score_from_logits(logits, splits, shuffle_seed)
    return ISResult(mean, std, splits, int(logits.shape[0]), shuffle_seed, meta.get("resize"),
                    meta.get("weights_sha256"), meta.get("weights_canonical"),
                    str(images) if not hasattr(images, "shape") else "<array>", meta.get("skipped", 0),
                    extractor=meta.get("extractor", "inception"), backend=meta.get("backend"))


def _inception_score_of(inputs) -> dict:
    """IS of the generated logits (registry compute function)."""
    mean, std = inception_score_from_logits(inputs.generated_logits, inputs.options.splits, inputs.options.shuffle_seed)
    return {"inception_score": mean, "inception_score_std": std}


register_metric("is", [Key("inception_score", True, "Inception Score", short="IS", spread="inception_score_std"),
                       Key("inception_score_std", None, "IS standard deviation over splits")],
                {GENERATED_LOGITS}, _inception_score_of, options=("splits", "shuffle_seed"),
                note="of the generated images")
