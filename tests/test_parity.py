"""Parity with pytorch-fid, torch-fidelity and clean-fid: same images, same (random) weights, same numbers.

Tolerances: per-image features within 1e-4 of the largest feature (the issue's bound; what we see is
~1e-6, float32 round-off from folding BatchNorm into the convs and channels_last kernels), FID and IS
within 1e-4 relative. FIDs are compared on the 64-d block features with more images than dimensions, so
that the references' scipy ``sqrtm`` is well-conditioned (at 2048-d with a few dozen images it is not).
"""
import numpy as np
import pytest
import torch
from PIL import Image

import genmetrics
from genmetrics.testing import synthetic_images, write_image_folder
from tests.helpers import relative_error

FEATURE_TOL = 1e-4
METRIC_TOL = 1e-4


@pytest.fixture(scope="module")
def mixed_dir(tmp_path_factory):
    """Images of several sizes and colour modes in one folder."""
    folder = tmp_path_factory.mktemp("mixed")
    sizes = [(32, 32), (28, 28), (48, 40), (17, 64), (299, 299), (64, 64), (8, 8), (33, 21)]
    modes = ["RGB", "L", "RGBA", "P", "RGB", "LA", "RGB", "L"]
    for i, ((h, w), mode) in enumerate(zip(sizes, modes)):
        image = Image.fromarray(synthetic_images(1, size=max(h, w), seed=10 + i)[0][:h, :w])
        image.convert(mode).save(folder / f"{i:02d}.png")
    return str(folder)


@pytest.fixture(scope="module")
def big_dirs(tmp_path_factory):
    """Two sets of 100 images: more than 64 dims, so 64-d covariances are full rank."""
    dirs = []
    for seed, contrast in ((3, 1.0), (4, 0.7)):
        folder = tmp_path_factory.mktemp(f"big{seed}")
        write_image_folder(folder, synthetic_images(100, size=24, seed=seed, contrast=contrast))
        dirs.append(str(folder))
    return dirs


@pytest.fixture(scope="module")
def pytorch_fid_model(weights):
    """pytorch-fid's own InceptionV3, its download patched to read our random weights."""
    import pytorch_fid.inception as pfi

    original = pfi.load_state_dict_from_url
    pfi.load_state_dict_from_url = lambda *args, **kwargs: torch.load(weights)
    try:
        yield lambda blocks=(3,), **kw: pfi.InceptionV3(list(blocks), **kw).eval()
    finally:
        pfi.load_state_dict_from_url = original


def files_of(folder):
    return [str(p) for p in sorted(__import__("pathlib").Path(folder).glob("*.png"))]


# ---------------------------------------------------------------- pytorch-fid
def test_pytorch_fid_features(mixed_dir, weights, pytorch_fid_model):
    from pytorch_fid.fid_score import get_activations

    # batch_size=1 lets pytorch-fid take images of different sizes.
    theirs = get_activations(files_of(mixed_dir), pytorch_fid_model(), batch_size=1, dims=2048,
                             device="cpu", num_workers=0)
    ours = genmetrics.compute_features(mixed_dir, resize="pytorch-fid", weights=weights, progress=False)
    assert relative_error(ours.features, theirs) < FEATURE_TOL


def test_pytorch_fid_fid(big_dirs, weights, pytorch_fid_model):
    from pytorch_fid.fid_score import calculate_frechet_distance, compute_statistics_of_path

    model = pytorch_fid_model(blocks=(0,))
    stats = [compute_statistics_of_path(d, model, 50, 64, "cpu", 0) for d in big_dirs]
    theirs = calculate_frechet_distance(*stats[0], *stats[1])
    ours = genmetrics.fid(*big_dirs, dims=64, resize="pytorch-fid", weights=weights, progress=False)
    assert ours.fid == pytest.approx(theirs, rel=METRIC_TOL)


# ---------------------------------------------------------------- torch-fidelity
@pytest.fixture(scope="module")
def fidelity_extractor(weights):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    return FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                       feature_extractor_weights_path=weights)


