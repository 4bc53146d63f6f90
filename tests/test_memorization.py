"""AuthPct against dgm-eval's computation, and the nearest-neighbour report on planted copies."""
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import genmetrics
from genmetrics.metrics.authpct import authenticity
from genmetrics.testing import synthetic_images, write_image_folder
from tests.helpers import fails_cleanly, run


def dgm_eval_authpct(train_feat, gen_feat):
    """layer6ai-labs/dgm-eval metrics/authpct.py compute_authpct, as published."""
    with torch.no_grad():
        train_feat = torch.tensor(train_feat, dtype=torch.float32)
        gen_feat = torch.tensor(gen_feat, dtype=torch.float32)
        real_dists = torch.cdist(train_feat, train_feat)
        real_dists.fill_diagonal_(float("inf"))
        gen_dists = torch.cdist(train_feat, gen_feat)
        real_min_dists = real_dists.min(axis=0)
        gen_min_dists = gen_dists.min(dim=0)
        authen = real_min_dists.values[gen_min_dists.indices] < gen_min_dists.values
        return (100 * torch.sum(authen) / len(authen)).item()


def test_authpct_equals_dgm_eval():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(200, 16))
    generated = np.vstack([train[:30] + rng.normal(scale=0.01, size=(30, 16)), rng.normal(size=(70, 16))])
    ours = authenticity(train, generated)["authpct"]
    assert ours == dgm_eval_authpct(train, generated)  # the same comparisons on the same float32 distances
    assert 50 < ours < 75  # the 30 near-copies are not authentic; most of the 70 fresh samples are


def test_report_shows_the_copies(tmp_path, weights):
    train = synthetic_images(8, size=32, seed=3)
    generated = np.concatenate([train[[5, 2]], synthetic_images(3, size=32, seed=11, contrast=0.5)])
    report = genmetrics.memorization_report(train, generated, tmp_path / "out", samples=3, k=2, dims=64,
                                            weights=weights, progress=False, cache=False)
    copies = report["suspicious"][:2]
    assert sorted(r["generated"] for r in copies) == [0, 1]  # the planted copies rank first ...
    assert {r["generated"]: r["neighbours"][0]["train"] for r in copies} == {0: 5, 1: 2}  # ... beside their source
    assert all(r["neighbours"][0]["distance"] < 1e-3 and not r["authentic"] for r in copies)
    assert report["authpct"] <= 60  # 2 of 5 samples are copies
    grid = Image.open(tmp_path / "out" / "memorization.png")
    assert grid.size == (3 * 100 + 8, 3 * 100)  # 3 rows of generated + 2 neighbours, 96 px cells, 4 px gaps
    stored = json.loads((tmp_path / "out" / "memorization.json").read_text())
    assert stored["suspicious"][0]["neighbours"][0]["train"] in (5, 2)


def planted_copies(tmp_path):
    """A training folder of 8 images and 5 generated ones, the first two exact copies of training 5 and 2."""
    train = synthetic_images(8, size=32, seed=3)
    write_image_folder(tmp_path / "train", train)
    generated = np.concatenate([train[[5, 2]], synthetic_images(3, size=32, seed=11, contrast=0.5)])
    np.save(tmp_path / "generated.npy", generated)
    return tmp_path / "train", tmp_path / "generated.npy"


def test_memorization_command(tmp_path):
    train, generated = planted_copies(tmp_path)
    code, out, err = run("memorization", train, generated, "--extractor", "digits", "--samples", 3, "-k", 2,
                         "--json", "-q")
    assert code == 0, err
    report = json.loads(out)
    assert [r["generated"] for r in report["suspicious"][:2]] in ([0, 1], [1, 0])
    nearest = {r["generated"]: r["neighbours"][0] for r in report["suspicious"][:2]}
    assert {g: Path(n["train_file"]).name for g, n in nearest.items()} == {0: "00005.png", 1: "00002.png"}
    assert all(n["distance"] == 0 for n in nearest.values())  # the same pixels give the same features exactly
    assert len(report["suspicious"]) == 3 and all(len(r["neighbours"]) == 2 for r in report["suspicious"])
    assert report["suspicious"][0]["generated_file"] is None  # an array has indices, not file names
    code, out, err = run("memorization", train, generated, "--extractor", "digits", "-o", tmp_path / "mem", "-q")
    assert code == 0, err
    assert out.startswith("AuthPct: ") and "00005.png" in out and "(not authentic)" in out
    assert (tmp_path / "mem" / "memorization.png").is_file() and (tmp_path / "mem" / "memorization.json").is_file()
    fails_cleanly(("memorization", train, generated, "--extractor", "digits", "--samples", -1, "-q"),
                  "samples must be >= 0")


def test_eval_json_lists_the_nearest_training_images(tmp_path):
    train, generated = planted_copies(tmp_path)
    code, out, err = run("eval", train, generated, "--metrics", "authpct", "--extractor", "digits",
                         "--memorization-samples", 2, "--memorization-neighbours", 1, "--json", "-q")
    assert code == 0, err
    result = json.loads(out)
    rows = result["memorization"]
    assert sorted(r["generated"] for r in rows) == [0, 1] and all(len(r["neighbours"]) == 1 for r in rows)
    assert {r["generated"]: Path(r["neighbours"][0]["train_file"]).name for r in rows} == {0: "00005.png",
                                                                                          1: "00002.png"}
    assert result["authpct"] == 60.0  # the 2 copies are not authentic; 3 fresh samples of another contrast are
    assert result["protocol"]["memorization_samples"] == 2
    assert "memorization" not in genmetrics.evaluate(train, generated, "fd", extractor="digits", progress=False)
