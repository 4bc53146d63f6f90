"""Output files, the cache and statistics files: nothing lost, no silent wrong number, no traceback.

Each test fails on the code before the fix it covers (the reason is stated where it is not obvious).
"""
import json
import os
import stat

import numpy as np
import pytest

import genmetrics
from genmetrics import GenmetricsError
from genmetrics._io import atomic_write, check_output
from genmetrics.cache import CacheWarning
from genmetrics.features.compute import Features, save_features
from genmetrics.features.extract import FeatureStream
from genmetrics.stats import Statistics, load_statistics, save_statistics
from genmetrics.testing import synthetic_images, write_image_folder
from tests.helpers import fails_cleanly, run


def no_extraction(monkeypatch):
    def fail(self):
        raise AssertionError("extracted before checking")
    monkeypatch.setattr(FeatureStream, "__iter__", fail)


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "imgs"
    write_image_folder(folder, synthetic_images(6, size=16, seed=0))
    return folder


@pytest.fixture
def cached(monkeypatch, tmp_path, images):
    monkeypatch.delenv("GENMETRICS_NO_CACHE")
    monkeypatch.setenv("GENMETRICS_CACHE", str(tmp_path / "cache"))
    return images


def stats_of(folder, weights, **options):
    return genmetrics.compute_statistics(folder, dims=64, weights=weights, progress=False, **options)


# ------------------------------------------------------------------ 1. cache clear deletes only its own
def test_cache_clear_removes_only_genmetrics_entries(cached, weights, tmp_path):
    stats_of(cached, weights)
    cache = tmp_path / "cache"
    entry = next(cache.glob("stats-*.npz"))
    partial = entry.with_name(entry.name.replace(".npz", ".partial.npz"))
    partial.write_bytes(b"resume")
    temp = cache / f".{entry.name}.abc_12x.tmp"
    temp.write_bytes(b"stale")
    keep = [cache / "notes.txt", cache / "other.npz", cache / "datasets" / "mnist.bin",
            cache / "stats-not-a-digest.npz"]
    for path in keep:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"user data")
    code, out, _ = run("cache", "clear")
    # Before: shutil.rmtree of the whole folder, "removed 3 entries" counting every *.npz.
    assert code == 0 and "removed 2 entries" in out, out
    assert all(path.read_bytes() == b"user data" for path in keep)
    assert not entry.exists() and not partial.exists() and not temp.exists()


# ------------------------------------------------------------------ 2. -o FILE never silently replaced
def test_stats_and_features_refuse_an_existing_file(images, weights, tmp_path):
    for command in ("stats", "features"):
        out = tmp_path / f"{command}.npz"
        out.write_bytes(b"someone's results")
        args = [command, images, "-o", out, "--dims", "64", "--weights", weights, "-q"]
        fails_cleanly(args, str(out), "exists; choose another name, or pass --force to replace it")
        assert out.read_bytes() == b"someone's results"
        code, _, err = run(*args, "--force")
        assert code == 0, err
        with np.load(out) as data:
            assert "mu" in data.files or "pool" in data.files


def test_library_writers_refuse_an_existing_file(tmp_path):
    stats = Statistics(np.zeros(2), np.eye(2), 3)
    features = Features(np.zeros((3, 2), np.float32), None, None, {})
    for save, value in ((save_statistics, stats), (save_features, features)):
        path = tmp_path / f"{save.__name__}.npz"
        save(path, value)
        with pytest.raises(GenmetricsError, match="exists"):
            save(path, value)
        save(path, value, force=True)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("toy") / "run"
    genmetrics.train("gan", "ring8", run_dir, steps=2, progress=False, g_width=8, g_depth=2, d_width=8,
                     d_depth=2, batch_size=16, sample_every=0, checkpoint_every=0, log_every=1, device="cpu",
                     eval_every=0, z_dim=2)
    return run_dir


def test_sample_data_and_sweep_refuse_an_existing_file(toy_run, tmp_path):
    pytest.importorskip("sklearn")  # genmetrics data digits
    samples = tmp_path / "samples.npy"
    assert run("sample", toy_run, "-n", "20", "-o", samples)[0] == 0
    before = samples.read_bytes()
    fails_cleanly(["sample", toy_run, "-n", "4", "-o", samples], "exists", "--force")
    assert samples.read_bytes() == before  # before the fix: 4 samples replaced the 20
    assert run("sample", toy_run, "-n", "4", "-o", samples, "--force")[0] == 0
    assert np.load(samples).shape == (4, 2)

    digits = tmp_path / "digits.npz"
    assert run("data", "digits", "--split", "test", "-n", "5", "-o", digits)[0] == 0
    fails_cleanly(["data", "digits", "--split", "test", "-n", "3", "-o", digits], "exists", "--force")
    assert run("data", "digits", "--split", "test", "-n", "3", "-o", digits, "--force")[0] == 0
    with np.load(digits) as data:
        assert len(data["images"]) == 3

    sweep = ["sweep", toy_run, "--metrics", "modes", "--truncation", "1", "-n", "50", "-o", tmp_path / "sw"]
    assert run(*sweep)[0] == 0
    fails_cleanly(sweep, "sw.csv", "exists", "--force")
    assert run(*sweep, "--force")[0] == 0


