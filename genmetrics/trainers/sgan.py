"""``sgan``: the semi-supervised GAN (Odena 2016; Salimans et al. 2016, Section 5).

D is a K-class classifier whose K logits l_1..l_K stand for "real, class k"; the fake class has its
logit fixed at 0, so D(x) = P(real | x) = Z / (Z + 1) with Z = sum_k exp l_k (Salimans et al. 2016,
Section 5; openai/improved-gan ``train_mnist_feature_matching.py``). Per step D minimises

    cross-entropy over the K logits on a batch of the N labelled examples (softmax once, inside the loss)
    + 1/2 [-E lse(l(x)) + E softplus(lse(l(x)))] on unlabelled data + 1/2 E softplus(lse(l(G(z))))

with lse = logsumexp, and G minimises feature matching: the squared distance between the mean
activations of D's last hidden layer on data and on fakes (Salimans et al. 2016, Section 3.1), as the
improved-gan code does for its semi-supervised results. Only the N labelled examples' labels are read:
the unlabelled batches' labels are dropped (PyTorch-GAN's sgan.py trains on every label and applies
softmax twice; REFERENCES.md).

The measure: test accuracy of D's classifier on held-out labelled data, and at the end of a run that of
the same network trained on the N labelled examples alone, with the same batches, optimiser and number
of updates: how much the unlabelled data and the generator helped.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import GenmetricsError
from .base import Family, register
from .dcgan import DCGAN_OPTIMIZER
from .seeding import INIT, LABELLED, STEP, derive_generator, derive_seed


def labelled_set(run) -> tuple[torch.Tensor, torch.Tensor]:
    """The N labelled examples (inputs as D sees them, labels): N // K of every class (the first classes
    one more when K does not divide N), chosen by the run's seed (improved-gan: the first ``count`` of
    each class after a seeded shuffle); toy data: N fixed draws, modes in turn. Cached on the run."""
    cached = getattr(run, "_labelled", None)
    if cached is not None:
        return cached
    cfg, data, k = run.config, run.data, run.config.data_classes
    gen = derive_generator(cfg.seed, LABELLED)
    if cfg.kind == "toy":
        modes = torch.arange(cfg.labels) % k
        means = torch.tensor(data.mixture.means, dtype=torch.float32)
        run._labelled = (means[modes] + data.mixture.std * torch.randn(cfg.labels, 2, generator=gen), modes)
        return run._labelled
    order = torch.randperm(data.n_train, generator=gen)
    rows = []
    for c in range(k):
        of_class = order[data.labels[order] == c]
        want = cfg.labels // k + (c < cfg.labels % k)
        if len(of_class) < want:
            raise GenmetricsError(f"--labels {cfg.labels}: class {c} has only {len(of_class)} training examples")
        rows.append(of_class[:want])
    rows = torch.cat(rows)
    run._labelled = (data.images[rows].float().div(127.5).sub(1.0), data.labels[rows])
    return run._labelled


def labelled_batch(run, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of labelled examples drawn (with replacement) by the step's generator."""
    x, y = labelled_set(run)
    rows = torch.randint(len(y), (run.config.batch_size,), generator=gen)
    return x[rows].to(run.device), y[rows].to(run.device)


def unsupervised_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """-1/2 E log D(x) - 1/2 E log(1 - D(G(z))) with D = Z / (Z + 1), in logsumexp form (improved-gan)."""
    lse_real, lse_fake = torch.logsumexp(logits_real, 1), torch.logsumexp(logits_fake, 1)
    return 0.5 * (-lse_real.mean() + F.softplus(lse_real).mean()) + 0.5 * F.softplus(lse_fake).mean()


@register
class SGAN(Family):
    name = "sgan"
    citation = "Odena 2016, Semi-Supervised Learning with GANs; Salimans et al. 2016, Improved Techniques"
    arch = "conv"
    measures = "test accuracy with N labels, beside a classifier trained on the N labels alone"
    # DCGAN's nets and Adam settings (Odena 2016 builds on DCGAN); batch 100 and 100 labels (10 per class):
    # improved-gan train_mnist_feature_matching.py (--batch_size 100, --count 10). D without batch norm:
    # improved-gan's D uses weight normalisation, and batch statistics would mix the labelled, unlabelled
    # and fake batches that D sees separately.
    image_defaults = dict(DCGAN_OPTIMIZER, batch_size=100, labels=100, g_batchnorm=True, d_norm="none")
    toy_defaults = dict(DCGAN_OPTIMIZER, batch_size=100, labels=100)

    def check(self, config):
        k = config.data_classes
        if not k:
            raise GenmetricsError(f"--data {config.data}: sgan needs class labels (a labelled dataset such as "
                                  f"digits or mnist, a folder with one subfolder per class, or toy data)")
        if config.labels is None or config.labels < k or (config.n_train and config.labels > config.n_train):
            raise GenmetricsError(f"--labels {config.labels}: keep between {k} (one per class) and "
                                  f"{config.n_train or 'any number of'} labelled examples")

    def discriminator_outputs(self, config) -> int:
        return config.data_classes  # K logits; the fake class's logit is the constant 0

    def discriminator_loss(self, run, real, labels, gen):
        x_lab, y_lab = labelled_batch(run, gen)  # `labels` (the unlabelled batch's) are not used
        fake = run.fake(real.shape[0], gen).detach()
        supervised = F.cross_entropy(run.D(x_lab), y_lab)
        unsupervised = unsupervised_loss(run.D(real), run.D(fake))
        return supervised + unsupervised, {"loss_d": unsupervised.item(), "loss_labelled": supervised.item()}

    def generator_loss(self, run, real, labels, gen):
        fake = run.fake(real.shape[0], gen)
        target = run.D.features(real).mean(0).detach()
        loss = (run.D.features(fake).mean(0) - target).pow(2).mean()
        return loss, {"loss_g": loss.item()}

    def measure(self, run, final):
        from .measures import held_out, predict

        x, y, source = held_out(run)
        k = run.config.data_classes
        accuracy = (predict(run.D, x, slice(0, k), run.device) == y).float().mean().item()
        result = {"test_accuracy": accuracy, "labels": run.config.labels, "n_test": len(y), "held_out": source}
        if final:
            baseline = supervised_baseline(run)
            result["labels_only_accuracy"] = (predict(baseline, x, slice(0, k), run.device) == y).float().mean().item()
        return result


def supervised_baseline(run) -> torch.nn.Module:
    """D's architecture trained on the labelled examples alone, with the same optimiser, learning-rate
    schedule and number of updates, and the same labelled batches (each step's generator draws its
    labelled rows first; with n_critic > 1 the later updates of a step draw other rows)."""
    from .nets import build_discriminator

    cfg = run.config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(cfg.seed, INIT, 3))
        net = build_discriminator(cfg).to(run.device)
    opt = run._optimizer(net, cfg.lr_d)
    for step in range(run.step):
        scale = 1.0 - step / cfg.steps if cfg.lr_decay == "linear" else 1.0
        for group in opt.param_groups:
            group["lr"] = cfg.lr_d * scale
        gen = derive_generator(cfg.seed, STEP, step)
        for _ in range(cfg.n_critic):
            x, y = labelled_batch(run, gen)
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()
            opt.step()
    return net
