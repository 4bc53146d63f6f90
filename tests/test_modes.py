"""Mode coverage on ring8 / grid25: hand-made samples with exactly known counts, and the CLI."""
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from genmetrics import GenmetricsError
from genmetrics.cli import cli
from genmetrics.metrics.modes import GRID25, RING8, mode_coverage, reverse_kl_to_uniform


def at_modes(mixture, per_mode, modes=None):
    modes = range(mixture.n_modes) if modes is None else modes
    return np.concatenate([np.repeat(mixture.means_array()[[k]], per_mode, axis=0) for k in modes])


def test_ring8_geometry():
    # PacGAN 2DRing config: radius 1, 8 equally spaced means, std 0.01.
    means = RING8.means_array()
    assert means.shape == (8, 2) and RING8.std == 0.01
    assert np.allclose(np.linalg.norm(means, axis=1), 1.0, atol=1e-15)
    assert GRID25.n_modes == 25 and GRID25.std == 0.05
    assert sorted(set(GRID25.means_array()[:, 0])) == [-4, -2, 0, 2, 4]


def test_every_mode_exactly_balanced():
    result = mode_coverage(at_modes(RING8, 5), "ring8")
    assert (result.modes_covered, result.n_modes, result.high_quality) == (8, 8, 1.0)
    assert result.counts == [5] * 8
    # A balanced histogram: KL to uniform is 0 up to float64 round-off of log(8 * 1/8).
    assert abs(result.reverse_kl) < 1e-12


def test_one_mode_only():
    result = mode_coverage(at_modes(GRID25, 40, modes=[7]), "grid25")
    assert (result.modes_covered, result.high_quality) == (1, 1.0)
    # All mass in one of K bins: KL(p || u) = log K exactly (empty bins contribute 0, as PacGAN's KLD).
    assert result.reverse_kl == pytest.approx(math.log(25), rel=1e-12)


def test_off_mode_noise_has_no_high_quality_sample():
    # Radius 0.5 is 50 std from every ring mode.
    angles = np.linspace(0, 2 * np.pi, 100, endpoint=False)
    points = 0.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    result = mode_coverage(points, "ring8")
    assert (result.modes_covered, result.high_quality, result.reverse_kl) == (0, 0.0, None)


def test_mixed_samples_exact_counts():
    good = at_modes(RING8, 3, modes=[0, 2, 5])                   # 9 high-quality points on 3 modes
    near = RING8.means_array()[[1]] + np.array([[0.0, 0.0299]])   # 2.99 std from mode 1: high quality
    far = RING8.means_array()[[3]] + np.array([[0.0301, 0.0]])    # 3.01 std from mode 3: not
    noise = np.zeros((10, 2))                                      # the centre: 100 std from every mode
    result = mode_coverage(np.concatenate([good, near, far, noise]), RING8)
    assert result.counts == [3, 1, 3, 0, 0, 3, 0, 0]
    assert result.modes_covered == 4
    assert result.high_quality == pytest.approx(10 / 21, rel=1e-15)
    p = np.array([3, 1, 3, 3]) / 10
    assert result.reverse_kl == pytest.approx(float(np.sum(p * np.log(8 * p))), rel=1e-12)


def test_true_mixture_samples():
    # Samples of the mixture itself: all 25 modes, and the high-quality fraction is P(chi2_2 < 9) =
    # 1 - exp(-4.5) = 0.98889; with 20,000 samples its standard error is 0.00074, so 5 SE = 0.0037.
    points = GRID25.sample(20000, torch.Generator().manual_seed(0))
    result = mode_coverage(points, "grid25")
    assert result.modes_covered == 25
    assert abs(result.high_quality - (1 - math.exp(-4.5))) < 0.0037


def test_reverse_kl_definition():
    assert reverse_kl_to_uniform([0, 0, 0]) is None
    assert reverse_kl_to_uniform([2, 2]) == 0.0
    assert reverse_kl_to_uniform([1, 0, 0, 3]) == pytest.approx(0.25 * math.log(1) + 0.75 * math.log(3), rel=1e-12)


def test_bad_points():
    with pytest.raises(GenmetricsError, match=r"\(N, 2\)"):
        mode_coverage(np.zeros((4, 3)), "ring8")
    with pytest.raises(GenmetricsError, match="unknown toy data"):
        mode_coverage(np.zeros((4, 2)), "ring9")
    with pytest.raises(GenmetricsError, match="not finite"):
        mode_coverage(np.array([[np.nan, 0.0]]), "ring8")


def test_modes_cli(tmp_path):
    path = tmp_path / "points.npy"
    np.save(path, np.concatenate([at_modes(RING8, 2), np.zeros((4, 2))]).astype(np.float32))
    result = CliRunner().invoke(cli, ["modes", str(path), "--data", "ring8", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["modes_covered"], out["n_modes"]) == (8, 8)
    assert out["high_quality"] == pytest.approx(16 / 20, rel=1e-7)  # float32 points: 1e-7
    assert abs(out["reverse_kl"]) < 1e-12

    result = CliRunner().invoke(cli, ["modes", str(path)])
    assert result.exit_code == 2 and "--data" in result.output and len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(cli, ["modes", str(tmp_path / "missing.npy"), "--data", "ring8"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
