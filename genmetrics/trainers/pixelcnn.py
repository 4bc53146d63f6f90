"""``pixelcnn``: van den Oord, Kalchbrenner & Kavukcuoglu 2016 (Pixel Recurrent Neural Networks, Section 3.4).

Masked convolutions in raster order: the first layer (7x7, mask A) sees only the pixels before the
current one; the later ones (3x3, mask B) also see the current position's own features, which carry
no information about its pixel (Figure 4). Then two 1x1 layers and the output: a Bernoulli logit per
pixel for binary data, a 256-way softmax for 8-bit grey levels (Section 3.1, "discrete softmax").
One channel: colour images need the paper's R -> G -> B channel masks, not built here.
The residual blocks of the paper are left out (plain ReLU layers): a model of 8x8 digits needs few.
The log-likelihood is exact: p(x) = prod_d p(x_d | x_<d).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import GenmetricsError
from .base import register
from .likelihood import LikelihoodFamily, LikelihoodNet, inverse_cdf, uniforms


class MaskedConv2d(nn.Conv2d):
    """A same-padded convolution whose kernel is zero at and after its centre (A) or after it (B)."""

    def __init__(self, c_in: int, c_out: int, size: int, mask_type: str):
        super().__init__(c_in, c_out, size, padding=size // 2)
        mask = torch.ones(c_out, c_in, size, size)
        centre = size // 2
        mask[:, :, centre, centre + (mask_type == "B"):] = 0
        mask[:, :, centre + 1:] = 0
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNNNet(LikelihoodNet):
    def __init__(self, shape, levels: int, width: int, depth: int):
        super().__init__(shape, levels, z_dim=0)
        self.z_dim = self.dim
        outputs = 1 if levels == 2 else levels
        layers = [MaskedConv2d(shape[0], width, 7, "A"), nn.ReLU()]
        for _ in range(depth):
            layers += [MaskedConv2d(width, width, 3, "B"), nn.ReLU()]
        layers += [nn.Conv2d(width, width, 1), nn.ReLU(), nn.Conv2d(width, outputs, 1)]
        self.body = nn.Sequential(*layers)
        self.reach = 3 + depth  # rows above a pixel that reach it: 3 through the 7x7 layer, 1 per 3x3 layer

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) Bernoulli logits, or (N, L, H, W) softmax logits, of every pixel given those before."""
        return self.body(x.to(self.body[0].weight.dtype) / (self.levels - 1) * 2 - 1)

    def logits_at(self, x: torch.Tensor, i: int, j: int) -> torch.Tensor:
        """(N, outputs) logits of pixel (i, j) alone: the 1x1 output layer applied at that pixel only."""
        features = self.body[:-1](x.to(self.body[0].weight.dtype) / (self.levels - 1) * 2 - 1)[:, :, i, j]
        last = self.body[-1]
        return F.linear(features, last.weight.flatten(1), last.bias)

    def log_prob(self, x):
        logits = self.logits(x)
        if self.levels == 2:
            return -F.binary_cross_entropy_with_logits(logits, x.to(logits.dtype), reduction="none").flatten(1).sum(1)
        return F.log_softmax(logits, 1).gather(1, x).flatten(1).sum(1)

    def sample(self, z):
        u = uniforms(z).view(z.shape[0], *self.shape)
        x = torch.zeros(z.shape[0], *self.shape, dtype=torch.long, device=z.device)
        _, height, width = self.shape
        for i in range(height):
            # Row i's outputs see input rows i - reach .. i only: run the net on that band of rows (exact:
            # the rows cut off reach no output of row i), so a sample costs O(H) bands, not O(H) images.
            top = max(0, i - self.reach)
            for j in range(width):
                logits = self.logits_at(x[:, :, top:i + 1], i - top, j)
                if self.levels == 2:
                    x[:, 0, i, j] = (u[:, 0, i, j] < torch.sigmoid(logits[:, 0])).long()
                else:
                    x[:, 0, i, j] = inverse_cdf(torch.softmax(logits, 1), u[:, 0, i, j])
        return x


@register
class PixelCNN(LikelihoodFamily):
    name = "pixelcnn"
    citation = "van den Oord, Kalchbrenner & Kavukcuoglu 2016, Pixel Recurrent Neural Networks"
    supported_levels = (2, 256)
    image_defaults = dict(
        # Width 32 and 4 mask-B layers: ours, sized for 8x8 digits on a CPU (the paper's models are wider and
        # deeper, with residual blocks; 8x8 images need far less). Larger images: --set g_width=, g_depth=.
        g_width=32, g_depth=4,
        # Adam 1e-3 (Kingma & Ba 2015's default); the paper trains with RMSProp (Section 5.1). Batch 64: ours.
        optimizer="adam", lr_g=1e-3, lr_d=1e-3, beta1=0.9, beta2=0.999, batch_size=64,
    )

    def check(self, config):
        super().check(config)
        if config.channels != 1:
            raise GenmetricsError(f"pixelcnn here models one channel; --data {config.data} has {config.channels} "
                                  f"(colour needs the R/G/B channel masks of van den Oord et al. 2016, not built)")

    def build_network(self, shape, levels, config):
        return PixelCNNNet(shape, levels, config.g_width, config.g_depth)
