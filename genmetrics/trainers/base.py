"""What a model family is: its published defaults and its losses, plugged into the one training loop.

A family (one small file each: gan.py, dcgan.py, ...) subclasses ``Family``, fills ``image_defaults`` and
``toy_defaults`` with its published hyperparameters (each cited), and implements the discriminator and
generator losses. The loop (loop.py) draws data and noise, calls these, and steps the optimisers.

Extension points serve models that are not plain GANs. ``build_generator`` / ``build_discriminator``
return a family's own networks (nets.py's architectures otherwise): the AAE's autoencoder and latent
critic, the likelihood models' networks, the autoencoder D of ebgan and began, ProGAN's growing networks.
``generator_classes``, ``discriminator_outputs`` and ``conditional_discriminator`` shape nets.py's networks
(cgan, sgan, infogan); ``initial_state``, ``before_step`` and ``measure`` carry state across steps, act
before each step and measure a run (began, progan, sgan); ``data_kinds`` says what data it trains on (the
one refusal is in config.resolve_config). ``adversarial = False`` marks a model trained by likelihood alone
(vae, nade, pixelcnn; likelihood.py): it has no discriminator, and each step draws one batch and
minimises ``generator_loss`` (the model's negative log-likelihood or ELBO) with the generator's optimiser.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import GenmetricsError


# Filled by the family modules as they are imported; families.py imports them all and looks them up.
FAMILIES: dict[str, "Family"] = {}


def register(cls):
    """Class decorator: register one instance of a family under ``cls.name``."""
    if not cls.name or cls.name in FAMILIES:
        raise ValueError(f"family name {cls.name!r} is empty or already registered")
    FAMILIES[cls.name] = cls()
    return cls


def lookup_family(name: str) -> "Family":
    """The registered family ``name``; a GenmetricsError listing the choices otherwise (families.py imports
    every family first; modules the families import, such as nets.py, use this to avoid a cycle)."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise GenmetricsError(f"unknown model {name!r}: choose one of {', '.join(sorted(FAMILIES))}") from None


class Family:
    """One GAN family: defaults + losses. Subclasses override what differs; ``run`` in the hooks is the
    loop's TrainingState (loop.py), which imports this module."""

    name: str = ""
    citation: str = ""
    # Image architecture: "conv" (DCGAN-style, Radford et al. 2015) or "mlp" (Goodfellow et al. 2014).
    arch: str = "conv"
    # Class-conditional generator (ACGAN, cgan); with conditional_discriminator D also takes the class as
    # an input (cgan), otherwise a conditional family's D predicts it (ACGAN's auxiliary classifier).
    conditional: bool = False
    conditional_discriminator: bool = False
    # Hyperparameters (TrainConfig field names) for image data and for 2-D toy data.
    image_defaults: dict = {}
    toy_defaults: dict = {}
    # False: no discriminator; one batch per step and only ``generator_loss`` (likelihood models).
    adversarial: bool = True
    # The kinds of data it trains on: "image", "toy" (2-D points).
    data_kinds: tuple[str, ...] = ("image", "toy")
    # What it measures itself (Family.measure), for the README and docs/trainers.md.
    measures: str = ""
    # The metric --stop-patience and best.pt track for it by default (stopping.py); None: the leading one.
    tracked: str | None = None
    # Image-to-image translation (translation_data.py): None, or how its domains are drawn: "paired"
    # (pix2pix), "unpaired" (cyclegan, discogan) or "multi" (stargan). ``digits_defaults``: its run length
    # and sizes on the bundled digits domains.
    translation: str | None = None
    digits_defaults: dict = {}
    # The default losses below compare D's real/fake score with a target for real data, for fake data and
    # for G's update: binary cross-entropy against 1, 0 and 1 here; LSGAN's half squared error against its
    # a, b, c. Both losses take the R1 penalty (--set r1_gamma).
    real_target, fake_target, generator_target = 1.0, 0.0, 1.0

    def adversarial_loss(self, output: torch.Tensor, target: float) -> torch.Tensor:
        """The loss of D's outputs against a constant target (binary cross-entropy of the logits)."""
        return bce_with_target(output, target)

    def check(self, config) -> None:
        """GenmetricsError for settings this family cannot train with."""

    def generator_classes(self, values: dict, data) -> int | None:
        """How many classes G is conditioned on (one-hot, appended to z; sampled uniformly): the data's
        classes for a conditional family; InfoGAN's categorical code. ``values``: the config so far."""
        return data.num_classes if self.conditional else None

    def discriminator_outputs(self, config) -> int:
        """Columns of D's output: the real/fake score, then class logits for a conditional family (ACGAN)."""
        return 1 + (config.num_classes or 0)

    def build_generator(self, config):
        """The family's own generator network, or None for nets.py's architecture of ``arch``."""
        return None

    def build_discriminator(self, config):
        """The family's own discriminator network (a module without parameters when not ``adversarial``),
        or None for nets.py's architecture (with ``discriminator_outputs`` columns)."""
        return None

    def initial_state(self, config) -> dict:
        """State the family carries across steps (BEGAN's k_t); saved in checkpoints as plain values."""
        return {}

    def before_step(self, run) -> None:
        """Hook before each training step (ProGAN sets its level of detail here, from the step alone)."""

    def measure(self, run, final: bool) -> dict:
        """The family's own measure of success (SGAN: test accuracy), logged with each evaluation and,
        with ``final``, at the end of a run; {} when it has none."""
        return {}

    def discriminator_loss(self, run, real, labels, gen: torch.Generator):
        """(loss to minimise, {name: float}) for one discriminator/critic update."""
        fake = run.fake(real.shape[0], gen).detach()
        gamma = run.config.r1_gamma
        real = real.requires_grad_(True) if gamma else real
        out_real = run.D(real)
        loss = (self.adversarial_loss(out_real, self.real_target)
                + self.adversarial_loss(run.D(fake), self.fake_target))
        logs = {"loss_d": loss.item()}
        if gamma:
            penalty = r1_penalty(out_real, real)
            loss = loss + gamma / 2 * penalty
            logs["r1"] = penalty.item()
        return loss, logs

    def generator_loss(self, run, real, labels, gen: torch.Generator):
        """(loss to minimise, {name: float}) for one generator update.

        With the cross-entropy, the non-saturating loss -log D(G(z)): Goodfellow et al. 2014, Section 3
        ("rather than training G to minimize log(1 - D(G(z))) we can train G to maximize log D(G(z))").
        """
        fake = run.fake(real.shape[0], gen)
        loss = self.adversarial_loss(run.D(fake), self.generator_target)
        return loss, {"loss_g": loss.item()}

    def after_discriminator_step(self, run) -> None:
        """Hook after each discriminator update (WGAN clips the weights here)."""

    def sample_grid(self, run):
        """The family's own sample grid (uint8 HxWxC), or None for the grid of G's samples from fixed noise
        (translation families show input, output and target)."""
        return None


def bce_with_target(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Binary cross-entropy of the discriminator's logits (first output column) against a constant."""
    logits = adversarial_output(logits)
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def r1_penalty(out_real: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """E |grad_x D(x)|^2 on real data: the R1 penalty of Mescheder, Geiger & Nowozin 2018 (Eq. 9)."""
    (grad,) = torch.autograd.grad(adversarial_output(out_real).sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


def adversarial_output(output: torch.Tensor) -> torch.Tensor:
    """The real/fake score: column 0 of the discriminator output (ACGAN appends class logits)."""
    return output[:, 0]
