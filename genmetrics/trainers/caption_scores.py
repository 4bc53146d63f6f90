"""Caption accuracy: do a text-to-image model's samples show what their captions say? stackgan's own measure
at the end of a run, and the engine of ``genmetrics eval-captions`` (caption_eval.py).

Each image is judged on its own, then compared with its caption (captions.py: class, thick, inverted):

- **inverted**: the mean brightness of the image's border ring (the outer side / 16 px, 2 px at 32 px) is
  above 127.5. The background is what inversion flips: on the 300 held-out digits the ring's mean is at
  most 78 for upright digits, thin or thick, and at least 177 for inverted ones. (The whole image's mean is not used: thick
  digits reach a mean of 129, past the midpoint.)
- **class**: the shipped digits classifier (features/digits.py, ``--extractor digits``) on the canonical
  view, the image inverted back when it was judged inverted (as metrics/translation.py ``CANONICAL`` does
  for digits-inverted), so the class is judged whatever the inversion.
- **thick**: stroke width by erosion. The share of the canonical view's ink that survives a minimum filter
  of the dilation's window (3x3 at 32 px, translation_data's ``_thick``): a flat stroke w px wide keeps
  (w - 2) / w, so the share grows with the width and not with the stroke's length. Natural stroke widths
  vary by writer and by digit, so the threshold is per class (the class the classifier gave), fitted on the
  training digits' thin and thick versions (the threshold with the fewest errors). On the held-out digits
  it is right 92% (test) and 95% (validation) of the time: the writers' own widths overlap the dilated ones.

``caption_accuracy`` reports the three accuracies and the share of images right on all three. A model's
samples: ``SAMPLES_PER_CAPTION`` for each of the 40 (class, thickness, inversion) captions, the templates in
turn, latents drawn at once from a generator seeded by (seed, EVAL, 3) (seeding.py). The reference rows
of ``genmetrics eval-captions`` are caption_eval.py's.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from ..defaults import DEFAULTS
from ..errors import GenmetricsError

INVERTED_ABOVE = 127.5  # the midpoint of 0..255: the border ring's mean
SAMPLES_PER_CAPTION = 10  # x 40 captions: 400 samples


def _grey(images) -> torch.Tensor:
    """uint8/float images NHWC or NCHW (1 or 3 channels) -> float (N, 1, H, W) on 0..255 (luma for RGB)."""
    from ..features.digits import LUMA

    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.permute(0, 3, 1, 2)
    x = x.float()
    if x.shape[1] == 3:
        x = (x * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    return x


def border_brightness(x: torch.Tensor) -> torch.Tensor:
    ring = max(1, x.shape[-1] // 16)
    inside = torch.zeros(x.shape[-2:], dtype=torch.bool)
    inside[ring:-ring, ring:-ring] = True
    return x[..., ~inside].mean(dim=(1, 2))


def ink_kept(canonical: torch.Tensor) -> torch.Tensor:
    """The share of the ink that a minimum filter of the dilation's window keeps (module docstring)."""
    r = max(1, round(canonical.shape[-1] / 32))  # translation_data._thick's radius
    eroded = -F.max_pool2d(-canonical, 2 * r + 1, stride=1, padding=r)
    return eroded.sum(dim=(1, 2, 3)) / canonical.sum(dim=(1, 2, 3)).clamp_min(1.0)


def _classify(canonical: torch.Tensor, device, weights=None) -> torch.Tensor:
    from ..features.digits import load_classifier, to_network_input

    net = load_classifier(weights, device)
    where = next(net.parameters()).device
    with torch.no_grad():
        return torch.cat([net(to_network_input(canonical[i:i + 256].to(where))).argmax(dim=1).cpu()
                          for i in range(0, len(canonical), 256)])


@lru_cache(maxsize=4)
def thickness_thresholds(size: int = 32) -> torch.Tensor:
    """Per class, the ``ink_kept`` threshold that best separates the training digits from their thick versions."""
    from .captions import captioned_split

    images, labels = captioned_split("train", size)
    upright = labels[:, 2] == 0
    kept, classes, thick = ink_kept(images[upright].float()), labels[upright, 0], labels[upright, 1]
    thresholds = torch.empty(10)
    for c in range(10):
        values, truth = kept[classes == c], thick[classes == c].bool()
        candidates = values.sort().values
        errors = ((values[None, :] >= candidates[:, None]) != truth[None, :]).sum(dim=1)
        thresholds[c] = candidates[int(errors.argmin())]
    return thresholds


def judge(images, device=DEFAULTS.device, weights=None) -> torch.Tensor:
    """(N, 3) long: the class, thick and inverted each image shows (module docstring)."""
    x = _grey(images)
    if len(x) == 0:
        raise GenmetricsError("caption accuracy needs at least one image")
    inverted = border_brightness(x) > INVERTED_ABOVE
    canonical = torch.where(inverted.view(-1, 1, 1, 1), 255 - x, x)
    classes = _classify(canonical, device, weights)
    thick = ink_kept(canonical) >= thickness_thresholds(int(x.shape[-1]))[classes]
    return torch.stack([classes, thick.long(), inverted.long()], dim=1)


def caption_accuracy(images, labels, device=DEFAULTS.device, weights=None) -> dict:
    """Accuracy of ``images`` against their captions' ``labels`` (N, >= 3: class, thick, inverted)."""
    labels = torch.as_tensor(np.asarray(labels)).long()[:, :3]
    if len(labels) != len(images):
        raise GenmetricsError(f"caption accuracy: {len(images)} images but {len(labels)} captions")
    right = judge(images, device, weights) == labels
    return {"class_accuracy": float(right[:, 0].float().mean()), "thickness_accuracy": float(right[:, 1].float().mean()),
            "inversion_accuracy": float(right[:, 2].float().mean()),
            "caption_accuracy": float(right.all(dim=1).float().mean()), "n": len(labels)}


def caption_labels(per_caption: int) -> torch.Tensor:
    """(40 * per_caption, 4): every (class, thick, inverted) caption ``per_caption`` times, templates in turn."""
    from .captions import TEMPLATES

    combos = torch.tensor([(d, t, i) for d in range(10) for t in range(2) for i in range(2)])
    rows = combos.repeat_interleave(per_caption, dim=0)
    templates = torch.arange(per_caption).repeat(len(combos)) % len(TEMPLATES)
    return torch.cat([rows, templates[:, None]], dim=1)


@torch.no_grad()
def generate_for_captions(net, labels: torch.Tensor, seed: int, device) -> np.ndarray:
    """uint8 NHWC samples of a StackGenerator for (N, 4) caption labels (module docstring)."""
    from ..data.writers import to_uint8_nhwc
    from .captions import embed_labels
    from .seeding import EVAL, derive_generator

    z = torch.randn(len(labels), net.z_dim, generator=derive_generator(seed, EVAL, 3))
    embeddings = embed_labels(labels)
    was_training = net.training
    net.eval()
    try:
        out = [net(z[i:i + 200].to(device), embeddings[i:i + 200].to(device)).float().cpu()
               for i in range(0, len(z), 200)]
    finally:
        net.train(was_training)
    return to_uint8_nhwc(torch.cat(out))


def score_generator(net, config, *, per_caption: int = SAMPLES_PER_CAPTION, seed: int = DEFAULTS.sample_seed,
                    device=DEFAULTS.device) -> dict:
    """Caption accuracy of a StackGenerator's samples (stackgan's measure, the model row of eval-captions)."""
    labels = caption_labels(per_caption)
    images = generate_for_captions(net, labels, seed, device)
    return {**caption_accuracy(images, labels, device), "seed": seed, "stage": int(net.stage)}


