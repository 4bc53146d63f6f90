"""torchrun with 2 CPU processes (gloo on loopback) gives the single-process numbers; a failing rank ends
the run with its error, without hanging and without writing output."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from genmetrics.testing import synthetic_images, write_image_folder

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            "-m", "genmetrics"]


def genmetrics_run(args, distributed):
    """One run; both kinds with one thread per process (torchrun's default), since the thread count
    changes float32 rounding inside the network and this compares sharding alone."""
    command = (TORCHRUN if distributed else [sys.executable, "-m", "genmetrics"]) + [str(a) for a in args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def json_of(result):
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def odd_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("odd")
    write_image_folder(folder, synthetic_images(23, size=20, seed=7))  # 23 images: uneven shards
    return folder


def test_fid_is_and_features_equal_a_single_process(tmp_path, odd_dir, real_dir, weights):
    common = ["--weights", weights, "--batch-size", "4", "--json", "-q"]
    for distributed in (False, True):
        out = tmp_path / f"feats{int(distributed)}.npz"
        run = genmetrics_run(["fid", real_dir, odd_dir, "--dims", "64", *common], distributed)
        fid = json_of(run)
        # 23 images for 64-d features: one small-sample warning per input, printed by rank 0 only
        assert run.stderr.count("genmetrics: warning:") == 2, run.stderr
        score = json_of(genmetrics_run(["is", odd_dir, "--splits", "3", *common], distributed))
        json_of(genmetrics_run(["features", odd_dir, "-o", out, *common], distributed))
        if not distributed:
            single = (fid, score)
    # Same features (same batches), float64 sums in another order: 1e-10 relative as the issue asks.
    assert fid["fid"] == pytest.approx(single[0]["fid"], rel=1e-10) and fid["n2"] == 23
    assert score["inception_score"] == single[1]["inception_score"]  # same logits, same order: exact
    with np.load(tmp_path / "feats0.npz") as a, np.load(tmp_path / "feats1.npz") as b:
        assert np.array_equal(a["pool"], b["pool"]) and list(a["files"]) == list(b["files"])


def test_a_failing_rank_ends_the_run_cleanly(tmp_path, weights):
    folder = tmp_path / "broken"
    write_image_folder(folder, synthetic_images(6, size=16, seed=1))
    (folder / "00005.png").write_bytes(b"not an image")  # in rank 1's shard (batches of 3)
    out = tmp_path / "stats.npz"
    result = genmetrics_run(["stats", folder, "-o", out, "--weights", weights, "--batch-size", "3",
                             "--dims", "64", "-q"], distributed=True)
    assert result.returncode != 0
    assert "genmetrics: error (rank 1):" in result.stderr and "00005.png" in result.stderr
    assert not out.exists()


def test_sampling_and_sweeps_shard_the_seeds(tmp_path, real_dir, weights):
    """`sample` and `sweep` give the single-process output under torchrun: each rank generates its own
    share of the samples (7 samples in batches of 2: shares of 2 and 1 batches)."""
    import torch

    from genmetrics.trainers import train
    from tests.test_sweep import TinyGenerator
    from tests.test_train import TINY_IMAGE

    train("dcgan", "digits", tmp_path / "run", steps=1, progress=False, **TINY_IMAGE)
    torch.jit.script(TinyGenerator()).save(str(tmp_path / "G.pt"))
    sweep = ["sweep", tmp_path / "G.pt", "--z-dim", "8", "--ref", real_dir, "--truncation", "1,0.5", "-n", "7",
             "--sample-batch-size", "2", "--batch-size", "3", "--metrics", "fid,is", "--splits", "2", "--dims", "64",
             "--weights", weights, "--json", "-q"]
    rows = []
    for distributed in (False, True):
        sample = ["sample", tmp_path / "run", "-n", "7", "--batch-size", "2", "--device", "cpu"]
        json_of(genmetrics_run([*sample, "-o", tmp_path / f"s{int(distributed)}.npz", "--json"], distributed))
        json_of(genmetrics_run([*sample, "-o", tmp_path / f"png{int(distributed)}", "--json"], distributed))
        rows.append(json_of(genmetrics_run(sweep, distributed)))
    with np.load(tmp_path / "s0.npz") as a, np.load(tmp_path / "s1.npz") as b:
        assert a["images"].shape == (7, 16, 16, 1) and np.array_equal(a["images"], b["images"])
    assert sorted(p.name for p in (tmp_path / "png1").iterdir()) == [f"{i:06d}.png" for i in range(7)]
    for i in range(7):
        assert (tmp_path / "png0" / f"{i:06d}.png").read_bytes() == (tmp_path / "png1" / f"{i:06d}.png").read_bytes()
    # one generator batch of 7: rank 1 has no samples at all, and the rows are still the single-process ones
    at = sweep.index("--sample-batch-size")
    rows.append(json_of(genmetrics_run(sweep[:at] + sweep[at + 2:], True)))
    for single, sharded in zip(rows[0], rows[2]):
        assert sharded["fid"] == pytest.approx(single["fid"], rel=1e-10)
    for single, sharded in zip(*rows[:2]):
        assert sharded["fid"] == pytest.approx(single["fid"], rel=1e-10)  # float64 sums in another order
        assert sharded["inception_score"] == single["inception_score"]  # same logits in the same order


def test_a_launcher_without_rank_is_waited_for(monkeypatch):
    """Lightning's DDP children get WORLD_SIZE but no RANK and form the group themselves, after the model (and
    its streaming metric's reference) is built: until then genmetrics works alone instead of failing in
    init_process_group (seen with examples/lightning_fid.py --devices 2)."""
    from genmetrics import distributed

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("RANK", raising=False)
    assert not distributed.active() and distributed.world_size() == 1
