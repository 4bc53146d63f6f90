"""Scores of an image translation against its ground truth: L1, PSNR and SSIM (registered metrics), and the
content preservation of a translation (the digits classifier's accuracy against the source labels).

All three compare generated image i with reference image i (paired by order; the counts and sizes must
match) on uint8 pixels, and average over images:

- ``l1``: mean |x - y| / 255 (pixels in [0, 1]), the L1 of pix2pix's objective (Isola et al. 2017, Eq. 3).
- ``psnr``: 10 log10(255^2 / MSE) per image, in dB (scikit-image ``peak_signal_noise_ratio`` with
  data_range 255); an image equal to its reference is infinite, so the mean is too.
- ``ssim``: Wang, Bovik, Sheikh & Simoncelli 2004 (Section III.C): a Gaussian window of sigma 1.5, 11
  taps (scipy's truncate 3.5 at sigma 1.5 gives radius 5), K1 = 0.01, K2 = 0.03, L = 255, population
  (co)variances; the SSIM map is averaged over the positions where the whole window fits (the border of 5
  pixels is cropped, as scikit-image crops it), then over channels. Our engine is torch float64; its
  oracle in the tests is scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255)``, the settings its documentation gives for matching Wang et
  al.; scikit-image rather than torchmetrics because it states the paper's settings as options and crops
  the same border, and it needs nothing beyond numpy and scipy.

Content preservation (``content_accuracy``) is the FCN-score idea of pix2pix and CycleGAN (Isola et al.
2017, Section 4.2; junyanz/pytorch-CycleGAN-and-pix2pix ``scripts/eval_cityscapes``): a classifier of
the content, run on the outputs, scored against the labels of the inputs. The digits classifier
(features/digits.py) sees each output through its target domain's canonical view (``CANONICAL``: the
digit upright, white on black), so that a perfect translation scores what the classifier scores on the
source digits.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from .registry import GENERATED_IMAGES, REFERENCE_IMAGES, Key, register_metric

SSIM_SIGMA = 1.5      # Wang et al. 2004, Section III.C: "a 11 x 11 circular-symmetric Gaussian weighting
SSIM_RADIUS = 5       # function w, with standard deviation of 1.5 samples" (radius 5: 11 taps)
SSIM_K1, SSIM_K2 = 0.01, 0.03  # Wang et al. 2004, Section III.C
DATA_RANGE = 255.0


def _nchw(images, side: str) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images))
    if x.dim() == 3:
        x = x.unsqueeze(-1)
    if x.dim() != 4:
        raise GenmetricsError(f"the {side} images must be a batch (N, H, W, C), got shape {tuple(x.shape)}")
    if x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.permute(0, 3, 1, 2)
    return x.to(torch.float64)


def paired(reference, generated) -> tuple[torch.Tensor, torch.Tensor]:
    """Both sets as float64 NCHW on 0..255, checked to be pairs (same count, size and channels)."""
    x, y = _nchw(reference, "reference"), _nchw(generated, "generated")
    if x.shape != y.shape:
        raise GenmetricsError(f"l1, psnr and ssim compare image i with its ground truth i: the reference has shape "
                              f"{tuple(x.shape)} (NCHW), the generated {tuple(y.shape)}; give paired sets of one "
                              f"size (translate the reference's source images, in the same order)")
    if len(x) == 0:
        raise GenmetricsError("l1, psnr and ssim need at least one pair of images")
    return x, y


def l1_distance(reference, generated) -> float:
    x, y = paired(reference, generated)
    return float((x - y).abs().mean() / DATA_RANGE)


def psnr(reference, generated) -> float:
    x, y = paired(reference, generated)
    mse = (x - y).pow(2).flatten(1).mean(dim=1)
    values = 10 * torch.log10(DATA_RANGE ** 2 / mse)  # inf where the image equals its reference
    return float(values.mean())


def gaussian_window(sigma: float = SSIM_SIGMA, radius: int = SSIM_RADIUS) -> torch.Tensor:
    """scipy.ndimage's 1-D Gaussian kernel: exp(-x^2 / (2 sigma^2)) on -radius..radius, normalised."""
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def ssim_per_image(reference, generated) -> torch.Tensor:
    """The mean SSIM of each pair (module docstring), float64 (N,)."""
    x, y = paired(reference, generated)
    if min(x.shape[-2:]) < 2 * SSIM_RADIUS + 1:
        raise GenmetricsError(f"ssim needs images of at least {2 * SSIM_RADIUS + 1} px (its Gaussian window); "
                              f"these are {x.shape[-2]}x{x.shape[-1]}")
    n, c = x.shape[:2]
    w = gaussian_window()

    def blur(v):  # separable, 'valid': only the positions where the whole window fits
        v = v.reshape(n * c, 1, *v.shape[-2:])
        v = F.conv2d(F.conv2d(v, w.view(1, 1, -1, 1)), w.view(1, 1, 1, -1))
        return v.view(n, c, v.shape[-2], v.shape[-1])

    c1, c2 = (SSIM_K1 * DATA_RANGE) ** 2, (SSIM_K2 * DATA_RANGE) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, vxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.mean(dim=(2, 3)).mean(dim=1)


