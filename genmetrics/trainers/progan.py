"""``progan``: Karras, Aila, Laine & Lehtinen 2018, Progressive Growing of GANs.

Both networks start at 4x4 and double their resolution phase by phase up to ``image_size`` (a power of
two times 4): each new resolution is first faded in (its layers blended with the upsampled output of the
previous one, weight alpha going 0 -> 1), then stabilised (Section 2, Figure 2). The level of detail is a
function of the step alone (``level_at``), held in a buffer of each network, so checkpoints, resuming and
sampling see the resolution the run had reached. G always outputs ``image_size`` images (the current
resolution upsampled, nearest), and D average-pools its input down to the current resolution, so the
sample grids, evaluation and ``genmetrics sample`` work unchanged. Real images are shown to D at the
current resolution, blended like G's output during a fade-in (``process_reals``; tkarras
progressive_growing_of_gans ``train.py`` process_reals).

With ``native_size`` = n (the digits: 8x8 images upsampled to 32x32; nets.py ``network_size``) the networks
grow from 4x4 to n x n only, as nets.py's networks work at n x n: G's current resolution is upsampled
(nearest) to n x n, then bilinearly to ``image_size`` as the data were (so every sample is an upsampled
n x n image, as nets.py GeneratorNet's are), and D area-averages its input to n x n first. Growing on to
32x32 would spend three of the run's seven phases learning the upsampling the data already carry.

Also: minibatch standard deviation (Section 3, group size 4), equalised learning rate (Section 4.1:
weights N(0, 1) scaled at run time by He's constant sqrt(2 / fan_in)), pixel-wise feature normalisation in
G (Section 4.2), the WGAN-GP loss with the drift term eps_drift E[D(x)^2], eps_drift = 0.001
(Appendix A.1), and samples from G's moving average (``g_ema`` 0.999; ema.py).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import GenmetricsError
from .base import Family, adversarial_output, register
from .nets import network_size
from .wgan_gp import gradient_penalty

LEAK = 0.2        # leaky ReLU slope (Appendix A.1)
GROUP = 4         # minibatch standard deviation group size (networks.py mbstd_group_size)
WIDTH_CAP = 8     # channels at most WIDTH_CAP x the full-resolution width (fmap_max analogue)


def levels(size: int) -> int:
    """Doublings from 4x4 to ``size``."""
    return int(round(math.log2(size // 4)))


def render(image: torch.Tensor, side: int, size: int) -> torch.Tensor:
    """An image at the current resolution as the networks' output: upsampled (nearest) to ``side`` (the
    networks' full side), then bilinearly to ``size`` when that differs (native size; nets.py GeneratorNet)."""
    if image.shape[-1] != side:
        image = F.interpolate(image, size=side, mode="nearest")
    if side != size:
        image = F.interpolate(image, size=size, mode="bilinear", align_corners=False)
    return image


