"""``wgan-gp``: Gulrajani et al. 2017, Wasserstein critic with a gradient penalty (Algorithm 1).

The interpolation factor epsilon ~ U[0, 1] is drawn once per sample and broadcast over its pixels
(Algorithm 1, line 4: "Sample ... a random number eps ~ U[0, 1]" per x); drawing it per pixel, as
PyTorch-GAN did (eriklindernoren/PyTorch-GAN#5), penalises gradients at points off the lines between
real and fake samples.
"""
from __future__ import annotations

import torch

from ..errors import GenmetricsError
from .base import adversarial_output, register
from .wgan import WGAN, critic_gap


def interpolation_factors(n: int, ndim: int, gen: torch.Generator, device) -> torch.Tensor:
    """One U[0, 1] factor per sample, shaped (n, 1, ...) to broadcast over the other ``ndim - 1`` axes."""
    return torch.rand(n, *([1] * (ndim - 1)), generator=gen).to(device)


def gradient_penalty(run, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """E[(|grad D(x_hat)|_2 - 1)^2] at x_hat = eps x + (1 - eps) x_fake (Gulrajani et al. 2017, Eq. 3)."""
    eps = interpolation_factors(real.shape[0], real.dim(), gen, real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    score = adversarial_output(run.D(x_hat))
    (grad,) = torch.autograd.grad(score.sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


@register
class WGANGP(WGAN):
    name = "wgan-gp"
    citation = "Gulrajani et al. 2017, Improved Training of Wasserstein GANs"
    # Algorithm 1 defaults: lambda = 10, n_critic = 5, Adam alpha = 0.0001, beta1 = 0, beta2 = 0.9; batch 64
    # (Section 4's experiments). No batch norm in the critic (Section 4, "No critic batch normalization").
    image_defaults = dict(optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9, gp_lambda=10.0,
                          n_critic=5, batch_size=64, g_batchnorm=True, d_norm="none", clip_value=None)
    toy_defaults = dict(optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9, gp_lambda=10.0,
                        n_critic=5, batch_size=64, d_norm="none", clip_value=None)

    def check(self, config):
        if config.gp_lambda is None or config.gp_lambda < 0:
            raise GenmetricsError("wgan-gp needs gp_lambda >= 0 (--set gp_lambda=10)")

    def discriminator_loss(self, run, real, labels, gen):
        fake = run.fake(real.shape[0], gen).detach()
        gap = critic_gap(run, real, fake)
        penalty = gradient_penalty(run, real, fake, gen)
        loss = gap + run.config.gp_lambda * penalty
        return loss, {"loss_d": loss.item(), "wasserstein": -gap.item(), "gp": penalty.item()}

    def after_discriminator_step(self, run):
        """No clipping: the penalty replaces it."""
