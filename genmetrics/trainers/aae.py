"""``aae``: the adversarial autoencoder of Makhzani et al. 2016 (ICLR workshop), a deterministic encoder
and decoder whose code distribution q(z) is matched to the prior p(z) = N(0, I) by a discriminator on
codes, in place of the VAE's KL term (Section 2).

Each step: the discriminator learns to tell prior draws (real) from codes of a data batch (fake); then
the encoder and decoder minimise the reconstruction loss plus the non-saturating adversarial loss of the
codes. The paper alternates a reconstruction phase and a regularisation phase with separate updates
(Section 2.1); summing their losses in one update is ours, so that the step fits the shared loop.
Reconstruction: binary cross-entropy of the decoder's sigmoid output (the decoder's "sigmoid output
layer", Appendix A). Samples are decoder outputs of prior draws, grey levels in [0, 1] as the paper
shows and scores with a Parzen window (its Table 1: 340 +- 2 nats on MNIST). The AAE has no tractable
likelihood: ``genmetrics nll`` refuses it; score its samples with ``genmetrics parzen``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import GenmetricsError
from .base import Family, bce_with_target, register


def relu_mlp(fan_in: int, width: int, depth: int, fan_out: int) -> nn.Sequential:
    layers, size = [], fan_in
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.ReLU()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, fan_out))


class AAENet(nn.Module):
    """Encoder x -> z and decoder z -> pixel logits; ``forward(z)`` decodes to images in [-1, 1]."""

    def __init__(self, shape, latent: int, width: int, depth: int):
        super().__init__()
        self.shape, self.z_dim = tuple(shape), latent
        dim = int(torch.tensor(shape).prod())
        self.encoder = relu_mlp(dim, width, depth, latent)
        self.decoder = relu_mlp(latent, width, depth, dim)

    def encode(self, real: torch.Tensor) -> torch.Tensor:
        return self.encoder(((real + 1) / 2).flatten(1))

    def forward(self, z, labels=None):
        return torch.sigmoid(self.decoder(z)).view(z.shape[0], *self.shape) * 2 - 1


@register
class AAE(Family):
    name = "aae"
    citation = "Makhzani, Shlens, Jaitly, Goodfellow & Frey 2016, Adversarial Autoencoders"
    data_kinds = ("image",)
    image_defaults = dict(
        # Two layers of 1000 ReLU units in encoder, decoder and discriminator (Appendix A) and an 8-d code
        # [verify: the paper's likelihood experiment]. Adam 2e-4, beta1 0.5 (Radford et al. 2015, Section 4)
        # in place of the paper's SGD with momentum 0.9 at rates 0.01 / 0.1; batch 100 (Appendix A).
        z_dim=8, g_width=1000, g_depth=2, d_width=1000, d_depth=2,
        optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, batch_size=100,
    )

    def check(self, config):
        if config.pack > 1 or config.num_classes or config.r1_gamma:
            raise GenmetricsError("aae: pack, r1_gamma and classes do not apply")

    def build_generator(self, config):
        return AAENet((config.channels, config.image_size, config.image_size), config.z_dim, config.g_width,
                      config.g_depth)

    def build_discriminator(self, config):
        return relu_mlp(config.z_dim, config.d_width, config.d_depth, 1)

    def discriminator_loss(self, run, real, labels, gen):
        codes = run.G.encode(real).detach()
        prior = torch.randn(codes.shape, generator=gen).to(codes.device)
        loss = bce_with_target(run.D(prior), 1.0) + bce_with_target(run.D(codes), 0.0)
        return loss, {"loss_d": loss.item()}

    def generator_loss(self, run, real, labels, gen):
        codes = run.G.encode(real)
        target = ((real + 1) / 2).flatten(1)
        reconstruction = F.binary_cross_entropy_with_logits(run.G.decoder(codes), target,
                                                            reduction="none").sum(1).mean()
        adversarial = bce_with_target(run.D(codes), 1.0)
        return reconstruction + adversarial, {"reconstruction": reconstruction.item(), "loss_g": adversarial.item()}
