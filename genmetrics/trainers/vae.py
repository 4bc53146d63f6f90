"""``vae``: the variational autoencoder of Kingma & Welling 2014, scored by the ELBO and by the
importance-weighted bound of Burda, Grosse & Salakhutdinov 2016.

Encoder q(z|x) = N(mu(x), diag sigma^2(x)) with the reparameterisation z = mu + sigma * eps (Kingma &
Welling 2014, Section 2.4 and Appendix C.2); prior p(z) = N(0, I) (Section 3); decoder p(x|z) a
Bernoulli per pixel for binary data (Appendix C.1). Networks: two deterministic layers of 200 tanh units
each side and 50 latent units, the one-stochastic-layer model of Burda et al. 2016 (Section 5) whose
k = 5000 bound is 86.76 nats on dynamically binarised MNIST.

Training maximises the ELBO with the KL term in closed form (Kingma & Welling 2014, Eq. 10), one sample
of z per image. Evaluation (nll.py): ELBO_k = mean_i log w_i and IWAE_k = logsumexp_i log w_i - log k with
log w_i = log p(x, z_i) - log q(z_i | x), z_i ~ q(z|x) (Burda et al. 2016, Eq. 8); E[ELBO] <= E[IWAE_k]
<= E[IWAE_k'] <= log p(x) for k <= k' (their Theorem 1).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import register
from .likelihood import LikelihoodFamily, LikelihoodNet, uniforms

LOG_2PI = math.log(2 * math.pi)


def tanh_mlp(fan_in: int, width: int, depth: int, fan_out: int) -> nn.Sequential:
    layers, size = [], fan_in
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.Tanh()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, fan_out))


class VAENet(LikelihoodNet):
    exact = False

    def __init__(self, shape, latent: int, width: int, depth: int):
        super().__init__(shape, levels=2, z_dim=0)
        self.latent = latent
        self.z_dim = latent + self.dim  # the latent, then one uniform per pixel for the Bernoulli draws
        self.encoder = tanh_mlp(self.dim, width, depth, 2 * latent)
        self.decoder = tanh_mlp(latent, width, depth, self.dim)

    @property
    def dtype(self) -> torch.dtype:
        return self.decoder[0].weight.dtype

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, log sigma^2) of q(z|x) for binary images x."""
        mu, logvar = self.encoder(x.flatten(1).to(self.dtype)).chunk(2, dim=1)
        return mu, logvar

    def log_likelihood(self, x_flat: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) (..., ) for z (..., latent) and binary x (N, D) broadcast against it."""
        logits = self.decoder(z)
        target = x_flat.to(logits.dtype).expand_as(logits)
        return -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)

    def log_weights(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """(k, N) log w = log p(x|z) + log p(z) - log q(z|x) at z = mu + sigma eps, eps (k, N, latent) ~ N(0, I)."""
        mu, logvar = self.encode(x)
        z = mu + (0.5 * logvar).exp() * eps
        log_q = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)
        log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        return self.log_likelihood(x.flatten(1).float(), z) + log_prior - log_q

    def loss(self, x, gen):
        mu, logvar = self.encode(x)
        eps = torch.randn(mu.shape, generator=gen).to(mu.device, mu.dtype)
        z = mu + (0.5 * logvar).exp() * eps
        reconstruction = self.log_likelihood(x.flatten(1).float(), z)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)  # KL(q(z|x) || N(0, I)), Eq. 10
        loss = (kl - reconstruction).mean()
        return loss, {"neg_elbo": loss.item(), "kl": kl.mean().item()}

    def sample(self, z):
        probs = torch.sigmoid(self.decoder(z[:, :self.latent]))
        return (uniforms(z[:, self.latent:]) < probs).long().view(z.shape[0], *self.shape)


@register
class VAE(LikelihoodFamily):
    name = "vae"
    citation = "Kingma & Welling 2014, Auto-Encoding Variational Bayes"
    image_defaults = dict(
        # 50 latent units, two deterministic layers of 200 tanh units; Adam (beta1 0.9, beta2 0.999),
        # lr 1e-3, batch 20: Burda et al. 2016, Section 5 (their epsilon 1e-4 and 3^i-epoch learning-rate
        # schedule are not reproduced: torch's epsilon, a constant rate).
        z_dim=50, g_width=200, g_depth=2,
        optimizer="adam", lr_g=1e-3, lr_d=1e-3, beta1=0.9, beta2=0.999, batch_size=20,
    )

    def build_network(self, shape, levels, config):
        return VAENet(shape, config.z_dim, config.g_width, config.g_depth)