def ssim(reference, generated) -> float:
    return float(ssim_per_image(reference, generated).mean())


def _l1_of(inputs) -> dict:
    return {"l1": l1_distance(inputs.reference_images, inputs.generated_images)}


def _psnr_of(inputs) -> dict:
    return {"psnr": psnr(inputs.reference_images, inputs.generated_images)}


def _ssim_of(inputs) -> dict:
    return {"ssim": ssim(inputs.reference_images, inputs.generated_images)}


_PAIRED = {"sweep": "it compares image i with its ground truth i; the sweep's samples have none",
           "train": "it compares image i with its ground truth i; run genmetrics eval-translation on a run"}
register_metric("l1", [Key("l1", False, "L1 to the ground truth (pixels in [0, 1])", short="L1")],
                {REFERENCE_IMAGES, GENERATED_IMAGES}, _l1_of, not_applicable=_PAIRED,
                note="paired with the reference by order", default=False)
register_metric("psnr", [Key("psnr", True, "PSNR to the ground truth (dB)", short="PSNR")],
                {REFERENCE_IMAGES, GENERATED_IMAGES}, _psnr_of, not_applicable=_PAIRED,
                note="paired with the reference by order", default=False)
register_metric("ssim", [Key("ssim", True, "SSIM to the ground truth (Wang et al. 2004)", short="SSIM")],
                {REFERENCE_IMAGES, GENERATED_IMAGES}, _ssim_of, not_applicable=_PAIRED,
                note="paired with the reference by order", default=False)


def _upright(x: torch.Tensor) -> torch.Tensor:
    return torch.rot90(x, -1, (2, 3))  # undo digits-rot90's quarter turn anticlockwise


def _stretched_max(x: torch.Tensor) -> torch.Tensor:
    """digits-colour: the brightest channel, stretched so the image's maximum is 255 (undoes the class colour
    without knowing the class)."""
    grey = x.amax(dim=1, keepdim=True)
    return grey * (255.0 / grey.flatten(1).amax(dim=1).clamp_min(1.0)).view(-1, 1, 1, 1)


# Each bundled domain seen as upright white-on-black digits (translation_data.DOMAINS); thick strokes are
# left thick (the classifier was trained with stroke-width changes, features/digits.py).
CANONICAL = {"digits": lambda x: x, "digits-inverted": lambda x: 255 - x, "digits-thick": lambda x: x,
             "digits-rot90": _upright, "digits-colour": _stretched_max}


def content_accuracy(images, labels, domain: str = "digits", device=DEFAULTS.device, weights=None) -> float:
    """Fraction of ``images`` (uint8 NHWC or NCHW) of ``domain`` that the digits classifier assigns to ``labels``."""
    from ..features.digits import load_classifier, to_network_input

    if domain not in CANONICAL:
        raise GenmetricsError(f"content accuracy knows the bundled domains {', '.join(CANONICAL)}, not {domain!r}")
    x = _nchw(images, "translated").float()
    labels = torch.as_tensor(np.asarray(labels)).long()
    if len(labels) != len(x):
        raise GenmetricsError(f"content accuracy: {len(x)} images but {len(labels)} labels")
    net = load_classifier(weights, device)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 256):
            view = CANONICAL[domain](x[i:i + 256])
            logits = net(to_network_input(view.to(next(net.parameters()).device)))
            correct += int((logits.argmax(dim=1).cpu() == labels[i:i + 256]).sum())
    return correct / max(len(x), 1) if len(x) else math.nan
