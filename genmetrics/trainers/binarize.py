"""Binary data for likelihood models: the ``-binary`` names, their binarisation rules, and pixel levels.

Binarised data sets are named apart from the grey ones, and static apart from dynamic binarisation,
because their log-likelihoods are not comparable (Burda et al. 2016, Table 1: the same VAE scores 86.76
nats on dynamically and 88.71 on statically binarised MNIST):

- ``digits-binary``: scikit-learn's 8x8 digits (values 0..16) at their native 8x8, pixel = 1 where the
  value is at least 8, half the maximum 16 (a fixed threshold: the data set is the same on every machine).
- ``mnist-binary``: MNIST binarised once by Bernoulli draws, pixel = 1 with probability intensity / 255,
  with the fixed seed ``STATIC_SEED`` (the stochastic binarisation of Salakhutdinov & Murray 2008 that
  Larochelle & Murray 2011 and van den Oord et al. 2016 evaluate on; not their file, which cannot be
  downloaded here, so numbers are comparable in kind, not draw for draw).
- ``digits-binary-dynamic``, ``mnist-binary-dynamic``: a fresh Bernoulli draw (probability intensity / 255)
  for every training batch, seeded by (seed, batch) so resumed runs see the same draws (Burda et al. 2016,
  Section 5). Validation and test splits are binarised once with ``STATIC_SEED`` so that every model
  is scored on the same images.
"""
from __future__ import annotations

import torch

# The data sets' grey versions (trainers/data.py) and the binarised names built from them.
BINARY = {"digits-binary": ("digits", "threshold"), "mnist-binary": ("mnist", "bernoulli"),
          "digits-binary-dynamic": ("digits", "dynamic"), "mnist-binary-dynamic": ("mnist", "dynamic")}
# Native resolutions: likelihood models train on the pixels as published (no resampling of binary data).
NATIVE_SIZE = {"digits": 8, "mnist": 28}
# Seed of the one Bernoulli draw of static binarisation (and of dynamic data's held-out splits); any fixed
# value would do, 0 is the package's default seed.
STATIC_SEED = 0
# digits: a pixel is on where the 0..16 value is at least 8 (half of 16). In the stored 8-bit intensities
# rint(v * 255 / 16) that is intensity >= 128 (v = 7 -> 112, v = 8 -> 128).
DIGITS_THRESHOLD = 128

RULES = {
    "threshold": "pixel = 1 where the 0..16 value is >= 8 (half the maximum 16)",
    "bernoulli": f"pixel = 1 with probability intensity/255, drawn once with seed {STATIC_SEED}",
    "dynamic": (f"pixel = 1 with probability intensity/255, drawn afresh for every training batch; held-out "
                f"splits drawn once with seed {STATIC_SEED}"),
}


def binarization_rule(name: str) -> str | None:
    """The stated rule of a binarised data set name, None for grey data."""
    return RULES[BINARY[name][1]] if name in BINARY else None


def pixel_levels(data_name: str) -> int:
    """Levels a likelihood model's pixels take: 2 for the ``-binary`` data sets, 256 for 8-bit images."""
    return 2 if data_name in BINARY else 256


def bernoulli(grey: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """uint8 images -> uint8 {0, 255}: each pixel on with probability intensity / 255."""
    p = grey.float() / 255.0
    return (torch.rand(p.shape, generator=gen) < p).to(torch.uint8) * 255


def binarize(grey: torch.Tensor, rule: str) -> torch.Tensor:
    """Static binary images (uint8 {0, 255}) from grey ones by ``rule``: "threshold" (digits) or
    "bernoulli" (one draw with ``STATIC_SEED``; also dynamic data's held-out splits)."""
    if rule == "threshold":
        return (grey >= DIGITS_THRESHOLD).to(torch.uint8) * 255
    return bernoulli(grey, torch.Generator().manual_seed(STATIC_SEED))
