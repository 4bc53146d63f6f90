"""What the likelihood models (vae, nade, pixelcnn) share: the family base, the network interface, and the
mapping between pixel levels, the loop's [-1, 1] floats and the sampling noise.

A ``LikelihoodNet`` models images whose pixels take ``levels`` values (2 for the ``-binary`` data sets,
256 for 8-bit images; binarize.py): ``log_prob(x)`` is the exact log-probability in nats of integer
images ``x`` (N, C, H, W) for the autoregressive models; the VAE gives bounds (vae.py). Samples are a
deterministic function of N(0, I) noise, so ``genmetrics sample``'s seeding (a sample depends on (seed, i)
only) holds for these models too: pixel d of an autoregressive model is the inverse CDF of its
conditional distribution at u_d = Phi(z_d), so ``z_dim`` is the number of pixels (plus a VAE's latent).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..errors import GenmetricsError
from .base import Family
from .binarize import pixel_levels


class NoDiscriminator(nn.Module):
    """The discriminator slot of a model trained by likelihood alone: no parameters, never called."""

    def forward(self, x):  # pragma: no cover - the loop does not call it (Family.adversarial is False)
        raise RuntimeError("a likelihood model has no discriminator")


def to_levels(real: torch.Tensor, levels: int) -> torch.Tensor:
    """The loop's floats in [-1, 1] -> integer pixel levels 0 .. levels - 1 (binary: pixel > 0)."""
    if levels == 2:
        return (real > 0).long()
    return ((real + 1) * 127.5).round().clamp(0, 255).long()


def from_levels(x: torch.Tensor, levels: int) -> torch.Tensor:
    """Integer pixel levels -> images in [-1, 1] (what every generator returns)."""
    return x.float() / (levels - 1) * 2 - 1


def inverse_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The level drawn at uniforms ``u`` (...) from categorical ``probs`` (..., L): the first level whose
    cumulative probability exceeds u."""
    cdf = probs.cumsum(-1)
    return (u.unsqueeze(-1) >= cdf[..., :-1]).sum(-1)


def uniforms(z: torch.Tensor) -> torch.Tensor:
    """N(0, 1) noise -> U(0, 1): the normal CDF Phi."""
    return torch.special.ndtr(z)


class LikelihoodNet(nn.Module):
    """Interface of a likelihood model's network: ``z_dim``, ``levels``, ``shape``, ``loss``, ``sample``."""

    exact = True  # log_prob is the exact log-likelihood (NADE, PixelCNN); False: bounds only (VAE)

    def __init__(self, shape: tuple[int, int, int], levels: int, z_dim: int):
        super().__init__()
        self.shape, self.levels, self.z_dim = tuple(shape), levels, z_dim
        self.dim = math.prod(self.shape)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """(N,) exact log p(x) in nats of integer images x (N, C, H, W)."""
        raise NotImplementedError

    def loss(self, x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, dict]:
        """(mean negative log-likelihood in nats per image, logs): the training objective."""
        loss = -self.log_prob(x).mean()
        return loss, {"nll": loss.item()}

    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Integer images (N, C, H, W) from noise z (N, z_dim)."""
        raise NotImplementedError

    @torch.no_grad()
    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return from_levels(self.sample(z), self.levels)


class LikelihoodFamily(Family):
    """A model trained by maximum likelihood (or its ELBO) on the shared loop: no discriminator."""

    adversarial = False
    data_kinds = ("image",)
    # Levels the family models: (2,) binary only, (2, 256) also 8-bit grey levels.
    supported_levels: tuple[int, ...] = (2,)

    def build_network(self, shape: tuple[int, int, int], levels: int, config) -> LikelihoodNet:
        raise NotImplementedError

    def build_generator(self, config):
        shape = (config.channels, config.image_size, config.image_size)
        return self.build_network(shape, pixel_levels(config.data), config)

    def build_discriminator(self, config):
        return NoDiscriminator()

    def check(self, config) -> None:
        levels = pixel_levels(config.data)
        if levels not in self.supported_levels:
            raise GenmetricsError(f"{self.name} models binary pixels: give --data digits-binary (or "
                                  f"mnist-binary, mnist-binary-dynamic, digits-binary-dynamic), not {config.data}")
        if config.pack > 1 or config.r1_gamma or config.num_classes:
            raise GenmetricsError(f"{self.name} has no discriminator: pack, r1_gamma and classes do not apply")

    def generator_loss(self, run, real, labels, gen):
        return run.G.loss(to_levels(real, run.G.levels), gen)
