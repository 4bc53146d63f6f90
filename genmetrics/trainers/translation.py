"""What the translation families share: the family base and its sample grids.

``TranslationFamily`` trains on ``translation_data.TranslationData``: each batch holds the K domains'
images side by side along the channels (``split_domains`` separates them). Its generator is a
``translation_nets.Translator`` (one network per direction) or, for StarGAN, one network conditioned on the
target domain; both answer ``translate(x, source, target)``. The sample grid shows, per direction, a row of
inputs, a row of outputs and (paired data) a row of targets, from eight fixed training images.

Translating with a trained run is translate.py (``load_translator``, ``translate_images``).
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import GenmetricsError
from .base import Family
from .seeding import FIXED, derive_generator
from .translation_data import split_domains

GRID_COLUMNS = 8


class TranslationFamily(Family):
    """An image-to-image translation family (pix2pix.py, cyclegan.py, discogan.py, stargan.py)."""

    data_kinds = ("image",)
    measures = "genmetrics eval-translation RUN (FID/KID in digits space, content accuracy, L1/PSNR/SSIM)"

    def check(self, config) -> None:
        if config.eval_every:
            raise GenmetricsError(f"{config.model}: --eval-every scores unconditional samples; score a translation "
                                  f"run with genmetrics eval-translation RUN after training (or --eval-every 0)")
        size = config.image_size
        if size & (size - 1):
            raise GenmetricsError(f"--image-size {size}: {config.model}'s networks halve the image down to 1x1 or "
                                  f"a few pixels; use a power of 2 (16, 32, 64, ...)")
        if getattr(config, "g_ema", 0):
            raise GenmetricsError(f"g_ema {config.g_ema}: {config.model} runs keep no moving average (translate reads "
                                  f"the trained generator); use g_ema=0")
        if config.pack != 1:
            raise GenmetricsError(f"pack {config.pack}: {config.model} does not pack samples; use pack=1")

    def domains(self, run) -> int:
        return len(run.data.sets)

    def directions(self, run) -> list[tuple[int, int]]:
        return run.G.directions()

    def sample_grid(self, run):
        from torchvision.utils import make_grid

        from ..data.writers import to_uint8_nhwc

        rows = []
        order = torch.randperm(min(len(s) for s in run.data.sets), generator=derive_generator(run.config.seed, FIXED))
        picked = [s[order[:GRID_COLUMNS]].float().div(127.5).sub(1.0).to(run.device) for s in run.data.sets]
        run.G.eval()
        try:
            with torch.no_grad():
                for source, target in self.directions(run):
                    rows.append(picked[source])
                    rows.append(run.G.translate(picked[source], source, target))
                    if run.data.pairing == "paired":
                        rows.append(picked[target])
        finally:
            run.G.train()
        grid = make_grid(torch.cat([r.cpu() for r in rows]), nrow=GRID_COLUMNS, padding=2, pad_value=1.0)
        return np.ascontiguousarray(to_uint8_nhwc(grid[None])[0][..., :run.config.channels])


def domains_of(real: torch.Tensor, run) -> list[torch.Tensor]:
    return split_domains(real, len(run.data.sets))
