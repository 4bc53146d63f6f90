"""``cyclegan``: Zhu, Park, Isola & Efros 2017, Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks.

Unpaired data (translation_data.py: domains A and B from disjoint digits). Two generators G: A -> B and
F: B -> A (ResNet generators, translation_nets.py) and two PatchGAN discriminators, D_B on domain B and D_A
on domain A. Losses:

- adversarial: least squares (Section 4, "Training details": LSGAN, Mao et al. 2017): D minimises
  (D(y) - 1)^2 + D(G(x))^2, halved as in the reference repo (junyanz/pytorch-CycleGAN-and-pix2pix
  ``cycle_gan_model.backward_D_basic``); G minimises (D(G(x)) - 1)^2;
- cycle consistency: lambda |F(G(x)) - x|_1 + lambda |G(F(y)) - y|_1, lambda = 10 (Section 4);
- identity: lambda_idt * lambda * (|G(y) - y|_1 + |F(x) - x|_1) with lambda_idt = 0.5 (Section 5.2 uses it
  for paintings -> photos; the reference repo's --lambda_identity 0.5 is relative to lambda, so 5 here).
  LynnHo/CycleGAN-Tensorflow-2 (train.py) weights it absolutely instead, --identity_loss_weight, default 0:
  its 0.5 would mean a tenth of ours;
- the discriminators see generated images through a history of the 50 latest (Section 4, after
  Shrivastava et al. 2017): once full, each new image replaces a random stored one half the time and the
  stored one is shown instead (the reference repo's ``ImagePool``). The history is saved in checkpoints
  and its draws come from the step's generator, so resumed runs equal uninterrupted ones.

Adam 2e-4, beta1 0.5, batch 1, 200 epochs: 100 at a constant rate, 100 decaying linearly to 0 (Section 4).
The loop updates D before G on each batch (the reference updates G first); D therefore sees the fakes of
the generators as they are before this step's G update.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .base import register
from .pix2pix import PIX2PIX_OPTIMIZER
from .translation import TranslationFamily, domains_of
from .translation_nets import Translator, init_normal, patch_layers_for, patchgan, resnet_generator

POOL_SIZE = 50  # Zhu et al. 2017, Section 4: "a history of 50 previously generated images"


def resnet_blocks(config) -> int:
    """6 residual blocks for 128 px and smaller images, 9 for 256 px (Zhu et al. 2017, Appendix 7.2)."""
    return config.g_blocks or (6 if config.image_size <= 128 else 9)


def two_discriminators(config) -> nn.ModuleDict:
    """D["d"] judges images of domain d."""
    layers = config.d_layers or patch_layers_for(config.image_size)
    return nn.ModuleDict({str(d): init_normal(patchgan(config.channels, config.d_width, layers), config.init_std)
                          for d in (0, 1)})


def query_pool(pool: torch.Tensor, images: torch.Tensor, size: int, gen: torch.Generator):
    """(images shown to D, the updated pool): the reference repo's ImagePool.query, drawing from ``gen``."""
    pool, shown = pool.to(images.device), []
    for image in images.detach():
        if len(pool) < size:
            pool = torch.cat([pool, image[None]])
            shown.append(image)
        elif torch.rand(1, generator=gen).item() > 0.5:
            index = int(torch.randint(size, (1,), generator=gen))
            shown.append(pool[index].clone())
            pool[index] = image
        else:
            shown.append(image)
    return torch.stack(shown), pool


def lsgan(output: torch.Tensor, target: float) -> torch.Tensor:
    return (output - target).pow(2).mean()


@register
class CycleGAN(TranslationFamily):
    name = "cyclegan"
    citation = "Zhu et al. 2017, Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks"
    translation = "unpaired"
    image_defaults = dict(PIX2PIX_OPTIMIZER, batch_size=1, epochs=200, g_width=64, d_width=64, cycle_lambda=10.0,
                          identity_lambda=0.5, pool_size=POOL_SIZE, init_std=0.02, sample_every=500)
    # Bundled digits (CPU-sized, not the paper's): 16-channel networks, 3 residual blocks, batch 16.
    digits_defaults = dict(epochs=None, steps=1500, batch_size=16, g_width=16, d_width=16, g_blocks=3,
                           sample_every=250, checkpoint_every=500)

    def build_generator(self, config):
        c, w, blocks = config.channels, config.g_width, resnet_blocks(config)
        nets = {"0to1": resnet_generator(c, c, w, blocks), "1to0": resnet_generator(c, c, w, blocks)}
        return init_normal(Translator(nets, c, config.image_size), config.init_std)

    def build_discriminator(self, config):
        return two_discriminators(config)

    def initial_state(self, config) -> dict:
        empty = torch.zeros(0, config.channels, config.image_size, config.image_size)
        return {"pool_0": empty, "pool_1": empty.clone()}

    def discriminator_loss(self, run, real, labels, gen):
        a, b = domains_of(real, run)
        with torch.no_grad():
            fakes = {1: run.G.translate(a, 0, 1), 0: run.G.translate(b, 1, 0)}
        loss, logs = 0.0, {}
        for d, real_d in ((0, a), (1, b)):
            shown, run.family_state[f"pool_{d}"] = query_pool(run.family_state[f"pool_{d}"], fakes[d],
                                                             run.config.pool_size, gen)
            part = 0.5 * (lsgan(run.D[str(d)](real_d), 1.0) + lsgan(run.D[str(d)](shown), 0.0))
            loss, logs[f"loss_d{d}"] = loss + part, part.item()
        return loss, logs

    def generator_loss(self, run, real, labels, gen):
        a, b = domains_of(real, run)
        cfg = run.config
        fake_b, fake_a = run.G.translate(a, 0, 1), run.G.translate(b, 1, 0)
        adversarial = lsgan(run.D["1"](fake_b), 1.0) + lsgan(run.D["0"](fake_a), 1.0)
        cycle = (run.G.translate(fake_b, 1, 0) - a).abs().mean() + (run.G.translate(fake_a, 0, 1) - b).abs().mean()
        loss = adversarial + cfg.cycle_lambda * cycle
        logs = {"loss_g": adversarial.item(), "cycle": cycle.item()}
        if cfg.identity_lambda:
            identity = (run.G.translate(b, 0, 1) - b).abs().mean() + (run.G.translate(a, 1, 0) - a).abs().mean()
            loss = loss + cfg.identity_lambda * cfg.cycle_lambda * identity
            logs["identity"] = identity.item()
        return loss, logs
