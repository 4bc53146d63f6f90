"""The feature engine and statistics: invariances, streaming, stored inputs."""
import numpy as np
import pytest
import torch

import genmetrics
from genmetrics import RunningStats, save_statistics
from genmetrics.features import extract
from genmetrics.features.compute import save_features
from tests.helpers import relative_error

# Different batch sizes may pick different conv kernels: float32 round-off, far below 1e-5.
INVARIANCE_TOL = 1e-5


@pytest.fixture(scope="module")
def reference(real_dir, weights):
    return genmetrics.compute_features(real_dir, weights=weights, batch_size=8, workers=0, progress=False)


@pytest.mark.parametrize("batch_size, workers", [(1, 0), (5, 2), (50, 1)])
def test_invariant_to_batch_size_and_workers(real_dir, weights, reference, batch_size, workers):
    ours = genmetrics.compute_features(real_dir, weights=weights, batch_size=batch_size, workers=workers,
                                       progress=False)
    assert ours.files == reference.files
    assert relative_error(ours.features, reference.features) < INVARIANCE_TOL
    assert relative_error(ours.logits, reference.logits) < INVARIANCE_TOL


def test_folder_array_tensor_and_iterable_agree(real_dir, real_images, weights, reference):
    as_tensor = torch.from_numpy(real_images).permute(0, 3, 1, 2)
    for images in (real_images, as_tensor, iter([real_images[:10], real_images[10:]])):
        ours = genmetrics.compute_features(images, weights=weights, batch_size=8, progress=False)
        assert relative_error(ours.features, reference.features) < INVARIANCE_TOL


def test_running_stats_equal_numpy_cov():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(257, 16))
    acc = RunningStats()
    for chunk in np.array_split(x, 7):
        acc.update(torch.from_numpy(chunk))
    # Float64 sums of 257 values: agreement to ~1e-13; 1e-10 leaves room.
    np.testing.assert_allclose(acc.mean(), x.mean(0), rtol=1e-10)
    np.testing.assert_allclose(acc.covariance(), np.cov(x, rowvar=False), rtol=1e-10, atol=1e-12)
    halves = RunningStats(), RunningStats()
    halves[0].update(torch.from_numpy(x[:100]))
    halves[1].update(torch.from_numpy(x[100:]))
    merged = halves[0].merge(halves[1])
    np.testing.assert_allclose(merged.covariance(), acc.covariance(), rtol=1e-12, atol=1e-14)


