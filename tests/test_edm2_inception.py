"""edm2's FID protocol (resize ``edm2-inception``): StyleGAN3's Inception detector, which edm2's
calculate_metrics.py uses for ``fid``, resizes inside the network with affine_grid/grid_sample."""
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import genmetrics
from genmetrics import GenmetricsError
from genmetrics.features.preprocess import Protocol, tf_bilinear_resize
from genmetrics.stats import Statistics, save_statistics
from genmetrics.testing import synthetic_images
from tests.helpers import relative_error

FEATURE_TOL = 1e-4  # tests/test_parity.py's bound: float32 round-off of the fused network against pytorch-fid's


def detector_input(images: torch.Tensor) -> torch.Tensor:
    """What StyleGAN3's inception-2015-12-05 network does to a uint8 NCHW batch before its first layer, step
    by step as its TorchScript code does it: an identity theta whose translation is shifted by
    theta[0,0]/width - theta[0,0]/299 (and likewise for the height), an affine grid of 299 x 299 without
    aligned corners, bilinear grid sampling with border padding, then (x - 128) / 128."""
    x = images.to(torch.float32)
    n, c, h, w = x.shape
    theta = torch.eye(2, 3)
    theta[0, 2] += theta[0, 0] / w - theta[0, 0] / 299
    theta[1, 2] += theta[1, 1] / h - theta[1, 1] / 299
    grid = F.affine_grid(theta.unsqueeze(0).repeat(n, 1, 1), [n, c, 299, 299], align_corners=False)
    return (F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False) - 128) / 128


def batch(size, n=2, seed=0):
    h, w = size
    return torch.from_numpy(synthetic_images(n, size=max(h, w), seed=seed)[:, :h, :w].transpose(0, 3, 1, 2).copy())


@pytest.mark.parametrize("size", [(32, 32), (48, 64), (299, 299), (320, 300)])
def test_the_protocol_is_the_detectors_preprocessing(size):
    images = batch(size)
    ours = Protocol("edm2-inception").on_device(images)
    assert torch.equal(ours, detector_input(images))  # the same float32 operations: bit-exact
    tf = Protocol("tf").on_device(images)
    # TF1 resize_bilinear's mapping (src = dst * in / out) computed another way: within float32 round-off of the
    # sampling coordinates (< 0.02 of 255), and not bit-equal, so the two are named apart
    assert (ours - tf).abs().max() * 128 < 0.02
    assert size == (299, 299) or not torch.equal(ours, tf)


def test_a_wrong_mapping_would_be_seen():
    images = batch((32, 32)).float()
    half_pixel = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)  # pytorch-fid's
    assert (half_pixel - tf_bilinear_resize(images.clone(), 299)).abs().max() > 1  # what the 0.02 bound excludes


@pytest.fixture(scope="module")
def detector_features(weights):
    """The detector's 2048-d features of a batch: its preprocessing, then pytorch-fid's port of the same TF
    graph (with the same random weights; StyleGAN3's file cannot be downloaded here)."""
    import pytorch_fid.inception as pfi

    original = pfi.load_state_dict_from_url
    pfi.load_state_dict_from_url = lambda *args, **kwargs: torch.load(weights)
    try:
        model = pfi.InceptionV3([3], resize_input=False, normalize_input=False).eval()
    finally:
        pfi.load_state_dict_from_url = original

    def features(images):
        with torch.no_grad():
            return model(detector_input(images))[0].flatten(1).double().numpy()
    return features


def nhwc(images):
    return images.permute(0, 2, 3, 1).numpy()


def test_features_equal_the_detector_pipeline(weights, detector_features):
    images = batch((40, 40), n=2, seed=1)
    ours = genmetrics.compute_features(nhwc(images), logits=False, resize="edm2-inception", weights=weights,
                                       progress=False, cache=False)
    assert ours.protocol["resize"] == "edm2-inception"
    assert relative_error(ours.features, detector_features(images)) < FEATURE_TOL


def test_edm2_fid_reference_is_accepted(tmp_path, weights):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 64))
    mu, sigma = x.mean(0), np.cov(x, rowvar=False)  # the layout of edm2's fid entry (64-d here, for speed)
    with open(tmp_path / "ref.pkl", "wb") as handle:  # as edm2 calculate_metrics.py ref writes it
        pickle.dump({"fid": {"mu": mu, "sigma": sigma}}, handle)
    fake = nhwc(batch((16, 16), n=8, seed=2))
    options = dict(dims=64, resize="edm2-inception", weights=weights, progress=False, cache=False)
    result = genmetrics.fid(tmp_path / "ref.pkl", fake, **options)
    generated = genmetrics.compute_statistics(fake, **options)
    assert result.resize == "edm2-inception"
    assert result.fid == pytest.approx(genmetrics.frechet_distance(mu, sigma, generated.mu, generated.sigma), rel=1e-9)
    save_statistics(tmp_path / "tf.npz", Statistics(mu, sigma, 200, {"extractor": "inception", "resize": "tf"}))
    with pytest.raises(GenmetricsError, match="resize=edm2-inception .* resize=tf"):  # the default protocol
        genmetrics.fid(tmp_path / "ref.pkl", tmp_path / "tf.npz")
