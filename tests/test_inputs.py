"""open_input decides once what an input is (images, features, statistics, points) and opens it once."""
import numpy as np
import pytest

import genmetrics.inputs as inputs
from genmetrics.errors import GenmetricsError
from genmetrics.features.files import Features, save_features
from genmetrics.inputs import FEATURES, IMAGES, POINTS, STATISTICS, open_input
from genmetrics.stats import Statistics, save_statistics


@pytest.fixture
def files(tmp_path, real_dir):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 4))
    save_statistics(tmp_path / "stats.npz", Statistics(x.mean(0), np.cov(x, rowvar=False), 10))
    save_features(tmp_path / "feats.npz", Features(x.astype(np.float32), None, None, {}))
    np.save(tmp_path / "images.npy", rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8))
    np.save(tmp_path / "points.npy", rng.normal(size=(50, 2)).astype(np.float32))
    return {"stats": tmp_path / "stats.npz", "feats": tmp_path / "feats.npz", "images": tmp_path / "images.npy",
            "points": tmp_path / "points.npy", "folder": real_dir}


@pytest.mark.parametrize("name, kind", [("stats", STATISTICS), ("feats", FEATURES), ("images", IMAGES),
                                        ("points", POINTS), ("folder", IMAGES)])
def test_each_kind_is_recognised(files, name, kind):
    opened = open_input(files[name])
    assert opened.kind == kind
    assert open_input(opened) is opened  # an opened input passes through unchanged


def test_in_memory_values():
    assert open_input(np.zeros((5, 2), np.float32)).kind == POINTS
    assert open_input(np.zeros((5, 8, 8, 3), np.uint8)).kind == IMAGES
    assert open_input(Statistics(np.zeros(2), np.eye(2), 5)).kind == STATISTICS


def test_a_kind_the_caller_cannot_use_is_named(files):
    with pytest.raises(GenmetricsError, match=r"stats\.npz holds only statistics \(mu, sigma\); KID needs images"):
        open_input(files["stats"], (IMAGES, FEATURES), "KID")
    with pytest.raises(GenmetricsError, match="holds images; mode coverage needs float vectors"):
        open_input(files["images"], (POINTS,), "mode coverage")


def test_a_statistics_file_is_read_once(files, monkeypatch):
    # The kind comes from the array names (np.load reads only the zip directory); the arrays are read once:
    # two np.load calls in all, where the file used to be opened by three separate checks.
    calls = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: calls.append(a[0]) or real_load(*a, **k))
    open_input(files["stats"])
    assert len(calls) == 2


def test_the_evaluate_message_for_statistics(files):
    import genmetrics

    with pytest.raises(GenmetricsError, match="a statistics file serves FID alone"):
        genmetrics.evaluate(files["stats"], files["feats"], "kid")
    assert inputs.KINDS == (IMAGES, FEATURES, STATISTICS, POINTS)