def test_statistics_match_features(real_dir, weights, reference):
    stats = genmetrics.compute_statistics(real_dir, weights=weights, progress=False)
    np.testing.assert_allclose(stats.mu, reference.features.astype(np.float64).mean(0), rtol=1e-5, atol=1e-6)
    expected = np.cov(reference.features.astype(np.float64), rowvar=False)
    # The two feature passes run the network in different batches (and thread counts), so features differ by
    # float32 round-off (~1e-6 of the largest); a covariance entry then moves by that times the feature scale,
    # so the tolerance is relative to the largest entry, not to each (near-zero entries have no relative bound).
    np.testing.assert_allclose(stats.sigma, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
    assert stats.n == 24 and stats.meta["resize"] == "tf"


def test_stored_statistics_and_features_give_the_same_fid(tmp_path, real_dir, fake_dir, weights):
    direct = genmetrics.fid(real_dir, fake_dir, dims=64, weights=weights, progress=False)
    stats = genmetrics.compute_statistics(real_dir, dims=64, weights=weights, progress=False)
    save_statistics(tmp_path / "ours.npz", stats)
    np.savez(tmp_path / "pytorch_fid_style.npz", mu=stats.mu, sigma=stats.sigma)  # no metadata
    save_features(tmp_path / "feats.npz", genmetrics.compute_features(real_dir, dims=64, weights=weights,
                                                                      progress=False))
    for stored in ("ours.npz", "pytorch_fid_style.npz", "feats.npz"):
        result = genmetrics.fid(tmp_path / stored, fake_dir, dims=64, weights=weights, progress=False)
        # Same float64 statistics up to summation order (features npz: float32 features re-summed).
        assert result.fid == pytest.approx(direct.fid, rel=1e-6), stored


def test_mixed_sizes_in_one_batch_equal_one_by_one(tmp_path, weights):
    from PIL import Image

    from genmetrics.testing import synthetic_images
    for i, size in enumerate((16, 40, 16, 23)):
        Image.fromarray(synthetic_images(1, size=size, seed=i)[0]).save(tmp_path / f"{i}.png")
    together = genmetrics.compute_features(tmp_path, weights=weights, batch_size=4, progress=False)
    alone = genmetrics.compute_features(tmp_path, weights=weights, batch_size=1, progress=False)
    assert relative_error(together.features, alone.features) < INVARIANCE_TOL


def test_skip_bad_counts_and_keeps_order(tmp_path, real_images, weights):
    from genmetrics.testing import write_image_folder
    write_image_folder(tmp_path, real_images[:4])
    (tmp_path / "00002.png").write_bytes(b"not a png")
    with pytest.raises(genmetrics.GenmetricsError, match="00002.png.*--skip-bad"):
        genmetrics.compute_features(tmp_path, weights=weights, progress=False)
    result = genmetrics.compute_features(tmp_path, weights=weights, skip_bad=True, progress=False)
    assert result.files == ["00000.png", "00001.png", "00003.png"]
    assert len(result.skipped) == 1 and result.skipped[0].endswith("00002.png")
    alone = genmetrics.compute_features(real_images[3:4], weights=weights, progress=False)
    assert relative_error(result.features[2:], alone.features) < INVARIANCE_TOL


def test_non_finite_features_are_an_error(tmp_path, real_dir, weights):
    state = torch.load(weights)
    state["Conv2d_1a_3x3.bn.running_var"][:] = float("nan")
    torch.save(state, tmp_path / "nan.pth")
    with pytest.raises(genmetrics.GenmetricsError, match="non-finite features"):
        genmetrics.compute_features(real_dir, dims=64, weights=tmp_path / "nan.pth", progress=False)


def test_precision_is_opt_in_recorded_and_bf16_moves_features(real_images, weights):
    exact = genmetrics.compute_features(real_images[:4], dims=64, logits=False, weights=weights, progress=False)
    fast = genmetrics.compute_features(real_images[:4], dims=64, logits=False, weights=weights,
                                       precision="bf16", progress=False)
    assert exact.protocol["precision"] == "fp32" and fast.protocol["precision"] == "bf16"
    # bf16 keeps 8 mantissa bits: features move by ~1e-2 relative, never the ~1e-7 of fp32 round-off.
    assert 1e-4 < relative_error(fast.features, exact.features) < 0.3
    with pytest.raises(genmetrics.GenmetricsError, match="tf32"):
        genmetrics.compute_features(real_images[:2], weights=weights, precision="tf32", device="cpu")


def _tf32_settings():
    if extract.NEW_PRECISION_API:
        return torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32


@pytest.mark.parametrize("user", ["default", "medium", "allow_tf32"])
@pytest.mark.parametrize("precision", ["fp32", "fp64", "tf32"])
def test_cuda_fp32_forbids_tf32_and_restores_the_users_settings(precision, user):
    """PyTorch lets cuDNN convolutions run TF32 by default: fp32 and fp64 must turn TF32 off on CUDA, tf32 on,
    and whatever the user had set (a "medium" matmul precision, the legacy flags) comes back afterwards. The
    settings are plain flags, so this runs without a GPU."""
    saved = _tf32_settings()
    try:
        if user == "medium":
            torch.set_float32_matmul_precision("medium")
        elif user == "allow_tf32":
            torch.backends.cuda.matmul.allow_tf32 = True
        before = _tf32_settings()
        with extract.precision_mode(precision, torch.device("cuda")):
            expected = ("tf32", "tf32") if precision == "tf32" else ("ieee", "ieee")
            if not extract.NEW_PRECISION_API:
                expected = (precision == "tf32",) * 2
            assert _tf32_settings() == expected
        assert _tf32_settings() == before
    finally:
        if extract.NEW_PRECISION_API:
            torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision = saved
        else:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
