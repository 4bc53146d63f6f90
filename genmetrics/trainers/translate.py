"""Translating images with a trained translation run: the library form of ``genmetrics translate``.

``load_translator(run)`` returns a ``LoadedTranslator``: ``t(x, source, target)`` maps [-1, 1] NCHW
images of domain ``source`` into domain ``target``; ``translate_images(run, input, out)`` reads a folder,
.npz/.npy or bundled domain, brings it to the run's size and channels, translates it and writes the result.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from .translation_data import DOMAINS


class LoadedTranslator:
    """A trained translation run: ``t(x, target)`` -> images in [-1, 1]; ``domains`` names the domains."""

    def __init__(self, net, config, step: int, device):
        self.net, self.config, self.step, self.device = net.eval().to(device), config, step, device
        self.domains = [d.strip() for d in config.data.split(",")]

    def index(self, domain: str | int | None, default: int) -> int:
        if domain is None:
            return default
        if isinstance(domain, int) or str(domain).isdigit():
            index = int(domain)
        elif domain in self.domains:
            index = self.domains.index(domain)
        else:
            names = ", ".join(f"{i}: {d}" for i, d in enumerate(self.domains))
            raise GenmetricsError(f"--to {domain}: this run's domains are {names}")
        if not 0 <= index < len(self.domains):
            raise GenmetricsError(f"--to {domain}: this run has {len(self.domains)} domains (0..{len(self.domains) - 1})")
        return index

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, source: int = 0, target: int = 1,
                 batch_size: int = DEFAULTS.sample_batch_size) -> torch.Tensor:
        pairs = [tuple(p) for p in self.net.directions()]
        if (source, target) not in pairs:
            raise GenmetricsError(f"this {self.config.model} run translates "
                                  f"{', '.join(f'{self.domains[a]} -> {self.domains[b]}' for a, b in pairs)}, not "
                                  f"{self.domains[source]} -> {self.domains[target]}")
        parts = [self.net.translate(x[i:i + batch_size].to(self.device), source, target).float().cpu()
                 for i in range(0, len(x), batch_size)]
        return torch.cat(parts) if parts else x.clone()


def load_translator(path: str | Path, device: str = DEFAULTS.device) -> LoadedTranslator:
    """The translator of a run folder (best.pt, else latest.pt) or of a checkpoint file."""
    from ..device import resolve_device
    from .checkpoint import config_of, find_checkpoint, load_weights, read_checkpoint
    from .families import get_family
    from .nets import build_generator

    path = find_checkpoint(path)
    checkpoint = read_checkpoint(path)
    config = config_of(checkpoint, path)
    if not get_family(config.model).translation:
        raise GenmetricsError(f"{path}: a {config.model} run samples from noise; translate needs a translation run "
                              f"(pix2pix, cyclegan, discogan, stargan): use genmetrics sample")
    net = build_generator(config)
    load_weights(net, checkpoint["generator"], "generator", config, path)
    return LoadedTranslator(net, config, int(checkpoint["step"]), resolve_device(device))


def to_model_input(images: np.ndarray, translator: LoadedTranslator) -> torch.Tensor:
    """uint8 NHWC -> [-1, 1] NCHW at the run's size and channels (grey <-> RGB by replication / luma)."""
    import torch.nn.functional as F

    from ..features.digits import LUMA

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    channels, size = translator.config.channels, translator.config.image_size
    if x.shape[1] == 3 and channels == 1:
        x = (x * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
    elif x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=min(x.shape[-2:]) > size)
    return x / 127.5 - 1.0


def read_input_images(source: str | Path, split: str = "test", image_size: int = 32) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 NHWC images (and labels when known) of ``source``: a bundled domain name (its ``split``), or a
    folder / .npz / .npy of images."""
    if str(source) in DOMAINS:
        from .translation_data import domain_split

        images, labels = domain_split(str(source), split, image_size)
        return images.permute(0, 2, 3, 1).numpy(), labels.numpy()
    from ..inputs import IMAGES, open_input
    from ..metrics.scores import _pixels

    opened = open_input(source, (IMAGES,), "translate")
    labels = None
    if str(source).endswith(".npz"):
        with np.load(source) as data:
            labels = data["labels"] if "labels" in data.files else None
    return _pixels(opened, "input"), labels


def translate_images(run: str | Path, source, out: str | Path, *, to: str | int | None = None,
                     source_domain: str | int | None = None, split: str = "test", device: str = DEFAULTS.device,
                     force: bool = False) -> dict:
    """Translate the images of ``source`` (a folder, .npz, .npy or a bundled domain) with the run ``run`` from
    domain ``source_domain`` (default the first) to ``to`` (default the second); write them to ``out``."""
    from ..data.writers import check_new_folder, save_images, to_uint8_nhwc

    translator = load_translator(run, device)
    out = Path(out)
    check_new_folder(out, force)
    s = translator.index(source_domain, 0)
    t = translator.index(to, 1 if s == 0 else 0)
    images, labels = read_input_images(source, split, translator.config.image_size)
    outputs = translator(to_model_input(images, translator), s, t)
    fmt = save_images(out, to_uint8_nhwc(outputs), labels)
    return {"run": str(run), "input": str(source), "output": str(out), "n": len(outputs), "format": fmt,
            "from": translator.domains[s], "to": translator.domains[t], "step": translator.step,
            "model": translator.config.model}
