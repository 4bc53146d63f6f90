"""The families of issue 14 (cgan, sgan, infogan, ebgan, began, progan): a few steps on 16x16 digits,
resume equal to an uninterrupted run, sampling, and each family's own measure on closed-form cases.

Tiny runs reuse tests/test_train.py's settings (16x16 digits, networks 8 channels wide, batch 10).
"""
import json

import numpy as np
import pytest
import torch

from genmetrics import GenmetricsError, load_generator
from genmetrics.trainers import train
from genmetrics.trainers.measures import class_fid, cluster_accuracy

from .helpers import run as run_cli
from .test_train import TINY_IMAGE, TINY_TOY, assert_same_weights, states

pytest.importorskip("sklearn")  # digits come from scikit-learn
pytest.importorskip("scipy")

NEW = ["cgan"]
EXTRA = {}  # per-family settings that keep a smoke run tiny


def tiny(model: str, kind: str = "image", **extra) -> dict:
    base = TINY_IMAGE if kind == "image" else TINY_TOY
    return {**base, "batch_size": 10, **EXTRA.get(model, {}), **extra}


@pytest.mark.parametrize("model", NEW)
def test_resumed_run_equals_uninterrupted_and_samples(tmp_path, model):
    options = tiny(model, lr_decay="linear")
    whole = train(model, "digits", tmp_path / "whole", steps=4, progress=False, **options)
    first = train(model, "digits", tmp_path / "split", steps=4, max_steps=2, progress=False, **options)
    assert first.stopped_early and first.measures is None  # an interruption measures nothing
    split = train(None, None, tmp_path / "split", resume=True, progress=False)
    assert_same_weights(states(tmp_path / "whole"), states(tmp_path / "split"))
    assert states(tmp_path / "whole")["family_state"] == states(tmp_path / "split")["family_state"]
    logs = [[json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
            for name in ("whole", "split")]
    assert [r.get("losses") for r in logs[0]] == [r.get("losses") for r in logs[1]]
    assert whole.measures == split.measures
    assert (tmp_path / "whole" / "samples" / "step_000004.png").is_file()
    code, out, err = run_cli("sample", tmp_path / "whole", "-n", "5", "-o", tmp_path / "s.npz", "--json")
    assert code == 0, err
    with np.load(tmp_path / "s.npz") as data:
        assert data["images"].shape == (5, 16, 16, 1)


def test_cgan_conditions_both_networks_and_samples_one_class(tmp_path):
    train("cgan", "digits", tmp_path / "run", steps=1, progress=False, **tiny("cgan"))
    generator = load_generator(tmp_path / "run")
    images, labels = generator.sample(4, class_index=7)
    assert labels.tolist() == [7] * 4 and images.shape == (4, 1, 16, 16)
    payload = states(tmp_path / "run")
    # D's first conv sees 1 image channel + 10 one-hot planes; it outputs one score (no class head).
    first = next(v for k, v in payload["discriminator"].items() if k.endswith("weight"))
    assert first.shape[1] == 11
    last = [v for k, v in payload["discriminator"].items() if k.endswith("weight")][-1]
    assert last.shape[0] == 1


def test_class_fid_is_zero_for_the_real_images_and_positive_for_other_classes():
    from genmetrics.features.registry import register_extractor

    # A fixed extractor: 4x4 average pooling of the [0, 1] image (48 features), no weights.
    register_extractor("_pool4", lambda device, weights: (lambda x: torch.nn.functional.adaptive_avg_pool2d(
        x, 4).flatten(1)), size=16, normalize="unit", override=True)
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (120, 1, 16, 16), generator=gen, dtype=torch.uint8)
    images[60:] //= 4  # class 1 is darker than class 0
    labels = torch.tensor([0] * 60 + [1] * 60)

    class Replay:  # "samples" of class c are the real images of class c (or of the other class)
        num_classes = 2

        def __init__(self, swap):
            self.swap = swap

        def sample(self, n, seed, class_index):
            chosen = images[labels == (1 - class_index if self.swap else class_index)]
            return chosen.float() / 127.5 - 1, None

    same = class_fid(Replay(False), images, labels, extractor="_pool4", n_per_class=60, seed=0)
    other = class_fid(Replay(True), images, labels, extractor="_pool4", n_per_class=60, seed=0)
    # Identical sets: FID 0 up to sqrtm's float64 error (1e-6 on values of order 1e-3..1e2).
    assert set(same) == {"0", "1"} and max(abs(v) for v in same.values()) < 1e-6
    assert min(other.values()) > 1.0


def test_cluster_accuracy_matches_clusters_to_classes_one_to_one():
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy([2, 2, 0, 0, 1, 1], labels) == 1.0  # a relabelling is perfect
    assert cluster_accuracy([0, 0, 0, 0, 0, 0], labels) == pytest.approx(1 / 3)  # one cluster, one class
    assert cluster_accuracy([0, 1, 1, 2, 2, 0], labels) == pytest.approx(1 / 2)


def test_families_refuse_data_they_cannot_train_on(tmp_path):
    from genmetrics.testing import synthetic_images, write_image_folder

    write_image_folder(tmp_path / "flat", synthetic_images(4, size=16, seed=3))
    with pytest.raises(GenmetricsError, match="class labels"):
        train("cgan", str(tmp_path / "flat"), tmp_path / "r", steps=1, progress=False, **tiny("cgan"))
