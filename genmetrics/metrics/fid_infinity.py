"""FID extrapolated to infinitely many samples (Chong & Forsyth 2020, "Effectively Unbiased FID and
Inception Score and where to find them", section 3.2).

FID is biased upwards by a term that shrinks like 1/N. Following the paper's ``fid_infinity``: compute
FID of random subsets of the generated features at ``points`` sizes evenly spaced from ``min_n`` to N
(defaults: 15 sizes from N/10 to N, the paper's 5,000..50,000 scaled to N), each subset drawn afresh
without replacement, against the full reference statistics; fit FID = slope / n + intercept by least
squares; FID_inf is the intercept. The fitted points are reported with it.
"""
from __future__ import annotations

import numpy as np

from .._version import __version__
from ..defaults import DEFAULTS, EXTRACTION_OPTIONS, check_keywords
from ..errors import GenmetricsError
from ..features.compute import compute_features, compute_statistics, statistics_from_features
from ..inputs import FEATURES, IMAGES, STATISTICS, open_input
from .fid import frechet_distance

POINTS = 15  # Chong & Forsyth 2020 code: np.linspace(5000, 50000, 15)


def fid_infinity(a, b, *, points: int = POINTS, min_n: int | None = None, seed: int = DEFAULTS.seed,
                 dims: int = DEFAULTS.dims, **options) -> dict:
    """FID_inf of ``b`` (generated, needs per-image features) against ``a`` (images or statistics)."""
    check_keywords(options, EXTRACTION_OPTIONS, "fid_infinity")
    a = open_input(a, (IMAGES, FEATURES, STATISTICS), "FID_inf's reference")
    b = open_input(b, (IMAGES, FEATURES), "FID_inf (subsets of per-image features)")
    real = compute_statistics(a, dims=dims, **options)
    fake = compute_features(b, dims=dims, logits=False, **options).features
    n = len(fake)
    min_n = max(2, n // 10) if min_n is None else min_n
    if points < 2 or not 2 <= min_n < n:
        raise GenmetricsError(f"FID_inf needs at least 2 sizes between --infinity-min ({min_n}) and the "
                              f"number of generated images ({n}); use more images or a smaller minimum")
    sizes = np.unique(np.linspace(min_n, n, points).astype(int))
    rng = np.random.default_rng(seed)
    fids = []
    for size in sizes:
        subset = statistics_from_features(fake[rng.permutation(n)[:size]])
        fids.append(frechet_distance(real.mu, real.sigma, subset.mu, subset.sigma))
    slope, intercept = np.polyfit(1.0 / sizes, fids, 1)
    return {"fid_infinity": float(intercept), "slope": float(slope),
            "points": [[int(s), float(f)] for s, f in zip(sizes, fids)], "n1": real.n, "n2": n,
            "seed": seed, "dims": dims, "resize": real.meta.get("resize") or options.get("resize", DEFAULTS.resize),
            "version": __version__}