def level_at(step: int, config) -> float:
    """The level of detail at ``step``: the integer part counts doublings done, the fraction is alpha of
    the fade-in under way. Phases: stabilise 4x4, then per doubling a fade-in and a stabilisation."""
    top = levels(network_size(config))
    phases = 2 * top + 1
    length = (config.phase_images / config.batch_size if config.phase_images
              else config.steps / phases)
    phase = int(step // max(length, 1e-9))
    if phase >= phases - 1:
        return float(top)
    done = (phase + 1) // 2
    return done - 1 + (step - phase * length) / length if phase % 2 else float(done)


def pixel_norm(x: torch.Tensor) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class EqualConv(nn.Module):
    """Conv (k > 0) or linear (k = 0) layer with N(0, 1) weights scaled by gain / sqrt(fan_in) per call."""

    def __init__(self, fan_in: int, fan_out: int, k: int, gain: float = math.sqrt(2)):
        super().__init__()
        shape = (fan_out, fan_in, k, k) if k else (fan_out, fan_in)
        self.weight = nn.Parameter(torch.randn(shape))
        self.bias = nn.Parameter(torch.zeros(fan_out))
        self.scale, self.k = gain / math.sqrt(fan_in * max(k, 1) ** 2), k

    def forward(self, x):
        if self.k:
            return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.k // 2)
        return F.linear(x, self.weight * self.scale, self.bias)


def widths(config, width: int) -> list[int]:
    top = levels(network_size(config))
    return [min(width * 2 ** (top - i), width * WIDTH_CAP) for i in range(top + 1)]


def lrelu(x):
    return F.leaky_relu(x, LEAK)


class ProGenerator(nn.Module):
    def __init__(self, config):
        super().__init__()
        ch = widths(config, config.g_width)
        self.z_dim, self.num_classes, self.size = config.z_dim, None, config.image_size
        self.side = network_size(config)
        self.shape = (config.channels, config.image_size, config.image_size)
        self.register_buffer("level", torch.zeros(()))
        self.dense = EqualConv(config.z_dim, ch[0] * 16, 0, gain=math.sqrt(2) / 4)  # networks.py G_paper
        self.first = EqualConv(ch[0], ch[0], 3)
        self.blocks = nn.ModuleList(nn.ModuleList([EqualConv(ch[i - 1], ch[i], 3), EqualConv(ch[i], ch[i], 3)])
                                    for i in range(1, len(ch)))
        self.to_rgb = nn.ModuleList(EqualConv(c, config.channels, 1, gain=1.0) for c in ch)

    def forward(self, z, labels=None):
        level = float(self.level)
        top, alpha = math.ceil(level), level - math.floor(level)
        x = pixel_norm(lrelu(self.dense(pixel_norm(z)).view(z.shape[0], -1, 4, 4)))
        x = pixel_norm(lrelu(self.first(x)))
        previous = None
        for i in range(1, top + 1):
            previous = x
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            for conv in self.blocks[i - 1]:
                x = pixel_norm(lrelu(conv(x)))
        image = self.to_rgb[top](x)
        if alpha and previous is not None:  # fade-in: blend with the previous resolution's output
            image = torch.lerp(F.interpolate(self.to_rgb[top - 1](previous), scale_factor=2), image, alpha)
        return render(image, self.side, self.size)


def minibatch_stddev(x: torch.Tensor) -> torch.Tensor:
    """Append the mean over features of the standard deviation within groups of GROUP samples."""
    group = next(g for g in range(min(GROUP, x.shape[0]), 0, -1) if x.shape[0] % g == 0)  # networks.py asserts
    y = x.view(group, -1, *x.shape[1:])
    std = (y - y.mean(0)).pow(2).mean(0).add(1e-8).sqrt().mean(dim=(1, 2, 3))  # one value per group
    return torch.cat([x, std.repeat(group).view(-1, 1, 1, 1).expand(-1, 1, *x.shape[2:])], dim=1)


class ProDiscriminator(nn.Module):
    def __init__(self, config):
        super().__init__()
        ch = widths(config, config.d_width)
        self.size, self.native = config.image_size, config.native_size
        self.register_buffer("level", torch.zeros(()))
        self.from_rgb = nn.ModuleList(EqualConv(config.channels, c, 1) for c in ch)
        self.blocks = nn.ModuleList(nn.ModuleList([EqualConv(ch[i], ch[i], 3), EqualConv(ch[i], ch[i - 1], 3)])
                                    for i in range(1, len(ch)))
        self.last = EqualConv(ch[0] + 1, ch[0], 3)
        self.dense = EqualConv(ch[0] * 16, ch[0], 0)
        self.out = EqualConv(ch[0], 1, 0, gain=1.0)

    def forward(self, x, labels=None):
        level = float(self.level)
        top, alpha = math.ceil(level), level - math.floor(level)
        x = F.adaptive_avg_pool2d(x, self.native) if self.native else x  # the area average, as nets.py's D
        x = F.adaptive_avg_pool2d(x, 4 * 2 ** top) if x.shape[-1] != 4 * 2 ** top else x
        h = lrelu(self.from_rgb[top](x))
        for i in range(top, 0, -1):
            for conv in self.blocks[i - 1]:
                h = lrelu(conv(h))
            h = F.avg_pool2d(h, 2)
            if i == top and alpha:  # fade-in: blend with the previous resolution's input layer
                h = torch.lerp(lrelu(self.from_rgb[top - 1](F.avg_pool2d(x, 2))), h, alpha)
        h = lrelu(self.last(minibatch_stddev(h)))
        return self.out(lrelu(self.dense(h.flatten(1))))


def process_reals(real: torch.Tensor, level: float, native: int = 0) -> torch.Tensor:
    """Real images as G makes them at ``level``: at the current resolution (average-pooled), blended
    with the previous resolution during a fade-in, rendered back to the full size as G's output is
    (``render``). At the networks' full side the reals are left as they are: G can match them there
    (with ``native`` they are, up to rounding, bilinear upsamplings of native-size images, as G's are)."""
    size, top = real.shape[-1], math.ceil(level)
    side, alpha = native or size, level - math.floor(level)
    resolution = 4 * 2 ** top
    x = real if resolution == side else render(F.adaptive_avg_pool2d(real, resolution), side, size)
    if alpha:
        previous = render(F.adaptive_avg_pool2d(real, resolution // 2), side, size)
        x = torch.lerp(previous, x, alpha)
    return x


@register
class ProGAN(Family):
    name = "progan"
    citation = "Karras, Aila, Laine & Lehtinen 2018, Progressive Growing of GANs"
    arch = "progan"
    data_kinds = ("image",)
    measures = "sliced Wasserstein distance (genmetrics eval --metrics swd)"
    # Appendix A.1: Adam lr 0.001, beta1 0, beta2 0.99; batch 16 (resolutions up to 128); latent 512;
    # WGAN-GP lambda 10, n_critic 1, eps_drift 0.001. phase_images: None spreads the run's steps evenly over
    # the 2 L + 1 phases (the paper shows 800k images per phase, far beyond a CPU run; set phase_images to
    # use a fixed number). Samples come from G's exponential moving average with decay 0.999 (Appendix A.1;
    # tkarras train.py train_progressive_gan G_smoothing = 0.999), with ema.py's warm-up for short runs.
    image_defaults = dict(optimizer="adam", lr_g=1e-3, lr_d=1e-3, beta1=0.0, beta2=0.99, batch_size=16,
                          z_dim=512, gp_lambda=10.0, drift=0.001, n_critic=1, phase_images=None,
                          g_batchnorm=False, d_norm="none", init_std=0.0, g_ema=0.999)

    def check(self, config):
        size = network_size(config)
        if size < 8 or 4 * 2 ** levels(size) != size:
            what = (f"--set native_size=8, 16, ... (or 0 for networks at the image size), got {size}"
                    if config.native_size else f"--image-size 8, 16, 32, 64, ... (got {size})")
            raise GenmetricsError(f"progan grows from 4x4 by doubling to the networks' side: use {what}")
        if config.gp_lambda is None or config.drift is None or config.pack != 1:
            raise GenmetricsError("progan needs gp_lambda and drift (--set gp_lambda=10 --set drift=0.001), pack 1")

    def build_generator(self, config):
        return ProGenerator(config)

    def build_discriminator(self, config):
        return ProDiscriminator(config)

    def before_step(self, run):
        level = level_at(run.step, run.config)
        run.G.level.fill_(level)
        run.D.level.fill_(level)

    def discriminator_loss(self, run, real, labels, gen):
        real = process_reals(real, float(run.D.level), run.config.native_size)
        fake = run.fake(real.shape[0], gen).detach()
        out_real = adversarial_output(run.D(real))
        gap = adversarial_output(run.D(fake)).mean() - out_real.mean()
        penalty = gradient_penalty(run, real, fake, gen)
        drift = out_real.pow(2).mean()
        loss = gap + run.config.gp_lambda * penalty + run.config.drift * drift
        return loss, {"loss_d": loss.item(), "wasserstein": -gap.item(), "gp": penalty.item(),
                      "level": float(run.D.level)}

    def generator_loss(self, run, real, labels, gen):
        loss = -adversarial_output(run.D(run.fake(real.shape[0], gen))).mean()
        return loss, {"loss_g": loss.item()}
