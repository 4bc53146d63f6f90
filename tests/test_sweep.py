"""Truncation sweeps: latent distributions, common random numbers, agreement with fid/is on disk, modes."""
import json

import numpy as np
import pytest
import scipy.stats
import torch
from click.testing import CliRunner

import genmetrics
from genmetrics import GenmetricsError
from genmetrics.sweep import latents, parse_truncations, truncation_sweep, uniforms
from genmetrics.sweep_report import write_outputs


class TinyGenerator(torch.nn.Module):
    """A fixed random generator: z (N, 8) -> (N, 3, 16, 16) images in [-1, 1]."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(8, 3 * 4 * 4)
        self.up = torch.nn.ConvTranspose2d(3, 3, 4, stride=4)

    def forward(self, z):
        return torch.tanh(self.up(self.fc(z).view(-1, 3, 4, 4)) * 2)


class RingGenerator:
    """A hand-made ring8 generator: |z0| picks the mode (|z0| < t caps it), z1 the offset from the mode.

    Mode k = min(7, floor(4 |z0|)); offset 0.02 z1 in the radial direction (std 0.01 per mode, so a
    sample is high quality, below 3 std, when |z1| < 1.5). Truncation t reaches modes below 4t only and
    keeps |z1| <= t: fewer modes, more high-quality samples as t falls.
    """

    def __call__(self, z):
        k = torch.clamp((z[:, 0].abs() * 4).floor(), max=7)
        angle = k * (2 * np.pi / 8)
        radius = 1 + 0.02 * z[:, 1]
        return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)


@pytest.mark.parametrize("t", [0.3, 1.0, 2.0])
def test_resample_draws_are_truncated_normal(t):
    z = latents(uniforms(4000, 2, seed=1), t, "resample").ravel()
    assert np.abs(z).max() <= t
    # A KS test at the 1% level against scipy's truncnorm(-t, t): a correct sampler fails it 1% of the time;
    # seeded, so the outcome is fixed.
    assert scipy.stats.kstest(z, scipy.stats.truncnorm(-t, t).cdf).pvalue > 0.01


def test_scale_and_psi_definitions():
    u = uniforms(2000, 4, seed=2)
    scaled = latents(u, 0.5, "scale")
    assert np.abs(scaled).max() <= 0.5 * 2.0 + 1e-6  # t * truncnorm(-2, 2)
    assert scipy.stats.kstest(scaled.ravel() / 0.5, scipy.stats.truncnorm(-2, 2).cdf).pvalue > 0.01
    np.testing.assert_allclose(latents(u, 0.7, "psi"), 0.7 * latents(u, 1.0, "psi"), rtol=1e-6)


def test_common_random_numbers_keep_order():
    u = uniforms(500, 3, seed=0)
    a, b = latents(u, 2.0, "resample"), latents(u, 0.5, "resample")
    assert (np.sign(a) == np.sign(b)).all()
    assert (np.argsort(a[:, 0]) == np.argsort(b[:, 0])).all()
    assert np.array_equal(uniforms(50, 3, seed=0), u[:50])  # the first samples do not depend on n


def test_parse_truncations():
    assert parse_truncations("2,1,0.5") == [2.0, 1.0, 0.5]
    assert parse_truncations("1:0.2:5") == pytest.approx([1.0, 0.8, 0.6, 0.4, 0.2])
    for bad in ("", "a,b", "1:2"):
        with pytest.raises(GenmetricsError):
            parse_truncations(bad)


def test_each_point_equals_fid_and_is_of_its_samples_on_disk(tmp_path, real_dir, weights):
    generator = TinyGenerator()
    rows = truncation_sweep(generator, 8, real_dir, [1.0, 0.5], n=20, metrics="fid,is", seed=3, splits=2,
                            dims=64, weights=weights, progress=False)
    for row in rows:
        z = latents(uniforms(20, 8, seed=3), row["truncation"], "resample")
        with torch.no_grad():
            images = generator(torch.from_numpy(z)) * 0.5 + 0.5
        folder = tmp_path / f"t{row['truncation']}"
        folder.mkdir()
        from torchvision.utils import save_image
        for i, image in enumerate(images):
            save_image(image, folder / f"{i:03d}.png")
        fid = genmetrics.fid(real_dir, folder, dims=64, weights=weights, progress=False).fid
        score = genmetrics.inception_score(folder, splits=2, weights=weights, progress=False).inception_score
        # PNG round trip equals save_image's quantisation, which the sweep applies: round-off only.
        assert row["fid"] == pytest.approx(fid, rel=1e-6)
        assert row["inception_score"] == pytest.approx(score, rel=1e-6)
    assert rows[0]["fid"] != rows[1]["fid"]


def test_modes_trade_off_on_a_fixed_toy_generator():
    rows = truncation_sweep(RingGenerator(), 2, None, [2.0, 1.0, 0.5, 0.25], n=2000, metrics="modes",
                            modes_data="ring8", progress=False)
    covered = [row["modes_covered"] for row in rows]
    quality = [row["high_quality"] for row in rows]
    assert covered == [8, 4, 2, 1]  # modes below 4t
    assert quality[0] < quality[1] == quality[2] == quality[3] == 1.0


def test_outputs_and_bad_input(tmp_path):
    rows = truncation_sweep(RingGenerator(), 2, None, "2:0.5:3", n=200, metrics="modes", modes_data="ring8",
                            progress=False)
    paths = write_outputs(tmp_path / "sweep", rows)
    assert [p.name for p in paths] == ["sweep.csv", "sweep.json", "sweep.png"]
    assert len(json.loads(paths[1].read_text())) == 3 and paths[2].stat().st_size > 1000
    with pytest.raises(GenmetricsError, match="must be > 0"):
        truncation_sweep(RingGenerator(), 2, None, [1.0, 0.0], n=10, metrics="modes", modes_data="ring8")
    with pytest.raises(GenmetricsError, match="empty"):
        truncation_sweep(RingGenerator(), 2, None, [], n=10, metrics="modes", modes_data="ring8")
    with pytest.raises(GenmetricsError, match="expected images"):
        truncation_sweep(lambda z: z.sum(1), 2, None, [1.0], n=10, metrics="is", progress=False)


def test_cli_sweep_with_a_torchscript_generator(tmp_path, real_dir, weights):
    from genmetrics.cli import cli

    torch.jit.script(TinyGenerator()).save(str(tmp_path / "G.pt"))
    result = CliRunner().invoke(cli, ["sweep", str(tmp_path / "G.pt"), "--z-dim", "8", "--ref", real_dir,
                                      "--truncation", "1,0.5", "-n", "12", "--metrics", "fid", "--dims", "64",
                                      "--weights", weights, "-o", str(tmp_path / "out"), "--json", "-q"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["truncation"] for r in rows] == [1.0, 0.5] and all(r["fid"] > 0 for r in rows)
    assert (tmp_path / "out.png").exists() and (tmp_path / "out.csv").read_text().startswith("truncation,fid")
    bad = CliRunner().invoke(cli, ["sweep", str(tmp_path / "G.pt"), "--z-dim", "8", "--ref", real_dir,
                                   "--truncation", "0", "-n", "12", "--weights", weights])
    assert bad.exit_code == 2 and "must be > 0" in bad.stderr
