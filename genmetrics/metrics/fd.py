"""Fréchet distance in any feature space (``fd``), and the named ones papers report: ``fd_dinov2`` and ``sfid``.

- ``fd``: FID's formula (Heusel et al. 2017) on the call's ``--extractor`` features (dgm-eval's "FD" of
  any encoder; torch-fidelity computes its FID on whichever feature extractor it is given).
- ``fd_dinov2``: FD on DINOv2-ViT-L/14 features (Stein et al. 2023, dgm-eval; EDM2, Karras et al. 2024,
  NVlabs/edm2 calculate_metrics.py ``fd_dinov2``), dgm-eval's resize by default (``--extractor
  dinov2-vit-l14 --resize edm2`` gives edm2's default torch resize instead).
- ``sfid``: the ADM evaluator's spatial FID (Nash et al. 2021; openai/guided-diffusion evaluations/
  evaluator.py ``sfid``): FD on the first 7 channels of Inception's ``mixed_6/conv``, 2023-d, with the TF
  graph's bilinear resize (``tf``), as the evaluator feeds its images to that graph.

All three are the same float64 Fréchet distance as ``fid`` (metrics/fid.py), with statistics as
``stats.py`` computes them (unbiased covariance, as pytorch-fid, edm2 and the ADM evaluator).
"""
from __future__ import annotations

from .fid import frechet_distance
from .registry import GENERATED_FEATURES, REFERENCE_STATISTICS, FeatureSpace, Key, register_metric

FD_DINOV2_SPACE = FeatureSpace("dinov2-vit-l14", "dgm-eval")  # dgm-eval's leaderboard encoder and resize
SFID_SPACE = FeatureSpace("inception", "tf", "spatial")


def _frechet(key: str):
    def compute(inputs) -> dict:
        real, fake = inputs.reference_statistics, inputs.generated_statistics
        return {key: frechet_distance(real.mu, real.sigma, fake.mu, fake.sigma, inputs.device)}
    compute.__name__ = f"_{key}_of"
    return compute


register_metric("fd", [Key("fd", False, "FD (Fréchet distance, the extractor's features)", short="FD")],
                {REFERENCE_STATISTICS, GENERATED_FEATURES}, _frechet("fd"), note="any --extractor")
register_metric("fd_dinov2", [Key("fd_dinov2", False, "FD_DINOv2", short="FD_DINOv2")],
                {REFERENCE_STATISTICS, GENERATED_FEATURES}, _frechet("fd_dinov2"), features=FD_DINOV2_SPACE,
                note="DINOv2-ViT-L/14")
register_metric("sfid", [Key("sfid", False, "sFID", short="sFID")], {REFERENCE_STATISTICS, GENERATED_FEATURES},
                _frechet("sfid"), features=SFID_SPACE, note="Inception mixed_6/conv")
