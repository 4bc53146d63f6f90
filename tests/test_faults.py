"""Faults of issue 11 around models, weights and checkpoints: nothing lost, no silent wrong number, no
traceback. Every bad file is refused with a GenmetricsError naming it (one line and exit 2 on the CLI).

Images are 16x16 and few (Inception still runs at 299x299); training runs are the tiny ones of
tests/test_train.py (2-4 steps of a few-unit network on the CPU).
"""
import shutil
import struct
import zipfile

import numpy as np
import pytest
import torch

import genmetrics
from genmetrics import GenmetricsError, load_generator
from genmetrics.features.inception import FIDInceptionV3
from genmetrics.features.registry import load_extractor
from genmetrics.testing import synthetic_images, write_image_folder
from genmetrics.trainers import train
from genmetrics.trainers.checkpoint import read_checkpoint, save_checkpoint
from tests.helpers import fails_cleanly, run

TINY_TOY = dict(g_width=16, g_depth=2, d_width=16, d_depth=2, batch_size=16, sample_every=0, checkpoint_every=0,
                log_every=1, device="cpu", eval_every=0, z_dim=2)
TINY_IMAGE = dict(image_size=16, g_width=8, d_width=8, batch_size=8, sample_every=0, checkpoint_every=0,
                  log_every=1, device="cpu", z_dim=8)


@pytest.fixture(scope="module")
def images():
    return synthetic_images(4, size=16, seed=1)


@pytest.fixture(scope="module")
def calibrated(weights):
    """The session's calibrated random weights (tests/conftest.py) as a state dict."""
    return torch.load(weights, weights_only=True)


def edited_weights(calibrated, path, edit) -> str:
    """The calibrated random weights with ``edit(state)`` applied, saved to ``path``."""
    state = dict(calibrated)
    edit(state)
    torch.save(state, path)
    return str(path)


def images_dir(folder, images) -> str:
    write_image_folder(folder / "images", images)
    return str(folder / "images")


def set_last_block_bn(state, weight: float, bias: float) -> None:
    """Mixed_7c's BatchNorms output ``weight * normalised + bias``: 0 and 0 make the 2048-d pool features
    all zero, 0 and 1 make them 1 whatever the image."""
    for key in state:
        if key.startswith("Mixed_7c") and key.endswith("bn.weight"):
            state[key] = torch.full_like(state[key], weight)
        elif key.startswith("Mixed_7c") and key.endswith("bn.bias"):
            state[key] = torch.full_like(state[key], bias)


# 1. Degenerate features: before the fix each of these gave an FID of 0.000000 (or ~1e-13) silently.
def test_default_initialised_weights_are_refused(tmp_path, images):
    path = tmp_path / "fresh.pth"
    torch.save({k: v for k, v in FIDInceptionV3().state_dict().items()}, path)
    with pytest.raises(GenmetricsError, match="write_random_weights") as info:
        genmetrics.fid(images, images[::-1].copy(), weights=path, progress=False)
    assert str(path) in str(info.value)


def test_near_zero_features_are_refused(calibrated, tmp_path, images):
    path = edited_weights(calibrated, tmp_path / "zero.pth", lambda s: set_last_block_bn(s, 0.0, 0.0))
    line = fails_cleanly(["fid", images_dir(tmp_path, images), images_dir(tmp_path / "b", images[::-1]),
                          "--weights", path, "-q", "--no-cache"], path, "write_random_weights")
    assert "below" in line


def test_constant_features_are_refused(calibrated, tmp_path, images):
    path = edited_weights(calibrated, tmp_path / "const.pth", lambda s: set_last_block_bn(s, 0.0, 1.0))
    with pytest.raises(GenmetricsError, match="two different images give the same 2048-d features") as info:
        genmetrics.compute_features(images, weights=path, progress=False)
    assert path in str(info.value) and "write_random_weights" in str(info.value)


def test_distinct_image_in_a_later_batch_is_compared_with_the_first(calibrated, tmp_path, images):
    """One image per batch: the first two batches hold the same image, the third a different one."""
    path = edited_weights(calibrated, tmp_path / "zero.pth", lambda s: set_last_block_bn(s, 0.0, 0.0))
    same_then_other = np.stack([images[0], images[0], images[1]])
    with pytest.raises(GenmetricsError, match="below"):
        genmetrics.compute_features(same_then_other, weights=path, batch_size=1, progress=False)


