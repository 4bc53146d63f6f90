"""Look at copies instead of reading a number: the generated images closest to training images, beside them.

``memorization_report(train, generated, out=DIR)`` extracts the features of both sets (any extractor; DINOv2
is the space dgm-eval recommends), computes AuthPct (metrics/authpct.py) and, for the ``samples`` most
copy-like generated images (smallest d1/d2, see there), their ``k`` nearest training images. With ``out``
it writes ``memorization.json`` (the numbers, with file names where the inputs are files) and
``memorization.png``: one row per suspicious sample, the generated image first, then its neighbours,
nearest first.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from ._io import atomic_write
from .data.sources import open_images
from .defaults import DEFAULTS, EXTRACTION_OPTIONS, check_keywords
from .features.compute import compute_features
from .metrics.authpct import authenticity, nearest_training_neighbours

CELL = 96  # pixels per image in the grid: large enough to judge a copy, small enough for 16 x 5 cells
GAP = 4  # pixels between cells; a wider gap after the generated image sets it apart


def memorization_report(train, generated, out=None, *, samples: int = DEFAULTS.memorization_samples,
                        k: int = DEFAULTS.memorization_neighbours, **options) -> dict:
    """AuthPct and the nearest training images of the most copy-like generated images (see the module doc).

    ``train``, ``generated``: any image input (folder, zip, uint8 npz or array; an ADM reference batch's
    ``arr_0`` images). ``samples``: how many suspicious samples to list; ``k``: training neighbours per sample.
    ``out``: a folder for ``memorization.json`` and ``memorization.png`` (None: write nothing).
    ``options``: feature extraction (``extractor``, ``resize``, ``extractor_weights``, ``device`` ...).
    Returns ``{"authpct", "n_train", "n_generated", "suspicious": [rows of
    metrics.authpct.nearest_training_neighbours], "protocol"}`` (and ``files`` with ``out``).
    """
    check_keywords(options, EXTRACTION_OPTIONS, "memorization_report")
    train_features = compute_features(train, logits=False, **options)
    generated_features = compute_features(generated, logits=False, **options)
    found = authenticity(train_features.features, generated_features.features)
    rows = nearest_training_neighbours(train_features.features, generated_features.features, samples, k, found=found,
                                       train_files=train_features.files, generated_files=generated_features.files)
    report = {"authpct": found["authpct"],
              "n_train": len(train_features.features), "n_generated": len(generated_features.features),
              "suspicious": rows, "protocol": train_features.protocol}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_write(out / "memorization.json", "w") as handle:
            json.dump(report, handle, indent=2)
        _write_grid(out / "memorization.png", train, generated, rows)
        report["files"] = [str(out / "memorization.json"), str(out / "memorization.png")]
    return report


def _cell(image: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(image).convert("RGB").resize((CELL, CELL), Image.BICUBIC))


def _write_grid(path: Path, train, generated, rows) -> None:
    train_source, generated_source = open_images(train), open_images(generated)
    columns = 1 + max((len(r["neighbours"]) for r in rows), default=0)
    width = columns * (CELL + GAP) + 2 * GAP
    grid = np.full((max(len(rows), 1) * (CELL + GAP), width, 3), 255, np.uint8)
    for y, row in enumerate(rows):
        top = y * (CELL + GAP)
        grid[top:top + CELL, :CELL] = _cell(generated_source.load(row["generated"]))
        for x, neighbour in enumerate(row["neighbours"], start=1):
            left = x * (CELL + GAP) + 2 * GAP
            grid[top:top + CELL, left:left + CELL] = _cell(train_source.load(neighbour["train"]))
    with atomic_write(path) as handle:
        Image.fromarray(grid).save(handle, format="PNG")
