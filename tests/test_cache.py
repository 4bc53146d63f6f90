"""The content-keyed cache: hits, misses on any change, content hashing, the CLI."""
import os

import numpy as np

import pytest
from click.testing import CliRunner

import genmetrics
from genmetrics.cli import cli
from genmetrics.features.extract import FeatureStream
from genmetrics.testing import synthetic_images, write_image_folder


@pytest.fixture
def cached(monkeypatch, tmp_path):
    monkeypatch.delenv("GENMETRICS_NO_CACHE")
    monkeypatch.setenv("GENMETRICS_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "imgs"
    write_image_folder(folder, synthetic_images(6, size=16, seed=0))
    return folder


def no_extraction(monkeypatch):
    def fail(self):
        raise AssertionError("extracted although the cache holds the result")
    monkeypatch.setattr(FeatureStream, "__iter__", fail)


def test_second_run_reads_the_cache_and_a_changed_image_misses(cached, weights, monkeypatch):
    first = genmetrics.compute_statistics(cached, dims=64, weights=weights, progress=False)
    features = genmetrics.compute_features(cached, dims=64, weights=weights, progress=False)
    with monkeypatch.context() as patch:
        no_extraction(patch)
        again = genmetrics.compute_statistics(cached, dims=64, weights=weights, progress=False)
        assert (again.mu == first.mu).all() and again.n == 6
        assert (genmetrics.compute_features(cached, dims=64, weights=weights, progress=False).features
                == features.features).all()
        with pytest.raises(AssertionError, match="extracted"):  # another protocol is another key
            genmetrics.compute_statistics(cached, dims=64, resize="clean", weights=weights, progress=False)
        with pytest.raises(AssertionError, match="extracted"):  # --no-cache bypasses it
            genmetrics.compute_statistics(cached, dims=64, weights=weights, progress=False, cache=False)
    write_image_folder(cached, synthetic_images(1, size=16, seed=9))  # 00000.png changes
    changed = genmetrics.compute_statistics(cached, dims=64, weights=weights, progress=False)
    assert not (changed.mu == first.mu).all()


def test_hash_content_ignores_a_touch(cached, weights, monkeypatch):
    genmetrics.compute_statistics(cached, dims=64, weights=weights, progress=False, hash_content=True)
    os.utime(cached / "00001.png", (1, 1))  # same bytes, new modification time
    with monkeypatch.context() as patch:
        no_extraction(patch)
        genmetrics.compute_statistics(cached, dims=64, weights=weights, progress=False, hash_content=True)
        with pytest.raises(AssertionError, match="extracted"):
            genmetrics.compute_statistics(cached, dims=64, weights=weights, progress=False)


def test_cache_cli(cached, weights):
    runner = CliRunner()
    assert runner.invoke(cli, ["stats", str(cached), "-o", str(cached.parent / "s.npz"), "--dims", "64",
                               "--weights", weights, "-q"]).exit_code == 0
    listing = runner.invoke(cli, ["cache", "list"])
    assert listing.exit_code == 0 and "1 entries" in listing.output and "imgs" in listing.output
    assert "removed 1 entries" in runner.invoke(cli, ["cache", "clear"]).output
    assert "0 entries" in runner.invoke(cli, ["cache", "list"]).output


def test_interrupted_statistics_resume_from_the_last_checkpoint(cached, weights, monkeypatch):
    import genmetrics.features.compute as compute

    write_image_folder(cached, synthetic_images(12, size=16, seed=3))
    expected = genmetrics.compute_statistics(cached, dims=64, weights=weights, progress=False, cache=False)
    monkeypatch.setattr(compute, "CHECKPOINT_SECONDS", -1.0)  # checkpoint after every batch
    original_update, calls = genmetrics.RunningStats.update, []

    def interrupted(self, x):
        calls.append(len(x))
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C during the third batch
        original_update(self, x)
    monkeypatch.setattr(genmetrics.RunningStats, "update", interrupted)
    with pytest.raises(KeyboardInterrupt):
        genmetrics.compute_statistics(cached, dims=64, weights=weights, progress=False, batch_size=3)
    assert list((cached.parent / "cache").glob("*.partial.npz"))
    calls.clear()
    monkeypatch.setattr(genmetrics.RunningStats, "update", lambda self, x: (calls.append(len(x)),
                                                                              original_update(self, x)))
    resumed = genmetrics.compute_statistics(cached, dims=64, weights=weights, progress=False, batch_size=3)
    assert sum(calls) == 6  # only the images after the two completed batches were extracted again
    assert resumed.n == 12 and not list((cached.parent / "cache").glob("*.partial.npz"))
    # Same features, float64 sums in the same order: equal to round-off.
    np.testing.assert_allclose(resumed.mu, expected.mu, rtol=1e-12)
    np.testing.assert_allclose(resumed.sigma, expected.sigma, rtol=1e-9, atol=1e-12)