# ------------------------------------------------------------------ 3. the output is checked before the work
def test_bad_outputs_fail_before_extracting(images, weights, tmp_path, monkeypatch):
    no_extraction(monkeypatch)  # before the fix the check came after the work: AssertionError, exit 1
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    base = ["--dims", "64", "--weights", weights, "-q"]
    fails_cleanly(["stats", images, "-o", blocker / "sub" / "s.npz", *base], "a-file is a file")
    fails_cleanly(["features", images, "-o", blocker / "f.npz", *base], "a-file is a file")
    (tmp_path / "s.npz").write_text("old")
    fails_cleanly(["stats", images, "-o", tmp_path / "s.npz", *base], "exists")


def test_bad_outputs_fail_before_sampling_or_loading(toy_run, tmp_path, monkeypatch):
    import genmetrics.trainers.data as data
    from genmetrics.trainers.generator import LoadedGenerator

    def fail(*args, **kwargs):
        raise AssertionError("did the work before checking the output")
    monkeypatch.setattr(LoadedGenerator, "sample", fail)
    monkeypatch.setattr(data, "load_digits", fail)
    (tmp_path / "dir.npy").mkdir()  # a folder where a file should go: os.replace failed after the work
    (tmp_path / "dir.npz").mkdir()
    fails_cleanly(["sample", toy_run, "-n", "4", "-o", tmp_path / "dir.npy"], "is a folder")
    fails_cleanly(["data", "digits", "-o", tmp_path / "dir.npz"], "is a folder")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.png").write_bytes(b"")
    fails_cleanly(["data", "digits", "-o", tmp_path / "full"], "not empty")
    (tmp_path / "plain").write_text("x")
    fails_cleanly(["data", "digits", "-o", tmp_path / "plain" / "pngs"], "plain is a file")


def test_unwritable_output_folder_fails_before_extracting(images, weights, tmp_path, monkeypatch):
    import genmetrics._io as io

    def refuse(*args, **kwargs):  # what a read-only folder does (chmod cannot show it to root)
        raise PermissionError(13, "Permission denied")
    no_extraction(monkeypatch)
    monkeypatch.setattr(io.tempfile, "mkstemp", refuse)
    fails_cleanly(["stats", images, "-o", tmp_path / "s.npz", "--dims", "64", "--weights", weights, "-q"],
                  "cannot write in", "Permission denied")


def test_check_output_creates_nothing(tmp_path):
    target = tmp_path / "new" / "deeper" / "out.npz"
    assert check_output(target) == target
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ 4. an unusable cache is a warning
def test_cache_folder_that_is_a_file_warns_once_and_keeps_the_result(images, weights, tmp_path, monkeypatch):
    import genmetrics.features.compute as compute

    occupied = tmp_path / "occupied"
    occupied.write_text("not a folder")
    monkeypatch.delenv("GENMETRICS_NO_CACHE")
    monkeypatch.setenv("GENMETRICS_CACHE", str(occupied))
    monkeypatch.setattr(compute, "CHECKPOINT_SECONDS", -1.0)  # also try a resume file after every batch
    expected = stats_of(images, weights, cache=False)
    with pytest.warns(CacheWarning) as caught:
        result = stats_of(images, weights, batch_size=2)
        features = genmetrics.compute_features(images, dims=64, weights=weights, progress=False)
    # Before: NotADirectoryError/FileExistsError from the cache write, after the work.
    messages = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert len(messages) == 1 and str(occupied) in messages[0], messages
    np.testing.assert_array_equal(result.mu, expected.mu)  # same features, same sums: exact
    assert features.features.shape == (6, 64)
    code, out, err = run("stats", images, "-o", tmp_path / "s.npz", "--dims", "64", "--weights", weights, "-q")
    assert code == 0 and (tmp_path / "s.npz").is_file() and "Traceback" not in err, err


def test_unwritable_cache_is_a_warning(cached, weights, monkeypatch):
    import genmetrics.stats as stats_module

    def refuse(path, mode="wb"):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(stats_module, "atomic_write", refuse)  # a read-only folder, even to root
    with pytest.warns(CacheWarning, match="cannot be written.*Permission denied"):
        assert stats_of(cached, weights).n == 6