def test_identical_images_are_not_refused(weights, images):
    """A set of one image repeated legitimately has identical features: no degeneracy check applies."""
    same = np.repeat(images[:1], 3, axis=0)
    result = genmetrics.compute_features(same, weights=weights, logits=False, progress=False)
    # identical inputs through the same network: equal up to float32 round-off between batch rows
    np.testing.assert_allclose(result.features, np.repeat(result.features[:1], 3, axis=0), rtol=1e-5, atol=1e-5)


def test_non_finite_features_stop_the_run(calibrated, tmp_path, images):
    """A negative BatchNorm variance gives NaN features. (This was already refused before issue 11; kept
    here so that the degeneracy check cannot swallow it.)"""
    def negative_variance(state):
        state["Mixed_7c.branch_pool.bn.running_var"] = -torch.ones_like(state["Mixed_7c.branch_pool.bn.running_var"])
    path = edited_weights(calibrated, tmp_path / "nan.pth", negative_variance)
    with pytest.raises(GenmetricsError, match="non-finite features") as info:
        genmetrics.compute_features(images, weights=path, progress=False)
    assert path in str(info.value)


# 2. Right keys, wrong shapes: before the fix load_state_dict's RuntimeError escaped as a traceback.
def test_inception_weights_with_a_wrong_shape(calibrated, tmp_path, real_dir):
    key = "Mixed_6b.branch1x1.conv.weight"
    path = edited_weights(calibrated, tmp_path / "shape.pth", lambda s: s.__setitem__(key, s[key][:100]))
    fails_cleanly(["features", real_dir, "-o", tmp_path / "f.npz", "--weights", path, "-q"],
                  path, key, "(100, 768, 1, 1)", "(192, 768, 1, 1)")


def test_vgg16_weights_with_a_wrong_shape(tmp_path, monkeypatch):
    """torchvision's VGG16 replaced by a two-layer stand-in (the real one is 528 MB): the same loader."""
    import torchvision

    class SmallVGG(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Conv2d(3, 4, 3)
            self.classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))

    monkeypatch.setattr(torchvision.models, "vgg16", SmallVGG)
    state = SmallVGG().state_dict()
    state["features.weight"] = torch.zeros(4, 3, 5, 5)
    torch.save(state, tmp_path / "vgg.pth")
    with pytest.raises(GenmetricsError) as info:
        load_extractor("vgg16", extractor_weights=tmp_path / "vgg.pth", device="cpu")
    message = str(info.value)
    assert all(part in message for part in (str(tmp_path / "vgg.pth"), "features.weight", "(4, 3, 5, 5)",
                                            "(4, 3, 3, 3)")), message


# 3. --workers -1: before the fix torch's DataLoader raised a ValueError (a traceback).
def test_negative_workers(real_dir, weights):
    fails_cleanly(["fid", real_dir, real_dir, "--weights", weights, "--workers", "-1", "-q", "--no-cache"],
                  "--workers", "-1")


# 4. and 5. Checkpoints: config missing or not matching the weights; damaged bytes.
@pytest.fixture
def toy_run(tmp_path):
    folder = tmp_path / "toy"
    train("gan", "ring8", folder, steps=4, max_steps=2, progress=False, **TINY_TOY)
    return folder


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    pytest.importorskip("sklearn")  # digits come from scikit-learn
    folder = tmp_path_factory.mktemp("digits") / "run"
    train("dcgan", "digits", folder, steps=4, max_steps=2, progress=False, **TINY_IMAGE)
    return folder


def test_checkpoint_without_config(toy_run, tmp_path):
    latest = toy_run / "checkpoints" / "latest.pt"
    payload = read_checkpoint(latest)
    del payload["config"]
    save_checkpoint(latest, payload)  # a consistent checksum: only the config is missing
    fails_cleanly(["sample", latest, "-n", "3", "-o", tmp_path / "p.npy"], str(latest), "config")
    fails_cleanly(["train", "--out", toy_run, "--resume", "-q"], str(latest), "config")
    with pytest.raises(GenmetricsError, match="config"):
        load_generator(latest)


