"""``pix2pix``: Isola, Zhu, Zhou & Efros 2017, Image-to-Image Translation with Conditional Adversarial Networks.

Paired data (translation_data.py: image i of A and of B show the same source). G is a U-Net from A to B,
D a PatchGAN that judges (input, output) pairs: the input concatenated to the image along the channels
(Section 3.1, Eq. 1, conditional D). Losses (Eq. 4): G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G),
lambda = 100 (Section 4: "lambda = 100"), with the non-saturating generator loss; D's loss is halved
"to slow down the rate at which D learns relative to G" (Section 3.3). Adam 2e-4, beta1 0.5 (Section 3.3),
batch 1 (the reference repo's --batch_size default; Appendix 6.2 uses 1 to 10), 200 epochs with the learning
rate constant for the first 100 and decayed linearly to 0 over the last 100 (the reference repo's
--n_epochs 100 --n_epochs_decay 100), weights N(0, 0.02). Networks: translation_nets.py; the 70x70
PatchGAN of 256 px images is scaled to the image size there (16x16 patches at 32 px).
"""
from __future__ import annotations

import torch

from .base import bce_with_target, register
from .translation import TranslationFamily, domains_of
from .translation_nets import Translator, UNet, init_normal, patch_layers_for, patchgan

PIX2PIX_OPTIMIZER = dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, lr_decay="half-linear")


@register
class Pix2Pix(TranslationFamily):
    name = "pix2pix"
    citation = "Isola et al. 2017, Image-to-Image Translation with Conditional Adversarial Networks"
    translation = "paired"
    # ngf = ndf = 64: the reference repo's defaults (junyanz/pytorch-CycleGAN-and-pix2pix options).
    image_defaults = dict(PIX2PIX_OPTIMIZER, batch_size=1, epochs=200, g_width=64, d_width=64, l1_lambda=100.0,
                          init_std=0.02, sample_every=500)
    # Bundled digits (CPU-sized, not the paper's): 16-channel networks, batch 16, 1,500 steps (16 epochs).
    digits_defaults = dict(epochs=None, steps=1500, batch_size=16, g_width=16, d_width=16, sample_every=250,
                           checkpoint_every=500)

    def build_generator(self, config):
        c, size = config.channels, config.image_size
        return init_normal(Translator({"0to1": UNet(c, c, size, config.g_width)}, c, size), config.init_std)

    def build_discriminator(self, config):
        layers = config.d_layers or patch_layers_for(config.image_size)
        return init_normal(patchgan(2 * config.channels, config.d_width, layers), config.init_std)

    def discriminator_loss(self, run, real, labels, gen):
        a, b = domains_of(real, run)
        fake = run.G.translate(a, 0, 1).detach()
        loss = 0.5 * (bce_with_target(run.D(torch.cat([a, b], 1)), 1.0)
                      + bce_with_target(run.D(torch.cat([a, fake], 1)), 0.0))
        return loss, {"loss_d": loss.item()}

    def generator_loss(self, run, real, labels, gen):
        a, b = domains_of(real, run)
        fake = run.G.translate(a, 0, 1)
        adversarial = bce_with_target(run.D(torch.cat([a, fake], 1)), 1.0)
        l1 = (fake - b).abs().mean()
        loss = adversarial + run.config.l1_lambda * l1
        return loss, {"loss_g": adversarial.item(), "l1": l1.item()}
