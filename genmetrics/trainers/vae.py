"""``vae``: the variational autoencoder of Kingma & Welling 2014, scored by the ELBO and by the
importance-weighted bound of Burda, Grosse & Salakhutdinov 2016.

Encoder q(z|x) = N(mu(x), diag sigma^2(x)) with the reparameterisation z = mu + sigma * eps (Kingma &
Welling 2014, Section 2.4 and Appendix C.2); prior p(z) = N(0, I) (Section 3); decoder p(x|z) a
Bernoulli per pixel for binary data (Appendix C.1), and for 8-bit grey levels the discretised logistic
of Kingma et al. 2016 (IAF, Section 5.2) and Salimans et al. 2017 (PixelCNN++, Section 2.1): a logistic
of mean mu and scale s per pixel, integrated over each level's bin of width 2/255 in [-1, 1], the two
end bins taking the tails, so P(x|z) sums to 1 over the 256 levels. Networks: two deterministic layers of 200 tanh units
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


MIN_LOG_SCALE = -7.0  # PixelCNN++'s floor on log s (openai/pixel-cnn nn.py, discretized_mix_logistic_loss)


def discretised_logistic_log_prob(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """log P(x) per pixel of integer levels x in 0..255 under a logistic (mean, exp(log_scale)) on [-1, 1]
    discretised into 256 bins of width 2/255, the end bins open (Salimans et al. 2017, Eq. 2)."""
    centre = x.to(mean.dtype) / 127.5 - 1
    log_scale = log_scale.clamp(min=MIN_LOG_SCALE)
    inv_s = (-log_scale).exp()
    plus, minus = inv_s * (centre + 1 / 255 - mean), inv_s * (centre - 1 / 255 - mean)
    log_cdf_plus = plus - F.softplus(plus)          # log sigmoid(plus): the bin of level 0 takes the left tail
    log_survival_minus = -F.softplus(minus)          # log (1 - sigmoid(minus)): level 255 takes the right tail
    delta = torch.sigmoid(plus) - torch.sigmoid(minus)
    # Where the bin's mass underflows, its density at the centre times the bin width (as PixelCNN++ does).
    mid = inv_s * (centre - mean)
    log_density = mid - log_scale - 2 * F.softplus(mid) - math.log(127.5)
    inner = torch.where(delta > 1e-5, delta.clamp(min=1e-12).log(), log_density)
    return torch.where(x == 0, log_cdf_plus, torch.where(x == 255, log_survival_minus, inner))


class VAENet(LikelihoodNet):
    exact = False

    def __init__(self, shape, latent: int, width: int, depth: int, levels: int = 2):
        super().__init__(shape, levels=levels, z_dim=0)
        self.latent = latent
        self.z_dim = latent + self.dim  # the latent, then one uniform per pixel for the pixel draws
        self.encoder = tanh_mlp(self.dim, width, depth, 2 * latent)
        # Bernoulli: one logit per pixel; discretised logistic: a mean and a log scale per pixel.
        self.decoder = tanh_mlp(latent, width, depth, self.dim * (1 if levels == 2 else 2))

    @property
    def dtype(self) -> torch.dtype:
        return self.decoder[0].weight.dtype

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, log sigma^2) of q(z|x) for binary images x."""
        scaled = x.flatten(1).to(self.dtype) / (self.levels - 1)  # pixel levels -> [0, 1]
        mu, logvar = self.encoder(scaled).chunk(2, dim=1)
        return mu, logvar

    def log_likelihood(self, x_flat: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x|z) (..., ) for z (..., latent) and integer x (N, D) broadcast against it."""
        out = self.decoder(z)
        if self.levels == 2:
            target = x_flat.to(out.dtype).expand_as(out)
            return -F.binary_cross_entropy_with_logits(out, target, reduction="none").sum(-1)
        return discretised_logistic_log_prob(x_flat, *out.chunk(2, dim=-1)).sum(-1)

    def log_weights(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """(k, N) log w = log p(x|z) + log p(z) - log q(z|x) at z = mu + sigma eps, eps (k, N, latent) ~ N(0, I)."""
        mu, logvar = self.encode(x)
        z = mu + (0.5 * logvar).exp() * eps
        log_q = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)
        log_prior = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        return self.log_likelihood(x.flatten(1), z) + log_prior - log_q

    def loss(self, x, gen):
        mu, logvar = self.encode(x)
        eps = torch.randn(mu.shape, generator=gen).to(mu.device, mu.dtype)
        z = mu + (0.5 * logvar).exp() * eps
        reconstruction = self.log_likelihood(x.flatten(1), z)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)  # KL(q(z|x) || N(0, I)), Eq. 10
        loss = (kl - reconstruction).mean()
        return loss, {"neg_elbo": loss.item(), "kl": kl.mean().item()}

    def sample(self, z):
        out, u = self.decoder(z[:, :self.latent]), uniforms(z[:, self.latent:])
        if self.levels == 2:
            return (u < torch.sigmoid(out)).long().view(z.shape[0], *self.shape)
        mean, log_scale = out.chunk(2, dim=-1)
        u = u.clamp(1e-7, 1 - 1e-7)  # the logistic's inverse CDF at u, then the level whose bin holds it
        y = mean + log_scale.clamp(min=MIN_LOG_SCALE).exp() * (u.log() - (1 - u).log())
        return ((y + 1) * 127.5).round().clamp(0, 255).long().view(z.shape[0], *self.shape)


@register
class VAE(LikelihoodFamily):
    name = "vae"
    citation = "Kingma & Welling 2014, Auto-Encoding Variational Bayes"
    supported_levels = (2, 256)
    image_defaults = dict(
        # 50 latent units, two deterministic layers of 200 tanh units; Adam (beta1 0.9, beta2 0.999),
        # lr 1e-3, batch 20: Burda et al. 2016, Section 5 (their epsilon 1e-4 and 3^i-epoch learning-rate
        # schedule are not reproduced: torch's epsilon, a constant rate).
        z_dim=50, g_width=200, g_depth=2,
        optimizer="adam", lr_g=1e-3, lr_d=1e-3, beta1=0.9, beta2=0.999, batch_size=20,
    )

    def build_network(self, shape, levels, config):
        return VAENet(shape, config.z_dim, config.g_width, config.g_depth, levels)