# ------------------------------------------------------------------ 5. damaged entries are recomputed
def test_damaged_cache_entry_is_reported_removed_and_recomputed(cached, weights, tmp_path):
    first = stats_of(cached, weights)
    genmetrics.compute_features(cached, dims=64, weights=weights, progress=False)
    entries = sorted((tmp_path / "cache").glob("*.npz"))
    assert len(entries) == 2
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:100])  # truncated, as by a full disk or a killed copy
    code, out, err = run("cache", "list")  # before: BadZipFile traceback
    assert code == 0 and out.count("DAMAGED") == 2 and "Traceback" not in err, (out, err)
    with pytest.warns(CacheWarning, match="damaged.*recomputing"):
        again = stats_of(cached, weights)  # before: BadZipFile on every later run of this input
    np.testing.assert_array_equal(again.mu, first.mu)
    with pytest.warns(CacheWarning, match="damaged"):
        genmetrics.compute_features(cached, dims=64, weights=weights, progress=False)
    assert "DAMAGED" not in run("cache", "list")[1]


def test_damaged_resume_file_is_removed_and_the_run_starts_over(cached, weights, tmp_path):
    expected = stats_of(cached, weights, cache=False)
    stats_of(cached, weights)
    entry = next((tmp_path / "cache").glob("stats-*.npz"))
    entry.unlink()
    partial = entry.with_name(entry.name.replace(".npz", ".partial.npz"))
    np.savez(partial, done=3, n=3, sum=np.zeros(64), outer=np.zeros((5, 5)), skipped=np.array([], str))
    with pytest.warns(CacheWarning, match="partial.*damaged"):
        result = stats_of(cached, weights)  # before: a shape error in RunningStats.update
    np.testing.assert_array_equal(result.mu, expected.mu)
    assert not partial.exists()


# ------------------------------------------------------------------ 6. cache list shows feature entries
def test_cache_list_shows_n_and_source_of_feature_entries(cached, weights):
    genmetrics.compute_features(cached, dims=64, weights=weights, progress=False)
    code, out, _ = run("cache", "list")
    assert code == 0 and "n=6" in out and str(cached) in out, out  # before: "n=None" and no source
    entry = json.loads(run("cache", "list", "--json")[1])["entries"][0]
    assert entry["kind"] == "features" and entry["n"] == 6 and entry["source"] == str(cached)


# ------------------------------------------------------------------ 7. damaged or malformed npz inputs
def test_truncated_npz_inputs_are_one_line_errors(images, weights, tmp_path):
    stats = tmp_path / "stats.npz"
    save_statistics(stats, Statistics(np.zeros(3), np.eye(3), 10))
    feats = tmp_path / "feats.npz"
    save_features(feats, Features(np.zeros((4, 3), np.float32), None, None, {}))
    array = tmp_path / "array.npz"
    np.savez_compressed(array, images=synthetic_images(4, size=16, seed=1))
    for path in (stats, feats, array):
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
        fails_cleanly(["fid", path, images, "--weights", weights, "--dims", "64", "-q"], path.name)
        fails_cleanly(["stats", path, "-o", tmp_path / "out.npz", "--weights", weights, "-q"], path.name)
    corrupt = tmp_path / "corrupt.npz"  # intact archive, damaged compressed data: zlib.error before
    np.savez_compressed(corrupt, images=synthetic_images(4, size=16, seed=1))
    data = bytearray(corrupt.read_bytes())
    data[120:160] = b"\x01" * 40
    corrupt.write_bytes(bytes(data))
    fails_cleanly(["features", corrupt, "-o", tmp_path / "f.npz", "--weights", weights, "-q"], "corrupt.npz")


@pytest.mark.parametrize("arrays, fragment", [
    ({"pool": np.zeros(5, np.float32)}, "pool"),                                   # 1-D: one image?
    ({"pool": np.zeros((5, 3)), "logits": np.zeros(5)}, "logits"),                   # logits 1-D
    ({"pool": np.zeros((5, 3)), "logits": np.zeros((4, 10))}, "different numbers"),  # rows differ
])
def test_malformed_features_file_is_an_error(tmp_path, images, weights, arrays, fragment):
    path = tmp_path / "feats.npz"
    np.savez(path, **arrays)
    # Before: a 1-D pool gave a covariance of shape () and an IndexError; mismatched rows a wrong number.
    fails_cleanly(["fid", path, images, "--weights", weights, "--dims", "64", "-q"], "feats.npz", fragment)


