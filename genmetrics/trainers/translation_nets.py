"""The networks of the translation families, shared: U-Net and ResNet generators, the PatchGAN discriminator.

- ``UNet``: pix2pix's generator (Isola et al. 2017, Section 3.2.1 and Appendix 6.1.1): 4x4 stride-2
  convolutions down to 1x1 (C64-C128-C256-C512-...; LeakyReLU 0.2 in the encoder, no norm on the first
  and innermost layers), transposed convolutions back up with ReLU, dropout 0.5 in the first three
  decoder layers, and skip connections concatenating layer i with layer n - i; tanh output.
- ``encoder_decoder``: DiscoGAN's generator (Kim et al. 2017, Section 4: 4x4 convolutions with leaky ReLU
  down, 4x4 deconvolutions with ReLU up), laid out as its official code (SKTBrain/DiscoGAN model.py,
  ``Generator(extra_layers=False)``): down to a 4x4 map, not 1x1, batch norm on every layer but the first
  and the last, no biases.
- ``ResnetGenerator``: CycleGAN's (Zhu et al. 2017, Appendix 7.2; Johnson et al. 2016): c7s1-64, d128,
  d256, R256 x n, u128, u64, c7s1-3, reflection padding; 6 blocks for 128 px images, 9 for 256.
- ``PatchGAN``: C64-C128-C256-C512 of 4x4 convolutions, then a 1-channel map of real/fake scores per
  patch (Isola et al. 2017, Appendix 6.1.2). ``layers`` = 3 is the 70x70 PatchGAN; each layer fewer
  halves the patch: 2 is 34x34, 1 the paper's 16x16 PatchGAN (Table 3).

Normalisation is instance norm everywhere (Ulyanov et al. 2016; CycleGAN's default). pix2pix uses batch
norm with the test batch's statistics and batch size 1, which "has been termed instance normalization"
(Isola et al. 2017, Section 3.3): the same thing, and a generator whose output does not depend on the
rest of its batch. Weights are drawn from N(0, 0.02) (both papers; the reference repo's init_type normal,
init_gain 0.02). Dropout runs while training only (the paper also keeps it at test time as noise; we do
not, so that ``genmetrics translate`` is deterministic).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

LEAK = 0.2  # LeakyReLU slope of the encoders and discriminators: Isola et al. 2017, Appendix 6.1
DROPOUT = 0.5  # Isola et al. 2017, Appendix 6.1.1: "dropout rate of 50%" in the first 3 decoder layers
MAX_MULT = 8  # channel widths stop growing at 8 x width (512 for width 64): Isola et al. 2017, Appendix 6.1


def norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True)


def patch_layers_for(size: int) -> int:
    """PatchGAN depth for ``size`` px images: the deepest whose patch is at most half the image (the
    70x70 patch is about a quarter of the paper's 256 px images): up to 64 px -> 1 (16x16), 128 -> 2, 256+ -> 3."""
    layers = 1
    while layers < 3 and patch_size(layers + 1) <= size // 2:
        layers += 1
    return layers


def patch_size(layers: int) -> int:
    """The receptive field of a PatchGAN with ``layers`` stride-2 layers (1 -> 16, 2 -> 34, 3 -> 70)."""
    field = 1
    for stride in [1, 1] + [2] * layers:  # walked from the output back: two stride-1 4x4 convs, then the stride-2 ones
        field = field * stride + (4 - stride)
    return field


class UNet(nn.Module):
    """in_channels -> out_channels at the same size (a power of 2, at least 4), down to 1x1 and back."""

    def __init__(self, in_channels: int, out_channels: int, size: int, width: int):
        super().__init__()
        depth = int(math.log2(size))
        widths = [width * min(2 ** i, MAX_MULT) for i in range(depth)]
        self.down = nn.ModuleList()
        for i, ch in enumerate(widths):
            conv = nn.Conv2d(in_channels if i == 0 else widths[i - 1], ch, 4, 2, 1)
            self.down.append(conv if i in (0, depth - 1) else nn.Sequential(conv, norm(ch)))
        self.up = nn.ModuleList()
        for j in range(depth):
            i = depth - 1 - j  # the encoder layer this decoder layer mirrors
            fan_in = widths[i] * (2 if j > 0 else 1)
            if i == 0:
                self.up.append(nn.ConvTranspose2d(fan_in, out_channels, 4, 2, 1))
                continue
            layers = [nn.ConvTranspose2d(fan_in, widths[i - 1], 4, 2, 1), norm(widths[i - 1])]
            self.up.append(nn.Sequential(*layers, *([nn.Dropout(DROPOUT)] if j < 3 else [])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, layer in enumerate(self.down):
            x = layer(x if i == 0 else F.leaky_relu(x, LEAK))
            skips.append(x)
        for j, layer in enumerate(self.up):
            if j > 0:
                x = torch.cat([x, skips[-1 - j]], dim=1)
            x = layer(F.relu(x))
        return torch.tanh(x)


def encoder_decoder(in_channels: int, out_channels: int, size: int, width: int) -> nn.Sequential:
    """DiscoGAN's generator (module docstring): C64-C128-...-C(8 x 64) with stride 2 down to 4x4, the mirror
    image up with transposed convolutions; tanh output (pixels in [-1, 1]; the official code's sigmoid is
    for [0, 1])."""
    downs = int(math.log2(size)) - 2
    widths = [width * min(2 ** i, MAX_MULT) for i in range(downs)]
    layers, ch = [], in_channels
    for i, nxt in enumerate(widths):
        layers += [nn.Conv2d(ch, nxt, 4, 2, 1, bias=False), *([nn.BatchNorm2d(nxt)] if i else []), nn.LeakyReLU(LEAK)]
        ch = nxt
    for nxt in widths[-2::-1]:
        layers += [nn.ConvTranspose2d(ch, nxt, 4, 2, 1, bias=False), nn.BatchNorm2d(nxt), nn.ReLU()]
        ch = nxt
    return nn.Sequential(*layers, nn.ConvTranspose2d(ch, out_channels, 4, 2, 1, bias=False), nn.Tanh())


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm(channels), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), norm(channels))

    def forward(self, x):
        return x + self.body(x)


def resnet_generator(in_channels: int, out_channels: int, width: int, blocks: int, downsamplings: int = 2,
                     zero_padded_input: bool = False) -> nn.Sequential:
    """CycleGAN's ResNet generator (module docstring); StarGAN's is the same layout (Choi et al. 2018, Table 4)
    but for its first convolution, zero-padded (``zero_padded_input``, Table 4's P3) where CycleGAN reflects."""
    first = [nn.Conv2d(in_channels, width, 7, padding=3)] if zero_padded_input else [nn.ReflectionPad2d(3),
                                                                                      nn.Conv2d(in_channels, width, 7)]
    layers = [*first, norm(width), nn.ReLU()]
    ch = width
    for _ in range(downsamplings):
        layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1), norm(ch * 2), nn.ReLU()]
        ch *= 2
    layers += [ResidualBlock(ch) for _ in range(blocks)]
    for _ in range(downsamplings):
        layers += [nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1), norm(ch // 2), nn.ReLU()]
        ch //= 2
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_channels, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def patchgan(in_channels: int, width: int, layers: int, outputs: int = 1) -> nn.Sequential:
    """The PatchGAN body (module docstring): (N, in, H, W) -> (N, outputs, h, w) patch scores."""
    seq, ch = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(LEAK)], width
    for n in range(1, layers):
        nxt = width * min(2 ** n, MAX_MULT)
        seq += [nn.Conv2d(ch, nxt, 4, 2, 1), norm(nxt), nn.LeakyReLU(LEAK)]
        ch = nxt
    nxt = width * min(2 ** layers, MAX_MULT)
    seq += [nn.Conv2d(ch, nxt, 4, 1, 1), norm(nxt), nn.LeakyReLU(LEAK), nn.Conv2d(nxt, outputs, 4, 1, 1)]
    return nn.Sequential(*seq)


def init_normal(module: nn.Module, std: float = 0.02) -> nn.Module:
    """N(0, std) conv weights, zero biases, N(1, std) norm scales (the reference repo's init_weights)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.InstanceNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


class Translator(nn.Module):
    """The generator(s) of a translation run: ``nets[k]`` maps domain ``pairs[k][0]`` to ``pairs[k][1]``
    (one net for pix2pix, two for CycleGAN and DiscoGAN). ``translate(x, source, target)``."""

    def __init__(self, nets: dict[str, nn.Module], channels: int, image_size: int):
        super().__init__()
        self.nets = nn.ModuleDict(nets)
        self.channels, self.image_size, self.z_dim = channels, image_size, 0

    def translate(self, x: torch.Tensor, source: int, target: int) -> torch.Tensor:
        return self.nets[f"{source}to{target}"](x)

    def directions(self) -> list[tuple[int, int]]:
        return [tuple(int(p) for p in key.split("to")) for key in self.nets]
