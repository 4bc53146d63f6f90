"""A trained generator as a plain callable, and deterministic sampling from it.

Sample i's latent vector (and class) is row i % 1000 of chunk i // 1000, and chunk c is drawn from a
generator seeded by (seed, c): the same seed gives the same samples whatever the batch size, and the
first n samples of a larger draw are the n samples of a smaller one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .._io import atomic_write
from ..data.writers import check_new_folder, save_images, save_png, to_uint8_nhwc  # noqa: F401 (re-exported)
from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from ..device import resolve_device
from .checkpoint import config_of, find_checkpoint, load_weights, read_checkpoint
from .config import TrainConfig
from .seeding import SAMPLE, derive_generator

NOISE_CHUNK = 1000


def truncate_(z: torch.Tensor, truncation: float, gen: torch.Generator) -> torch.Tensor:
    """Redraw every entry with |z| > truncation from N(0, 1) until none is left (truncated normal)."""
    if not truncation > 0:
        raise GenmetricsError(f"--truncation must be positive, got {truncation}")
    outside = z.abs() > truncation
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=gen)
        outside = z.abs() > truncation
    return z


def sample_noise(n: int, z_dim: int, seed: int = DEFAULTS.sample_seed, *, truncation: float | None = None,
                 num_classes: int | None = None, start: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(z (n, z_dim), classes (n,) or None): the N(0, I) latents of samples start .. start + n - 1, drawn
    in fixed chunks so that they do not depend on batching or on which process draws them."""
    zs, labels = [], []
    first, last = start // NOISE_CHUNK, (start + n + NOISE_CHUNK - 1) // NOISE_CHUNK
    for chunk in range(first, last):
        gen = derive_generator(seed, SAMPLE, chunk)
        z = torch.randn(NOISE_CHUNK, z_dim, generator=gen)
        if truncation is not None:
            truncate_(z, truncation, gen)
        zs.append(z)
        if num_classes:
            labels.append(torch.randint(num_classes, (NOISE_CHUNK,), generator=gen))
    offset = start - first * NOISE_CHUNK
    z = torch.cat(zs)[offset:offset + n] if zs else torch.zeros(0, z_dim)
    return z, (torch.cat(labels)[offset:offset + n] if labels else None)


