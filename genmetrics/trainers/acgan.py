"""``acgan``: Odena et al. 2017, class-conditional generator and an auxiliary classifier in D.

D outputs [source logit, class logits]. D minimises L_S + L_C and G minimises L_C plus the
non-saturating source loss (Odena et al. 2017, Section 3, Eqs. 2-3). G is conditioned on the class by a
one-hot vector appended to z (nets.GeneratorNet).
"""
from __future__ import annotations

import torch.nn.functional as F

from .base import Family, bce_with_target, register


def class_loss(output, labels):
    """Cross-entropy of the auxiliary classifier (columns 1..K of D's output)."""
    return F.cross_entropy(output[:, 1:], labels)


@register
class ACGAN(Family):
    name = "acgan"
    citation = "Odena, Olah & Shlens 2017, Conditional Image Synthesis with Auxiliary Classifier GANs"
    arch = "conv"
    conditional = True
    # Adam, lr 0.0002, beta1 0.5, batch 100 (Odena et al. 2017, Appendix, CIFAR-10 hyperparameters).
    image_defaults = dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, batch_size=100,
                          g_batchnorm=True, d_norm="batch")
    toy_defaults = dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, batch_size=100)

    def discriminator_loss(self, run, real, labels, gen):
        fake, fake_labels = run.fake_with_labels(real.shape[0], gen)
        out_real, out_fake = run.D(real), run.D(fake.detach())
        source = bce_with_target(out_real, 1.0) + bce_with_target(out_fake, 0.0)
        classes = class_loss(out_real, labels) + class_loss(out_fake, fake_labels)
        loss = source + classes
        return loss, {"loss_d": source.item(), "loss_class": classes.item()}

    def generator_loss(self, run, real, labels, gen):
        fake, fake_labels = run.fake_with_labels(real.shape[0], gen)
        out = run.D(fake)
        source, classes = bce_with_target(out, 1.0), class_loss(out, fake_labels)
        return source + classes, {"loss_g": source.item(), "loss_g_class": classes.item()}
