"""The autoencoder discriminator of EBGAN and BEGAN: x -> embedding -> reconstruction of x.

Images: the encoder is nets.py's DCGAN discriminator with an ``ae_code``-dimensional output (the
embedding), the decoder nets.py's DCGAN generator from that embedding (tanh output, as the images lie in
[-1, 1]); toy data: MLPs 2 -> ``ae_code`` -> 2. Batch norm in both halves when ``d_norm`` is "batch".
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .nets import conv_discriminator, conv_generator, init_weights, mlp


class AutoencoderNet(nn.Module):
    """``forward(x)``: the reconstruction; ``encode``/``decode`` for the embedding (EBGAN's pull-away term)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, shape: tuple):
        super().__init__()
        self.encoder, self.decoder, self.shape = encoder, decoder, tuple(shape)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).flatten(1)

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
        encoder = conv_discriminator(config.channels, config.image_size, config.d_width, config.ae_code, config.d_norm)
        decoder = conv_generator(config.ae_code, config.channels, config.image_size, config.d_width, batchnorm)
        shape = (config.channels, config.image_size, config.image_size)
    net = AutoencoderNet(encoder, decoder, shape)
    init_weights(net, config.init_std)
    return net


def reconstruction_error(net: AutoencoderNet, x: torch.Tensor, power: int) -> torch.Tensor:
    """Per-sample mean |x - D(x)|^power over the pixels (or coordinates): (N,)."""
    return (net(x) - x).abs().pow(power).flatten(1).mean(1)
