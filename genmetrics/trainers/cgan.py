"""``cgan``: Mirza & Osindero 2014, Conditional Generative Adversarial Nets.

G and D both receive the class y: G as a one-hot vector appended to z, D as a one-hot vector appended to
its input (K constant planes for a conv D), and the GAN objective is conditioned on it (Eq. 2):
min_G max_D E log D(x|y) + E log(1 - D(G(z|y)|y)), with G's non-saturating loss. Fakes are scored
with the class they were generated for, reals with their own label.

The measure: FID of each class's samples against the real images of that class (``measures.class_fid``),
computed at the end of a run in the digits classifier's feature space when that extractor is installed
(``--extractor digits``); without it the run records why it was skipped.
"""
from __future__ import annotations

from .base import Family, bce_with_target, register
from .dcgan import DCGAN_OPTIMIZER

PER_CLASS_N = 200  # samples per class for the per-class FID (the digits have about 150 images per class)
CLASS_FID_EXTRACTOR = "digits"


@register
class CGAN(Family):
    name = "cgan"
    citation = "Mirza & Osindero 2014, Conditional Generative Adversarial Nets"
    arch = "conv"
    conditional = True
    conditional_discriminator = True
    measures = "per-class FID (digits classifier features)"
    # The paper's MNIST nets are MLPs trained by SGD with momentum and dropout (Section 4.1); as conditional
    # DCGANs do, we condition DCGAN's conv nets and use its Adam settings (Radford et al. 2015, Section 4).
    image_defaults = dict(DCGAN_OPTIMIZER, batch_size=100, g_batchnorm=True, d_norm="batch")
    # Mini-batches of 100: Mirza & Osindero 2014, Section 4.1.
    toy_defaults = dict(DCGAN_OPTIMIZER, batch_size=100)

    def discriminator_outputs(self, config) -> int:
        return 1  # D judges (x, y) pairs; it does not predict y (that is ACGAN)

    def discriminator_loss(self, run, real, labels, gen):
        fake, fake_labels = run.fake_with_labels(real.shape[0], gen)
        loss = bce_with_target(run.D(real, labels), 1.0) + bce_with_target(run.D(fake.detach(), fake_labels), 0.0)
        return loss, {"loss_d": loss.item()}

    def generator_loss(self, run, real, labels, gen):
        fake, fake_labels = run.fake_with_labels(real.shape[0], gen)
        loss = bce_with_target(run.D(fake, fake_labels), 1.0)
        return loss, {"loss_g": loss.item()}

    def measure(self, run, final):
        if not final or run.config.kind != "image":
            return {}
        from ..features.registry import extractor_names
        from .measures import class_fid, class_samples

        if CLASS_FID_EXTRACTOR not in extractor_names():
            return {"class_fid": None, "note": f"per-class FID needs the {CLASS_FID_EXTRACTOR!r} extractor"}
        fids = class_fid(lambda c: class_samples(run, c, PER_CLASS_N), run.config.num_classes, run.data.images,
                         run.data.labels, extractor=CLASS_FID_EXTRACTOR, device=run.config.device)
        return {"class_fid": fids, "class_fid_mean": sum(fids.values()) / max(len(fids), 1),
                "extractor": CLASS_FID_EXTRACTOR, "n_per_class": PER_CLASS_N}
