"""The three named preprocessing protocols: how a uint8 image becomes the network's 299x299 input.

Each protocol is split in two: ``on_cpu`` runs per image where the images are decoded (DataLoader
workers) and ``on_device`` runs per batch where the network runs.

  tf           TF1 ``resize_bilinear`` (align_corners=False, no half-pixel centres) on the uint8 values as
               float32, then ``(x - 128) / 128``. This is what the original TF FID/IS code computes, so it
               is what published numbers use; torch-fidelity reproduces it bit-exactly on CPU
               (torch_fidelity/interpolate_compat_tensorflow.py, feature_extractor_inceptionv3.py).
  pytorch-fid  ``x / 255``, ``F.interpolate(bilinear, align_corners=False)``, ``2x - 1``
               (pytorch_fid/inception.py InceptionV3.forward with resize_input and normalize_input).
  clean        clean-fid's "clean" mode: PIL bicubic resize of each channel as a float image (no
               quantisation), clipped to [0, 255], then ``(x - 128) / 128`` (cleanfid/resize.py
               make_resizer("PIL", False, "bicubic"), cleanfid/inception_torchscript.py).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..defaults import RESIZE_MODES
from ..errors import GenmetricsError
from .inception import INPUT_SIZE


def tf_bilinear_resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """TF1 ``resize_bilinear`` with align_corners=False and half_pixel_centers=False.

    Source coordinate of output pixel i is ``i * in / out`` (no half-pixel offset); the upper neighbour is
    clamped to the border. Interpolates along the width first, then the height, in float32, which is the
    order of operations that makes the result bit-exact with TF (and torch-fidelity) on CPU.
    """
    _, _, in_h, in_w = x.shape

    def grid(in_size):
        src = torch.arange(size, dtype=torch.float32, device=x.device) * torch.tensor(
            in_size / size, dtype=torch.float32)
        lo = src.long()
        hi = (lo + 1).clamp_max(in_size - 1)
        return lo, hi, src - lo.float()

    y_lo, y_hi, dy = grid(in_h)
    x_lo, x_hi, dx = grid(in_w)
    dx = dx.view(1, 1, 1, size)

    # Each input row is interpolated along the width once (rows are independent, so this equals TF's
    # per-output-row work), then output rows are picked and blended: the same float32 operations in the
    # same order, on in_h rows instead of 2 * size of them.
    left, right = x.index_select(3, x_lo), x.index_select(3, x_hi)
    across = right.sub_(left).mul_(dx).add_(left)
    top, bottom = across.index_select(2, y_lo), across.index_select(2, y_hi)
    return bottom.sub_(top).mul_(dy.view(1, 1, size, 1)).add_(top)


def _pil_bicubic_float(image: np.ndarray, size: int) -> np.ndarray:
    """clean-fid's clean resize: each channel as a PIL 'F' image, bicubic, clipped; no quantisation."""
    channels = []
    for c in range(image.shape[2]):
        plane = Image.fromarray(image[:, :, c].astype(np.float32), mode="F")
        plane = plane.resize((size, size), resample=Image.BICUBIC)
        channels.append(np.asarray(plane).clip(0, 255))
    return np.stack(channels, axis=0).astype(np.float32)


# ImageNet channel statistics for torchvision classifiers such as VGG16 (torchvision models docs;
# torch-fidelity feature_extractor_vgg16.py applies them to 0..255 values scaled by 255).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NORMALIZATIONS = ("inception", "unit", "imagenet", "uint8")


class Protocol:
    """A preprocessing protocol: the resize algorithm ``name``, the input ``size`` and the normalisation.

    ``normalize``: "inception" (the FID network's [-1, 1], per the reference tool of ``name``), "unit"
    ([0, 1]), "imagenet" ((x - mean) / std of [0, 1] values) or "uint8" (rounded 0..255 values).
    """

    def __init__(self, name: str, size: int = INPUT_SIZE, normalize: str = "inception"):
        if name not in RESIZE_MODES:
            raise GenmetricsError(f"unknown resize mode {name!r}; choose one of {', '.join(RESIZE_MODES)}")
        if normalize not in NORMALIZATIONS or size < 1:
            raise ValueError(f"bad protocol: size={size}, normalize={normalize!r}")
        self.name, self.size, self.normalize = name, size, normalize

    def on_cpu(self, image: np.ndarray) -> torch.Tensor:
        """HxWx3 uint8 -> CHW tensor: uint8 for tf/pytorch-fid, float32 size x size for clean."""
        if self.name == "clean":
            return torch.from_numpy(_pil_bicubic_float(image, self.size))
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))

    def on_device(self, batch: torch.Tensor) -> torch.Tensor:
        """A batch of same-sized ``on_cpu`` outputs -> the network's float32 input."""
        x = batch.float()
        if self.name == "pytorch-fid":
            x = x / 255  # torchvision ToTensor, as pytorch-fid's ImagePathDataset
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
            if self.normalize == "inception":
                return 2 * x - 1
            x = x * 255  # back to the 0..255 scale the other normalisations start from
        elif self.name == "tf" and x.shape[-2:] != (self.size, self.size):
            x = tf_bilinear_resize(x, self.size)
        if self.normalize == "inception":
            return (x - 128) / 128
        if self.normalize == "unit":
            return x / 255
        if self.normalize == "uint8":
            return x.round().clamp(0, 255).to(torch.uint8)
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1) * 255
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1) * 255
        return (x - mean) / std
