"""Mode coverage on ring8 / grid25: hand-made samples with exactly known counts, and the CLI."""
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from genmetrics import GenmetricsError
from genmetrics.cli import cli
from genmetrics.metrics.modes import (DEFAULT_SAMPLES, GRID25, HIGH_QUALITY_STDS, RING8, mode_coverage,
                                      reverse_kl_to_uniform)
from genmetrics.trainers.data import open_training_data


def at_modes(mixture, per_mode, modes=None):
    modes = range(mixture.n_modes) if modes is None else modes
    return np.concatenate([np.repeat(mixture.means_array()[[k]], per_mode, axis=0) for k in modes])


def test_toy_data_definitions():
    # Fixed by PacGAN's synthetic_data_experiments (2DRing / 2DGrid config.py) and VEEGAN Section 5.1:
    # ring8 = 8 means (cos 2 pi k / 8, sin 2 pi k / 8), radius 1, std 0.01; grid25 = {-4, -2, 0, 2, 4}^2
    # (step 2), std 0.05; high quality within 3 std; 2,500 samples per evaluation. Exact equality: the
    # means are computed by the same cos/sin calls (ring) or are small integers (grid).
    k = np.arange(8)
    assert np.array_equal(RING8.means_array(), np.stack([np.cos(2 * np.pi * k / 8), np.sin(2 * np.pi * k / 8)], 1))
    assert np.allclose(np.linalg.norm(RING8.means_array(), axis=1), 1.0, atol=1e-15)
    assert (RING8.n_modes, RING8.std) == (8, 0.01)
    grid = sorted(map(tuple, GRID25.means_array().tolist()))
    assert grid == [(float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)]
    assert (GRID25.n_modes, GRID25.std) == (25, 0.05)
    assert HIGH_QUALITY_STDS == 3.0 and DEFAULT_SAMPLES == 2500


@pytest.mark.parametrize("mixture", [RING8, GRID25], ids=["ring8", "grid25"])
def test_high_quality_radius_is_three_stds_of_each_mode(mixture):
    # Every mode, four directions: 2.99 std away is high quality and assigned to that mode, 3.01 is not.
    directions = np.array([[1.0, 0.0], [0.0, 1.0], [-0.6, 0.8], [0.6, -0.8]])
    means = mixture.means_array()
    inside = (means[:, None, :] + 2.99 * mixture.std * directions[None]).reshape(-1, 2)
    outside = (means[:, None, :] + 3.01 * mixture.std * directions[None]).reshape(-1, 2)
    result = mode_coverage(inside, mixture.name)
    assert result.counts == [4] * mixture.n_modes and result.high_quality == 1.0
    assert mode_coverage(outside, mixture.name).high_quality == 0.0


def test_training_batches_follow_the_definitions():
    # The trainers' batches are draws of the same mixtures: labels are the mode, and the offsets from the
    # mode have mean 0 and the mixture's std per axis. 10,000 offsets per axis: the sample std's relative
    # standard error is 1/sqrt(2 * 10,000) = 0.7%, so 3.5% is 5 SE; the mean's is std / 100, so 0.05 std.
    for name, mixture in (("ring8", RING8), ("grid25", GRID25)):
        data = open_training_data(name)
        points, labels = data.batch(seed=0, index=0, size=10000)
        offsets = points.double().numpy() - mixture.means_array()[labels.numpy()]
        assert np.allclose(offsets.std(axis=0), mixture.std, rtol=0.035)
        assert np.abs(offsets.mean(axis=0)).max() < 0.05 * mixture.std
        assert len(np.unique(labels.numpy())) == mixture.n_modes


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
