"""The 2-D toy data sets of VEEGAN and PacGAN: equal-weight mixtures of isotropic Gaussians.

- ``ring8``: 8 Gaussians with means (cos 2 pi k / 8, sin 2 pi k / 8), radius 1, std 0.01;
- ``grid25``: 25 Gaussians with means {-4, -2, 0, 2, 4}^2, std 0.05.

Both as PacGAN's ``synthetic_data_experiments`` (Lin et al. 2018, Section 5.1; ``2DRing_GAN&PacGAN/config.py``
and ``2DGrid_GAN&PacGAN/config.py``), which follow VEEGAN (Srivastava et al. 2017, Section 5.1). The
trainers draw training data from them and ``metrics/modes.py`` scores samples against them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import GenmetricsError


@dataclass(frozen=True)
class GaussianMixture2D:
    """An equal-weight mixture of isotropic 2-D Gaussians with a common standard deviation."""

    name: str
    means: tuple  # ((x, y), ...)
    std: float

    @property
    def n_modes(self) -> int:
        return len(self.means)

    def means_array(self) -> np.ndarray:
        return np.asarray(self.means, dtype=np.float64)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` float32 points (n, 2): a uniform mode index, then Gaussian noise, from ``generator``."""
        modes = torch.randint(self.n_modes, (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator)
        return torch.tensor(self.means, dtype=torch.float32)[modes] + self.std * noise

    def extent(self) -> float:
        """Half the side of a square around the origin that holds every mode with a margin (for plots)."""
        return float(np.abs(self.means_array()).max()) * 1.5


# ring8: radius 1, std 0.01 (PacGAN 2DRing config.py: MEANS cos/sin(2 pi k / 8), VARIANCES 0.01 ** 2).
RING8 = GaussianMixture2D("ring8", tuple((math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8))
                                         for k in range(8)), 0.01)
# grid25: means {-4,-2,0,2,4}^2, std 0.05 (PacGAN 2DGrid config.py: range(-4, 5, 2), VARIANCES 0.05 ** 2).
GRID25 = GaussianMixture2D("grid25", tuple((float(i), float(j)) for i in range(-4, 5, 2)
                                           for j in range(-4, 5, 2)), 0.05)
MIXTURES = {m.name: m for m in (RING8, GRID25)}


def get_mixture(name: str) -> GaussianMixture2D:
    """The mixture called ``name`` (``ring8`` or ``grid25``)."""
    try:
        return MIXTURES[name]
    except KeyError:
        raise GenmetricsError(f"unknown toy data {name!r}: choose one of {', '.join(MIXTURES)}") from None
