"""The named preprocessing protocols: how a uint8 image becomes the network's input.

Each protocol is split in two: ``on_cpu`` runs per image where the images are decoded (DataLoader
workers) and ``on_device`` runs per batch where the network runs.

  tf           TF1 ``resize_bilinear`` (align_corners=False, no half-pixel centres) on the uint8 values as
               float32, then ``(x - 128) / 128``. This is what the original TF FID/IS code computes, so it
               is what published numbers use; torch-fidelity reproduces it bit-exactly on CPU
               (torch_fidelity/interpolate_compat_tensorflow.py, feature_extractor_inceptionv3.py).
  pytorch-fid  ``x / 255``, ``F.interpolate(bilinear, align_corners=False)``, ``2x - 1``
               (pytorch_fid/inception.py InceptionV3.forward with resize_input and normalize_input).
  edm2-inception
               The Inception detector of NVlabs' StyleGAN2-ADA, StyleGAN3, EDM and EDM2 (edm2
               calculate_metrics.py InceptionV3Detector loads StyleGAN3's ``metrics/inception-2015-12-05.pkl``
               and hands it uint8 NCHW images of any size): the same TF1 bilinear mapping as ``tf``, computed
               as that network does, with ``F.affine_grid`` / ``F.grid_sample`` (bilinear, border padding,
               align_corners=False) on float32 values, always (also at 299 px), then ``(x - 128) / 128``.
               It differs from ``tf`` by float32 rounding of the sampling coordinates only (see
               ``stylegan_grid_resize``); named apart so that edm2's reference statistics are compared with
               features made the way edm2 made them.
  clean        clean-fid's "clean" mode: PIL bicubic resize of each channel as a float image (no
               quantisation), clipped to [0, 255], then ``(x - 128) / 128`` (cleanfid/resize.py
               make_resizer("PIL", False, "bicubic"), cleanfid/inception_torchscript.py).

The protocols of the modern feature spaces (DINOv2, CLIP), each with the normalisation of its extractor:

  dgm-eval        PIL bicubic resize of the uint8 RGB image, quantised back to uint8 (dgm-eval's DINOv2
                  transform; NVlabs/edm2 calculate_metrics.py DINOv2Detector ``resize_mode='pil'``, "matches
                  the original dgm-eval codebase exactly").
  edm2            ``F.interpolate(x.float(), size, mode='bicubic', antialias=True)`` on the 0..255 values
                  (edm2's default ``resize_mode='torch'``).
  torch-fidelity  the same TF1 bilinear resize as ``tf`` (torch-fidelity 0.4 feature_extractor_dinov2.py and
                  feature_extractor_clip.py resize with interpolate_bilinear_2d_like_tensorflow1x).
  cmmd            centre crop to a square, then PIL bicubic to ``size`` on uint8 (google-research cmmd
                  io_util.py ``_center_crop_and_resize``); its embedding.py then resizes to the same size
                  with jax.image.resize, which at scale 1 is the identity.
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


def stylegan_grid_resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """The resize inside StyleGAN3's TorchScript/pickled Inception (used by edm2 for FID), in float32.

    An identity affine grid whose translation is shifted by ``1/in - 1/size`` (computed in float32, as the
    network computes it from its input's width and height) makes ``grid_sample`` with align_corners=False
    read output pixel j at input coordinate ``j * in / size``: TF1 ``resize_bilinear``'s mapping (no
    half-pixel centres), with coordinates past the last pixel clamped to it (border padding).
    """
    n, c, in_h, in_w = x.shape
    one = torch.ones((), dtype=torch.float32, device=x.device)
    theta = torch.zeros(n, 2, 3, dtype=torch.float32, device=x.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = one / in_w - one / size
    theta[:, 1, 2] = one / in_h - one / size
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
    return F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)


def _pil_bicubic_float(image: np.ndarray, size: int) -> np.ndarray:
    """clean-fid's clean resize: each channel as a PIL 'F' image, bicubic, clipped; no quantisation."""
    channels = []
    for c in range(image.shape[2]):
        plane = Image.fromarray(image[:, :, c].astype(np.float32), mode="F")
        plane = plane.resize((size, size), resample=Image.BICUBIC)
        channels.append(np.asarray(plane).clip(0, 255))
    return np.stack(channels, axis=0).astype(np.float32)


