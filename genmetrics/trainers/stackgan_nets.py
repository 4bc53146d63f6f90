"""StackGAN's networks (Zhang et al. 2017, Section 3 and Figure 2), shaped as the official PyTorch code's
(hanzhanggit/StackGAN-Pytorch ``code/model.py``) and scaled by the image sizes.

- ``ConditioningAugmentation``: a linear layer maps the text embedding to (mu, log sigma^2) of
  ``condition_dim`` entries each; c = mu + sigma * eps, eps ~ N(0, I) (Section 3.2). The official code puts
  a ReLU on that layer's output (so log sigma^2 >= 0); we keep the paper's plain mapping, so that sigma can
  fall below 1 as the KL term allows. eps is part of the generator's input (below), never drawn inside.
- ``StageOneGenerator``: [z, c] -> fully connected to (width * 2^k) x 4 x 4 with batch norm and ReLU, then
  k up-blocks (nearest 2x upsampling, 3x3 convolution, batch norm, ReLU; channels halved each time) to the
  Stage-I size, then a 3x3 convolution and tanh (official STAGE1_G: 1024 channels at 4x4 to 64 at 64 px,
  which is width 64, k = 4).
- ``StageTwoGenerator``: the Stage-I image encoded by a 3x3 convolution (2 * width channels) and two
  stride-2 4x4 convolutions (channels doubled each; none below 8x8, so an 8 px Stage I is not downsampled),
  concatenated with its own c replicated spatially, a 3x3 joint convolution, ``blocks`` residual blocks (official R_NUM 2 in coco_s2.yml), then up-blocks to
  the final size and a 3x3 convolution with tanh (official STAGE2_G: 64 -> 16 -> 256 px).
- ``StageDiscriminator``: stride-2 4x4 convolutions with LeakyReLU 0.2 (batch norm but on the first)
  down to 4x4; channels double from ``width`` and, past 8 * width, 3x3 convolutions bring them back to
  8 * width (official STAGE2_D). The conditional head (D_GET_LOGITS) concatenates the text embedding
  compressed by D's own fully connected layer to ``condition_dim`` entries (with LeakyReLU 0.2) and
  replicated 4x4 (the paper, Section 3.3: D compresses the text embedding to N_d dimensions with a fully
  connected layer and replicates it spatially; the original TensorFlow code's ``context_embedding``), then 3x3 conv, batch norm, LeakyReLU and a 4x4 stride-4 convolution to one logit.
  The official PyTorch code gives D the generator's mu instead (see below for why not here). The
  unconditional head (Stage-II only, as the official STAGE2_D) is the 4x4 convolution alone. We return
  logits and use BCE with logits where the official code has a sigmoid and BCELoss: the same loss.

Weights: N(0, 0.02) for convolutions and linear layers, N(1, 0.02) batch-norm scales (official
``weights_init``), but the two layers that read the bag of words (conditioning augmentation's and D's
context) keep PyTorch's default, uniform +-1/sqrt(fan_in): a bag of words has 3 to 6 ones among 19
entries, so with N(0, 0.02) mu starts near 0.04 against eps's unit noise.

Why these two departures (measured on the captioned digits, docs/trainers.md): with the official choices
(D conditioned on G's mu, N(0, 0.02) everywhere), Stage I at 16 px learned the inversion (0.98) but not the
class (accuracy 0.10 after 1,500 steps at lr 2e-4, 0.11 after 2,000 at 5e-4; in mu the digit words'
weights were a tenth of "inverted"'s): D could judge a caption only by what G's conditioning already
encoded. With both departures (and Stage I at the digits' 8 px) Stage I reached 0.20 in 1,500 steps; the
changes were measured together, not one at a time. Stage II's encoder stops at 8x8 (the official one
halves 64 px twice, to 16x16): with an 8 px Stage I encoded down to 4x4, 500 Stage-II steps collapsed to
one image per inversion (thickness accuracy 0.51); kept at 8x8, the samples stayed varied (0.73).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .nets import init_weights

LEAK = 0.2  # official model.py: nn.LeakyReLU(0.2) in both discriminators
STAGE2_DOWNSAMPLINGS = 2  # official STAGE2_G encoder: 64 px -> 16 px, two stride-2 convolutions


def conv3x3(fan_in: int, fan_out: int) -> nn.Conv2d:
    return nn.Conv2d(fan_in, fan_out, 3, 1, 1, bias=False)


def up_block(fan_in: int, fan_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv3x3(fan_in, fan_out),
                         nn.BatchNorm2d(fan_out), nn.ReLU())


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv3x3(channels, channels), nn.BatchNorm2d(channels), nn.ReLU(),
                                  conv3x3(channels, channels), nn.BatchNorm2d(channels))

    def forward(self, x):
        return F.relu(x + self.body(x))


class ConditioningAugmentation(nn.Module):
    def __init__(self, text_dim: int, condition_dim: int):
        super().__init__()
        self.fc = nn.Linear(text_dim, 2 * condition_dim)

    def forward(self, embedding: torch.Tensor, eps: torch.Tensor):
        """(c, mu, logvar) for the embeddings (N, text_dim) and standard normal eps (N, condition_dim)."""
        mu, logvar = self.fc(embedding).chunk(2, dim=1)
        return mu + torch.exp(0.5 * logvar) * eps, mu, logvar


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) = -0.5 (1 + log sigma^2 - mu^2 - sigma^2), averaged over every entry
    (batch and dimensions), as the official ``KL_loss`` (miscc/utils.py) takes ``torch.mean``."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean()


def _steps(small: int, large: int) -> int:
    return int(round(math.log2(large / small)))


class StageOneGenerator(nn.Module):
    def __init__(self, z_dim, text_dim, condition_dim, width, size, channels):
        super().__init__()
        ups = _steps(4, size)
        top = width * 2 ** ups
        self.ca = ConditioningAugmentation(text_dim, condition_dim)
        self.fc = nn.Sequential(nn.Linear(z_dim + condition_dim, top * 16, bias=False), nn.BatchNorm1d(top * 16),
                                nn.ReLU())
        self.up = nn.Sequential(*[up_block(top // 2 ** i, top // 2 ** (i + 1)) for i in range(ups)])
        self.img = nn.Sequential(conv3x3(width, channels), nn.Tanh())
        self.top = top

    def forward(self, z, embedding, eps):
        c, mu, logvar = self.ca(embedding, eps)
        h = self.fc(torch.cat([z, c], dim=1)).view(-1, self.top, 4, 4)
        return self.img(self.up(h)), mu, logvar


class StageTwoGenerator(nn.Module):
    def __init__(self, text_dim, condition_dim, width, in_size, out_size, channels, blocks):
        super().__init__()
        ch, layers = 2 * width, [conv3x3(channels, 2 * width), nn.ReLU()]
        downs = min(STAGE2_DOWNSAMPLINGS, _steps(8, in_size))  # not below 8x8 (module docstring)
        for _ in range(downs):
            layers += [nn.Conv2d(ch, 2 * ch, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ch), nn.ReLU()]
            ch *= 2
        self.encoder = nn.Sequential(*layers)
        self.ca = ConditioningAugmentation(text_dim, condition_dim)
        self.joint = nn.Sequential(conv3x3(ch + condition_dim, ch), nn.BatchNorm2d(ch), nn.ReLU())
        self.residual = nn.Sequential(*[ResidualBlock(ch) for _ in range(blocks)])
        ups = downs + _steps(in_size, out_size)
        self.up = nn.Sequential(*[up_block(max(1, ch // 2 ** i), max(1, ch // 2 ** (i + 1))) for i in range(ups)])
        self.img = nn.Sequential(conv3x3(max(1, ch // 2 ** ups), channels), nn.Tanh())

    def forward(self, low, embedding, eps):
        c, mu, logvar = self.ca(embedding, eps)
        h = self.encoder(low)
        h = self.joint(torch.cat([h, c[:, :, None, None].expand(-1, -1, *h.shape[2:])], dim=1))
        return self.img(self.up(self.residual(h))), mu, logvar


class StageDiscriminator(nn.Module):
    """``forward(x)`` -> 4x4 features; ``conditional(features, embedding)`` and ``unconditional(features)``
    -> logits (N,)."""

    def __init__(self, channels, size, width, text_dim, condition_dim, unconditional: bool):
        super().__init__()
        self.context = nn.Sequential(nn.Linear(text_dim, condition_dim), nn.LeakyReLU(LEAK))
        layers, ch = [nn.Conv2d(channels, width, 4, 2, 1, bias=False), nn.LeakyReLU(LEAK)], width
        for _ in range(_steps(4, size) - 1):
            layers += [nn.Conv2d(ch, 2 * ch, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ch), nn.LeakyReLU(LEAK)]
            ch *= 2
        while ch > 8 * width:
            layers += [conv3x3(ch, ch // 2), nn.BatchNorm2d(ch // 2), nn.LeakyReLU(LEAK)]
            ch //= 2
        self.encoder = nn.Sequential(*layers)
        self.cond = nn.Sequential(conv3x3(ch + condition_dim, ch), nn.BatchNorm2d(ch), nn.LeakyReLU(LEAK),
                                  nn.Conv2d(ch, 1, 4, 4))
        self.uncond = nn.Conv2d(ch, 1, 4, 4) if unconditional else None

    def forward(self, x):
        return self.encoder(x)

    def conditional(self, features, embedding):
        condition = self.context(embedding.to(features))
        replicated = condition[:, :, None, None].expand(-1, -1, *features.shape[2:])
        return self.cond(torch.cat([features, replicated], dim=1)).flatten()

    def unconditional(self, features):
        return self.uncond(features).flatten()


class StackGenerator(nn.Module):
    """Both stages. Input noise (N, z_dim + 2 * condition_dim) = [z, eps of Stage-I's CA, eps of Stage-II's],
    so that every random draw of a sample comes from its noise row (generator.py samples any batch the same);
    ``forward(noise, embedding)`` -> the final image; ``stage_one`` / ``stage_two`` for training."""

    captioned = True  # generator.py: sampled with captions (bag-of-words embeddings, captions.py)

    def __init__(self, z_dim, text_dim, condition_dim, width, stage1_size, size, channels, blocks):
        super().__init__()
        self.stage1 = StageOneGenerator(z_dim, text_dim, condition_dim, width, stage1_size, channels)
        self.stage2 = StageTwoGenerator(text_dim, condition_dim, width, stage1_size, size, channels, blocks)
        self.noise_dims = (z_dim, condition_dim, condition_dim)
        self.z_dim, self.text_dim, self.stage1_size, self.image_size = sum(self.noise_dims), text_dim, stage1_size, size
        # The stage being trained (1, then 2 from the step Stage II starts; saved with the weights): a run stopped
        # during Stage I samples Stage-I images, since Stage II is still untrained.
        self.register_buffer("stage", torch.tensor(1))

    def split(self, noise):
        return noise.split(self.noise_dims, dim=1)

    def stage_one(self, noise, embedding):
        z, eps1, _ = self.split(noise)
        return self.stage1(z, embedding.to(noise), eps1)

    def stage_two(self, noise, embedding, low):
        return self.stage2(low, embedding.to(noise), self.split(noise)[2])

    def forward(self, noise, embedding, stages: int | None = None):
        low = self.stage_one(noise, embedding)[0]
        if (stages or int(self.stage)) == 1:  # Stage-I's image brought to the final size (nearest), for grids during Stage I
            return F.interpolate(low, size=self.image_size, mode="nearest")
        return self.stage_two(noise, embedding, low)[0]


class StackDiscriminator(nn.Module):
    def __init__(self, channels, stage1_size, size, width, text_dim, condition_dim):
        super().__init__()
        self.stage1 = StageDiscriminator(channels, stage1_size, width, text_dim, condition_dim, unconditional=False)
        self.stage2 = StageDiscriminator(channels, size, width, text_dim, condition_dim, unconditional=True)


def init_stackgan(module: nn.Module, std: float = 0.02) -> nn.Module:
    """The official ``weights_init`` (N(0, std) conv/linear weights, zero biases, N(1, std) BN scales) but for
    the layers that read the bag of words, which keep PyTorch's default (module docstring)."""
    readers = [m.fc for m in module.modules() if isinstance(m, ConditioningAugmentation)]
    readers += [m.context[0] for m in module.modules() if isinstance(m, StageDiscriminator)]
    init_weights(module, std, keep=readers)
    return module
