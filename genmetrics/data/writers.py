"""Writing image sets: uint8 NHWC arrays to a .npz/.npy or a folder of PNGs, atomically, never over earlier work.

Used by ``genmetrics sample`` (a generator's samples), ``genmetrics data`` (a named data set) and the
trainers' sample grids.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .._io import atomic_write, check_output


def to_uint8_nhwc(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] NCHW floats -> uint8 NHWC, quantised as torchvision's save_image (x * 255 + 0.5, truncated)."""
    x = ((images.float() + 1) / 2).mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def save_png(path: str | Path, image: np.ndarray) -> None:
    """One HxW, HxWx1 or HxWx3 uint8 image, written atomically."""
    image = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
    with atomic_write(path) as handle:
        Image.fromarray(image).save(handle, format="PNG")


def check_new_folder(out: Path, force: bool = False) -> None:
    """Before any work: PNG output goes to a new or empty folder, never mixed with earlier files; a .npz/.npy
    replaces an existing file only with ``force``; either must be writable."""
    check_output(out, force=force, folder=out.suffix.lower() not in (".npz", ".npy"))


def save_images(out: Path, images: np.ndarray, labels: np.ndarray | None = None, first: int = 0) -> str:
    """uint8 NHWC ``images`` to a .npz (with ``labels``), a .npy, or PNGs named by index from ``first``
    in the folder ``out``; returns the format written."""
    suffix = out.suffix.lower()
    if suffix in (".npz", ".npy"):
        with atomic_write(out) as handle:
            if suffix == ".npz":
                np.savez(handle, images=images, **({"labels": labels} if labels is not None else {}))
            else:
                np.save(handle, images)
        return f"{suffix[1:]} uint8 NHWC"
    out.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images, start=first):
        save_png(out / f"{i:06d}.png", image)
    return "png"
