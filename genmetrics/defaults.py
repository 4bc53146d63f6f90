"""One source of truth for defaults, read by the library functions and the CLI options alike."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Defaults:
    # Preprocessing protocol: "tf" is what published FIDs use (TF1 bilinear resize on uint8 values).
    resize: str = "tf"
    # 2048: the final average pool of InceptionV3, the FID of Heusel et al. 2017.
    dims: int = 2048
    batch_size: int = 50
    device: str = "auto"
    # Inception Score: 10 splits as in Salimans et al. 2016 (improved-gan inception_score.py).
    splits: int = 10
    # torch-fidelity shuffles IS samples with RandomState(2020) (torch_fidelity/defaults.py rng_seed);
    # we do not shuffle unless asked, so the score is a function of the given order.
    shuffle_seed: int | None = None
    # Seed of random subsets (KID) and bootstrap resampling; 2020 is torch-fidelity's rng_seed, so KID
    # subsets are drawn as torch-fidelity draws them by default.
    seed: int = 2020


DEFAULTS = Defaults()

RESIZE_MODES = ("tf", "pytorch-fid", "clean")
FEATURE_DIMS = (64, 192, 768, 2048)
