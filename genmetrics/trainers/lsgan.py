"""``lsgan``: Mao et al. 2017, least-squares losses with targets a=0 (fake), b=1 (real), c=1 (G)."""
from __future__ import annotations

from .base import Family, adversarial_output, register
from .dcgan import DCGAN_OPTIMIZER


@register
class LSGAN(Family):
    name = "lsgan"
    citation = "Mao et al. 2017, Least Squares Generative Adversarial Networks"
    arch = "conv"
    # Adam, beta1 0.5, lr 0.0002 (Mao et al. 2017, Section 4.1) on DCGAN-style networks; DCGAN's batch 128.
    image_defaults = dict(DCGAN_OPTIMIZER, batch_size=128, g_batchnorm=True, d_norm="batch")
    toy_defaults = dict(DCGAN_OPTIMIZER, batch_size=128)
    # The 0-1 binary coding scheme a = 0 (fake), b = 1 (real), c = 1 (G's target) (Mao et al. 2017, Section
    # 3.2.3, Eq. 9); Family's discriminator_loss and generator_loss compare D's score with them.
    real_target, fake_target, generator_target = 1.0, 0.0, 1.0

    def adversarial_loss(self, output, target):
        """Half the squared error of D's score against the target (Mao et al. 2017, Eq. 2)."""
        return 0.5 * (adversarial_output(output) - target).pow(2).mean()
