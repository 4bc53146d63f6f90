"""The autoencoder discriminator of EBGAN and BEGAN: x -> embedding -> reconstruction of x.

Images: the encoder is nets.py's DCGAN discriminator with an ``ae_code``-dimensional output (the
embedding), the decoder nets.py's DCGAN generator from that embedding (tanh output, as the images lie in
[-1, 1]); toy data: MLPs 2 -> ``ae_code`` -> 2. Batch norm in both halves when ``d_norm`` is "batch".

With ``native_size`` = n (nets.py ``network_size``; the digits' 8x8) the autoencoder works at n x n, as nets.py's
discriminator does: its input is the image area-averaged to n x n (``at_native``), it reconstructs that
n x n image, and the energy compares the two at n x n. G's images are bilinear upsamplings of n x n ones
(nets.py GeneratorNet), the training digits too, so the energy sees everything either can vary.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .nets import conv_discriminator, conv_generator, init_weights, mlp, network_size


class AutoencoderNet(nn.Module):
    """``forward(x)``: the reconstruction of ``at_native(x)``; ``encode``/``decode`` for the embedding (EBGAN's
    pull-away term). ``shape``: the reconstruction's shape (C, n, n at native size)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, shape: tuple, native: int = 0):
        super().__init__()
        self.encoder, self.decoder, self.shape, self.native = encoder, decoder, tuple(shape), native

    def at_native(self, x: torch.Tensor) -> torch.Tensor:
        """What the autoencoder sees and reconstructs: ``x`` area-averaged to native_size (unchanged if 0)."""
        return F.adaptive_avg_pool2d(x, self.native) if self.native else x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.at_native(x)).flatten(1)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        return self.decoder(h).view(h.shape[0], *self.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def build_autoencoder(config) -> AutoencoderNet:
    batchnorm = config.d_norm == "batch"
    if config.kind == "toy":
        encoder = mlp(2, config.d_width, config.d_depth, config.ae_code, batchnorm=batchnorm)
        decoder = mlp(config.ae_code, config.d_width, config.d_depth, 2, batchnorm=batchnorm)
        shape = (2,)
    else:
        side = network_size(config)
        encoder = conv_discriminator(config.channels, side, config.d_width, config.ae_code, config.d_norm)
        decoder = conv_generator(config.ae_code, config.channels, side, config.d_width, batchnorm)
        shape = (config.channels, side, side)
    net = AutoencoderNet(encoder, decoder, shape, config.native_size if config.kind == "image" else 0)
    init_weights(net, config.init_std)
    return net


def reconstruction_error(net: AutoencoderNet, x: torch.Tensor, power: int) -> torch.Tensor:
    """Per-sample mean |x - D(x)|^power over the pixels (or coordinates), at native size when set: (N,)."""
    return (net(x) - net.at_native(x)).abs().pow(power).flatten(1).mean(1)
