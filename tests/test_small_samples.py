"""Numbers that look precise but are not: KID's spread with one possible subset, FID with few images in
eval, and a sweep whose length the user should know before it starts."""
import numpy as np
import pytest
import torch

from genmetrics.metrics.evaluate import evaluate
from genmetrics.metrics.fid import SmallSampleWarning
from genmetrics.metrics.kid import kernel_inception_distance, polynomial_mmd2
from genmetrics.sweep import _warn_if_long


def test_kid_with_sets_of_the_subset_size_reports_no_spread():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 8)), rng.normal(size=(10, 8))
    with pytest.warns(SmallSampleWarning, match="every subset is the whole set"):
        mean, std, m = kernel_inception_distance(x, y, subsets=5)
    # Every subset is a permutation of both whole sets: the value is the whole-set MMD (to round-off of the
    # summation order), and a std of 0.0 would pretend to a precision the data cannot give.
    assert std is None and m == 10
    assert mean == pytest.approx(polynomial_mmd2(x, y), rel=1e-12)


def test_kid_with_larger_sets_keeps_its_spread():
    rng = np.random.default_rng(0)
    _, std, _ = kernel_inception_distance(rng.normal(size=(12, 8)), rng.normal(size=(10, 8)), subsets=5)
    assert std is not None and std > 0


def test_eval_warns_like_fid_when_images_are_fewer_than_dims(real_dir, fake_dir, weights):
    with pytest.warns(SmallSampleWarning, match="64-d features"):
        result = evaluate(real_dir, fake_dir, "fid,kid", dims=64, weights=weights, progress=False)
    assert result["fid"] > 0 and result["n1"] == 24


def test_a_long_cpu_sweep_says_so_up_front():
    with pytest.warns(UserWarning, match=r"7 levels x 10,000 samples = 70,000 images"):
        _warn_if_long(10000, [2.0, 1.5, 1.0, 0.7, 0.5, 0.3, 0.1], ["fid", "is"], torch.device("cpu"))


def test_a_short_or_toy_sweep_is_quiet(recwarn):
    _warn_if_long(100, [1.0, 0.5], ["fid"], torch.device("cpu"))
    _warn_if_long(10000, [1.0] * 7, ["modes"], torch.device("cpu"))
    assert not [w for w in recwarn if "this sweep" in str(w.message)]
