"""``nade``: the Neural Autoregressive Distribution Estimator of Larochelle & Murray 2011 (AISTATS).

p(x) = prod_d p(x_d | x_<d) in a fixed raster pixel order, with
    h_d = sigmoid(c + W[:, <d] x_<d),   p(x_d = 1 | x_<d) = sigmoid(b_d + V_d . h_d)   (Eq. 2-3),
the hidden pre-activations shared across d and computed as running sums a_{d+1} = a_d + W[:, d] x_d
(Section 3), so one image costs O(D H) rather than O(D^2 H). Binary pixels; the log-likelihood is exact.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import register
from .likelihood import LikelihoodFamily, LikelihoodNet, uniforms


class NADENet(LikelihoodNet):
    def __init__(self, shape, hidden: int):
        super().__init__(shape, levels=2, z_dim=0)
        self.z_dim = self.dim  # one uniform per pixel
        d = self.dim
        # PyTorch's nn.Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)): the paper does not give one.
        self.W = nn.Parameter(torch.empty(hidden, d).uniform_(-d ** -0.5, d ** -0.5))
        self.c = nn.Parameter(torch.zeros(hidden))
        self.V = nn.Parameter(torch.empty(d, hidden).uniform_(-hidden ** -0.5, hidden ** -0.5))
        self.b = nn.Parameter(torch.zeros(d))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, D) logits of p(x_d = 1 | x_<d) for binary images x (N, C, H, W), all d at once."""
        flat = x.flatten(1).to(self.W.dtype)
        terms = flat.unsqueeze(2) * self.W.t()                      # (N, D, H): W[:, d] x_d
        running = torch.cumsum(terms, dim=1)[:, :-1]                  # sum over j <= d, for d < D - 1
        a = self.c + torch.cat([torch.zeros_like(terms[:, :1]), running], dim=1)  # sum over j < d
        return (torch.sigmoid(a) * self.V).sum(-1) + self.b

    def log_prob(self, x):
        target = x.flatten(1).to(self.W.dtype)
        return -F.binary_cross_entropy_with_logits(self.logits(x), target, reduction="none").sum(1)

    def sample(self, z):
        u = uniforms(z)
        a = self.c.expand(z.shape[0], -1).clone()
        out = torch.zeros(z.shape[0], self.dim, device=z.device, dtype=self.W.dtype)
        for d in range(self.dim):
            p = torch.sigmoid(torch.sigmoid(a) @ self.V[d] + self.b[d])
            out[:, d] = (u[:, d] < p).float()
            a += out[:, d:d + 1] * self.W[:, d]
        return out.long().view(z.shape[0], *self.shape)


@register
class NADE(LikelihoodFamily):
    name = "nade"
    citation = "Larochelle & Murray 2011, The Neural Autoregressive Distribution Estimator"
    image_defaults = dict(
        # 500 hidden units: the binarised-MNIST NADE of Larochelle & Murray 2011 (its 88.86 nats) [verify section].
        g_width=500,
        # Adam 1e-3 (Kingma & Ba 2015's default) in place of the paper's SGD with a learning rate chosen on
        # validation data; batch 100: ours (the paper updates per example).
        optimizer="adam", lr_g=1e-3, lr_d=1e-3, beta1=0.9, beta2=0.999, batch_size=100,
    )

    def build_network(self, shape, levels, config):
        return NADENet(shape, config.g_width)
