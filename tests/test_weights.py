"""The weights path: explicit file, environment variable, cache, checked download, offline message."""
import dataclasses
import hashlib
import os
import shutil

import pytest
import torch

import genmetrics
from genmetrics import GenmetricsError
from genmetrics.features import weights as weights_module
from genmetrics.features.weights import ENV_WEIGHTS, WEIGHTS_FILE, WEIGHTS_URL, resolve_weights, weights_dir


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_cache_dir_honours_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert weights_dir() == tmp_path / "th" / "hub" / "checkpoints"


def test_download_from_url_checks_hash_and_caches(tmp_path, monkeypatch, weights):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setenv("GENMETRICS_WEIGHTS_URL", f"file://{weights}")
    monkeypatch.setattr(weights_module, "INCEPTION",
                        dataclasses.replace(weights_module.INCEPTION, sha256_prefix=sha256(weights)[:8]))
    path = resolve_weights(progress=False)
    assert path == tmp_path / "th" / "hub" / "checkpoints" / WEIGHTS_FILE
    assert sha256(path) == sha256(weights)
    # Second call: served from the cache, the URL is not touched any more.
    monkeypatch.setenv("GENMETRICS_WEIGHTS_URL", "file:///nonexistent.pth")
    assert resolve_weights(progress=False) == path


def test_wrong_hash_download_writes_nothing(tmp_path, monkeypatch, weights):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setenv("GENMETRICS_WEIGHTS_URL", f"file://{weights}")  # checked against the real prefix
    with pytest.raises(GenmetricsError, match="does not start with 6726825d"):
        resolve_weights(progress=False)
    folder = tmp_path / "th" / "hub" / "checkpoints"
    assert not folder.exists() or os.listdir(folder) == []


def test_offline_message_names_url_and_both_ways(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.delenv("GENMETRICS_WEIGHTS_URL")
    monkeypatch.setattr(weights_module, "INCEPTION",
                        dataclasses.replace(weights_module.INCEPTION, url="http://127.0.0.1:9/unreachable.pth"))
    with pytest.raises(GenmetricsError) as info:
        resolve_weights(progress=False)
    message = str(info.value)
    assert "127.0.0.1:9/unreachable.pth" in message and "--weights" in message and ENV_WEIGHTS in message
    assert WEIGHTS_URL.startswith("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/")


def test_environment_variable_and_explicit_path(tmp_path, monkeypatch, weights):
    monkeypatch.setenv(ENV_WEIGHTS, weights)
    assert str(resolve_weights()) == weights
    other = tmp_path / "copy.pth"
    shutil.copy(weights, other)
    assert resolve_weights(other) == other  # the explicit path wins over the variable
    monkeypatch.setenv(ENV_WEIGHTS, str(tmp_path / "missing.pth"))
    with pytest.raises(GenmetricsError, match=f"missing.pth \\(from \\${ENV_WEIGHTS}\\) does not exist"):
        resolve_weights()


def test_result_records_weights_hash(real_dir, weights):
    result = genmetrics.fid(real_dir, real_dir, dims=64, weights=weights, progress=False)
    assert result.weights_sha256 == sha256(weights)
    assert result.weights_canonical is False
    assert result.fid == pytest.approx(0.0, abs=1e-6)


def test_not_a_state_dict_is_a_clear_error(tmp_path, real_dir):
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(GenmetricsError, match="not an FID InceptionV3 state dict"):
        genmetrics.compute_features(real_dir, weights=tmp_path / "other.pth", progress=False)
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(GenmetricsError, match="cannot load the weights file"):
        genmetrics.compute_features(real_dir, weights=tmp_path / "junk.pth", progress=False)
