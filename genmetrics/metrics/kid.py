"""Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs", section 4).

The unbiased estimator of MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over
random subsets. Defaults as the paper's code and torch-fidelity (torch_fidelity/defaults.py): 100 subsets
of size 1000 (here min(1000, n) so that small sets work). Subsets are drawn exactly as torch-fidelity's
``kid_features_to_metric`` draws them: one ``numpy.random.RandomState(seed)``, and for each subset
``rng.choice(n1, m, replace=False)`` then ``rng.choice(n2, m, replace=False)``; so ``seed=2020``
(torch-fidelity's ``rng_seed``) gives its number. Kernels are computed in float64.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from .fid import SmallSampleWarning
from .registry import GENERATED_FEATURES, REFERENCE_FEATURES, TRAIN_KEEPS_STATISTICS, Key, register_metric
from .result import KIDResult

KID_SUBSETS = DEFAULTS.kid_subsets  # 100: Binkowski et al. 2018 code; torch-fidelity kid_subsets
KID_SUBSET_SIZE = 1000  # torch-fidelity kid_subset_size
KID_DEGREE, KID_COEF0 = 3, 1.0  # polynomial kernel (x.y / d + 1)^3


def polynomial_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between two equal-sized samples with the KID kernel."""
    m, d = x.shape
    k_xx = (x @ x.T / d + KID_COEF0) ** KID_DEGREE
    k_yy = (y @ y.T / d + KID_COEF0) ** KID_DEGREE
    k_xy = (x @ y.T / d + KID_COEF0) ** KID_DEGREE
    off_diagonal = k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)
    return float(off_diagonal / (m * (m - 1)) - 2 * k_xy.sum() / (m * m))


def kernel_inception_distance(features1, features2, subsets: int = KID_SUBSETS,
                              subset_size: int | None = DEFAULTS.kid_subset_size,
                              seed: int = DEFAULTS.seed) -> KIDResult:
    """KID over ``subsets`` random subsets of both feature sets: a ``KIDResult``, which also unpacks as
    the former tuple ``(mean, std, subset size)``.

    When both sets hold exactly ``subset_size`` features every subset is the whole of both sets (MMD does
    not depend on their order), so there is no spread to report: the std is None and a warning says so.
    """
    x, y = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    if x.shape[1] != y.shape[1]:
        raise GenmetricsError(f"KID needs features of the same dimension, got {x.shape[1]} and {y.shape[1]}")
    m = min(KID_SUBSET_SIZE, len(x), len(y)) if subset_size is None else subset_size
    if m < 2 or m > min(len(x), len(y)):
        raise GenmetricsError(f"KID subset size {m} needs 2 <= size <= the smaller set ({min(len(x), len(y))} "
                              f"images); pass --kid-subset-size")
    if subsets < 1:
        raise GenmetricsError(f"--kid-subsets must be at least 1, got {subsets}")
    if m == len(x) == len(y):
        warnings.warn(f"KID: both sets hold {m} features, the subset size, so every subset is the whole set and "
                      f"all {subsets} subsets give one value: no standard deviation is reported; use more "
                      f"images or a smaller --kid-subset-size", SmallSampleWarning, stacklevel=2)
        return KIDResult(polynomial_mmd2(x, y), None, m, subsets, seed)
    rng = np.random.RandomState(seed)
    values = np.empty(subsets)
    for i in range(subsets):
        a = x[rng.choice(len(x), m, replace=False)]
        b = y[rng.choice(len(y), m, replace=False)]
        values[i] = polynomial_mmd2(a, b)
    return KIDResult(float(values.mean()), float(values.std()), m, subsets, seed)


def _kid_of(inputs) -> dict:
    """KID of the generated features against the reference's (registry compute function)."""
    options = inputs.options
    return kernel_inception_distance(inputs.reference_features, inputs.generated_features, options.kid_subsets,
                                     options.kid_subset_size, options.seed).to_dict()


register_metric("kid", [Key("kid", False, "KID", short="KID", spread="kid_std"),
                        Key("kid_std", None, "KID standard deviation over subsets", column=False)],
                {REFERENCE_FEATURES, GENERATED_FEATURES}, _kid_of, options=("kid_subsets", "kid_subset_size", "seed"),
                not_applicable={"train": TRAIN_KEEPS_STATISTICS})
