"""One-pass evaluation, bootstrap intervals and FID_inf, on stored features (no network needed)."""
import numpy as np
import pytest

import genmetrics
from genmetrics import GenmetricsError
from genmetrics.features.compute import Features, save_features
from genmetrics.metrics.evaluate import evaluate
from genmetrics.metrics.fid_infinity import fid_infinity
from genmetrics.metrics.kid import kernel_inception_distance
from genmetrics.metrics.prdc import prdc


def stored(tmp_path, name, n, d=32, shift=0.0, seed=0, logits=True):
    rng = np.random.default_rng(seed)
    features = (rng.normal(size=(n, d)) + shift).astype(np.float32)
    protocol = {"resize": "tf", "weights_sha256": "0" * 64, "dims": d}
    save_features(tmp_path / name, Features(features, rng.normal(size=(n, 1008)).astype(np.float32) if logits
                                            else None, None, protocol))
    return tmp_path / name, features


def test_every_metric_equals_its_own_function(tmp_path):
    a, fa = stored(tmp_path, "a.npz", 300, seed=1)
    b, fb = stored(tmp_path, "b.npz", 200, shift=0.3, seed=2)
    result = evaluate(a, b, metrics="fid,is,kid,precision,recall,density,coverage", kid_subsets=5)
    stats_a, stats_b = genmetrics.compute_statistics(a), genmetrics.compute_statistics(b)
    assert result["fid"] == pytest.approx(genmetrics.frechet_distance(stats_a.mu, stats_a.sigma, stats_b.mu,
                                                                      stats_b.sigma), rel=1e-12)
    assert result["inception_score"] == pytest.approx(genmetrics.inception_score(b).inception_score, rel=1e-12)
    assert result["kid"] == pytest.approx(kernel_inception_distance(fa, fb, 5, None, 2020)[0], rel=1e-12)
    expected = prdc(fa, fb)
    for key in ("precision", "recall", "density", "coverage"):
        assert result[key] == expected[key]
    assert result["n1"] == 300 and result["n2"] == 200
    protocol = result["protocol"]
    assert protocol["pr_k"] == 3 and protocol["dc_k"] == 5 and protocol["seed"] == 2020
    assert protocol["kid_subsets"] == 5 and protocol["resize"] == "tf"


def test_bootstrap_is_deterministic_contains_the_estimate_and_shrinks(tmp_path):
    widths = []
    for n in (100, 800):
        a, _ = stored(tmp_path, f"a{n}.npz", n, d=8, seed=1)
        b, _ = stored(tmp_path, f"b{n}.npz", n, d=8, shift=0.5, seed=2)
        first = evaluate(a, b, metrics="fid,kid,precision,recall", kid_subsets=3, bootstrap=30)
        again = evaluate(a, b, metrics="fid,kid,precision,recall", kid_subsets=3, bootstrap=30)
        assert first == again
        intervals = first["bootstrap"]["intervals"]
        for name in ("fid", "kid", "precision", "recall"):
            low, high = intervals[name]
            assert low <= high
        low, high = intervals["fid"]
        # FID is biased upwards by resampling duplicates, but the point estimate stays inside at these sizes.
        assert low <= first["fid"] <= high
        widths.append(high - low)
    assert widths[1] < widths[0] / 2  # 8x the samples: about sqrt(8) ~ 2.8x narrower


def test_statistics_file_cannot_give_per_image_metrics(tmp_path):
    np.savez(tmp_path / "s.npz", mu=np.zeros(32), sigma=np.eye(32))
    b, _ = stored(tmp_path, "b.npz", 50)
    with pytest.raises(GenmetricsError, match="only statistics"):
        evaluate(tmp_path / "s.npz", b, metrics="kid")
    with pytest.raises(GenmetricsError, match="unknown metric"):
        evaluate(b, b, metrics="fid,lpips")


def test_fid_infinity_recovers_the_limit(tmp_path):
    # Both sides from the same Gaussian: the true FID is 0 and a finite-sample FID is biased by about
    # c/n_fake + c/n_real (c the fitted slope). Extrapolating n_fake -> inf leaves the reference side's
    # c/4000; the intercept must land there (within 30%: the fitted points carry sampling noise).
    a, _ = stored(tmp_path, "a.npz", 4000, d=16, seed=1)
    b, _ = stored(tmp_path, "b.npz", 2000, d=16, seed=2)
    result = fid_infinity(a, b, points=8, min_n=200)
    largest = result["points"][-1][1]
    assert [p[0] for p in result["points"]][0] == 200 and result["points"][-1][0] == 2000
    real_side_bias = result["slope"] / 4000
    assert result["slope"] > 0 and result["fid_infinity"] < 0.5 * largest
    assert abs(result["fid_infinity"] - real_side_bias) < 0.3 * real_side_bias