def test_checkpoint_whose_config_does_not_match_its_weights(digits_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(digits_run, run_dir)
    latest = run_dir / "checkpoints" / "latest.pt"
    payload = read_checkpoint(latest)
    # trained at 16 px with 8 px networks (native_size); 32 px networks need one more conv block
    payload["config"].update(image_size=32, native_size=0)
    save_checkpoint(latest, payload)  # a consistent checksum: only the config is wrong
    # 32 px needs one more conv block than 16 px: the first difference is a missing key
    fails_cleanly(["sample", latest, "-n", "2", "-o", tmp_path / "s.npz"], str(latest), "image_size 32",
                  "does not match its generator weights", "missing keys")
    fails_cleanly(["train", "--out", run_dir, "--resume", "-q"], str(latest), "image_size 32",
                  "does not match its generator weights")


def flip_middle_bytes(path, count: int = 16) -> None:
    """Invert ``count`` bytes in the middle of the checkpoint's largest tensor (the zip member's stored
    bytes, not padding between members), which torch.load reads back as other numbers without complaint."""
    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    # The local header: 30 fixed bytes, then the name and the extra field, whose lengths it stores.
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length + info.file_size // 2
    assert info.compress_type == zipfile.ZIP_STORED and info.file_size >= 2 * count
    for i in range(start, start + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_damaged_checkpoint_is_refused_by_resume_and_sample(toy_run, tmp_path):
    latest = toy_run / "checkpoints" / "latest.pt"
    flip_middle_bytes(latest)
    fails_cleanly(["train", "--out", toy_run, "--resume", "-q"], str(latest), "damaged (checksum mismatch)")
    fails_cleanly(["sample", latest, "-n", "3", "-o", tmp_path / "p.npy"], str(latest), "checksum mismatch")
    assert not (tmp_path / "p.npy").exists()


def test_checkpoint_without_checksum_still_loads(toy_run, tmp_path):
    """Checkpoints written before the checksum existed (format /1, no ``checksum``) load as before; a
    current one (/2) that lost its checksum is refused."""
    latest = toy_run / "checkpoints" / "latest.pt"
    payload = torch.load(latest, weights_only=True)
    assert payload["checksum"].startswith("sha256:") and payload["format"] == "genmetrics-gan-checkpoint/2"
    del payload["checksum"]
    torch.save(payload, latest)
    fails_cleanly(["sample", latest, "-n", "3", "-o", tmp_path / "p.npy"], "checksum mismatch")
    payload["format"] = "genmetrics-gan-checkpoint/1"
    torch.save(payload, latest)
    code, out, err = run("sample", latest, "-n", "3", "-o", tmp_path / "p.npy")
    assert code == 0 and np.load(tmp_path / "p.npy").shape == (3, 2), err
    code, out, err = run("train", "--out", toy_run, "--resume", "-q")
    assert code == 0 and "trained to step 4/4" in out, err


# 6. The printed next step works for the run's kind.
def test_train_summary_next_step_works_for_toy_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run("train", "gan", "--data", "ring8", "--out", "ring", "--steps", "2", "-q",
                         "--set", "g_width=8", "--set", "d_width=8", "--eval-every", "0")
    assert code == 0, err
    next_line = [line for line in out.splitlines() if "next:" in line][0]
    assert "genmetrics modes points.npy --data ring8" in next_line
    for command in next_line.split("next:")[1].split("&&"):
        words = command.split()
        assert words[0] == "genmetrics"
        code, out, err = run(*words[1:])
        assert code == 0, (command, err)


def test_train_summary_next_step_for_image_runs():
    from genmetrics.cli.generators import _train_summary
    from genmetrics.trainers.loop import TrainResult

    result = TrainResult("runs/d", 2, 2, "runs/d/checkpoints/latest.pt", None, None, False, 1.0, "image", "digits")
    assert "genmetrics sample runs/d -n 1000 -o samples/" in _train_summary(result)
