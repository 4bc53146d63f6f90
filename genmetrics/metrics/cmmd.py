"""CMMD (Jayasumana et al. 2024, "Rethinking FID: Towards a Better Evaluation Metric for Image Generation").

As google-research/google-research ``cmmd/distance.py`` computes it: the squared MMD with the Gaussian RBF
kernel k(x, y) = exp(-||x - y||^2 / (2 sigma^2)), sigma = 10, by the minimum-variance (biased) estimator of
Gretton et al. 2012 (Eq. 5: means over the full kernel matrices, diagonals included), times 1000; on CLIP
ViT-L/14@336 image embeddings, L2-normalised as scenic's CLIP model returns them (cmmd embedding.py, scenic
clip layers.py ``encode_image(normalize=True)``), after cmmd's preprocessing (resize protocol ``cmmd``).
The kernel sums are taken in float64 over row blocks, so memory stays O(block x n), not O(n^2).
"""
from __future__ import annotations

import numpy as np

from .registry import GENERATED_FEATURES, REFERENCE_FEATURES, FeatureSpace, Key, register_metric

CMMD_SIGMA = 10.0  # cmmd distance.py _SIGMA
CMMD_SCALE = 1000.0  # cmmd distance.py _SCALE ("The scale is used to make the values easier to read")
CMMD_SPACE = FeatureSpace("clip-vit-l14-336", "cmmd")  # cmmd embedding.py _CLIP_MODEL_NAME = 'vit_l14_336px'
_BLOCK = 2048  # rows per kernel block: 2048 x n float64 values at a time


def _kernel_mean(x: np.ndarray, y: np.ndarray, gamma: float) -> float:
    """The mean of exp(-gamma ||x_i - y_j||^2) over all i, j."""
    y_sq = (y * y).sum(axis=1)
    total = 0.0
    for start in range(0, len(x), _BLOCK):
        block = x[start:start + _BLOCK]
        distances = (block * block).sum(axis=1)[:, None] + y_sq[None, :] - 2 * block @ y.T
        total += float(np.exp(-gamma * distances).sum())
    return total / (len(x) * len(y))


def cmmd(reference, generated, sigma: float = CMMD_SIGMA, scale: float = CMMD_SCALE,
         normalize: bool = True) -> float:
    """CMMD between two embedding sets (rows): ``scale`` x the biased MMD^2 with an RBF kernel of width ``sigma``.

    ``normalize``: L2-normalise the rows first, as the reference's CLIP embeddings are.
    """
    x, y = np.asarray(reference, np.float64), np.asarray(generated, np.float64)
    if normalize:
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        y = y / np.linalg.norm(y, axis=1, keepdims=True)
    gamma = 1 / (2 * sigma ** 2)
    return scale * (_kernel_mean(x, x, gamma) + _kernel_mean(y, y, gamma) - 2 * _kernel_mean(x, y, gamma))


def _cmmd_of(inputs) -> dict:
    return {"cmmd": cmmd(inputs.reference_features, inputs.generated_features)}


register_metric("cmmd", [Key("cmmd", False, "CMMD", short="CMMD")], {REFERENCE_FEATURES, GENERATED_FEATURES}, _cmmd_of,
                features=CMMD_SPACE, note="CLIP ViT-L/14@336")
