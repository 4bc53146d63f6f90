"""``gan``: Goodfellow et al. 2014, MLP generator and discriminator, non-saturating generator loss."""
from __future__ import annotations

from .base import Family, register

# The toy gan's optimiser, tuned on benchmarks/toy_modes.py (docs/trainers.md): Adam 1e-3, beta1 0.5, the
# rate decayed linearly to 0 (the high-quality fraction settles only as it nears 0). unrolled and lsgan
# train on 2-D mixtures with it too (their files say what their papers' rates gave).
TOY_SCHEDULE = dict(optimizer="adam", lr_g=1e-3, lr_d=1e-3, beta1=0.5, beta2=0.999, lr_decay="linear")


@register
class GAN(Family):
    name = "gan"
    citation = "Goodfellow et al. 2014, Generative Adversarial Nets"
    arch = "mlp"
    image_defaults = dict(
        # G: 2 hidden layers of 1200 ReLU units; D: 2 maxout layers of 240 units x 5 pieces; batch 100
        # (the paper's MNIST model, goodfeli/adversarial mnist.yaml). G ends in tanh for [-1, 1] pixels.
        g_width=1200, g_depth=2, g_batchnorm=False, d_width=240, d_depth=2, d_activation="maxout",
        maxout_pieces=5, d_norm="none", batch_size=100,
        # Adam 2e-4, beta1 0.5 (Radford et al. 2015, Section 4) in place of the paper's SGD with momentum,
        # whose learning-rate and momentum schedules are tied to pylearn2.
        optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999,
    )
    # Tuned on benchmarks/toy_modes.py (docs/trainers.md): TOY_SCHEDULE and an R1 penalty gamma = 0.1 on real
    # data (Mescheder et al. 2018, Eq. 9), without which the plain loss collapsed onto about a third of
    # grid25's modes.
    toy_defaults = dict(TOY_SCHEDULE, r1_gamma=0.1)
    # Losses: the Family defaults (binary cross-entropy for D, -log D(G(z)) for G; Section 3).
