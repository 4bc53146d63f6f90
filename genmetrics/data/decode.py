"""The colour policy: every image becomes an HxWx3 uint8 array the same way.

- 8-bit grayscale, RGBA, palette, CMYK, ...: PIL's ``convert('RGB')``, what pytorch-fid, torch-fidelity and
  clean-fid do, so numbers match theirs (alpha is dropped, not composited; grayscale is replicated).
- 16-bit grayscale (PIL modes I;16*, and I as PIL opens 16-bit PNGs): scaled to 8 bits with
  ``round(v * 255 / 65535)``. ``convert('RGB')`` would clip every value above 255 to white.
- 16-bit RGB PNGs: PIL itself reduces them to 8-bit RGB on open (it keeps the high byte).
- Arrays: uint8 as they are; float arrays are taken to be in [0, 1] and quantised as
  ``torchvision.utils.save_image`` does (``clamp(x * 255 + 0.5, 0, 255)`` truncated), so an array and
  the PNGs written from it give the same numbers (float16/bfloat16 in float32: 255 * x + 0.5 needs the
  bits). 1-channel arrays are replicated to 3.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


def pil_to_rgb(image: Image.Image) -> np.ndarray:
    """A loaded PIL image -> HxWx3 uint8 under the colour policy above."""
    if image.mode in SIXTEEN_BIT_MODES:
        values = np.asarray(image, dtype=np.float64)
        gray = np.clip(np.rint(values * (255.0 / 65535.0)), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode == "F":
        raise ValueError("32-bit float images have no defined 8-bit scale; save them as 8-bit PNGs")
    return np.asarray(image.convert("RGB"))


def is_image_dtype(array) -> bool:
    """uint8, or a float type (taken to be in [0, 1]): the element types ``to_uint8`` accepts."""
    if isinstance(array, torch.Tensor):
        return array.dtype == torch.uint8 or array.is_floating_point()
    return array.dtype == np.uint8 or np.issubdtype(array.dtype, np.floating)


def to_uint8(batch) -> np.ndarray | torch.Tensor:
    """uint8 stays; floats in [0, 1] are quantised like ``torchvision.utils.save_image``."""
    if isinstance(batch, torch.Tensor):
        if batch.dtype == torch.uint8:
            return batch
        if not batch.is_floating_point():
            raise ValueError(f"image tensors must be uint8 or float in [0, 1], got {batch.dtype}")
        if batch.dtype in (torch.float16, torch.bfloat16):  # 255 * x + 0.5 needs more than their 8-11 bits
            batch = batch.float()
        return batch.detach().mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)
    batch = np.asarray(batch)
    if batch.dtype == np.uint8:
        return batch
    if not np.issubdtype(batch.dtype, np.floating):
        raise ValueError(f"image arrays must be uint8 or float in [0, 1], got {batch.dtype}")
    batch = batch.astype(np.promote_types(batch.dtype, np.float32), copy=False)  # float16: as for tensors
    return np.clip(batch * 255 + 0.5, 0, 255).astype(np.uint8)


def channel_axis(shape: tuple) -> int:
    """The channel axis of an image batch shape: (N,H,W), (N,H,W,C) or (N,C,H,W) with C in {1, 3}.

    Returns -1 for NHWC (also for (N,H,W), after a channel is added), 1 for NCHW. When both readings
    are possible (e.g. 3x3 images) NHWC wins, the layout of image files and of most sample dumps.
    """
    if len(shape) == 3:
        return -1
    if len(shape) != 4:
        raise ValueError(f"expected an image batch of shape (N,H,W,C) or (N,C,H,W), got {shape}")
    if shape[-1] in (1, 3):
        return -1
    if shape[1] in (1, 3):
        return 1
    raise ValueError(f"cannot find a channel axis of size 1 or 3 in shape {shape}")


def image_axis(shape: tuple) -> int | None:
    """The channel axis of ONE image's shape, in ``channel_axis``'s terms: -1 for (H,W,C) and (H,W), 1 for
    (C,H,W), with C in {1, 3} and (H,W,C) winning when both fit; None when the shape is not one image."""
    if len(shape) == 2:
        return -1
    if len(shape) != 3:
        return None
    if shape[-1] in (1, 3):
        return -1
    return 1 if shape[0] in (1, 3) else None


def array_image(batch, index: int, axis: int) -> np.ndarray:
    """Image ``index`` of a batch (or of a list of single images) as HxWx3 uint8."""
    image = batch[index]
    if isinstance(image, torch.Tensor):
        # quantised by torch first: .numpy() refuses tensors that require grad and bfloat16 ones
        image = to_uint8(image).cpu().numpy()
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    elif axis == 1:
        image = image.transpose(1, 2, 0)
    image = to_uint8(image)
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image)
