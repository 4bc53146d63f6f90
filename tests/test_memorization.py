"""AuthPct against dgm-eval's computation, and the nearest-neighbour report on planted copies."""
import json

import numpy as np
import torch
from PIL import Image

import genmetrics
from genmetrics.metrics.authpct import authenticity
from genmetrics.testing import synthetic_images


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
