"""Random FID-Inception weights for tests and benchmarks on machines that cannot download the real file.

A randomly initialised network gives degenerate features (exploding or all-zero activations) unless its
BatchNorm running statistics are calibrated; so after the initialisation the BatchNorms see a few
batches in training mode and keep their cumulative averages. The batches are noise drawn at several
spatial scales (8, 32 and 299 pixels, upsampled to 299): calibrated on full-resolution noise alone, the
deep features of smooth, upsampled images (the small images tests use) grow by orders of magnitude. The state dict has the keys and
shapes of pytorch-fid's file, so pytorch-fid, torch-fidelity and clean-fid load it too: identical weights
in, identical numbers out.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from ._io import atomic_write
from .features.inception import FIDInceptionV3


def random_state_dict(seed: int = 0, batch: int = 6) -> dict:
    generator = torch.Generator().manual_seed(seed)
    net = FIDInceptionV3()
    with torch.no_grad():
        for name, param in net.named_parameters():
            if name.endswith("conv.weight"):
                fan_in = param[0].numel()
                param.copy_(torch.randn(param.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
            elif name == "fc.weight":
                param.copy_(torch.randn(param.shape, generator=generator) * 0.1)
            elif name == "fc.bias":
                param.copy_(torch.randn(param.shape, generator=generator) * 0.1)
        net.train()
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.momentum = None  # cumulative average over the calibration batches
        for scale in (8, 32, 299):
            noise = torch.rand(batch, 3, scale, scale, generator=generator)
            noise = F.interpolate(noise, size=(299, 299), mode="bilinear", align_corners=False)
            net(noise * 2 - 1, frozenset({"logits"}))
    return {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}


def write_random_weights(path: str | Path, seed: int = 0) -> Path:
    """Write a calibrated random state dict in pytorch-fid's format to ``path`` (atomically)."""
    with atomic_write(path) as handle:
        torch.save(random_state_dict(seed), handle)
    return Path(path)


def synthetic_images(n: int, size: int = 32, seed: int = 0, contrast: float = 1.0):
    """``n`` structured HxWx3 uint8 images: a colour gradient, a few rectangles, pixel noise.

    Smooth regions and edges, like real images, rather than i.i.d. noise; ``contrast`` < 1 makes a
    visibly different set (for non-trivial FIDs).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    images = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        a, b, c = rng.uniform(-1, 1, (3, 3))
        image = 0.5 + 0.25 * (a * yy[..., None] + b * xx[..., None]) + 0.1 * c
        for _ in range(rng.integers(1, 4)):
            y0, x0 = rng.integers(0, size - 2, 2)
            h, w = rng.integers(2, max(3, size // 2), 2)
            image[y0:y0 + h, x0:x0 + w] = rng.uniform(0, 1, 3)
        image = 0.5 + contrast * (image - 0.5) + rng.normal(0, 0.03, image.shape)
        images[i] = np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)
    return images


def write_image_folder(folder, images, fmt: str = "png") -> list:
    """Save an (N,H,W,3) uint8 array as numbered image files; return their paths."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = folder / f"{i:05d}.{fmt}"
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def random_dinov2_state_dict(name: str = "dinov2-vit-s14", seed: int = 0) -> dict:
    """A random DINOv2 state dict in facebookresearch's format (518 px position embedding, ``mask_token``,
    the giant's ``mlp.w12``/``mlp.w3``), with LayerScale gammas of order 1 so every block matters."""
    import timm

    from .features.vit import DINOV2

    torch.manual_seed(seed)
    model = timm.create_model(DINOV2[name][0], pretrained=False, img_size=518, num_classes=0)
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith(".gamma"):
            value = 0.5 + 0.5 * torch.rand(value.shape, generator=generator)
        elif key.endswith("bias") or key in ("cls_token", "pos_embed"):
            value = 0.1 * torch.randn(value.shape, generator=generator)
        key = key.replace("mlp.fc1", "mlp.w12").replace("mlp.fc2", "mlp.w3") if name.endswith("g14") else key
        state[key] = value.clone()
    state["mask_token"] = torch.zeros(1, state["cls_token"].shape[-1])
    return state


def random_clip_state_dict(name: str = "clip-vit-b32", seed: int = 0) -> dict:
    """A random CLIP image tower in OpenAI's format (``visual.*`` keys, plus ``text_projection``, from which
    loaders read the embedding size)."""
    from .features.vit import CLIP

    size, embed = CLIP[name][1:3]
    width, patch = (768, 32) if name == "clip-vit-b32" else (1024, 14)
    depth = 12 if name == "clip-vit-b32" else 24
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape, scale=None):
        scale = shape[-1] ** -0.5 if scale is None else scale
        return torch.randn(shape, generator=generator) * scale

    grid = size // patch
    state = {"visual.conv1.weight": randn(width, 3, patch, patch, scale=(3 * patch * patch) ** -0.5),
             "visual.class_embedding": randn(width), "visual.positional_embedding": randn(grid * grid + 1, width),
             "visual.ln_pre.weight": 1 + randn(width, scale=0.1), "visual.ln_pre.bias": randn(width, scale=0.1),
             "visual.ln_post.weight": 1 + randn(width, scale=0.1), "visual.ln_post.bias": randn(width, scale=0.1),
             "visual.proj": randn(width, embed), "text_projection": randn(embed, embed)}
    for i in range(depth):
        block = f"visual.transformer.resblocks.{i}."
        state.update({block + "attn.in_proj_weight": randn(3 * width, width),
                      block + "attn.in_proj_bias": randn(3 * width, scale=0.1),
                      block + "attn.out_proj.weight": randn(width, width),
                      block + "attn.out_proj.bias": randn(width, scale=0.1),
                      block + "mlp.c_fc.weight": randn(4 * width, width), block + "mlp.c_fc.bias": randn(4 * width, scale=0.1),
                      block + "mlp.c_proj.weight": randn(width, 4 * width), block + "mlp.c_proj.bias": randn(width, scale=0.1)})
        for norm in ("ln_1", "ln_2"):
            state[block + norm + ".weight"] = 1 + randn(width, scale=0.1)
            state[block + norm + ".bias"] = randn(width, scale=0.1)
    return state


def write_state_dict(path: str | Path, state: dict) -> Path:
    """``torch.save`` a state dict atomically (the random ViT weights above)."""
    with atomic_write(path) as handle:
        torch.save(state, handle)
    return Path(path)
