"""Every sample metric from one feature pass per input, with bootstrap confidence intervals.

``evaluate(a, b, metrics=[...])`` extracts the features of each input once (and the logits of ``b`` when
IS is asked for) and computes each metric from them. With ``bootstrap=B`` it also resamples the images
of both sides with replacement B times (deterministically, from ``seed``) and reports the percentile
interval of each metric: a confidence interval no peer tool reports. Note that resampling with
replacement duplicates points, which shrinks k-NN radii: bootstrap intervals of the k-NN metrics
(precision, recall, density, coverage) are indicative only.
"""
from __future__ import annotations

import numpy as np

from .._version import __version__
from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from ..features.compute import compute_features, features_from_file, statistics_from_features
from ..stats import Statistics, is_statistics_file
from .fid import _check_sample_size, frechet_distance
from .inception_score import inception_score_from_logits
from .kid import KID_SUBSETS, kernel_inception_distance
from .prdc import DC_K, PR_K, prdc

METRICS = ("fid", "is", "kid", "precision", "recall", "density", "coverage")
PRDC_METRICS = ("precision", "recall", "density", "coverage")


def parse_metrics(metrics) -> list[str]:
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = [m.strip().lower() for m in names if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise GenmetricsError(f"unknown metric(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(METRICS)}")
    return list(dict.fromkeys(names))


def _features(images, dims: int, logits: bool, options: dict):
    if is_statistics_file(images):
        raise GenmetricsError(f"{images} holds only statistics (mu, sigma): KID, precision/recall, density/"
                              f"coverage and bootstrap need per-image features; pass the images or a "
                              f"features file from genmetrics features")
    stored = features_from_file(images)
    if stored is not None:
        if logits and stored.logits is None:
            raise GenmetricsError(f"{images} holds no logits, which IS needs")
        return stored
    return compute_features(images, dims=dims, logits=logits, **options)


def _scores(metrics, fa, fb, logits_b, settings, seed) -> dict:
    """The requested metrics of one pair of feature sets."""
    out = {}
    if "fid" in metrics:
        sa, sb = statistics_from_features(fa), statistics_from_features(fb)
        out["fid"] = frechet_distance(sa.mu, sa.sigma, sb.mu, sb.sigma)
    if "is" in metrics:
        out["inception_score"], out["inception_score_std"] = inception_score_from_logits(
            logits_b, settings["splits"])
    if "kid" in metrics:
        out["kid"], out["kid_std"], _ = kernel_inception_distance(
            fa, fb, settings["kid_subsets"], settings["kid_subset_size"], seed)
    if any(m in metrics for m in PRDC_METRICS):
        found = prdc(fa, fb, settings["pr_k"], settings["dc_k"])
        out.update({m: found[m] for m in PRDC_METRICS if m in metrics})
    return out


def evaluate(a, b, metrics=("fid",), *, dims: int = DEFAULTS.dims, seed: int = DEFAULTS.seed,
             splits: int = DEFAULTS.splits, kid_subsets: int = KID_SUBSETS, kid_subset_size: int | None = None,
             pr_k: int = PR_K, dc_k: int = DC_K, bootstrap: int = 0, confidence: float = 0.95,
             **options) -> dict:
    """Compute ``metrics`` (names from METRICS) of ``b`` (generated) against ``a`` (real) in one pass.

    ``seed`` drives KID's subsets (2020 reproduces torch-fidelity) and the bootstrap resampling.
    Options for the feature pass: ``resize``, ``weights``, ``device``, ``batch_size``, ``workers``,
    ``skip_bad``, ``progress``. Returns one dict: each metric's value, ``n1``, ``n2``, the ``protocol``
    and, with ``bootstrap``, the intervals.
    """
    metrics = parse_metrics(metrics)
    if not 0 < confidence < 1:
        raise GenmetricsError(f"--confidence must be in (0, 1), got {confidence}")
    settings = {"splits": splits, "kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size,
                "pr_k": pr_k, "dc_k": dc_k}
    if metrics == ["fid"] and not bootstrap:
        from .fid import fid
        result = fid(a, b, dims=dims, **options)
        return {"fid": result.fid, "n1": result.n1, "n2": result.n2,
                "protocol": _protocol(result.to_dict(), dims, seed, metrics, settings), "version": __version__}

    fa = _features(a, dims, False, options)
    fb = _features(b, dims, "is" in metrics, options)
    xa, xb = fa.features, fb.features
    if xa.shape[1] != xb.shape[1]:
        raise GenmetricsError(f"features of different dimension: {xa.shape[1]} vs {xb.shape[1]}")
    if "fid" in metrics:  # the warning genmetrics fid gives for fewer images than feature dimensions
        for images, x in ((a, xa), (b, xb)):
            _check_sample_size(Statistics(np.zeros(x.shape[1]), np.zeros((0, 0)), len(x), source=str(images)))
    result = _scores(metrics, xa, xb, fb.logits, settings, seed)
    result.update(n1=len(xa), n2=len(xb), version=__version__,
                  protocol=_protocol(fa.protocol, xa.shape[1], seed, metrics, settings))
    if bootstrap:
        result["bootstrap"] = _bootstrap(metrics, xa, xb, fb.logits, settings, seed, bootstrap, confidence)
    return result


def _protocol(record: dict, dims: int, seed: int, metrics, settings: dict) -> dict:
    extractor = record.get("extractor", "inception")
    protocol = {"extractor": extractor, "features": f"{extractor} {dims}-d",
                "resize": record.get("resize"), "weights_sha256": record.get("weights_sha256"),
                "dims": dims, "seed": seed, "metrics": metrics}
    if "kid" in metrics:
        protocol.update(kid_subsets=settings["kid_subsets"], kid_subset_size=settings["kid_subset_size"])
    if any(m in metrics for m in PRDC_METRICS):
        protocol.update(pr_k=settings["pr_k"], dc_k=settings["dc_k"])
    if "is" in metrics:
        protocol.update(splits=settings["splits"])
    return protocol


def _bootstrap(metrics, xa, xb, logits_b, settings, seed, replicates, confidence) -> dict:
    rng = np.random.default_rng(seed)
    draws: dict[str, list] = {}
    for r in range(replicates):
        ia, ib = rng.integers(0, len(xa), len(xa)), rng.integers(0, len(xb), len(xb))
        scores = _scores(metrics, xa[ia], xb[ib], None if logits_b is None else logits_b[ib], settings, seed + 1 + r)
        for name, value in scores.items():
            if not name.endswith("_std"):
                draws.setdefault(name, []).append(value)
    tail = 100 * (1 - confidence) / 2
    return {"replicates": replicates, "confidence": confidence, "method": "percentile",
            "intervals": {name: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))]
                          for name, v in draws.items()},
            "std": {name: float(np.std(v)) for name, v in draws.items()}}
