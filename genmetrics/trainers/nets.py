"""The architectures, chosen per data kind in one place: ``build_generator`` / ``build_discriminator``.

- 2-D toy data: MLPs (all families).
- Images, ``arch="mlp"`` (the ``gan`` family): MLPs on flattened pixels, as Goodfellow et al. 2014.
- Images, ``arch="conv"``: DCGAN (Radford et al. 2015, Section 3): transposed convolutions up from a
  base x base map, batch norm, ReLU in G with tanh output; strided convolutions with LeakyReLU(0.2) in
  D, no batch norm on D's input layer nor on G's output layer. The depth follows the resolution:
  size = base * 2^k, halving while the base stays >= 4: 28 -> 7x7 base, 32 -> 4x4, 64 -> 4x4 and one
  more block.

Weights are initialised from N(0, 0.02) (Radford et al. 2015, Section 4; also PacGAN's
``weights_init_std``), batch-norm scales from N(1, 0.02) as pytorch/examples dcgan.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import lookup_family

LEAK = 0.2  # LeakyReLU slope: Radford et al. 2015, Section 3.


def conv_layout(size: int) -> tuple[int, int]:
    """(base, k) with size = base * 2^k: halve while the size is even and the half at least 4 (at least 2
    for networks of 8 px or less, e.g. the digits' native 8x8: 2x2 -> 4x4 -> 8x8)."""
    smallest = 2 if size <= 8 else 4
    base, k = size, 0
    while base % 2 == 0 and base // 2 >= smallest:
        base, k = base // 2, k + 1
    return base, k


class Maxout(nn.Module):
    """Linear map to ``width * pieces`` units, then the max over each unit's pieces (Goodfellow 2013)."""

    def __init__(self, fan_in: int, width: int, pieces: int):
        super().__init__()
        self.width, self.pieces = width, pieces
        self.linear = nn.Linear(fan_in, width * pieces)

    def forward(self, x):
        return self.linear(x).view(x.shape[0], self.width, self.pieces).amax(dim=2)


def _activation(name: str) -> nn.Module:
    return nn.ReLU() if name == "relu" else nn.LeakyReLU(LEAK)


def mlp(fan_in: int, width: int, depth: int, fan_out: int, *, batchnorm: bool = False,
        activation: str = "relu", pieces: int = 5) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units, then a linear output."""
    layers, size = [], fan_in
    for _ in range(depth):
        if activation == "maxout":
            layers.append(Maxout(size, width, pieces))
        else:
            layers += [nn.Linear(size, width, bias=not batchnorm)]
            layers += [nn.BatchNorm1d(width)] if batchnorm else []
            layers.append(_activation(activation))
        size = width
    layers.append(nn.Linear(size, fan_out))
    return nn.Sequential(*layers)


def conv_generator(fan_in: int, channels: int, size: int, width: int, batchnorm: bool) -> nn.Sequential:
    base, k = conv_layout(size)
    ch = width * 2 ** (k - 1)
    norm = (lambda c: nn.BatchNorm2d(c)) if batchnorm else (lambda c: nn.Identity())
    layers = [nn.Unflatten(1, (fan_in, 1, 1)), nn.ConvTranspose2d(fan_in, ch, base, 1, 0, bias=not batchnorm),
              norm(ch), nn.ReLU()]
    for _ in range(k - 1):
        layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=not batchnorm), norm(ch // 2), nn.ReLU()]
        ch //= 2
    layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1), nn.Tanh()]
    return nn.Sequential(*layers)


def conv_discriminator(channels: int, size: int, width: int, outputs: int, norm: str) -> nn.Sequential:
    base, k = conv_layout(size)
    layers, ch = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(LEAK)], width
    for _ in range(k - 1):
        layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm != "batch")]
        layers += [nn.BatchNorm2d(ch * 2)] if norm == "batch" else []
        layers.append(nn.LeakyReLU(LEAK))
        ch *= 2
    layers += [nn.Conv2d(ch, outputs, base, 1, 0), nn.Flatten()]
    return nn.Sequential(*layers)


class GeneratorNet(nn.Module):
    """z (N, z_dim) [+ labels (N,)] -> images (N, C, H, W) in [-1, 1] or points (N, 2).

    ``uniform_codes`` = u > 0 (infogan): the last u entries of z, N(0, 1), become Unif(-1, 1) codes
    c = erf(z / sqrt 2) = 2 Phi(z) - 1 before the network, so that sampling, truncation and batch-size
    independence stay those of plain Gaussian latents.

    With ``native`` = n (images only) the body makes n x n images, upsampled bilinearly to H x W as the
    training data were (data.py ``_resize``), so the output stays in [-1, 1].
    """

    def __init__(self, body: nn.Module, z_dim: int, num_classes: int | None, shape: tuple, native: int = 0,
                 uniform_codes: int = 0):
        super().__init__()
        self.body, self.z_dim, self.num_classes, self.shape = body, z_dim, num_classes, tuple(shape)
        self.native, self.uniform_codes = native, uniform_codes

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.uniform_codes:
            z = torch.cat([z[:, :-self.uniform_codes], uniform_codes(z, self.uniform_codes)], dim=1)
        if self.num_classes:
            if labels is None:
                raise ValueError("this generator is class-conditional: pass labels")
            z = torch.cat([z, F.one_hot(labels.long(), self.num_classes).to(z.dtype)], dim=1)
        if not self.native:
            return self.body(z).view(z.shape[0], *self.shape)
        small = self.body(z).view(z.shape[0], self.shape[0], self.native, self.native)
        return F.interpolate(small, size=self.shape[1:], mode="bilinear", align_corners=False)


def uniform_codes(z: torch.Tensor, u: int) -> torch.Tensor:
    """The Unif(-1, 1) codes carried by the last ``u`` Gaussian entries of z (see GeneratorNet)."""
    return torch.erf(z[:, -u:] / 2 ** 0.5)


class DiscriminatorNet(nn.Module):
    """x [+ labels] -> (N, outputs): column 0 the real/fake score, then class logits for ACGAN.

    With ``pack`` = m > 1 (PacGAN, Lin et al. 2018, Section 3) D scores groups of m consecutive samples,
    concatenated along the features (MLP) or channels (conv): (N, ...) -> (N / m, outputs).
    With ``condition_classes`` = K (cgan) D also sees the class: its one-hot vector is concatenated to the
    input, as K constant planes for a conv D (Mirza & Osindero 2014, Section 4.1: y is an input of D).

    With ``native`` = n, images are first averaged down to n x n (area resampling), the side the body
    was built for; the class planes are then n x n too.
    """

    def __init__(self, body: nn.Module, flatten: bool, pack: int = 1, native: int = 0, condition_classes: int = 0):
        super().__init__()
        self.body, self.flatten, self.pack, self.native = body, flatten, pack, native
        self.condition_classes = condition_classes

    def _input(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if self.native:
            x = F.adaptive_avg_pool2d(x, self.native)
        if self.pack > 1:
            x = x.reshape(x.shape[0] // self.pack, self.pack * x.shape[1], *x.shape[2:])
        if self.flatten:
            x = x.flatten(1)
        if self.condition_classes:
            if labels is None:
                raise ValueError("this discriminator is class-conditional: pass labels")
            y = F.one_hot(labels.long(), self.condition_classes).to(x.dtype)
            x = torch.cat([x, y.view(*y.shape, *([1] * (x.dim() - 2))).expand(-1, -1, *x.shape[2:])], dim=1)
        return x

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(self._input(x, labels))

    def features(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The activations before the output layer, (N, F): what feature matching compares (SGAN)."""
        head = 1 if self.flatten else 2  # mlp: the last Linear; conv: the last Conv2d and the Flatten
        return self.body[:-head](self._input(x, labels)).flatten(1)


def init_weights(module: nn.Module, std: float, keep=()) -> None:
    """N(0, std) weights, zero biases, N(1, std) batch-norm scales; PyTorch's defaults when std is 0, and for
    the modules in ``keep``."""
    if not std:
        return
    kept = {id(m) for m in keep}
    for m in module.modules():
        if id(m) in kept:
            continue
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def _uses_mlp(config) -> bool:
    return config.kind == "toy" or lookup_family(config.model).arch == "mlp"


def network_size(config) -> int | None:
    """The side the image networks are built for: ``native_size`` when set, else the image size."""
    return config.native_size or config.image_size


def build_generator(config) -> nn.Module:
    """The generator a TrainConfig describes: the family's own (``Family.build_generator``: aae, progan,
    the likelihood models, ...) or nets.py's."""
    own = lookup_family(config.model).build_generator(config)
    return default_generator(config) if own is None else own


def default_generator(config) -> GeneratorNet:
    """nets.py's generator for the data kind and the family's ``arch`` (at ``network_size``)."""
    classes = config.num_classes or 0
    fan_in = config.z_dim + classes
    shape = (2,) if config.kind == "toy" else (config.channels, config.image_size, config.image_size)
    side = network_size(config)
    if _uses_mlp(config):
        out = 2 if config.kind == "toy" else config.channels * side * side
        body = mlp(fan_in, config.g_width, config.g_depth, out, batchnorm=config.g_batchnorm, activation="relu")
        if config.kind == "image":
            body.append(nn.Tanh())
    else:
        body = conv_generator(fan_in, config.channels, side, config.g_width, config.g_batchnorm)
    native = config.native_size if config.kind == "image" else 0
    net = GeneratorNet(body, config.z_dim, config.num_classes, shape, native)
    init_weights(net, config.init_std)
    return net


def build_discriminator(config) -> nn.Module:
    """The discriminator a TrainConfig describes: the family's own (``Family.build_discriminator``) or
    nets.py's, with ``Family.discriminator_outputs`` columns (and the class as an input for a conditional D)."""
    family = lookup_family(config.model)
    own = family.build_discriminator(config)
    if own is not None:
        return own
    outputs = family.discriminator_outputs(config)
    condition = (config.num_classes or 0) if family.conditional_discriminator else 0
    side = network_size(config)
    native = config.native_size if config.kind == "image" else 0
    if _uses_mlp(config):
        fan_in = config.pack * (2 if config.kind == "toy" else config.channels * side ** 2)
        body = mlp(fan_in + condition, config.d_width, config.d_depth, outputs, batchnorm=config.d_norm == "batch",
                   activation=config.d_activation, pieces=config.maxout_pieces)
        net = DiscriminatorNet(body, flatten=True, pack=config.pack, native=native, condition_classes=condition)
    else:
        body = conv_discriminator(config.pack * config.channels + condition, side, config.d_width, outputs,
                                  config.d_norm)
        net = DiscriminatorNet(body, flatten=False, pack=config.pack, native=native, condition_classes=condition)
    init_weights(net, config.init_std)
    return net
