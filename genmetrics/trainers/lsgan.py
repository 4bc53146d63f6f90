"""``lsgan``: Mao et al. 2017, least-squares losses with targets a=0 (fake), b=1 (real), c=1 (G)."""
from __future__ import annotations

from .base import Family, adversarial_output, register
from .dcgan import DCGAN_OPTIMIZER

# The 0-1 binary coding scheme a = 0, b = 1, c = 1 (Mao et al. 2017, Section 3.2.3, Eq. 9).
A_FAKE, B_REAL, C_GENERATOR = 0.0, 1.0, 1.0


def _half_squared_error(output, target: float):
    return 0.5 * (adversarial_output(output) - target).pow(2).mean()


@register
class LSGAN(Family):
    name = "lsgan"
    citation = "Mao et al. 2017, Least Squares Generative Adversarial Networks"
    arch = "conv"
    # Adam, beta1 0.5, lr 0.0002 (Mao et al. 2017, Section 4.1) on DCGAN-style networks; DCGAN's batch 128.
    image_defaults = dict(DCGAN_OPTIMIZER, batch_size=128, g_batchnorm=True, d_norm="batch")
    toy_defaults = dict(DCGAN_OPTIMIZER, batch_size=128)

    def discriminator_loss(self, run, real, labels, gen):
        fake = run.fake(real.shape[0], gen).detach()
        loss = _half_squared_error(run.D(real), B_REAL) + _half_squared_error(run.D(fake), A_FAKE)
        return loss, {"loss_d": loss.item()}

    def generator_loss(self, run, real, labels, gen):
        loss = _half_squared_error(run.D(run.fake(real.shape[0], gen)), C_GENERATOR)
        return loss, {"loss_g": loss.item()}
