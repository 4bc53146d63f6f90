"""``discogan``: Kim, Cha, Kim, Lee & Kim 2017, Learning to Discover Cross-Domain Relations with Generative
Adversarial Networks.

Unpaired data, two generators G_AB and G_BA (encoder-decoders down to a 4x4 map with batch norm, as the
official code's: translation_nets.encoder_decoder) and two discriminators D_A, D_B (Section 4: "similar to
the encoder part of the generator" plus a 4x4 convolution to one sigmoid output: nets.py's DCGAN discriminator, batch norm, LeakyReLU 0.2).
Losses (Section 3.2, Eq. 5-6): L_G = L_GAN_B + L_CONST_A + L_GAN_A + L_CONST_B with equal weights, where
L_CONST_A = d(G_BA(G_AB(x_A)), x_A) and d the mean squared error (the official code's ``recon_criterion =
nn.MSELoss()``, SKTBrain/DiscoGAN image_translation.py) and L_GAN_B = -E log D_B(G_AB(x_A)); each D
minimises the cross-entropy of reals and fakes, halved as in the official code (``get_gan_loss``). Adam
2e-4, betas (0.5, 0.999), batch 64 (the official code's defaults).

Not reproduced from the official code (the paper does not describe them): its weight decay 1e-5, its
curriculum (reconstruction weighted 0.01 for 10,000 iterations, then 0.5), its feature-matching term
(0.9 of the GAN loss) and its updating D on one batch in three and G on the others.
"""
from __future__ import annotations

import torch.nn as nn

from .base import bce_with_target, register
from .nets import conv_discriminator
from .translation import TranslationFamily, domains_of
from .translation_nets import Translator, encoder_decoder, init_normal

DISCOGAN_OPTIMIZER = dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, lr_decay="none")


@register
class DiscoGAN(TranslationFamily):
    name = "discogan"
    citation = "Kim et al. 2017, Learning to Discover Cross-Domain Relations with Generative Adversarial Networks"
    translation = "unpaired"
    # 64 channels: the official model.py's first layer (64 * 1 ... 64 * 8).
    image_defaults = dict(DISCOGAN_OPTIMIZER, batch_size=64, epochs=200, g_width=64, d_width=64, init_std=0.02,
                          sample_every=500)
    # Bundled digits (CPU-sized): 16-channel networks, batch 16, 1,500 steps, as the other translation models.
    digits_defaults = dict(epochs=None, steps=1500, batch_size=16, g_width=16, d_width=16, sample_every=250,
                           checkpoint_every=500)

    def build_generator(self, config):
        c, size, w = config.channels, config.image_size, config.g_width
        nets = {"0to1": encoder_decoder(c, c, size, w), "1to0": encoder_decoder(c, c, size, w)}
        return init_normal(Translator(nets, c, size), config.init_std)

    def build_discriminator(self, config):
        return init_normal(nn.ModuleDict({str(d): conv_discriminator(config.channels, config.image_size,
                                                                     config.d_width, 1, "batch") for d in (0, 1)}),
                           config.init_std)

    def discriminator_loss(self, run, real, labels, gen):
        a, b = domains_of(real, run)
        fakes = {1: run.G.translate(a, 0, 1).detach(), 0: run.G.translate(b, 1, 0).detach()}
        loss, logs = 0.0, {}
        for d, real_d in ((0, a), (1, b)):
            part = 0.5 * (bce_with_target(run.D[str(d)](real_d), 1.0) + bce_with_target(run.D[str(d)](fakes[d]), 0.0))
            loss, logs[f"loss_d{d}"] = loss + part, part.item()
        return loss, logs

    def generator_loss(self, run, real, labels, gen):
        a, b = domains_of(real, run)
        ab, ba = run.G.translate(a, 0, 1), run.G.translate(b, 1, 0)
        adversarial = bce_with_target(run.D["1"](ab), 1.0) + bce_with_target(run.D["0"](ba), 1.0)
        reconstruction = ((run.G.translate(ab, 1, 0) - a).pow(2).mean() + (run.G.translate(ba, 0, 1) - b).pow(2).mean())
        return adversarial + reconstruction, {"loss_g": adversarial.item(), "reconstruction": reconstruction.item()}
