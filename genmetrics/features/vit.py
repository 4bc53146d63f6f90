"""The modern feature spaces: DINOv2 (Oquab et al. 2023) and CLIP (Radford et al. 2021) image towers.

The architectures come from ``timm`` (an optional extra: ``pip install genmetrics[dinov2]`` or
``genmetrics[clip]``), which builds both vision transformers and converts both official checkpoint
formats; docs/architecture.md says why timm and not the others. What is ours is the checkpoint handling,
so that the official files load as they are:

- DINOv2: the plain state dicts of facebookresearch/dinov2 (``dinov2_vits14_pretrain.pth`` ...: keys
  ``cls_token``, ``pos_embed``, ``mask_token``, ``patch_embed.proj.weight``, ``blocks.N...``; the giant's
  SwiGLU as ``mlp.w12``/``mlp.w3``). Their position embedding is for 518 px (37 x 37 patches); the
  reference model interpolates it to the 16 x 16 patches of a 224 px input at every call
  (dinov2/models/vision_transformer.py ``interpolate_pos_encoding``: bicubic, ``scale_factor=(16 + 0.1) /
  37``, no antialias, in float32). We do that once, when loading, and build timm's model for 224 px, so
  the network computes what ``torch.hub.load('facebookresearch/dinov2', 'dinov2_vitl14')`` computes. The
  features are the CLS token after the final norm (the hub model's output; 384/768/1024/1536-d).
- CLIP: OpenAI's TorchScript archives (``ViT-L-14-336px.pt`` ...) or any state dict with their
  ``visual.*`` keys; the image embedding is ``ln_post(cls) @ visual.proj`` (QuickGELU towers, as trained).
  The extractors return it as the model computes it (openai/CLIP ``encode_image``, torch-fidelity's
  ``clip`` feature); ``clip-vit-l14-336`` is the embedding of CMMD (google-research cmmd embedding.py:
  scenic's ``vit_l14_336px``), whose CLIP model L2-normalises it (scenic clip layers.py ``encode_image``,
  ``normalize=True``), so the ``cmmd`` metric normalises the rows it is given.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import GenmetricsError
from .weights import WeightsSpec, state_dict_mismatch

DINOV2_SIZE = 224  # dgm-eval, edm2 and torch-fidelity all resize to 224 px
DINOV2_PATCH = 14
DINOV2_INTERPOLATE_OFFSET = 0.1  # dinov2 hub/backbones.py interpolate_offset (the "historical kludge")

_DINOV2_URL = "https://dl.fbaipublicfiles.com/dinov2/{0}/{0}_pretrain.pth"  # dinov2 hub/backbones.py
# name: (timm architecture, feature dims, hub name). The files carry no digest in their name and
# facebookresearch publishes none, so no hash is checked; the SHA-256 of the file used is recorded
# in every result (protocol "weights_sha256").
DINOV2 = {
    "dinov2-vit-s14": ("vit_small_patch14_dinov2", 384, "dinov2_vits14"),
    "dinov2-vit-b14": ("vit_base_patch14_dinov2", 768, "dinov2_vitb14"),
    "dinov2-vit-l14": ("vit_large_patch14_dinov2", 1024, "dinov2_vitl14"),
    "dinov2-vit-g14": ("vit_giant_patch14_dinov2", 1536, "dinov2_vitg14"),
}

# OpenAI's checkpoints: the URL carries the file's full SHA-256 (openai/CLIP clip.py _MODELS; the same
# files and digests as torch-fidelity feature_extractor_clip.py MODEL_METADATA).
_CLIP_URL = "https://openaipublic.azureedge.net/clip/models/{0}/{1}.pt"
# name: (timm architecture, input size, embedding dims, file name, SHA-256)
CLIP = {
    "clip-vit-b32": ("vit_base_patch32_clip_quickgelu_224", 224, 512, "ViT-B-32",
                     "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"),
    "clip-vit-l14": ("vit_large_patch14_clip_quickgelu_224", 224, 768, "ViT-L-14",
                     "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836"),
    "clip-vit-l14-336": ("vit_large_patch14_clip_quickgelu_336", 336, 768, "ViT-L-14-336px",
                         "3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02"),
}


def _env_name(name: str) -> str:
    """The weights' environment variable (and, with ``_URL``, a mirror's), as $GENMETRICS_WEIGHTS for Inception."""
    return "GENMETRICS_" + name.upper().replace("-", "_") + "_WEIGHTS"  # GENMETRICS_DINOV2_VIT_L14_WEIGHTS


def dinov2_weights(name: str) -> WeightsSpec:
    hub = DINOV2[name][2]
    return WeightsSpec(f"the {name} weights", _DINOV2_URL.format(hub), f"{hub}_pretrain.pth", None,
                       _env_name(name), _env_name(name) + "_URL")


def clip_weights(name: str) -> WeightsSpec:
    file, digest = CLIP[name][3], CLIP[name][4]
    return WeightsSpec(f"the {name} weights", _CLIP_URL.format(digest, file), f"{file}.pt", digest,
                       _env_name(name), _env_name(name) + "_URL")


def require_timm(name: str):
    """timm, or a one-line error naming the extra to install."""
    try:
        import timm
    except ImportError:
        extra = "dinov2" if name.startswith("dinov2") else "clip"
        raise GenmetricsError(f"--extractor {name} needs timm: pip install 'genmetrics[{extra}]'") from None
    return timm


def read_checkpoint(path: Path) -> dict:
    """A state dict from a plain ``torch.save`` file or a TorchScript archive (OpenAI's CLIP files)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as first:
        try:
            state = torch.jit.load(str(path), map_location="cpu").state_dict()
        except Exception:
            raise GenmetricsError(f"{path}: cannot load the weights file ({str(first)[:200]})") from None
    if not isinstance(state, dict):
        raise GenmetricsError(f"{path}: expected a state dict, found a {type(state).__name__}")
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def dinov2_pos_embed(pos_embed: torch.Tensor, grid: int) -> torch.Tensor:
    """The reference's position embedding for a grid x grid input (dinov2 ``interpolate_pos_encoding``)."""
    n = pos_embed.shape[1] - 1
    side = int(math.sqrt(n))
    if n == grid * grid:
        return pos_embed
    if side * side != n:
        raise GenmetricsError(f"pos_embed has {n} patch positions, not a square number: not a DINOv2 checkpoint")
    dim = pos_embed.shape[-1]
    scale = (grid + DINOV2_INTERPOLATE_OFFSET) / side
    patches = pos_embed.float()[:, 1:].reshape(1, side, side, dim).permute(0, 3, 1, 2)
    patches = F.interpolate(patches, mode="bicubic", antialias=False, scale_factor=(scale, scale))
    patches = patches.permute(0, 2, 3, 1).reshape(1, grid * grid, dim)
    return torch.cat([pos_embed.float()[:, :1], patches], dim=1).to(pos_embed.dtype)


def _load(model, state: dict, path: Path, what: str) -> None:
    mismatch = state_dict_mismatch(model, state, what)
    if mismatch:
        raise GenmetricsError(f"{path} is not a {what} checkpoint in the official format: {mismatch}")
    model.load_state_dict(state)


def build_dinov2(name: str):
    """The ``build(device, path)`` of the extractor ``name`` (one of ``DINOV2``)."""
    def build(device: torch.device, path: Path):
        timm = require_timm(name)
        from timm.models.vision_transformer import checkpoint_filter_fn

        model = timm.create_model(DINOV2[name][0], pretrained=False, img_size=DINOV2_SIZE, num_classes=0)
        state = read_checkpoint(path)
        if "pos_embed" not in state or "cls_token" not in state:
            raise GenmetricsError(f"{path} is not a DINOv2 checkpoint (no pos_embed/cls_token); expected "
                                  f"facebookresearch's {DINOV2[name][2]}_pretrain.pth")
        state["pos_embed"] = dinov2_pos_embed(state["pos_embed"], DINOV2_SIZE // DINOV2_PATCH)
        _load(model, checkpoint_filter_fn(state, model), path, f"DINOv2 {name}")
        model = model.eval().to(device).requires_grad_(False)
        return lambda x: model(x)
    return build


def build_clip(name: str):
    """The ``build(device, path)`` of the extractor ``name`` (one of ``CLIP``): the image embeddings."""
    def build(device: torch.device, path: Path):
        timm = require_timm(name)
        from timm.models.vision_transformer import checkpoint_filter_fn

        arch, size, dims = CLIP[name][:3]
        model = timm.create_model(arch, pretrained=False, img_size=size, num_classes=dims)
        state = read_checkpoint(path)
        if "visual.proj" not in state:
            raise GenmetricsError(f"{path} is not a CLIP ViT checkpoint (no visual.proj); expected OpenAI's "
                                  f"{CLIP[name][3]}.pt")
        _load(model, checkpoint_filter_fn(state, model), path, f"CLIP {name}")
        model = model.eval().to(device).requires_grad_(False)
        return lambda x: model(x)
    return build
