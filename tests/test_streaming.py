"""Streaming metric objects (genmetrics.metrics.FID, KID, ...): the one-shot numbers from batches fed one at a
time; reset with the reference kept; checkpoints; the memory bound of the per-image metrics.

Images: the 24 + 24 synthetic images of conftest at 64-d features (the network stops after its stem: fast).
Where a streaming object and the one-shot call see the same batches, the features are the same bits and the
float64 sums differ at most in summation order: hence 1e-12 relative, as the issue asks."""
import io
import warnings

import numpy as np
import pytest
import torch

import genmetrics
from genmetrics import GenmetricsError
from genmetrics.metrics import FID, KID, PRDC, InceptionScore, Modes, StreamingMetrics

pytestmark = pytest.mark.filterwarnings("ignore::genmetrics.SmallSampleWarning")  # 24 images, 64-d features


@pytest.fixture
def opts(weights):
    return dict(dims=64, weights=weights, device="cpu", batch_size=6)


def _feed(metric, images, real=False, sizes=(5, 7, 6, 6)):
    start = 0
    for size in sizes:
        metric.update(torch.from_numpy(images[start:start + size]), real=real)
        start += size
    assert start == len(images)


def test_streaming_fid_equals_fid_and_reset_keeps_the_reference(real_images, fake_images, opts):
    expected = genmetrics.fid(real_images, fake_images, progress=False, **opts)
    metric = FID(**opts)
    _feed(metric, real_images, real=True)
    _feed(metric, fake_images)
    result = metric.compute()
    assert isinstance(result, genmetrics.FIDResult) and (result.n1, result.n2, result.dims) == (24, 24, 64)
    assert result.fid == pytest.approx(expected.fid, rel=1e-12) and expected.fid > 0.1
    assert result.resize == "tf" and result.weights_sha256 == expected.weights_sha256
    # a second evaluation after reset(keep_reference=True) equals a fresh object's
    metric.reset(keep_reference=True)
    _feed(metric, real_images[::-1].copy(), sizes=(12, 12))
    again = genmetrics.fid(real_images, real_images[::-1].copy(), progress=False, **opts)
    assert metric.compute().fid == pytest.approx(again.fid, abs=1e-9)  # same sets: FID ~ 0 up to round-off
    metric.reset(keep_reference=False)
    with pytest.raises(GenmetricsError, match="no reference yet"):
        metric.compute()


def test_a_reference_given_once_and_a_checkpoint_round_trip(tmp_path, real_images, fake_images, opts):
    stats = tmp_path / "real.npz"
    genmetrics.save_statistics(stats, genmetrics.compute_statistics(real_images, progress=False, **opts))
    expected = genmetrics.fid(stats, fake_images, progress=False, **opts).fid
    metric = FID(reference=stats, **opts)
    with pytest.raises(GenmetricsError, match="reference was given"):
        metric.update(real_images, real=True)
    _feed(metric, fake_images[:12], sizes=(12,))
    buffer = io.BytesIO()
    torch.save(metric.state_dict(), buffer)  # a training checkpoint, half way through the evaluation
    resumed = FID(**opts)
    resumed.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
    for m in (metric, resumed):
        _feed(m, fake_images[12:], sizes=(12,))
    assert resumed.compute().fid == metric.compute().fid == pytest.approx(expected, rel=1e-12)
    # nested in a training module, under its prefix; a state of another protocol is refused
    parent = torch.nn.Module()
    parent.fid = FID(**opts)
    parent.load_state_dict({f"fid.{k}": v for k, v in metric.state_dict().items()})
    assert parent.fid.compute().fid == metric.compute().fid
    with pytest.raises(GenmetricsError, match="resize=tf"):
        FID(**{**opts, "resize": "clean"}).load_state_dict(metric.state_dict())
    with pytest.raises(RuntimeError, match="Missing key"):
        FID(**opts).load_state_dict({})