class LoadedGenerator:
    """A trained generator: ``g(z)`` -> images in [-1, 1] (N, C, H, W), or points (N, 2) for toy data.

    Attributes: ``z_dim``, ``num_classes`` (acgan, cgan; infogan's categorical code; else None), ``kind`` ("image" or "toy"),
    ``image_size``, ``channels``, ``config`` (TrainConfig), ``step``, ``device``.
    """

    def __init__(self, net: torch.nn.Module, config: TrainConfig, step: int, device: torch.device):
        self.net, self.config, self.step, self.device = net.eval().to(device), config, step, device
        # The noise width of one sample: config.z_dim for GANs; a likelihood model's net says its own (a VAE's
        # latent plus one uniform per pixel, an autoregressive model's one per pixel: likelihood.py).
        self.z_dim, self.num_classes, self.kind = getattr(net, "z_dim", config.z_dim), config.num_classes, config.kind
        self.image_size, self.channels = config.image_size, config.channels

    def __repr__(self):
        return (f"LoadedGenerator({self.config.model} on {self.config.data}, step {self.step}, "
                f"z_dim={self.z_dim}, num_classes={self.num_classes})")

    def to(self, device) -> "LoadedGenerator":
        self.device = resolve_device(device)
        self.net.to(self.device)
        return self

    @torch.no_grad()
    def __call__(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Generate from ``z`` (N, z_dim); ``labels`` (N,) for acgan/cgan/infogan (default: 0, 1, ..., K-1, 0, ...)."""
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise GenmetricsError(f"z must have shape (N, {self.z_dim}), got {tuple(z.shape)}")
        if self.num_classes:
            if labels is None:
                labels = torch.arange(z.shape[0]) % self.num_classes
            labels = torch.as_tensor(labels, dtype=torch.long)
            if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise GenmetricsError(f"classes must be in 0..{self.num_classes - 1}")
            labels = labels.to(self.device)
        return self.net(z.to(self.device), labels).float().cpu()

    def sample(self, n: int, seed: int = DEFAULTS.sample_seed, *, batch_size: int = DEFAULTS.sample_batch_size, truncation: float | None = None,
               class_index: int | None = None, start: int = 0, code: str | None = None, caption: str | None = None
               ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Samples ``start`` .. ``start + n - 1`` (on the CPU) and their classes; deterministic in ``seed``
        whatever ``batch_size``, and sample i is the same whichever slice asks for it. ``code``: InfoGAN's
        codes fixed, ``"C,V1,V2"`` (``*`` for a random entry; see infogan.parse_code). ``caption``: a
        text-to-image model's caption (stackgan, captions.py; without one each sample's caption is drawn)."""
        if n < 0 or batch_size < 1 or start < 0:
            raise GenmetricsError("-n and --batch-size must be at least 1")
        if class_index is not None and not self.num_classes:
            raise GenmetricsError(f"--class needs a class-conditional model (acgan, cgan) or infogan; this is {self.config.model}")
        captioned = getattr(self.net, "captioned", False)
        if caption is not None and not captioned:
            raise GenmetricsError(f"--caption needs a text-to-image model (stackgan); {self.config.model} does not "
                                  f"read captions")
        if captioned:  # text to image: the net reads caption embeddings; the labels returned are their digits
            from .captions import CAPTION_COMBOS, caption_condition

            if code is not None:
                raise GenmetricsError(f"--code fixes infogan's codes; {self.config.model} takes --caption")
            z, drawn = sample_noise(n, self.z_dim, seed, truncation=truncation, num_classes=CAPTION_COMBOS,
                                    start=start)
            labels, embeddings = caption_condition(caption, drawn)
            parts = [self(z[i:i + batch_size], embeddings[i:i + batch_size]) for i in range(0, n, batch_size)]
            return (torch.cat(parts) if parts else self(z, embeddings)), labels
        z, labels = sample_noise(n, self.z_dim, seed, truncation=truncation, num_classes=self.num_classes,
                                 start=start)
        if class_index is not None:
            labels = torch.full((n,), int(class_index), dtype=torch.long)
        if code is not None:
            from .infogan import fix_codes_, parse_code

            category, values = parse_code(code, self.config)
            if category is not None:
                labels = torch.full((n,), category, dtype=torch.long)
            fix_codes_(z, values)
        parts = [self(z[i:i + batch_size], None if labels is None else labels[i:i + batch_size])
                 for i in range(0, n, batch_size)]
        return (torch.cat(parts) if parts else self(z)), labels


def load_generator(path: str | Path, device: str = DEFAULTS.device) -> LoadedGenerator:
    """The generator of a run folder (its ``checkpoints/best.pt``, else ``latest.pt``) or of a checkpoint: its
    moving average when the run kept one (``g_ema``, ema.py), else the trained weights."""
    from .nets import build_generator

    from .base import lookup_family

    path = find_checkpoint(path)
    checkpoint = read_checkpoint(path)
    config = config_of(checkpoint, path)
    if lookup_family(config.model).translation:
        raise GenmetricsError(f"{path}: a {config.model} run translates images rather than sampling from noise: "
                              f"use genmetrics translate RUN INPUT -o OUT (or translate.load_translator)")
    net = build_generator(config)
    part = "generator_ema" if "generator_ema" in checkpoint else "generator"  # the moving average (ema.py)
    load_weights(net, checkpoint[part], part, config, path)
    return LoadedGenerator(net, config, int(checkpoint["step"]), resolve_device(device))


def write_samples(generator: LoadedGenerator, n: int, out: str | Path, *, seed: int = DEFAULTS.sample_seed,
                  batch_size: int = DEFAULTS.sample_batch_size,
                  truncation: float | None = None, class_index: int | None = None, force: bool = False,
                  code: str | None = None, caption: str | None = None) -> dict:
    """Write ``n`` samples to ``out``: a folder of PNGs or a .npz/.npy (uint8 NHWC) for images; a .npy float
    (N, 2) for toy data. Returns a summary (output, n, format, seed, ...). An existing file is replaced only
    with ``force``; a folder must be new or empty.

    Under torchrun each rank draws a contiguous share of the sample indices (whole batches); rank r writes
    its own PNGs, or its rows are gathered to rank 0 for one array file. Sample i is the same whatever the
    world size, so the output is too."""
    from .. import distributed

    out = Path(out)
    suffix = out.suffix.lower()
    if n < 1:
        raise GenmetricsError(f"-n must be at least 1, got {n}")
    if generator.kind == "toy" and suffix != ".npy":
        raise GenmetricsError(f"-o {out}: toy models write points; give a .npy file")
    png = generator.kind == "image" and suffix not in (".npz", ".npy")
    check_new_folder(out, force)  # before sampling: an output that cannot be written fails now
    distributed.barrier()  # every rank has checked the output before any rank writes into it
    share = distributed.shard(n, batch_size)
    samples, labels = generator.sample(len(share), seed, batch_size=batch_size, truncation=truncation,
                                       class_index=class_index, start=share.start, code=code, caption=caption)
    if generator.kind == "toy":
        points = distributed.gather_array(samples.numpy().astype(np.float32))
        if distributed.is_main():
            with atomic_write(out) as handle:
                np.save(handle, points)
        fmt = "npy float32 (N, 2)"
    elif png:
        fmt = save_images(out, to_uint8_nhwc(samples), first=share.start)  # each rank its own files
        distributed.barrier()  # the command returns once every rank's files are written
    else:
        images = distributed.gather_array(to_uint8_nhwc(samples))
        labels = None if labels is None else distributed.gather_array(labels.numpy())
        fmt = save_images(out, images, labels) if distributed.is_main() else f"{suffix[1:]} uint8 NHWC"
    return {"output": str(out), "n": n, "format": fmt, "seed": seed, "truncation": truncation,
            "class": class_index, **({"code": code} if code is not None else {}),
            **({"caption": caption} if caption is not None else {}), "model": generator.config.model, "data": generator.config.data,
            "step": generator.step}