# ------------------------------------------------------------------ 8. invalid statistics files
def write_stats(path, mu, sigma):
    np.savez(path, mu=mu, sigma=sigma)
    return path


@pytest.mark.parametrize("sigma, fragment", [
    (-np.eye(4), "negative variances"),                               # before: FID 8.0
    (np.eye(4) - 0.6 * (np.ones((4, 4)) - np.eye(4)), "positive semi-definite"),  # eigenvalue -0.8
    (np.triu(np.ones((4, 4))), "not symmetric"),                      # before: about 0
])
def test_invalid_covariance_is_an_error(tmp_path, sigma, fragment):
    good = write_stats(tmp_path / "good.npz", np.zeros(4), np.eye(4))
    bad = write_stats(tmp_path / "bad.npz", np.zeros(4), sigma)
    fails_cleanly(["fid", bad, good], "bad.npz", fragment)


def test_zero_dimensional_statistics_are_an_error(tmp_path):
    empty = write_stats(tmp_path / "empty.npz", np.zeros(0), np.zeros((0, 0)))
    fails_cleanly(["fid", empty, empty], "empty.npz", "D >= 1")  # before: FID 0.0


def test_valid_float32_and_singular_statistics_are_accepted(tmp_path):
    """Round-off is not an error: a float32 np.cov of N < D ReLU features (singular, eigenvalues slightly
    negative) and the same statistics in float64 give the same FID as computed directly."""
    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(size=(40, 256)) + 1.0, 0)
    y = np.maximum(rng.normal(size=(50, 256)) + 0.8, 0)
    for dtype in (np.float32, np.float64):
        a = write_stats(tmp_path / "a.npz", x.mean(0).astype(dtype), np.cov(x.astype(dtype), rowvar=False))
        b = write_stats(tmp_path / "b.npz", y.mean(0).astype(dtype), np.cov(y.astype(dtype), rowvar=False))
        value = genmetrics.fid(a, b).fid
        direct = genmetrics.frechet_distance(x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False))
        # float32 storage moves FID by ~eps32 x the condition of the square root: 1e-4 relative is ample.
        assert value == pytest.approx(direct, rel=1e-4 if dtype == np.float32 else 1e-9)


def test_the_covariance_check_needs_no_eigendecomposition(tmp_path, monkeypatch):
    import scipy.linalg

    def forbidden(*args, **kwargs):
        raise AssertionError("an eigendecomposition: too slow at 2048-d")
    monkeypatch.setattr(np.linalg, "eigh", forbidden)
    monkeypatch.setattr(np.linalg, "eigvalsh", forbidden)
    monkeypatch.setattr(scipy.linalg, "eigh", forbidden)
    monkeypatch.setattr(scipy.linalg, "eigvalsh", forbidden)
    x = np.random.default_rng(1).normal(size=(300, 512))
    stats = load_statistics(write_stats(tmp_path / "s.npz", x.mean(0), np.cov(x, rowvar=False)))
    assert stats.dims == 512


# ------------------------------------------------------------------ 9. permissions of written files
def test_atomic_write_honours_the_umask_and_keeps_an_existing_mode(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "new.npz") as handle:
            handle.write(b"x")
        assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o644  # before: 0o600
        os.umask(0o077)
        with atomic_write(tmp_path / "private") as handle:
            handle.write(b"x")
        assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o600
        shared = tmp_path / "shared.npz"
        shared.write_bytes(b"old")
        shared.chmod(0o664)
        with atomic_write(shared) as handle:
            handle.write(b"new")
        assert stat.S_IMODE(shared.stat().st_mode) == 0o664 and shared.read_bytes() == b"new"
    finally:
        os.umask(old)


# ------------------------------------------------------------------ 10. inputs are checked before the work
def test_missing_inputs_are_reported_before_the_weights(tmp_path):
    # No weights here (the test download URL fails): before, the weights error came first, which online
    # means a 95 MB download before hearing that the folder does not exist.
    fails_cleanly(["fid", tmp_path / "real", tmp_path / "fake"], "real", "does not exist")
    fails_cleanly(["stats", tmp_path / "real", "-o", tmp_path / "s.npz"], "real", "does not exist")


def test_second_input_is_checked_before_extracting_the_first(images, weights, tmp_path, monkeypatch):
    from genmetrics.metrics.evaluate import evaluate

    no_extraction(monkeypatch)
    with pytest.raises(GenmetricsError, match="typo.*does not exist"):
        genmetrics.fid(images, tmp_path / "typo", dims=64, weights=weights, progress=False)
    with pytest.raises(GenmetricsError, match="typo.*does not exist"):
        evaluate(images, tmp_path / "typo", ["fid", "kid"], dims=64, weights=weights, progress=False)
