"""ProGAN's sliced Wasserstein distance (metrics/swd.py): properties and closed-form cases, not parity
with a reimplementation. Small sets (16-32 images of 16-32 px) keep each call well under a second."""
import numpy as np
import pytest

from genmetrics import GenmetricsError
from genmetrics.metrics import registry
from genmetrics.metrics.swd import pyramid, sliced_wasserstein_distance as swd

from .helpers import run as run_cli

pytest.importorskip("scipy")


def smooth(n, size, seed):
    """Low-pass noise images (a blurred random field), uint8 NHWC."""
    from scipy.ndimage import gaussian_filter

    field = np.random.default_rng(seed).normal(size=(n, size, size, 3))
    field = gaussian_filter(field, sigma=(0, 2, 2, 0))
    return np.clip(128 + 600 * field, 0, 255).astype(np.uint8)


def white(n, size, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def test_identical_sets_score_zero_and_other_distributions_do_not():
    a = smooth(24, 32, 0)
    same = swd(a, a.copy())
    assert same["swd"] == 0.0 and same["resolutions"] == [32, 16]  # same neighbourhoods, same descriptors
    other_draw = swd(a, smooth(24, 32, 1))["swd"]  # the same distribution, other images
    noise = swd(a, white(24, 32, 2))["swd"]         # another distribution
    # Measured: about 49 and 95; 24 images leave a sampling floor, so only the order is asserted.
    assert 0 < other_draw < noise, (other_draw, noise)


def test_swd_grows_as_the_generated_set_moves_away():
    a, b = smooth(24, 16, 0), white(24, 16, 1)
    mixes = [np.concatenate([a[:24 - k], b[:k]]) for k in (0, 8, 16, 24)]
    values = [swd(a, m)["swd"] for m in mixes]
    assert values[0] == 0 and all(x < y for x, y in zip(values, values[1:])), values


def test_per_channel_contrast_is_normalised_away():
    # Each set's descriptors are normalised per channel (mean 0, std 1): halving every pixel changes
    # only the rounding to uint8, a small fraction of the distance to another distribution.
    a = smooth(16, 16, 0)
    half = (a // 2).astype(np.uint8)
    assert swd(a, half)["swd"] < 0.1 * swd(a, white(16, 16, 1))["swd"]


def test_pyramid_levels_and_reconstruction():
    x = smooth(2, 32, 0).transpose(0, 3, 1, 2).astype(np.float32)
    bands = pyramid(x, 2)
    assert [b.shape[-1] for b in bands] == [32, 16]
    up = np.zeros_like(x)  # pyrUp of the low-pass level plus the band gives the image back
    up[:, :, ::2, ::2] = bands[1]
    from genmetrics.metrics.swd import BINOMIAL, _convolve

    np.testing.assert_allclose(bands[0] + _convolve(up, BINOMIAL * 4), x, atol=1e-3)  # float32 sums of 0..255
    assert swd(white(4, 64, 0), white(4, 64, 1))["resolutions"] == [64, 32, 16]


def test_small_grey_and_mismatched_images():
    grey = smooth(8, 16, 0)[..., :1]
    assert swd(grey, grey)["swd"] == 0.0  # grey is replicated to the 3 channels ProGAN expects
    with pytest.raises(GenmetricsError, match="at least 16 px.*--image-size 32"):
        swd(white(8, 8, 0), white(8, 8, 1))
    with pytest.raises(GenmetricsError, match="one size"):
        swd(white(8, 16, 0), white(8, 32, 1))
    r = swd(white(10, 16, 0), white(6, 16, 1))
    assert r["n"] == 6  # the larger set is cut to the smaller one's size


def test_swd_is_an_eval_metric_on_pixels(tmp_path):
    assert "swd" in registry.metric_names("eval")
    assert "swd" not in registry.metric_names("sweep") and "swd" not in registry.metric_names("train")
    a, b = smooth(12, 16, 0), white(12, 16, 1)
    np.savez(tmp_path / "a.npz", images=a)
    np.savez(tmp_path / "b.npz", images=b)
    code, out, err = run_cli("eval", tmp_path / "a.npz", tmp_path / "b.npz", "--metrics", "swd", "--json")
    assert code == 0, err
    import json

    result = json.loads(out)
    assert result["swd"] == pytest.approx(swd(a, b, seed=2020)["swd"], rel=1e-9)  # --seed's default, 2020
    assert result["n1"] == result["n2"] == 12 and result["protocol"]["features"] == "pixels"
