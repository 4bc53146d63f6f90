"""``ebgan``: Zhao, Mathieu & LeCun 2017, Energy-based GAN, with an autoencoder discriminator.

The energy of x is its reconstruction error D(x) = |Dec(Enc(x)) - x|^2, here the mean over pixels of each
sample (autoencoder.py). D minimises D(x) + [m - D(G(z))]^+ and G minimises D(G(z)) (Eqs. 1-2);
EBGAN-PT adds to G's loss the pull-away term on the fakes' embeddings S (Eq. 6),

    f_PT(S) = 1 / (N (N - 1)) sum_{i != j} (S_i . S_j / (|S_i| |S_j|))^2,

which pushes the fakes of a batch apart (towards orthogonal embeddings) against mode collapse.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import GenmetricsError
from .autoencoder import build_autoencoder, reconstruction_error
from .base import Family, register
from .dcgan import DCGAN_OPTIMIZER


def pull_away(embeddings: torch.Tensor) -> torch.Tensor:
    """f_PT of a batch of embeddings (N, d): the mean squared cosine similarity of distinct pairs."""
    s = F.normalize(embeddings.flatten(1), dim=1)
    n = s.shape[0]
    cosine = s @ s.T
    return (cosine.pow(2).sum() - cosine.diagonal().pow(2).sum()) / (n * (n - 1))


@register
class EBGAN(Family):
    name = "ebgan"
    citation = "Zhao, Mathieu & LeCun 2017, Energy-based Generative Adversarial Network"
    arch = "conv"
    measures = "energies of real and fake batches (logged)"
    # lambda_PT = 0.1: Zhao et al. 2017, Section 4 (EBGAN-PT experiments). The margin depends on how the
    # energy is normalised; the paper's grid of m is for its own scale. With the per-pixel mean squared
    # error used here, m = 1 (PyTorch-GAN's ebgan.py, margin = max(1, batch / 64), the same normalisation):
    # above the untrained autoencoder's error on images in [-1, 1] (about 0.3-0.6). DCGAN's Adam settings and
    # batch 64 (EBGAN-DCGAN builds on DCGAN, Section 4.2). Embedding of 64: BEGAN's h (no value for this net).
    image_defaults = dict(DCGAN_OPTIMIZER, batch_size=64, margin=1.0, pt_weight=0.1, ae_code=64,
                          g_batchnorm=True, d_norm="batch")
    toy_defaults = dict(DCGAN_OPTIMIZER, batch_size=64, margin=1.0, pt_weight=0.1, ae_code=16)

    def check(self, config):
        if config.margin is None or config.margin <= 0:
            raise GenmetricsError("ebgan needs a positive margin (--set margin=1)")
        if config.pt_weight is None or config.pt_weight < 0:
            raise GenmetricsError("ebgan needs pt_weight >= 0 (--set pt_weight=0.1; 0: no pull-away term)")
        if not config.ae_code or config.ae_code < 1 or config.pack != 1:
            raise GenmetricsError("ebgan needs ae_code >= 1 (--set ae_code=64) and pack 1")

    def build_discriminator(self, config):
        return build_autoencoder(config)

    def discriminator_loss(self, run, real, labels, gen):
        fake = run.fake(real.shape[0], gen).detach()
        energy_real = reconstruction_error(run.D, real, 2).mean()
        energy_fake = reconstruction_error(run.D, fake, 2).mean()
        loss = energy_real + F.relu(run.config.margin - energy_fake)
        return loss, {"loss_d": loss.item(), "energy_real": energy_real.item(), "energy_fake": energy_fake.item()}

    def generator_loss(self, run, real, labels, gen):
        fake = run.fake(real.shape[0], gen)
        embedding = run.D.encode(fake)
        energy = (run.D.decode(embedding) - run.D.at_native(fake)).pow(2).flatten(1).mean(1).mean()
        pt = pull_away(embedding)
        return energy + run.config.pt_weight * pt, {"loss_g": energy.item(), "pull_away": pt.item()}