def test_torch_fidelity_features_and_logits(mixed_dir, weights, fidelity_extractor):
    theirs = [fidelity_extractor(torch.from_numpy(np.array(Image.open(f).convert("RGB")))
                                 .permute(2, 0, 1)[None].contiguous()) for f in files_of(mixed_dir)]
    pool, logits = torch.cat([t[0] for t in theirs]), torch.cat([t[1] for t in theirs])
    ours = genmetrics.compute_features(mixed_dir, resize="tf", weights=weights, progress=False)
    assert relative_error(ours.features, pool) < FEATURE_TOL
    assert relative_error(ours.logits, logits) < FEATURE_TOL


def test_tf_resize_is_bit_exact_with_torch_fidelity():
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    from genmetrics.features.preprocess import tf_bilinear_resize

    for shape in ((2, 3, 32, 32), (1, 3, 17, 64), (1, 3, 400, 300)):
        x = torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(0)).float()
        expected = interpolate_bilinear_2d_like_tensorflow1x(x, size=(299, 299), align_corners=False)
        assert torch.equal(tf_bilinear_resize(x, 299), expected)


def test_torch_fidelity_fid_and_is(real_dir, big_dirs, weights):
    from torch_fidelity import calculate_metrics

    common = dict(feature_extractor_weights_path=weights, cuda=False, cache=False, verbose=False)
    theirs = calculate_metrics(input1=big_dirs[0], input2=big_dirs[1], fid=True, feature_layer_fid="64",
                               batch_size=50, **common)
    ours = genmetrics.fid(*big_dirs, dims=64, resize="tf", weights=weights, progress=False)
    assert ours.fid == pytest.approx(theirs["frechet_inception_distance"], rel=METRIC_TOL)

    theirs = calculate_metrics(input1=real_dir, isc=True, isc_splits=4, batch_size=24, **common)
    ours = genmetrics.inception_score(real_dir, splits=4, shuffle_seed=2020, weights=weights, progress=False)
    assert ours.inception_score == pytest.approx(theirs["inception_score_mean"], rel=METRIC_TOL)
    assert ours.inception_score_std == pytest.approx(theirs["inception_score_std"], rel=1e-3, abs=1e-6)


# ---------------------------------------------------------------- clean-fid
def clean_fid_extractor(pytorch_fid_model, block):
    """clean-fid hands its extractor 299x299 float images in [0, 255]; it normalises (x - 128) / 128
    (cleanfid/inception_torchscript.py). pytorch-fid's network stands in for clean-fid's TorchScript file."""
    model = pytorch_fid_model(blocks=(block,), resize_input=False, normalize_input=False)

    def extract(batch):
        with torch.no_grad():
            return model((batch - 128) / 128)[0].mean(dim=(2, 3))
    return extract


def test_clean_fid_features(mixed_dir, weights, pytorch_fid_model):
    from cleanfid.fid import get_folder_features

    theirs = get_folder_features(mixed_dir, clean_fid_extractor(pytorch_fid_model, 3), num_workers=0,
                                 batch_size=4, device=torch.device("cpu"), mode="clean", verbose=False)
    ours = genmetrics.compute_features(mixed_dir, resize="clean", weights=weights, progress=False)
    assert relative_error(ours.features, theirs) < FEATURE_TOL


def test_clean_fid_fid(big_dirs, weights, pytorch_fid_model):
    from cleanfid.fid import compute_fid

    theirs = compute_fid(*big_dirs, mode="clean", custom_feat_extractor=clean_fid_extractor(pytorch_fid_model, 0),
                         num_workers=0, batch_size=50, device=torch.device("cpu"), verbose=False)
    ours = genmetrics.fid(*big_dirs, dims=64, resize="clean", weights=weights, progress=False)
    assert ours.fid == pytest.approx(theirs, rel=METRIC_TOL)


def test_protocols_differ(big_dirs, weights):
    """The three protocols are not interchangeable: the same images give different features."""
    first = big_dirs[0]
    feats = {mode: genmetrics.compute_features(first, dims=64, logits=False, resize=mode, weights=weights,
                                               progress=False).features for mode in ("tf", "pytorch-fid", "clean")}
    assert relative_error(feats["tf"], feats["clean"]) > 1e-3
    assert relative_error(feats["tf"], feats["pytorch-fid"]) > 1e-3
