"""Mode coverage of 2-D samples on a mixture of Gaussians: the ring and grid of VEEGAN and PacGAN.

The two mixtures are those of PacGAN's ``synthetic_data_experiments`` (Lin et al. 2018, Section 5.1;
``2DRing_GAN&PacGAN/config.py`` and ``2DGrid_GAN&PacGAN/config.py``), which follow VEEGAN (Srivastava et
al. 2017, Section 5.1):

- ``ring8``: 8 Gaussians with means (cos 2 pi k / 8, sin 2 pi k / 8), radius 1, std 0.01;
- ``grid25``: 25 Gaussians with means {-4, -2, 0, 2, 4}^2, std 0.05.

The measures are those of PacGAN's ``MetricLogger`` (``pacgan/extensions.py``), with its threshold
``dis_thre=3``:

- each sample goes to the mode nearest in standardised distance |x - mu_k| / std_k; it is *high quality*
  when that distance is below 3 (three standard deviations);
- a mode is *covered* when at least one high-quality sample went to it;
- ``high_quality`` is the fraction of all samples that are high quality;
- ``reverse_kl`` is KL(p || u) = sum_k p_k log(K p_k) in nats, where p_k = n_k / sum_j n_j is the
  histogram of the high-quality samples over the K modes and u the uniform one (the true mode weights).
  Empty bins contribute 0 (0 log 0 = 0), as PacGAN's ``JSD.KLD`` skips p = 0 terms, so the value is
  finite and at most log K (all samples in one mode); it is 0 for a perfectly balanced histogram. With no
  high-quality sample at all p is undefined (PacGAN divides 0 by 0) and we report None.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from ..data.toy import GRID25, MIXTURES, RING8, GaussianMixture2D, get_mixture  # noqa: F401 (re-exported)
from ..inputs import POINTS as POINTS_INPUT
from ..inputs import open_input
from .registry import POINTS, Key, get_metric, register_metric
from .result import MetricResult

# Three standard deviations: PacGAN MetricLogger(dis_thre=3); VEEGAN Section 5.1.
HIGH_QUALITY_STDS = 3.0
# 2,500 samples per evaluation: PacGAN config.py num_log_figure_sample and Table 1; VEEGAN Section 5.1.
DEFAULT_SAMPLES = DEFAULTS.toy_samples


@dataclass
class ModeCoverage(MetricResult):
    """Mode coverage of a sample set; ``counts`` holds the high-quality samples per mode."""

    modes_covered: int
    n_modes: int
    high_quality: float
    reverse_kl: float | None
    n: int
    data: str
    counts: list = field(default_factory=list)

    PROTOCOL = ("n", "data")

    def leading(self) -> tuple:
        """The value training maximises: modes covered, then the high-quality fraction (the registry's
        ``rank_by`` of ``modes``)."""
        return get_metric("modes").ranking(self.to_dict())


def reverse_kl_to_uniform(counts) -> float | None:
    """KL(p || uniform) in nats for the histogram ``counts``; 0 log 0 = 0; None for an empty histogram."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total == 0:
        return None
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * counts.size)))


def _as_points(samples) -> np.ndarray:
    points = samples.detach().cpu().numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples)
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
        raise GenmetricsError(f"mode coverage needs 2-D points of shape (N, 2), got shape {points.shape}")
    if not np.issubdtype(points.dtype, np.number):
        raise GenmetricsError(f"mode coverage needs numeric points, got dtype {points.dtype}")
    points = points.astype(np.float64)
    if not np.isfinite(points).all():
        raise GenmetricsError(f"{int((~np.isfinite(points)).any(axis=1).sum())} of the points are not finite")
    return points


def mode_coverage(samples, data: str | GaussianMixture2D = "ring8",
                  threshold: float = HIGH_QUALITY_STDS) -> ModeCoverage:
    """Modes covered, high-quality fraction and reverse KL of ``samples`` (N, 2) on ``data``.

    ``samples``: a numpy array or tensor of points. ``data``: ``"ring8"``, ``"grid25"`` or a mixture.
    ``threshold``: the high-quality radius in standard deviations (3, as PacGAN and VEEGAN).
    """
    mixture = get_mixture(data) if isinstance(data, str) else data
    points = _as_points(samples)
    means = mixture.means_array()
    nearest, best = np.empty(len(points), np.int64), np.empty(len(points))
    for start in range(0, len(points), 65536):  # bounded memory: 65536 x K distances at a time
        block = points[start:start + 65536]
        distances = np.sqrt(((block[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)) / mixture.std
        nearest[start:start + 65536] = distances.argmin(axis=1)
        best[start:start + 65536] = distances.min(axis=1)
    good = best < threshold
    counts = np.bincount(nearest[good], minlength=mixture.n_modes)
    return ModeCoverage(modes_covered=int((counts > 0).sum()), n_modes=mixture.n_modes,
                        high_quality=float(good.mean()), reverse_kl=reverse_kl_to_uniform(counts),
                        n=int(len(points)), data=mixture.name, counts=[int(c) for c in counts])


def mode_coverage_of(samples, data: str | None = None, *, n: int = DEFAULT_SAMPLES, seed: int = DEFAULTS.sample_seed,
                     threshold: float = HIGH_QUALITY_STDS) -> ModeCoverage:
    """``mode_coverage`` of a .npy/.npz file of float (N, 2) points, an array, or a toy run folder or
    checkpoint (``n`` samples drawn with ``seed``). ``data`` defaults to the run's data for a run."""
    from pathlib import Path

    if isinstance(samples, (str, Path)):
        path = Path(samples).expanduser()
        if path.is_dir() or path.suffix.lower() == ".pt":
            from ..trainers.generator import load_generator

            generator = load_generator(path)
            if generator.kind != "toy":
                raise GenmetricsError(f"{path} is a {generator.config.data} image model; mode coverage needs a "
                                      f"model of 2-D toy data (ring8, grid25)")
            data = data or generator.config.data
            samples = generator.sample(n, seed)[0]
        else:
            samples = open_input(path, (POINTS_INPUT,), "mode coverage (a .npy of float (N, 2) points, or a toy "
                                 "run folder)").value
    if data is None:
        raise GenmetricsError(f"--data is needed to score points: one of {', '.join(MIXTURES)}")
    return mode_coverage(samples, data, threshold)



def _modes_of(inputs) -> dict:
    """Mode coverage of the generated points on the reference mixture (registry compute function)."""
    return mode_coverage(inputs.points, inputs.mixture).to_dict()


register_metric("modes", [Key("modes_covered", True, "modes covered"),
                          Key("n_modes", None, "modes of the data", column=False),
                          Key("high_quality", True, "high-quality fraction"),
                          Key("reverse_kl", False, "reverse KL to uniform (nats)")],
                {POINTS}, _modes_of, rank_by=("modes_covered", "high_quality"), note="2-D toy generators",
                not_applicable={"eval": "eval compares two image inputs; score 2-D points with genmetrics modes"})
