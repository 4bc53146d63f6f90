"""Inception Score: closed forms and torch-fidelity's split/shuffle convention on the same logits."""
import numpy as np
import pytest
import torch

from genmetrics import GenmetricsError, inception_score_from_logits


def one_hot_logits(labels, classes=1008, margin=200.0):
    # A margin of 200 makes float64 softmax exactly one-hot (exp(-200) ~ 1e-87 vanishes beside 1).
    logits = np.zeros((len(labels), classes))
    logits[np.arange(len(labels)), labels] = margin
    return logits


@pytest.mark.parametrize("k", [1, 2, 10, 50])
def test_one_hot_predictions_over_k_classes_give_k(k):
    labels = np.arange(1000) % k  # every split of 100 holds each class equally often (k divides 100)
    mean, std = inception_score_from_logits(one_hot_logits(labels), splits=10)
    assert mean == pytest.approx(k, rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-9)


def test_identical_predictions_give_one():
    logits = np.tile(np.random.default_rng(0).normal(size=(1, 1008)), (100, 1))
    mean, _ = inception_score_from_logits(logits, splits=5)
    assert mean == pytest.approx(1.0, abs=1e-12)


def test_splits_use_floor_boundaries():
    # 7 images in 3 splits: boundaries i*N//splits = 0, 2, 4, 7 -> sizes 2, 2, 3.
    logits = one_hot_logits([0, 1, 2, 3, 4, 5, 6])
    mean, std = inception_score_from_logits(logits, splits=3)
    assert mean == pytest.approx((2 + 2 + 3) / 3, rel=1e-9)
    assert std == pytest.approx(np.std([2, 2, 3]), rel=1e-9)


@pytest.mark.parametrize("shuffle_seed", [None, 2020, 7])
def test_matches_torch_fidelity_on_the_same_logits(shuffle_seed):
    from torch_fidelity.metric_isc import isc_features_to_metric

    logits = np.random.default_rng(1).normal(scale=3, size=(103, 1008)).astype(np.float32)
    ours = inception_score_from_logits(logits, splits=10, shuffle_seed=shuffle_seed)
    theirs = isc_features_to_metric(torch.from_numpy(logits), splits=10, shuffle=shuffle_seed is not None,
                                    rng_seed=shuffle_seed or 0)
    # Same float64 operations in a different library: agreement to round-off.
    assert ours[0] == pytest.approx(theirs["inception_score_mean"], rel=1e-12)
    assert ours[1] == pytest.approx(theirs["inception_score_std"], rel=1e-9)


def test_too_few_images_for_the_splits():
    with pytest.raises(GenmetricsError, match="cannot make 10 splits"):
        inception_score_from_logits(np.zeros((5, 1008)), splits=10)
