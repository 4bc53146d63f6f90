"""Shared fixtures: random FID weights (the real file cannot be downloaded here) and generated images."""
import os

import numpy as np
import pytest
import torch

from genmetrics.testing import synthetic_images, write_image_folder, write_random_weights


def pytest_configure(config):
    """Under pytest-xdist (pyproject's addopts run one worker per core), each worker and the command-line
    subprocesses it starts get an equal share of the cores: two workers each running torch on every core
    would oversubscribe them and run slower than one."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = threads
        torch.set_num_threads(int(threads))


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_caches(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's caches, and none reaches the network by accident."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.getbasetemp() / "torch_home"))
    monkeypatch.delenv("GENMETRICS_WEIGHTS", raising=False)
    monkeypatch.setenv("GENMETRICS_WEIGHTS_URL", "file:///nonexistent/no-network-in-tests.pth")
    # No cache unless a test asks for it: invariance tests must really recompute.
    monkeypatch.setenv("GENMETRICS_NO_CACHE", "1")
    # --backend auto means torch here, so every test runs the path it was written for (and no test pays for an
    # ONNX export); tests/test_onnx_backend.py asks for onnxruntime, and for auto without this variable.
    monkeypatch.setenv("GENMETRICS_BACKEND", "torch")
    monkeypatch.setenv("GENMETRICS_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def weights(tmp_path_factory):
    """A calibrated random state dict in pytorch-fid's format, shared by every test."""
    return str(write_random_weights(tmp_path_factory.mktemp("weights") / "random_fid.pth", seed=0))


@pytest.fixture(scope="session")
def real_images():
    return synthetic_images(24, size=32, seed=1)


@pytest.fixture(scope="session")
def fake_images():
    return synthetic_images(24, size=32, seed=2, contrast=0.6)


@pytest.fixture(scope="session")
def real_dir(tmp_path_factory, real_images):
    folder = tmp_path_factory.mktemp("real")
    write_image_folder(folder, real_images)
    return str(folder)


@pytest.fixture(scope="session")
def fake_dir(tmp_path_factory, fake_images):
    folder = tmp_path_factory.mktemp("fake")
    write_image_folder(folder, fake_images)
    return str(folder)

