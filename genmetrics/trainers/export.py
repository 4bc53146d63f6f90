"""``genmetrics data NAME``: a named data set written as training sees it (data.py's loaders), so that other
commands can use it as a reference (translation domains: translation_data.export_domains)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._io import atomic_write
from ..data.toy import MIXTURES
from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from .binarize import BINARY
from .data import (NAMED, STACKED_DIGITS_SEED, TORCHVISION, check_image_size, default_data_root, load_binary,
                   load_digits, load_stacked_digits, load_torchvision)


def export_data(name: str, out: str | Path, *, split: str = "train", image_size: int | None = None,
                n: int | None = None, seed: int = DEFAULTS.sample_seed, data_root: str | None = None, force: bool = False) -> dict:
    """Write a named data set as training sees it, so that other commands can use it as a reference:
    images (``digits``, ``mnist``, ``fashion-mnist``, ``cifar10`` and the ``-binary`` sets of binarize.py, a
    dynamic set binarised once; a ``split``, optionally the first ``n``; ``stacked-digits``: ``n`` RGB triples
    of the split's digits drawn with ``seed``, 25,600 by default, the training set with seed 0) to a folder
    of PNGs or a uint8 NHWC .npz/.npy (translation domains: translation_data.export_domains); toy mixtures (``ring8``, ``grid25``) as ``n`` points
    (default 2,500) drawn with ``seed`` to a float32 (N, 2) .npy. An existing file is replaced only with
    ``force``; a folder must be new or empty."""
    from ..data.writers import check_new_folder, save_images

    out = Path(out)
    suffix = out.suffix.lower()
    if n is not None and n < 1:
        raise GenmetricsError(f"-n must be at least 1, got {n}")
    if name in MIXTURES:
        if suffix != ".npy":
            raise GenmetricsError(f"-o {out}: {name} is 2-D points; give a .npy file")
        check_new_folder(out, force)
        count = n or 2500
        points = MIXTURES[name].sample(count, torch.Generator().manual_seed(seed)).numpy()
        with atomic_write(out) as handle:
            np.save(handle, points)
        return {"data": name, "output": str(out), "n": count, "format": "npy float32 (N, 2)", "seed": seed}
    if image_size is not None:
        check_image_size(image_size)
    if name not in ("digits", "stacked-digits", *TORCHVISION, *BINARY):
        raise GenmetricsError(f"unknown data set {name!r}; choose one of {', '.join(NAMED)}, or translation "
                              f"domains (digits-inverted, digits-thick, digits-rot90, digits-colour; comma-separated)")
    check_new_folder(out, force)  # before loading (or downloading) the data
    if name in BINARY:
        images, labels = load_binary(name, split, data_root, image_size, for_training=False)
    elif name == "digits":
        images, labels = load_digits(image_size or 32, split)
    elif name == "stacked-digits":  # n images drawn with seed (default STACKED_DIGITS_N, STACKED_DIGITS_SEED)
        images, labels = load_stacked_digits(image_size or 32, split, n, STACKED_DIGITS_SEED if seed is None else seed)
    else:
        images, labels = load_torchvision(name, data_root or default_data_root(), image_size, split)
    images, labels = images[:n], labels[:n]
    nhwc = images.permute(0, 2, 3, 1).numpy()
    fmt = save_images(out, nhwc, labels.numpy())
    return {"data": name, "split": split, "output": str(out), "n": len(nhwc), "format": fmt,
            "image_size": int(nhwc.shape[1])}
