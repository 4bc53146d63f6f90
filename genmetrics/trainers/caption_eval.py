"""``genmetrics eval-captions RUN``: a text-to-image run's caption accuracy (caption_scores.py) beside
reference rows: the held-out test digits with their own captions (the ceiling), the same digits with
captions shuffled (chance: about 0.1 class, 0.5 thickness, 0.5 inversion) and the run's untrained weights
(its initialisation, rebuilt from its seed).
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from .caption_scores import INVERTED_ABOVE, SAMPLES_PER_CAPTION, caption_accuracy, score_generator

SHUFFLE_SEED = 0  # the shuffled captions' permutation


def evaluate_captions(run: str | Path, *, per_caption: int = SAMPLES_PER_CAPTION, seed: int = DEFAULTS.sample_seed,
                      device: str = DEFAULTS.device, baselines: bool = True) -> dict:
    """Score the stackgan run ``run`` (folder or checkpoint): its samples' caption accuracy, and with
    ``baselines`` the held-out digits with their own and with shuffled captions and the untrained weights."""
    from .captions import captioned_split
    from .generator import load_generator
    from .nets import build_generator
    from .seeding import seed_global

    generator = load_generator(run, device=device)
    if not getattr(generator.net, "captioned", False):
        raise GenmetricsError(f"{run}: a {generator.config.model} run is not a text-to-image model; "
                              f"eval-captions scores stackgan runs")
    cfg, where = generator.config, generator.device
    rows = [{"row": cfg.model, **score_generator(generator.net, cfg, per_caption=per_caption, seed=seed,
                                                 device=where)}]
    if baselines:
        images, labels = captioned_split("test", cfg.image_size)
        shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(SHUFFLE_SEED))]
        rows.append({"row": "real (test digits)", **caption_accuracy(images, labels, where)})
        rows.append({"row": "real, shuffled captions", **caption_accuracy(images, shuffled, where)})
        seed_global(cfg.seed)  # the run's initial weights (state.py seeds the same way before building)
        untrained = build_generator(cfg).to(where)
        rows.append({"row": "untrained", **score_generator(untrained, cfg, per_caption=per_caption, seed=seed,
                                                           device=where)})
    protocol = {"samples": f"{per_caption} per caption x 40 captions, templates in turn, seed {seed}",
                "class": "digits classifier on the canonical view (inverted back when judged inverted)",
                "inverted": f"border ring mean > {INVERTED_ABOVE}",
                "thick": "ink kept by a 3x3 minimum filter >= a per-class threshold fitted on the training digits",
                "real": "the 150 test digits in 4 variants (600), with their own captions"}
    return {"run": str(run), "model": cfg.model, "step": generator.step, "rows": rows, "protocol": protocol}


def captions_table(result: dict) -> str:
    """A plain-text table of ``evaluate_captions``'s result."""
    columns = ("class_accuracy", "thickness_accuracy", "inversion_accuracy", "caption_accuracy")
    lines = [f"{result['model']} at step {result['step']}: accuracy of images against their captions",
             f"  {'':<26}" + "".join(f"{c.replace('_accuracy', ''):>11}" for c in columns) + f"{'n':>7}"]
    for row in result["rows"]:
        lines.append(f"  {row['row']:<26}" + "".join(f"{row[c]:>11.3f}" for c in columns) + f"{row['n']:>7}")
    return "\n".join(lines)
