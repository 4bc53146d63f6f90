"""``dcgan``: Radford et al. 2015, convolutional GAN with batch norm (architecture in nets.py)."""
from __future__ import annotations

from .base import Family, register

# Adam, lr 0.0002, beta1 0.5, batch 128 (Radford et al. 2015, Section 4, "Details of adversarial training").
DCGAN_OPTIMIZER = dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999)


@register
class DCGAN(Family):
    name = "dcgan"
    citation = "Radford, Metz & Chintala 2015, Unsupervised Representation Learning with DCGANs"
    arch = "conv"
    image_defaults = dict(DCGAN_OPTIMIZER, batch_size=128, g_batchnorm=True, d_norm="batch")
    toy_defaults = dict(DCGAN_OPTIMIZER, batch_size=128)
    # Losses: the Family defaults (binary cross-entropy, non-saturating G loss).