def _pil_bicubic_uint8(image: np.ndarray, size: int, crop: bool = False) -> np.ndarray:
    """PIL bicubic resize of an HxWx3 uint8 image to size x size, quantised to uint8 by PIL (dgm-eval,
    edm2 ``resize_mode='pil'``); ``crop``: first the centred square of side min(H, W) (cmmd io_util.py)."""
    pil = Image.fromarray(np.ascontiguousarray(image), "RGB")
    if crop:
        w, h = pil.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        pil = pil.crop((left, top, left + side, top + side))
    if pil.size != (size, size):
        pil = pil.resize((size, size), resample=Image.BICUBIC)
    return np.array(pil).transpose(2, 0, 1)  # a writable copy, as torch.from_numpy wants


# Resize protocols that run per image on the CPU (PIL), before batching.
CPU_RESIZES = ("clean", "dgm-eval", "cmmd")

# ImageNet channel statistics for torchvision classifiers such as VGG16 (torchvision models docs;
# torch-fidelity feature_extractor_vgg16.py applies them to 0..255 values scaled by 255).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# CLIP's channel statistics (openai/CLIP clip.py _transform; scenic clip model.py IMAGE_MEAN/IMAGE_STD).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
NORMALIZATIONS = ("inception", "unit", "imagenet", "uint8", "clip")
_CHANNEL_STATS = {"imagenet": (IMAGENET_MEAN, IMAGENET_STD), "clip": (CLIP_MEAN, CLIP_STD)}


class Protocol:
    """A preprocessing protocol: the resize algorithm ``name``, the input ``size`` and the normalisation.

    ``normalize``: "inception" (the FID network's [-1, 1], per the reference tool of ``name``), "unit"
    ([0, 1]), "imagenet" or "clip" ((x - mean) / std of [0, 1] values) or "uint8" (rounded 0..255 values).
    """

    def __init__(self, name: str, size: int = INPUT_SIZE, normalize: str = "inception"):
        if name not in RESIZE_MODES:
            raise GenmetricsError(f"unknown resize mode {name!r}; choose one of {', '.join(RESIZE_MODES)}")
        if normalize not in NORMALIZATIONS or size < 1:
            raise ValueError(f"bad protocol: size={size}, normalize={normalize!r}")
        self.name, self.size, self.normalize = name, size, normalize

    def on_cpu(self, image: np.ndarray) -> torch.Tensor:
        """HxWx3 uint8 -> CHW tensor: float32 size x size for clean, uint8 size x size for dgm-eval and cmmd,
        the uint8 image as it is otherwise (resized on the device)."""
        if self.name == "clean":
            return torch.from_numpy(_pil_bicubic_float(image, self.size))
        if self.name in ("dgm-eval", "cmmd"):
            return torch.from_numpy(_pil_bicubic_uint8(image, self.size, crop=self.name == "cmmd"))
        return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))

    def on_device(self, batch: torch.Tensor) -> torch.Tensor:
        """A batch of same-sized ``on_cpu`` outputs -> the network's float32 input."""
        x = batch.float()
        if self.name == "pytorch-fid":
            x = x / 255  # torchvision ToTensor, as pytorch-fid's ImagePathDataset
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
            if self.normalize == "inception":  # 2x - 1 in place on the fresh 299 px tensor: the same two
                return x.mul_(2).sub_(1)       # roundings as pytorch-fid's, without two 53 MB temporaries
            x = x * 255  # back to the 0..255 scale the other normalisations start from
        elif self.name in ("tf", "torch-fidelity") and x.shape[-2:] != (self.size, self.size):
            x = tf_bilinear_resize(x, self.size)
        elif self.name == "edm2-inception":  # always, as the detector does (at 299 px it is nearly the identity)
            x = stylegan_grid_resize(x, self.size)
        elif self.name == "edm2":  # always, as edm2 does (at the input size it is the identity)
            x = F.interpolate(x, size=(self.size, self.size), mode="bicubic", antialias=True)
        if self.normalize == "inception":
            return (x - 128).div_(128)  # (x - 128) / 128 with one temporary, not two
        if self.normalize == "unit":
            return x / 255
        if self.normalize == "uint8":
            return x.round().clamp(0, 255).to(torch.uint8)
        mean, std = _CHANNEL_STATS[self.normalize]
        if self.name in ("dgm-eval", "edm2", "cmmd"):  # x / 255, then (x - mean) / std, as those tools
            mean = torch.tensor(mean, device=x.device).view(1, 3, 1, 1)
            std = torch.tensor(std, device=x.device).view(1, 3, 1, 1)
            return (x / 255 - mean) / std
        # torchvision normalize of the 0..255 values with 255 * mean and 255 * std (torch-fidelity)
        mean = torch.tensor(mean, device=x.device).view(1, 3, 1, 1) * 255
        std = torch.tensor(std, device=x.device).view(1, 3, 1, 1) * 255
        return (x - mean) / std
