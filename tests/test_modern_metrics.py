"""FD in any space, FD_DINOv2's and CMMD's own feature spaces, sFID, CMMD and Vendi against their references.

Tolerances: 1e-9 relative for CMMD and Vendi (float64 on both sides, different summation orders); 1e-5 of
the largest feature for sFID's spatial features (float32 through 10 Inception blocks, BatchNorm folded on
our side only).
"""
import numpy as np
import pytest
import torch

import genmetrics
from genmetrics import GenmetricsError
from genmetrics.features.compute import Features, save_features
from genmetrics.metrics.cmmd import cmmd
from genmetrics.metrics.evaluate import evaluate
from genmetrics.metrics.spaces import feature_groups
from genmetrics.metrics.vendi import vendi_score
from genmetrics.testing import synthetic_images


def reference_cmmd(x, y, sigma=10, scale=1000):
    """google-research cmmd distance.py ``mmd``, line for line in numpy (it uses jax.numpy)."""
    x_sqnorms = np.diag(np.matmul(x, x.T))
    y_sqnorms = np.diag(np.matmul(y, y.T))
    gamma = 1 / (2 * sigma**2)
    k_xx = np.mean(np.exp(-gamma * (-2 * np.matmul(x, x.T) + np.expand_dims(x_sqnorms, 1)
                                    + np.expand_dims(x_sqnorms, 0))))
    k_xy = np.mean(np.exp(-gamma * (-2 * np.matmul(x, y.T) + np.expand_dims(x_sqnorms, 1)
                                    + np.expand_dims(y_sqnorms, 0))))
    k_yy = np.mean(np.exp(-gamma * (-2 * np.matmul(y, y.T) + np.expand_dims(y_sqnorms, 1)
                                    + np.expand_dims(y_sqnorms, 0))))
    return scale * (k_xx + k_yy - 2 * k_xy)


def unit_rows(n, d, seed, shift=0.0):
    x = np.random.default_rng(seed).normal(size=(n, d)) + shift
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_cmmd_equals_the_reference_estimator():
    x, y = unit_rows(300, 32, 1), unit_rows(200, 32, 2, shift=0.2)
    expected = reference_cmmd(x, y)
    assert expected > 1e-3  # a real difference, not round-off
    assert abs(cmmd(x, y) - expected) <= 1e-9 * abs(expected)
    # unnormalised input: normalised first, as the reference's CLIP embeddings are
    assert abs(cmmd(3 * x, 0.5 * y) - expected) <= 1e-9 * abs(expected)
    assert abs(cmmd(x, x)) < 1e-12  # identical sets: 0 (the biased estimator is exactly 0 there)


def test_vendi_equals_the_package():
    vendi = pytest.importorskip("vendi_score.vendi")
    for n, d in ((50, 8), (8, 50)):  # both the n x n and the d x d route
        x = np.random.default_rng(n).normal(size=(n, d))
        assert abs(vendi_score(x) - vendi.score_X(x)) <= 1e-9 * vendi.score_X(x)


def test_vendi_closed_forms():
    assert abs(vendi_score(np.tile([[1.0, 2.0, 3.0]], (7, 1))) - 1) < 1e-9  # n identical points: 1
    assert abs(vendi_score(np.eye(6) * 3) - 6) < 1e-9  # n orthogonal points: n
    per_class = vendi_score(np.vstack([np.eye(4), np.ones((3, 4))]), labels=[0, 0, 0, 0, 1, 1, 1])
    assert per_class["per_class"] == pytest.approx({"0": 4.0, "1": 1.0}) and per_class["mean"] == pytest.approx(2.5)


def test_sfid_spatial_features_are_mixed_6_conv(weights):
    """torch-fidelity's Inception (its own port of the TF graph), hooked at Mixed_6d.branch1x1 (mixed_6/conv)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    images = synthetic_images(3, size=32, seed=4)
    theirs = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path=weights)
    captured = []
    theirs.Mixed_6d.branch1x1.register_forward_hook(lambda module, args, out: captured.append(out))
    with torch.no_grad():
        theirs(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous())
    expected = captured[0][:, :7].permute(0, 2, 3, 1).reshape(3, -1)  # NHWC [..., :7], flattened (ADM)
    ours = genmetrics.compute_features(images, dims="spatial", weights=weights, progress=False, cache=False)
    assert ours.features.shape == (3, 2023) and ours.protocol["dims"] == 2023
    assert np.abs(ours.features - expected.numpy()).max() < 1e-5 * float(expected.abs().max())


def test_eval_computes_each_space_once(weights):
    real, fake = synthetic_images(5, size=32, seed=1), synthetic_images(5, size=32, seed=9, contrast=0.6)
    # dims=64 keeps the call's Fréchet distances cheap; sFID's space is 2023-d whatever --dims says
    result = evaluate(real, fake, "vendi,sfid,fid,fd", dims=64, weights=weights, progress=False, cache=False)
    assert list(result)[:4] == ["fid", "fd", "sfid", "vendi"]  # registry order, whatever the order asked
    assert result["fd"] == pytest.approx(result["fid"], rel=1e-12)  # the same space and formula
    assert result["sfid"] > 0 and 1 <= result["vendi"] <= 5
    assert result["protocol"]["extractor"] == "inception" and result["protocol"]["dims"] == 64
    assert result["protocol"]["feature_spaces"]["sfid"]["dims"] == 2023
    same = evaluate(real[:3], real[:3], "fd", dims=64, weights=weights, progress=False, cache=False)
    assert abs(same["fd"]) < 1e-6  # FD of identical sets is 0 (round-off)


def test_own_spaces_are_grouped():
    groups = feature_groups(["fid", "fd_dinov2", "cmmd", "kid"], {"extractor_weights": "x.pt"}, 2048)
    assert [g.names for g in groups] == [["fid", "kid"], ["fd_dinov2"], ["cmmd"]]
    assert groups[1].options == {"extractor": "dinov2-vit-l14", "resize": "dgm-eval"}  # not the call's weights
    assert groups[2].options == {"extractor": "clip-vit-l14-336", "resize": "cmmd"}
    # the call's extractor is FD_DINOv2's: its resize and weights apply, and fd shares the pass
    groups = feature_groups(["fd", "fd_dinov2"], {"extractor": "dinov2-vit-l14", "resize": "edm2",
                                                   "extractor_weights": "l14.pth"}, 2048)
    assert len(groups) == 1 and groups[0].names == ["fd", "fd_dinov2"]


def test_stored_features_of_another_space_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        save_features(tmp_path / f"{name}.npz", Features(rng.normal(size=(20, 8)).astype(np.float32), None, None,
                                                        {"extractor": "inception", "resize": "tf", "dims": 8}))
    with pytest.raises(GenmetricsError, match="is computed on dinov2-vit-l14"):
        evaluate(tmp_path / "a.npz", tmp_path / "b.npz", "fd_dinov2")
    assert evaluate(tmp_path / "a.npz", tmp_path / "b.npz", "vendi")["vendi"] > 1
