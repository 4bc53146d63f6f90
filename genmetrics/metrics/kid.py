"""Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs", section 4).

The unbiased estimator of MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over
random subsets; the kernel's degree, gamma and coef0, or torch-fidelity's RBF kernel, are options. Defaults as the paper's code and torch-fidelity (torch_fidelity/defaults.py): 100 subsets
of size 1000 (here min(1000, n) so that small sets work). Subsets are drawn exactly as torch-fidelity's
``kid_features_to_metric`` draws them: one ``numpy.random.RandomState(seed)``, and for each subset
``rng.choice(n1, m, replace=False)`` then ``rng.choice(n2, m, replace=False)``; so ``seed=2020``
(torch-fidelity's ``rng_seed``) gives its number. Kernels are computed in float64.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..defaults import DEFAULTS, KID_KERNELS
from ..errors import GenmetricsError
from .fid import SmallSampleWarning
from .registry import GENERATED_FEATURES, REFERENCE_FEATURES, TRAIN_KEEPS_STATISTICS, Key, register_metric
from .result import KIDResult

KID_SUBSETS = DEFAULTS.kid_subsets  # 100: Binkowski et al. 2018 code; torch-fidelity kid_subsets
KID_SUBSET_SIZE = 1000  # torch-fidelity kid_subset_size
KID_DEGREE, KID_COEF0 = DEFAULTS.kid_degree, DEFAULTS.kid_coef0  # polynomial kernel (x.y / d + 1)^3


def kernel_matrix(x: np.ndarray, y: np.ndarray, kernel: str = DEFAULTS.kid_kernel, degree: int = DEFAULTS.kid_degree,
                  gamma: float | None = DEFAULTS.kid_gamma, coef0: float = DEFAULTS.kid_coef0,
                  rbf_sigma: float = DEFAULTS.kid_rbf_sigma) -> np.ndarray:
    """k(x_i, y_j): poly (gamma x.y + coef0)^degree, gamma None meaning 1/d (Binkowski et al. 2018); rbf
    exp(-|x - y|^2 / (2 sigma^2)) (torch-fidelity metric_kid.py kernel_rbf)."""
    if kernel == "poly":
        return (x @ y.T * (1.0 / x.shape[1] if gamma is None else gamma) + coef0) ** degree
    squared = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * (x @ y.T)
    return np.exp(-squared / (2 * rbf_sigma ** 2))


def check_kernel(kernel: str, degree: int, gamma: float | None, rbf_sigma: float) -> None:
    if kernel not in KID_KERNELS:
        raise GenmetricsError(f"--kid-kernel {kernel!r}; choose one of {', '.join(KID_KERNELS)}")
    if kernel == "poly" and (degree < 1 or (gamma is not None and gamma <= 0)):
        raise GenmetricsError(f"KID poly kernel: --kid-degree must be >= 1 and --kid-gamma > 0, got {degree} and "
                              f"{gamma}")
    if kernel == "rbf" and not rbf_sigma > 0:
        raise GenmetricsError(f"KID rbf kernel: --kid-rbf-sigma must be positive, got {rbf_sigma}")


def polynomial_mmd2(x: np.ndarray, y: np.ndarray, **kernel) -> float:
    """Unbiased MMD^2 between two equal-sized samples with the KID kernel (``kernel``: ``kernel_matrix``'s
    keywords; the default is the cubic polynomial)."""
    m = x.shape[0]
    k_xx, k_yy, k_xy = kernel_matrix(x, x, **kernel), kernel_matrix(y, y, **kernel), kernel_matrix(x, y, **kernel)
    off_diagonal = k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)
    return float(off_diagonal / (m * (m - 1)) - 2 * k_xy.sum() / (m * m))


def kernel_inception_distance(features1, features2, subsets: int = KID_SUBSETS,
                              subset_size: int | None = DEFAULTS.kid_subset_size,
                              seed: int = DEFAULTS.seed, *, kernel: str = DEFAULTS.kid_kernel,
                              degree: int = DEFAULTS.kid_degree, gamma: float | None = DEFAULTS.kid_gamma,
                              coef0: float = DEFAULTS.kid_coef0, rbf_sigma: float = DEFAULTS.kid_rbf_sigma) -> KIDResult:
    """KID over ``subsets`` random subsets of both feature sets: a ``KIDResult``, which also unpacks as
    the former tuple ``(mean, std, subset size)``. ``kernel``: "poly" (``degree``, ``gamma`` [None: 1/d],
    ``coef0``) or "rbf" (``rbf_sigma``), as torch-fidelity's ``kid_kernel`` options.

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
    check_kernel(kernel, degree, gamma, rbf_sigma)
    params = dict(kernel=kernel, degree=degree, gamma=gamma, coef0=coef0, rbf_sigma=rbf_sigma)
    record = dict(kernel=kernel, kernel_params=dict(degree=degree, gamma=gamma, coef0=coef0) if kernel == "poly"
                  else dict(sigma=rbf_sigma))
    if subsets < 1:
        raise GenmetricsError(f"--kid-subsets must be at least 1, got {subsets}")
    if m == len(x) == len(y):
        warnings.warn(f"KID: both sets hold {m} features, the subset size, so every subset is the whole set and "
                      f"all {subsets} subsets give one value: no standard deviation is reported; use more "
                      f"images or a smaller --kid-subset-size", SmallSampleWarning, stacklevel=2)
        return KIDResult(polynomial_mmd2(x, y, **params), None, m, subsets, seed, **record)
    rng = np.random.RandomState(seed)
    values = np.empty(subsets)
    for i in range(subsets):
        a = x[rng.choice(len(x), m, replace=False)]
        b = y[rng.choice(len(y), m, replace=False)]
        values[i] = polynomial_mmd2(a, b, **params)
    return KIDResult(float(values.mean()), float(values.std()), m, subsets, seed, **record)


def _kid_of(inputs) -> dict:
    """KID of the generated features against the reference's (registry compute function)."""
    options = inputs.options
    return kernel_inception_distance(inputs.reference_features, inputs.generated_features, options.kid_subsets,
                                     options.kid_subset_size, options.seed, kernel=options.kid_kernel,
                                     degree=options.kid_degree, gamma=options.kid_gamma, coef0=options.kid_coef0,
                                     rbf_sigma=options.kid_rbf_sigma).to_dict()


register_metric("kid", [Key("kid", False, "KID", short="KID", spread="kid_std"),
                        Key("kid_std", None, "KID standard deviation over subsets", column=False)],
                {REFERENCE_FEATURES, GENERATED_FEATURES}, _kid_of, options=("kid_subsets", "kid_subset_size", "seed", "kid_kernel", "kid_degree", "kid_gamma", "kid_coef0",
                         "kid_rbf_sigma"),
                not_applicable={"train": TRAIN_KEEPS_STATISTICS})
