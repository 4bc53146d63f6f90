"""The Fréchet distance: closed forms, agreement with the sqrtm formula, singular covariances."""
import numpy as np
import pytest
import scipy.linalg

from genmetrics import GenmetricsError, frechet_distance


def sqrtm_reference(mu1, s1, mu2, s2):
    """The textbook formula with scipy's sqrtm, as pytorch-fid computes it (for well-conditioned input)."""
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def random_spd(rng, d, n=None):
    x = rng.normal(size=(n or 3 * d, d)) @ rng.normal(size=(d, d))
    return np.cov(x, rowvar=False)


def test_identical_statistics_give_zero():
    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=64), random_spd(rng, 64)
    # Exactly 0 would need exact arithmetic; 1e-9 of tr(sigma) is float64 round-off for 64 dims.
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-9 * np.trace(sigma)


def test_diagonal_gaussians_closed_form():
    # For commuting (here diagonal) covariances tr((S1 S2)^1/2) = sum sqrt(a_i b_i), so
    # FID = |mu1 - mu2|^2 + sum (sqrt(a_i) - sqrt(b_i))^2 exactly; float64 round-off bounds the error.
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.1, 4, 32), rng.uniform(0.1, 4, 32)
    mu1, mu2 = rng.normal(size=32), rng.normal(size=32)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_scalar_gaussians():
    # N(0, 1) vs N(3, 4): 9 + (1 - 2)^2 = 10.
    assert frechet_distance([0.0], [[1.0]], [3.0], [[4.0]]) == pytest.approx(10.0, rel=1e-14)


@pytest.mark.parametrize("d", [8, 128, 512])
def test_agrees_with_sqrtm_formula(d):
    # Well-conditioned full-rank covariances: both formulas are exact; 1e-8 relative is round-off.
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = random_spd(rng, d), random_spd(rng, d)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(sqrtm_reference(mu1, s1, mu2, s2), rel=1e-8)


def test_symmetric_in_its_arguments():
    rng = np.random.default_rng(2)
    mu1, mu2, s1, s2 = rng.normal(size=64), rng.normal(size=64), random_spd(rng, 64), random_spd(rng, 64)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-10)


def test_singular_covariances_stay_finite_and_exact():
    # N < dims: both covariances have rank N-1. The exact value is checked against an independent route:
    # tr((S1 S2)^1/2) is the nuclear norm of X1^T X2 / (n-1) for centred data X (sum of singular values).
    rng = np.random.default_rng(3)
    n, d = 20, 256
    x1, x2 = rng.normal(size=(n, d)), rng.normal(size=(n, d)) * 1.5 + 0.2
    c1, c2 = x1 - x1.mean(0), x2 - x2.mean(0)
    s1, s2 = c1.T @ c1 / (n - 1), c2.T @ c2 / (n - 1)
    mu1, mu2 = x1.mean(0), x2.mean(0)
    nuclear = np.linalg.svd(c1 @ c2.T / (n - 1), compute_uv=False).sum()
    expected = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * nuclear
    value = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(value)
    assert value == pytest.approx(expected, rel=1e-9)


def test_zero_covariance_is_handled():
    mu = np.zeros(16)
    assert frechet_distance(mu, np.zeros((16, 16)), mu + 1, np.eye(16)) == pytest.approx(16 + 16, rel=1e-12)


def test_dimension_mismatch_is_a_clear_error():
    with pytest.raises(GenmetricsError, match="different dimensions"):
        frechet_distance(np.zeros(4), np.eye(4), np.zeros(8), np.eye(8))


def test_non_finite_statistics_are_rejected():
    sigma = np.eye(4)
    sigma[0, 0] = np.nan
    with pytest.raises(GenmetricsError, match="non-finite"):
        frechet_distance(np.zeros(4), sigma, np.zeros(4), np.eye(4))


@pytest.mark.parametrize("singular", [False, True])
def test_torch_path_equals_scipy_path(singular):
    # The GPU code path run on CPU tensors: the same float64 algorithm through another LAPACK binding.
    from genmetrics.metrics.fid import trace_sqrt_product, trace_sqrt_product_torch

    rng = np.random.default_rng(4)
    n = 20 if singular else 400
    s1, s2 = random_spd(rng, 64, n), random_spd(rng, 64, n)
    assert trace_sqrt_product_torch(s1, s2, "cpu") == pytest.approx(trace_sqrt_product(s1, s2), rel=1e-10)
