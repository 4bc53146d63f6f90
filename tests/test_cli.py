"""The command line end to end in a temporary folder, including every bad input of the issue."""
import json

import numpy as np
import pytest

from genmetrics.testing import synthetic_images, write_image_folder
from tests.helpers import fails_cleanly, run


def test_fid_json(real_dir, fake_dir, weights):
    code, out, _ = run("fid", real_dir, fake_dir, "--weights", weights, "--dims", "64", "--json", "-q")
    assert code == 0
    result = json.loads(out)
    for key in ("fid", "n1", "n2", "dims", "resize", "weights_sha256", "version"):
        assert key in result
    assert result["n1"] == result["n2"] == 24 and result["dims"] == 64 and result["resize"] == "tf"
    assert result["fid"] > 0


def test_fid_human_summary(real_dir, fake_dir, weights):
    code, out, _ = run("fid", real_dir, fake_dir, "--weights", weights, "--dims", "64", "-q")
    assert code == 0 and out.startswith("FID: ") and "n1=24" in out


def test_is_json(real_dir, weights):
    code, out, _ = run("is", real_dir, "--weights", weights, "--splits", "3", "--json", "-q")
    assert code == 0
    result = json.loads(out)
    for key in ("inception_score", "inception_score_std", "splits", "n"):
        assert key in result
    assert result["splits"] == 3 and result["n"] == 24 and result["inception_score"] >= 1


def test_stats_then_fid_against_the_file(tmp_path, real_dir, fake_dir, weights):
    out_file = tmp_path / "ref.npz"
    code, _, _ = run("stats", real_dir, "-o", out_file, "--weights", weights, "--dims", "64", "-q")
    assert code == 0
    with np.load(out_file) as data:
        assert data["mu"].shape == (64,) and data["sigma"].shape == (64, 64)
    _, direct, _ = run("fid", real_dir, fake_dir, "--weights", weights, "--dims", "64", "--json", "-q")
    _, stored, _ = run("fid", out_file, fake_dir, "--weights", weights, "--dims", "64", "--json", "-q")
    assert json.loads(stored)["fid"] == pytest.approx(json.loads(direct)["fid"], rel=1e-9)


def test_features_file(tmp_path, real_dir, weights):
    out_file = tmp_path / "f.npz"
    code, _, _ = run("features", real_dir, "-o", out_file, "--weights", weights, "-q")
    assert code == 0
    with np.load(out_file) as data:
        assert data["pool"].shape == (24, 2048) and data["logits"].shape == (24, 1008)
        assert data["files"][0] == "00000.png"


def test_help_teaches():
    code, out, _ = run("--help")
    assert code == 0 and "genmetrics fid real/ fake/" in out
    code, out, _ = run("fid", "--help")
    assert code == 0 and "--resize" in out and "statistics" in out


# ---------------------------------------------------------------- bad input
def test_missing_path(tmp_path, real_dir, weights):
    fails_cleanly(["fid", tmp_path / "nope", real_dir, "--weights", weights], "nope", "does not exist")


def test_empty_folder(tmp_path, real_dir, weights):
    (tmp_path / "empty").mkdir()
    fails_cleanly(["fid", tmp_path / "empty", real_dir, "--weights", weights], "empty folder")


def test_no_images_found(tmp_path, real_dir, weights):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("x")
    fails_cleanly(["fid", tmp_path / "docs", real_dir, "--weights", weights], "no images found", "docs")


def test_corrupt_image_named_and_skip_bad(tmp_path, real_dir, weights):
    folder = tmp_path / "broken"
    write_image_folder(folder, synthetic_images(4, size=16, seed=0))
    (folder / "00001.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    fails_cleanly(["is", folder, "--weights", weights, "--splits", "1"], "00001.png", "--skip-bad")
    code, out, _ = run("is", folder, "--weights", weights, "--splits", "1", "--skip-bad", "--json", "-q")
    assert code == 0 and json.loads(out)["n"] == 3 and json.loads(out)["skipped"] == 1


def test_single_image_where_fid_needs_two(tmp_path, real_dir, weights):
    write_image_folder(tmp_path / "one", synthetic_images(1, size=16))
    fails_cleanly(["fid", tmp_path / "one", real_dir, "--weights", weights, "--dims", "64"],
                  "at least 2 images", "one")


def test_npz_of_different_dims(tmp_path, weights):
    np.savez(tmp_path / "a.npz", mu=np.zeros(64), sigma=np.eye(64))
    np.savez(tmp_path / "b.npz", mu=np.zeros(2048), sigma=np.eye(2048))
    fails_cleanly(["fid", tmp_path / "a.npz", tmp_path / "b.npz", "--weights", weights],
                  "64-d", "2048-d")


def test_non_finite_features(tmp_path, real_dir, weights):
    import torch
    state = torch.load(weights)
    state["Conv2d_1a_3x3.conv.weight"][0] = float("inf")
    torch.save(state, tmp_path / "inf.pth")
    out_file = tmp_path / "s.npz"
    fails_cleanly(["stats", real_dir, "-o", out_file, "--weights", tmp_path / "inf.pth", "--dims", "64"],
                  "non-finite features")
    assert not out_file.exists()  # nothing written half


def test_unreadable_weights(tmp_path, real_dir):
    fails_cleanly(["is", real_dir, "--weights", tmp_path / "none.pth"], "none.pth", "does not exist")


def test_bad_option_values(real_dir, weights):
    fails_cleanly(["is", real_dir, "--weights", weights, "--splits", "100"], "splits")
    fails_cleanly(["fid", real_dir, real_dir, "--weights", weights, "--batch-size", "0"], "--batch-size")
    fails_cleanly(["fid", real_dir, real_dir, "--weights", weights, "--device", "cuda:7"], "--device")


# ---------------------------------------------------------------- eval, kid, prdc, fid --infinity
def test_eval_json_and_shortcuts(tmp_path, real_dir, fake_dir, weights):
    feats = {}
    for name, folder in (("real", real_dir), ("fake", fake_dir)):
        feats[name] = tmp_path / f"{name}.npz"
        assert run("features", folder, "-o", feats[name], "--weights", weights, "--dims", "64", "-q")[0] == 0
    code, out, _ = run("eval", feats["real"], feats["fake"], "--metrics", "fid,is,kid,precision,recall,density,"
                       "coverage", "--kid-subsets", "3", "--splits", "2", "--bootstrap", "5", "--json")
    assert code == 0, out
    result = json.loads(out)
    for key in ("fid", "inception_score", "kid", "kid_std", "precision", "recall", "density", "coverage"):
        assert key in result
    assert result["protocol"]["pr_k"] == 3 and set(result["bootstrap"]["intervals"]) >= {"fid", "kid"}
    code, out, _ = run("kid", feats["real"], feats["fake"], "--kid-subsets", "3", "--json")
    assert code == 0 and json.loads(out)["kid"] == pytest.approx(result["kid"], rel=1e-12)
    code, out, _ = run("prdc", feats["real"], feats["fake"])
    assert code == 0 and "precision" in out and "coverage" in out
    code, out, _ = run("fid", feats["real"], feats["fake"], "--infinity", "--infinity-points", "3",
                       "--infinity-min", "12", "--json")
    assert code == 0 and len(json.loads(out)["points"]) == 3
    fails_cleanly(["eval", feats["real"], feats["fake"], "--metrics", "fid,nope"], "unknown metric", "nope")
