"""``infogan``: Chen et al. 2016, InfoGAN, a GAN that maximises a lower bound on the mutual information
between latent codes and its samples.

G's input: noise, a categorical code c (one-hot, K = ``info_categories``) and ``info_continuous``
continuous codes Unif(-1, 1) (the last entries of z, see nets.GeneratorNet). Q shares D's body: D's
output is [real/fake score, K categorical logits, one mean per continuous code]. Both D (with Q) and G
minimise their GAN loss minus lambda L_I, with (Chen et al. 2016, Eq. 5)

    L_I = E[log Q(c | G(z, c))] + H(c)  <=  I(c; G(z, c))

estimated per step on the step's fakes: for the categorical code log Q is minus the cross-entropy and
H(c) = ln K (so L_I <= ln 10 = 2.30 nats for 10 categories); for a continuous code, a Gaussian of fixed
standard deviation 1 around Q's mean (openai/InfoGAN ``Uniform(1, fix_std=True)``) and H = ln 2.
Both steps draw the codes the same way (PyTorch-GAN's infogan.py draws them from different
distributions in its two steps; REFERENCES.md).

Logged every step: ``mi_categorical`` (nats, at most ln K) and ``mi_continuous``. The measure: how well the
categorical code clusters real data: Q's predicted category on held-out labelled data, scored after the
best one-to-one matching of categories to classes (measures.cluster_accuracy).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import GenmetricsError
from .base import Family, bce_with_target, register

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def code_columns(config) -> tuple[slice, slice]:
    """D's output columns of the categorical logits and of the continuous codes' means."""
    k = config.info_categories
    return slice(1, 1 + k), slice(1 + k, 1 + k + config.info_continuous)


def information_terms(config, output: torch.Tensor, categories: torch.Tensor, continuous: torch.Tensor):
    """(categorical lower bound, continuous lower bound): E log Q(c|x) + H(c) per part, in nats."""
    cat, cont = code_columns(config)
    mi_cat = math.log(config.info_categories) - F.cross_entropy(output[:, cat], categories)
    if not config.info_continuous:
        return mi_cat, torch.zeros((), device=output.device)
    nll = 0.5 * (output[:, cont] - continuous).pow(2) + HALF_LOG_2PI
    return mi_cat, (math.log(2) - nll).sum(1).mean()


def draw(run, n: int, gen: torch.Generator):
    """(fakes, categorical codes, continuous codes) of one batch, drawn as the generator draws them."""
    from .nets import uniform_codes

    z, categories = run.noise(n, gen)
    continuous = uniform_codes(z, run.config.info_continuous) if run.config.info_continuous else z[:, :0]
    return run.G(z, categories), categories, continuous


@register
class InfoGAN(Family):
    name = "infogan"
    citation = "Chen et al. 2016, InfoGAN: Interpretable Representation Learning by Information Maximizing GANs"
    arch = "conv"
    measures = "mutual-information lower bound (logged); clustering accuracy of the categorical code"
    # MNIST (Chen et al. 2016, Section 7.1 and Appendix C.1; openai/InfoGAN run_mnist_exp.py): 62 noise
    # variables, one 10-way categorical and two continuous codes (z_dim 64 = 62 + 2), lambda = 1, Adam with
    # lr 2e-4 for D and 1e-3 for G, beta1 0.5, batch 128; DCGAN-style nets with batch norm.
    image_defaults = dict(optimizer="adam", lr_g=1e-3, lr_d=2e-4, beta1=0.5, beta2=0.999, batch_size=128,
                          z_dim=64, info_categories=10, info_continuous=2, info_lambda=1.0,
                          g_batchnorm=True, d_norm="batch")
    toy_defaults = dict(optimizer="adam", lr_g=1e-3, lr_d=2e-4, beta1=0.5, beta2=0.999, batch_size=128,
                        z_dim=4, info_categories=10, info_continuous=2, info_lambda=1.0)

    def check(self, config):
        if not config.info_categories or config.info_categories < 2:
            raise GenmetricsError("infogan needs info_categories >= 2 (--set info_categories=10)")
        if config.info_continuous is None or not 0 <= config.info_continuous <= config.z_dim:
            raise GenmetricsError(f"info_continuous must be between 0 and z_dim = {config.z_dim} "
                                  f"(the continuous codes are the last entries of z)")
        if config.info_lambda is None or config.info_lambda < 0:
            raise GenmetricsError("info_lambda must be >= 0 (--set info_lambda=1)")

    def generator_classes(self, values, data):
        return values.get("info_categories")  # G's one-hot input is the categorical code, not a class

    def discriminator_outputs(self, config):
        return 1 + config.info_categories + config.info_continuous

    def build_generator(self, config):
        from .nets import default_generator

        net = default_generator(config)
        net.uniform_codes = config.info_continuous
        return net

    def discriminator_loss(self, run, real, labels, gen):
        fake, categories, continuous = draw(run, real.shape[0], gen)
        out_fake = run.D(fake.detach())
        gan = bce_with_target(run.D(real), 1.0) + bce_with_target(out_fake, 0.0)
        mi_cat, mi_cont = information_terms(run.config, out_fake, categories, continuous)
        loss = gan - run.config.info_lambda * (mi_cat + mi_cont)
        return loss, {"loss_d": gan.item(), "mi_categorical": mi_cat.item(), "mi_continuous": mi_cont.item()}

    def generator_loss(self, run, real, labels, gen):
        fake, categories, continuous = draw(run, real.shape[0], gen)
        out = run.D(fake)
        gan = bce_with_target(out, 1.0)
        mi_cat, mi_cont = information_terms(run.config, out, categories, continuous)
        loss = gan - run.config.info_lambda * (mi_cat + mi_cont)
        return loss, {"loss_g": gan.item(), "mi_g_categorical": mi_cat.item()}

    def measure(self, run, final):
        from .measures import cluster_accuracy, held_out, predict

        x, y, source = held_out(run)
        if y is None:
            return {"cluster_accuracy": None, "note": f"{run.config.data} has no labels to cluster against"}
        clusters = predict(run.D, x, code_columns(run.config)[0], run.device)
        return {"cluster_accuracy": cluster_accuracy(clusters, y), "n_test": len(y), "held_out": source,
                "categories_used": int(torch.unique(clusters).numel())}


def parse_code(text: str, config) -> tuple[int | None, list[float | None]]:
    """``--code C[,V1,V2,...]``: the categorical code C (0..K-1) and continuous codes in [-1, 1]; ``*``
    leaves an entry random. GenmetricsError naming the entry otherwise."""
    if config.model != "infogan":
        raise GenmetricsError(f"--code fixes InfoGAN's latent codes; this run is {config.model}")
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) > 1 + config.info_continuous:
        raise GenmetricsError(f"--code {text}: this run has 1 categorical and {config.info_continuous} "
                              f"continuous codes")
    try:
        category = None if parts[0] == "*" else int(parts[0])
        values = [None if p == "*" else float(p) for p in parts[1:]]
    except ValueError:
        raise GenmetricsError(f"--code {text}: give C,V1,... with C an integer, V in [-1, 1], * for random") from None
    if category is not None and not 0 <= category < config.info_categories:
        raise GenmetricsError(f"--code {text}: the categorical code is 0..{config.info_categories - 1}")
    if any(v is not None and not -1 <= v <= 1 for v in values):
        raise GenmetricsError(f"--code {text}: continuous codes lie in [-1, 1]")
    return category, values + [None] * (config.info_continuous - len(values))


def fix_codes_(z: torch.Tensor, values: list[float | None]) -> torch.Tensor:
    """Set the Gaussian entries of z that carry the given continuous codes: z = sqrt 2 erfinv(v)."""
    u = len(values)
    for j, v in enumerate(values):
        if v is not None:
            v = min(max(v, -1 + 1e-6), 1 - 1e-6)  # erfinv(+-1) is infinite
            z[:, z.shape[1] - u + j] = math.sqrt(2) * torch.erfinv(torch.tensor(v)).item()
    return z
