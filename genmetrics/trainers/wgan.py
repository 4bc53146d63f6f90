"""``wgan``: Arjovsky et al. 2017, Wasserstein critic with weight clipping (Algorithm 1)."""
from __future__ import annotations

import torch

from ..errors import GenmetricsError
from .base import Family, adversarial_output, register


def critic_gap(run, real, fake):
    """E[D(fake)] - E[D(real)]: the critic's loss, minus the Wasserstein estimate."""
    return adversarial_output(run.D(fake)).mean() - adversarial_output(run.D(real)).mean()


@register
class WGAN(Family):
    name = "wgan"
    citation = "Arjovsky, Chintala & Bottou 2017, Wasserstein GAN"
    arch = "conv"
    # Algorithm 1 defaults: alpha = 0.00005 (RMSProp), c = 0.01, m = 64, n_critic = 5. The critic keeps
    # DCGAN's batch norm (Section 4.3 trains DCGAN architectures); beta1/beta2 are unused by RMSProp.
    image_defaults = dict(optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, clip_value=0.01, batch_size=64,
                          n_critic=5, g_batchnorm=True, d_norm="batch")
    # 2-D mixtures: RMSprop, clipping 0.01 and five critic updates a step as the paper, at 2e-4 decayed
    # linearly to 0 (the toy gan's schedule) with PacGAN's batch 100, measured with benchmarks/toy_modes.py
    # (docs/trainers.md, rows in benchmarks/results/toy_modes/). At the paper's settings ring8 seeds 0, 1, 3
    # ended with 7, 8, 8 modes at 17.7%, 57.6%, 60.8% high quality; with these seeds 0-9 end 8/8 at
    # 79.0-94.6%, and grid25 seeds 0-9 with 22-25 of 25 modes at 17.0-82.4%. One critic update a step (a
    # third of the cost; seed 0 94.5% at 16,000 steps) left seed 3 without a mode after 16,000 steps. The
    # paper's settings: --set lr_g=5e-5 --set lr_d=5e-5 --set lr_decay=none --set batch_size=64.
    toy_defaults = dict(optimizer="rmsprop", lr_g=2e-4, lr_d=2e-4, lr_decay="linear", clip_value=0.01,
                        n_critic=5)

    def check(self, config):
        if not config.clip_value or config.clip_value <= 0:
            raise GenmetricsError("wgan needs a positive clip_value (--set clip_value=0.01)")

    def discriminator_loss(self, run, real, labels, gen):
        loss = critic_gap(run, real, run.fake(real.shape[0], gen).detach())
        return loss, {"loss_d": loss.item(), "wasserstein": -loss.item()}

    def generator_loss(self, run, real, labels, gen):
        loss = -adversarial_output(run.D(run.fake(real.shape[0], gen))).mean()
        return loss, {"loss_g": loss.item()}

    def after_discriminator_step(self, run):
        with torch.no_grad():
            for param in run.D.parameters():
                param.clamp_(-run.config.clip_value, run.config.clip_value)
