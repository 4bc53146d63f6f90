"""Reference statistics of other tools: edm2's pickles (read without running code), ADM's reference batches."""
import pickle

import numpy as np
import pytest

import genmetrics
from genmetrics import GenmetricsError
from genmetrics.reference_files import read_edm2_reference, reference_statistics
from genmetrics.stats import Statistics, save_statistics


def gaussian(d, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(50, d))
    return x.mean(0), np.cov(x, rowvar=False)


class Planted:
    """What a hostile pickle does: name a callable that unpickling would call (here: create a file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_edm2_pickle(tmp_path):
    mu, sigma = gaussian(6, 0)
    mu2, sigma2 = gaussian(6, 1)
    for name, (m, s) in (("a.pkl", (mu, sigma)), ("b.pkl", (mu2, sigma2))):
        with open(tmp_path / name, "wb") as handle:  # as edm2 calculate_metrics.py writes them
            pickle.dump({"fid": {"mu": m, "sigma": s}, "fd_dinov2": {"mu": m[:4], "sigma": s[:4, :4]}}, handle)
    found = read_edm2_reference(tmp_path / "a.pkl")
    assert set(found) == {"fid", "fd_dinov2"} and found["fd_dinov2"].meta["extractor"] == "dinov2-vit-l14"
    assert np.array_equal(found["fid"].sigma, sigma)
    result = genmetrics.fid(tmp_path / "a.pkl", tmp_path / "b.pkl")  # the fid entry, both in edm2's protocol
    assert result.fid == pytest.approx(genmetrics.frechet_distance(mu, sigma, mu2, sigma2), rel=1e-12)


def test_hostile_pickle_is_refused_before_anything_runs(tmp_path):
    marker = tmp_path / "code-ran"
    with open(tmp_path / "evil.pkl", "wb") as handle:
        pickle.dump({"fid": {"mu": Planted(marker), "sigma": np.eye(2)}}, handle)
    with pytest.raises(GenmetricsError, match="refused.*io.open"):
        read_edm2_reference(tmp_path / "evil.pkl")
    assert not marker.exists()
    with open(tmp_path / "evil.pkl", "rb") as handle:  # the same file unpickled plainly does run code
        pickle.load(handle)
    assert marker.exists()


def test_adm_reference_batch_and_protocol_refusal(tmp_path):
    mu, sigma = gaussian(8, 2)
    mu_s, sigma_s = gaussian(5, 3)
    np.savez(tmp_path / "VIRTUAL_ref.npz", arr_0=np.zeros((2, 4, 4, 3), np.uint8), mu=mu, sigma=sigma,
             mu_s=mu_s, sigma_s=sigma_s)
    spatial = reference_statistics(tmp_path / "VIRTUAL_ref.npz", "sfid")
    assert spatial.dims == 5 and spatial.meta["resize"] == "tf" and np.array_equal(spatial.mu, mu_s)
    other_mu, other_sigma = gaussian(8, 4)
    for resize in ("tf", "clean"):
        save_statistics(tmp_path / f"{resize}.npz", Statistics(other_mu, other_sigma, 50,
                                                               {"extractor": "inception", "resize": resize}))
    same = genmetrics.fid(tmp_path / "VIRTUAL_ref.npz", tmp_path / "tf.npz").fid
    assert same == pytest.approx(genmetrics.frechet_distance(mu, sigma, other_mu, other_sigma), rel=1e-12)
    with pytest.raises(GenmetricsError, match="resize=tf .* resize=clean"):
        genmetrics.fid(tmp_path / "VIRTUAL_ref.npz", tmp_path / "clean.npz")


def test_eval_reads_each_metric_from_a_reference_file(tmp_path):
    """``eval ref.pkl fake`` takes fd_dinov2 from the pickle's fd_dinov2 entry and checks the protocol."""
    from genmetrics.features.compute import Features, save_features
    from genmetrics.metrics.evaluate import evaluate

    d, rng = 64, np.random.default_rng(7)
    mu, sigma = gaussian(d, 5)
    with open(tmp_path / "ref.pkl", "wb") as handle:
        pickle.dump({"fid": {"mu": mu[:8], "sigma": sigma[:8, :8]}, "fd_dinov2": {"mu": mu, "sigma": sigma}}, handle)
    fake = rng.normal(size=(40, d)).astype(np.float32)
    for resize in ("edm2", "dgm-eval"):
        save_features(tmp_path / f"{resize}.npz", Features(fake, None, None, {"extractor": "dinov2-vit-l14",
                                                                             "resize": resize, "dims": d}))
    result = evaluate(tmp_path / "ref.pkl", tmp_path / "edm2.npz", "fd_dinov2")
    expected = genmetrics.frechet_distance(mu, sigma, fake.astype(np.float64).mean(0),
                                           np.cov(fake.astype(np.float64), rowvar=False))
    assert result["fd_dinov2"] == pytest.approx(expected, rel=1e-9)  # float64 both sides, other summation order
    with pytest.raises(GenmetricsError, match="resize=edm2 .* resize=dgm-eval"):
        evaluate(tmp_path / "ref.pkl", tmp_path / "dgm-eval.npz", "fd_dinov2")


def test_adm_reference_images_serve_per_image_metrics(tmp_path):
    """An ADM reference batch's arr_0 (uint8 NHWC) is the real set wherever statistics do not suffice."""
    from genmetrics.metrics.evaluate import evaluate
    from genmetrics.testing import synthetic_images

    images = synthetic_images(12, size=16, seed=5)
    mu, sigma = gaussian(128, 6)  # the digits extractor's 128-d space: only for the file's layout here
    mu_s, sigma_s = gaussian(5, 7)
    np.savez(tmp_path / "VIRTUAL_ref.npz", arr_0=images, mu=mu, sigma=sigma, mu_s=mu_s, sigma_s=sigma_s)
    generated = np.concatenate([images[[3]], synthetic_images(9, size=16, seed=8, contrast=0.5)])
    options = dict(extractor="digits", progress=False, cache=False, memorization_samples=1)
    from_file = evaluate(tmp_path / "VIRTUAL_ref.npz", generated, "precision,recall,authpct", **options)
    from_array = evaluate(images, generated, "precision,recall,authpct", **options)
    assert {k: from_file[k] for k in ("precision", "recall", "authpct")} == \
        {k: from_array[k] for k in ("precision", "recall", "authpct")}  # the same images, the same features
    assert from_file["n1"] == 12 and from_file["memorization"][0]["neighbours"][0]["train"] == 3
    report = genmetrics.memorization_report(tmp_path / "VIRTUAL_ref.npz", generated, tmp_path / "mem", samples=1, k=1,
                                            extractor="digits", progress=False, cache=False)
    assert report["suspicious"][0]["neighbours"][0]["train"] == 3 and (tmp_path / "mem" / "memorization.png").is_file()
    np.savez(tmp_path / "stats_only.npz", mu=mu, sigma=sigma, mu_s=mu_s, sigma_s=sigma_s)
    with pytest.raises(GenmetricsError, match="holds only statistics"):
        evaluate(tmp_path / "stats_only.npz", generated, "precision", extractor="digits", progress=False)
