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
from .gan import TOY_SCHEDULE
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
    # 2-D mixtures: the toy gan's schedule (Adam 1e-3 decayed linearly to 0, beta1 0.5; PacGAN's batch 100)
    # with the paper's beta2 0.9, the penalty weight of the authors' toy script (lambda 0.1: "smaller lambda
    # seems to help for toy tasks", igul222/improved_wgan_training gan_toy.py) and one critic update a
    # step, measured with benchmarks/toy_modes.py (docs/trainers.md, rows in benchmarks/results/toy_modes/).
    # At the paper's settings ring8 seeds 0, 1 ended with 6 of 8 modes (26.3%, 35.4% high quality); with
    # these, seeds 0-9 end 8/8 at 95.6-97.6% (seed 0 with five critic updates: 98.3%, at 3.5 times the
    # cost; lambda 10 with one update: 1 mode). grid25 takes lambda 1 (presets.TUNED_DEFAULTS). The
    # paper's settings: --set lr_g=1e-4 --set lr_d=1e-4 --set beta1=0 --set lr_decay=none
    # --set gp_lambda=10 --set n_critic=5 --set batch_size=64.
    toy_defaults = dict(TOY_SCHEDULE, beta2=0.9, gp_lambda=0.1, n_critic=1, d_norm="none", clip_value=None)

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
