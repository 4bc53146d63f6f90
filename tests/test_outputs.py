"""Output files, the cache and statistics files: nothing lost, no silent wrong number, no traceback.

Each test fails on the code before the fix it covers (the reason is stated where it is not obvious).
"""
import json
import os
import stat

import numpy as np
import pytest
from click.testing import CliRunner

import genmetrics
from genmetrics import GenmetricsError
from genmetrics._io import atomic_write
from genmetrics.cli import cli
from genmetrics.features.compute import Features, save_features
from genmetrics.features.extract import FeatureStream
from genmetrics.stats import Statistics, load_statistics, save_statistics
from genmetrics.testing import synthetic_images, write_image_folder


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def fails_cleanly(args, *fragments):
    """Exit code 2, one line on stderr naming the problem, no traceback."""
    code, out, err = run(*args)
    assert code == 2, (code, out, err)
    lines = [line for line in err.splitlines() if line.startswith("genmetrics: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


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