def test_module_moves_keep_float64_sums(real_images, opts):
    metric = FID(**opts)
    metric.update(real_images, real=True)
    metric.half().to("cpu")  # a training module's dtype change must not round the sums
    assert metric.state.sums["real"].outer.dtype == torch.float64 and metric.device == torch.device("cpu")
    assert "n_real=24" in repr(metric)


def test_kid_prdc_and_is_equal_the_one_shot_calls(real_images, fake_images, opts):
    # same batches (of batch_size) as the one-shot calls: the same features, so the same numbers
    real = genmetrics.compute_features(real_images, progress=False, logits=False, **opts).features
    fake = genmetrics.compute_features(fake_images, progress=False, logits=False, **opts)
    kid = KID(kid_subsets=5, kid_subset_size=10, **opts)
    prdc = PRDC(**opts)
    for m in (kid, prdc):
        _feed(m, real_images, real=True, sizes=(6,) * 4)
        _feed(m, fake_images, sizes=(6,) * 4)
    assert kid.compute() == genmetrics.kernel_inception_distance(real, fake.features, 5, 10)
    assert prdc.compute() == genmetrics.prdc(real, fake.features)
    # IS runs the whole network: 8 images, in the one-shot call's batches of 4
    few = {**{k: v for k, v in opts.items() if k != "dims"}, "batch_size": 4}
    score = InceptionScore(splits=2, **few)
    _feed(score, fake_images[:8], sizes=(4, 4))
    full = genmetrics.inception_score(fake_images[:8], splits=2, progress=False, **few)
    assert score.compute().inception_score == pytest.approx(full.inception_score, rel=1e-12)
    with pytest.raises(GenmetricsError, match="generated images alone"):
        score.update(real_images, real=True)


def test_per_image_metrics_refuse_past_their_bound(real_images, opts):
    kid = KID(stream_max_samples=20, **opts)
    kid.update(real_images[:12], real=True)
    with pytest.raises(GenmetricsError, match="stream_max_samples=20 per side") as error:
        kid.update(real_images[12:], real=True)
    assert "24" in str(error.value) and "FID" in str(error.value)
    assert kid.state.count("real") == 12  # what it had is kept
    with pytest.raises(GenmetricsError, match="stream_max_samples=5"):
        KID(reference=real_images, stream_max_samples=5, **opts)


def test_several_metrics_and_mode_coverage(real_images, fake_images, opts):
    both = StreamingMetrics("fid,kid", kid_subsets=3, kid_subset_size=8, **opts)
    _feed(both, real_images, real=True, sizes=(6,) * 4)
    _feed(both, fake_images, sizes=(6,) * 4)
    values = both.compute()
    one_shot = genmetrics.evaluate(real_images, fake_images, metrics="fid,kid", kid_subsets=3, kid_subset_size=8,
                                   progress=False, **opts)
    assert values["fid"] == pytest.approx(one_shot["fid"], rel=1e-12) and values["kid"] == one_shot["kid"]
    assert (values["n1"], values["n2"]) == (24, 24)
    points = np.random.default_rng(0).normal(size=(300, 2)) * 0.01 + [1.0, 0.0]
    modes = Modes(reference="ring8")
    modes.update(points[:100])
    modes.update(points[100:])
    assert modes.compute() == genmetrics.mode_coverage(points, "ring8")
    with pytest.raises(GenmetricsError, match="unknown option 'resise'"):
        FID(resise="tf")
    with pytest.raises(GenmetricsError, match="own feature space"):
        StreamingMetrics("fid,fd_dinov2")


def test_a_warning_free_plain_object(real_images, fake_images, opts):
    """Used without torch.distributed (WORLD_SIZE unset), compute() does no collective and warns nothing
    beyond the small-sample warning of 24 images."""
    metric = FID(**opts)
    metric.update(real_images, real=True)
    metric.update(fake_images)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metric.compute(sync=True)
    assert {w.category.__name__ for w in caught} <= {"SmallSampleWarning"}
