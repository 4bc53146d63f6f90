"""``stargan``: Choi, Choi, Kim, Ha, Kim & Choo 2018, StarGAN: Unified Generative Adversarial Networks for
Multi-Domain Image-to-Image Translation.

Multi-domain data (translation_data.py ``multi``: K domains from disjoint digits). Each step every batch
row shows one image x of a domain c drawn from the step's generator, and a target domain c' drawn likewise
(the official code permutes the batch's labels; a draw also allows c' = c, as a permutation does). One
generator G(x, c'), the target's one-hot vector given as K constant planes beside the image (Section 3.1),
and one discriminator with two heads on a shared body: D_src, a PatchGAN map of realness, and D_cls, the
domain's logits (Section 3.1, Eq. 2-3). Losses (Eq. 5-8), with the WGAN-GP adversarial term (Eq. 8):

    L_D = -D_src(x) + D_src(G(x, c')) + lambda_gp (|grad D_src(x_hat)|_2 - 1)^2 + lambda_cls CE(D_cls(x), c)
    L_G = -D_src(G(x, c')) + lambda_cls CE(D_cls(G(x, c')), c') + lambda_rec |x - G(G(x, c'), c)|_1

lambda_cls = 1, lambda_rec = 10, lambda_gp = 10 (Section 4, "Training"), cross-entropy over the domains
(one domain per image, as their RaFD setting). Adam 1e-4, beta1 0.5, beta2 0.999, n_critic 5, batch 16,
the learning rate constant for the first half and decayed linearly to 0 over the second (Section 4: 200,000
iterations on CelebA, decay over the last 100,000; the official solver's num_iters / num_iters_decay).
Networks (Appendix, Table 4-5): G is CycleGAN's ResNet generator with 6 blocks and instance norm
(translation_nets.resnet_generator; its downsampling convolutions are 3x3 where StarGAN's are 4x4), its
first 7x7 convolution zero-padded as Table 4's (P3). The padding carries the target domain: the label's
planes are constant, so with CycleGAN's reflection padding their contribution to the first layer is a
constant per channel, which instance norm subtracts, and G(x, c') did not depend on c' (two targets'
outputs differed by 3e-6, float noise); with zeros the planes' edges survive the norm, as in the official
model.py;
D has stride-2 4x4 convolutions with LeakyReLU 0.01 and no normalisation down to size / 2^L, L = log2(size)
- 1 (6 at 128 px), then a 3x3 convolution for D_src and a (size / 2^L)-wide one for D_cls. Weights keep
PyTorch's default initialisation (``init_std=0``), as the official model.py, which initialises nothing.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import register
from .translation import TranslationFamily, domains_of
from .translation_nets import init_normal, resnet_generator
from .wgan_gp import gradient_penalty

STARGAN_LEAK = 0.01  # the official model.py's nn.LeakyReLU(0.01) in D
RESIDUAL_BLOCKS = 6  # Choi et al. 2018, Table 4


class StarGenerator(nn.Module):
    """G(x, target domain): the image with K one-hot planes -> an image of the target domain."""

    def __init__(self, channels: int, domains: int, width: int, blocks: int, image_size: int):
        super().__init__()
        self.net = resnet_generator(channels + domains, channels, width, blocks, zero_padded_input=True)
        self.domains, self.channels, self.image_size, self.z_dim = domains, channels, image_size, 0

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        planes = F.one_hot(target.long(), self.domains).to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.net(torch.cat([x, planes], dim=1))

    def translate(self, x: torch.Tensor, source: int, target: int) -> torch.Tensor:
        return self(x, torch.full((x.shape[0],), int(target), dtype=torch.long, device=x.device))

    def directions(self) -> list[tuple[int, int]]:
        return [(s, t) for s in range(self.domains) for t in range(self.domains) if s != t]


class StarDiscriminator(nn.Module):
    """x -> D_src patch map (N, 1, h, w); ``classify(x)`` -> domain logits (N, K)."""

    def __init__(self, channels: int, domains: int, width: int, image_size: int):
        super().__init__()
        layers, ch = int(math.log2(image_size)) - 1, channels
        body = []
        for i in range(layers):
            out = width * 2 ** i
            body += [nn.Conv2d(ch, out, 4, 2, 1), nn.LeakyReLU(STARGAN_LEAK)]
            ch = out
        self.body = nn.Sequential(*body)
        self.src = nn.Conv2d(ch, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(ch, domains, image_size // 2 ** layers, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.src(self.body(x))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.cls(self.body(x)).flatten(1)


def pick_domains(run, real: torch.Tensor, gen: torch.Generator):
    """(x, its domain c, a target domain c'): each row's image from a domain drawn from ``gen``."""
    stacked = torch.stack(domains_of(real, run), dim=1)  # (N, K, C, H, W)
    n, k = stacked.shape[:2]
    source = torch.randint(k, (n,), generator=gen).to(real.device)
    target = torch.randint(k, (n,), generator=gen).to(real.device)
    return stacked[torch.arange(n, device=real.device), source], source, target


@register
class StarGAN(TranslationFamily):
    name = "stargan"
    citation = "Choi et al. 2018, StarGAN: Unified Generative Adversarial Networks for Multi-Domain Translation"
    translation = "multi"
    # g_conv_dim = d_conv_dim = 64, batch 16, lr 1e-4, n_critic 5, beta1 0.5: the official main.py defaults.
    image_defaults = dict(optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.999, lr_decay="half-linear",
                          n_critic=5, batch_size=16, epochs=None, steps=200_000, g_width=64, d_width=64,
                          g_blocks=RESIDUAL_BLOCKS, cls_lambda=1.0, cycle_lambda=10.0, gp_lambda=10.0,
                          init_std=0.0, sample_every=1000)
    # Bundled digits (CPU-sized): 16-channel networks, 3 residual blocks, 1,500 generator steps.
    digits_defaults = dict(steps=1500, g_width=16, d_width=16, g_blocks=3, sample_every=250, checkpoint_every=500)

    def build_generator(self, config):
        k = len(config.data.split(","))
        net = StarGenerator(config.channels, k, config.g_width, config.g_blocks or RESIDUAL_BLOCKS, config.image_size)
        return init_normal(net, config.init_std) if config.init_std else net

    def build_discriminator(self, config):
        net = StarDiscriminator(config.channels, len(config.data.split(",")), config.d_width, config.image_size)
        return init_normal(net, config.init_std) if config.init_std else net

    def directions(self, run):
        return [(0, t) for t in range(1, len(run.data.sets))]  # the grid: domain 0 into every other

    def discriminator_loss(self, run, real, labels, gen):
        cfg = run.config
        x, source, target = pick_domains(run, real, gen)
        fake = run.G(x, target).detach()
        gap = run.D(fake).mean() - run.D(x).mean()
        classification = F.cross_entropy(run.D.classify(x), source)
        penalty = gradient_penalty(run, x, fake, gen)
        loss = gap + cfg.gp_lambda * penalty + cfg.cls_lambda * classification
        return loss, {"loss_d": loss.item(), "wasserstein": -gap.item(), "gp": penalty.item(),
                      "cls_real": classification.item()}

    def generator_loss(self, run, real, labels, gen):
        cfg = run.config
        x, source, target = pick_domains(run, real, gen)
        fake = run.G(x, target)
        adversarial = -run.D(fake).mean()
        classification = F.cross_entropy(run.D.classify(fake), target)
        reconstruction = (run.G(fake, source) - x).abs().mean()
        loss = adversarial + cfg.cls_lambda * classification + cfg.cycle_lambda * reconstruction
        return loss, {"loss_g": adversarial.item(), "cls_fake": classification.item(),
                      "reconstruction": reconstruction.item()}
