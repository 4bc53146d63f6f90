"""--precision fp64: the network in float64 after the protocol's float32 resize, features kept in float64, and
the precision recorded in the protocol (so the cache and statistics files tell fp32 and fp64 apart)."""
import numpy as np
import pytest
import torch

import genmetrics
from genmetrics.features.inception import FIDInceptionV3
from genmetrics.features.preprocess import Protocol
from tests.helpers import relative_error, run


def _float64_reference(images, weights):
    """The unfused network converted to float64 on the protocol's input: an independent float64 computation."""
    net = FIDInceptionV3()
    net.load_state_dict(torch.load(weights, weights_only=True), strict=False)
    net = net.double().eval()
    x = Protocol("tf").on_device(torch.from_numpy(images.transpose(0, 3, 1, 2).copy())).double()
    with torch.no_grad():
        return net(x, frozenset({"64"}))["64"].numpy()


def test_fp64_features_are_float64_computations(real_images, weights):
    images = real_images[:4]
    options = dict(dims=64, weights=weights, device="cpu", progress=False)
    fp64 = genmetrics.compute_features(images, precision="fp64", logits=False, **options)
    fp32 = genmetrics.compute_features(images, logits=False, **options)
    assert fp64.features.dtype == np.float64 and fp64.protocol["precision"] == "fp64"
    reference = _float64_reference(images, weights)
    # float64 throughout: only the order of float64 operations differs (BatchNorm folded into the convs),
    # ~1e-16 per operation. float32 features are ~1e-7 off, so this tolerance tells the two apart.
    assert relative_error(fp64.features, reference) < 1e-10
    assert 1e-9 < relative_error(fp32.features, reference) < 1e-4
    stats = genmetrics.compute_statistics(images, precision="fp64", **options)
    assert stats.meta["precision"] == "fp64"


def test_the_cli_option(tmp_path, real_images, weights):
    images, out = tmp_path / "images.npy", tmp_path / "stats.npz"
    np.save(images, real_images[:4])
    code, _, err = run("stats", images, "-o", out, "--dims", "64", "--precision", "fp64", "--weights", weights,
                       "--device", "cpu", "-q")
    assert code == 0, err
    assert genmetrics.load_statistics(out).meta["precision"] == "fp64"


def test_streaming_fid_in_fp64_equals_fid(real_images, fake_images, weights):
    # float64 convolutions are slow on CPUs: 8 + 8 images
    options = dict(dims=64, weights=weights, device="cpu", precision="fp64", batch_size=4)
    with pytest.warns(genmetrics.SmallSampleWarning):
        expected = genmetrics.fid(real_images[:8], fake_images[:8], progress=False, **options).fid
        metric = genmetrics.metrics.FID(**options)
        metric.update(real_images[:8], real=True)
        metric.update(fake_images[:4])
        metric.update(fake_images[4:8])
        assert metric.compute().fid == pytest.approx(expected, rel=1e-12)
