"""What the families measure of themselves: held-out labelled data, clustering accuracy, per-class FID.

- ``held_out(run)``: labelled examples the run never trained on: the digits' test split (data.py's
  DIGITS_SPLITS), torchvision's test split, fresh draws of a toy mixture (labelled by mode); a folder of
  images has no held-out split, so its training images are used (and the record says so).
- ``cluster_accuracy``: accuracy of cluster ids against labels after the best one-to-one matching of
  clusters to classes (the Hungarian algorithm, scipy's ``linear_sum_assignment``), the unsupervised
  classification accuracy InfoGAN reports (Chen et al. 2016, Section 7.1: 5% error on MNIST).
- ``class_fid``: FID between the samples of each class and the real images of that class.
"""
from __future__ import annotations

import numpy as np
import torch

from ..defaults import DEFAULTS
from .seeding import EVAL, derive_generator

HELD_OUT_N = 1000  # toy data: labelled points drawn for the held-out set; images: at most this many


def held_out(run) -> tuple[torch.Tensor, torch.Tensor, str]:
    """(inputs as the discriminator sees them, labels, where they come from) for the run's data."""
    cfg, data = run.config, run.data
    if cfg.kind == "toy":
        gen = derive_generator(cfg.seed, EVAL, 1)
        modes = torch.randint(data.mixture.n_modes, (HELD_OUT_N,), generator=gen)
        means = torch.tensor(data.mixture.means, dtype=torch.float32)
        return means[modes] + data.mixture.std * torch.randn(HELD_OUT_N, 2, generator=gen), modes, "fresh draws"
    from .data import TORCHVISION, default_data_root, load_digits, load_torchvision

    if cfg.data == "digits":
        images, labels = load_digits(cfg.image_size, "test")
        source = "digits test split"
    elif cfg.data in TORCHVISION:
        images, labels = load_torchvision(cfg.data, cfg.data_root or default_data_root(), cfg.image_size, "test")
        source = f"{cfg.data} test split"
    else:
        images, labels = data.images, data.labels
        source = "training images (a folder has no held-out split)"
    images, labels = images[:HELD_OUT_N], labels[:HELD_OUT_N]
    return images.float().div(127.5).sub(1.0), labels, source


@torch.no_grad()
def predict(net, inputs: torch.Tensor, columns: slice, device, batch: int = 500) -> torch.Tensor:
    """argmax over ``columns`` of ``net``'s output for ``inputs``, in eval mode (then back to train)."""
    was_training = net.training
    net.eval()
    try:
        out = [net(inputs[i:i + batch].to(device))[:, columns].argmax(1).cpu() for i in range(0, len(inputs), batch)]
    finally:
        net.train(was_training)
    return torch.cat(out)


def cluster_accuracy(clusters, labels) -> float:
    """Fraction of examples whose cluster maps to their label under the best one-to-one matching."""
    from scipy.optimize import linear_sum_assignment

    clusters, labels = np.asarray(clusters, np.int64), np.asarray(labels, np.int64)
    size = int(max(clusters.max(), labels.max())) + 1
    counts = np.zeros((size, size), np.int64)
    np.add.at(counts, (clusters, labels), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / len(labels))


def class_fid(sample, num_classes: int, images: torch.Tensor, labels: torch.Tensor, *, extractor: str,
              device: str = DEFAULTS.device, weights=None) -> dict:
    """{class: FID} of ``sample(c)`` (generated images of class c in [-1, 1], NCHW) against ``images``
    (uint8 NCHW) of that class, in the features of ``extractor``; classes with under 2 real images are
    left out."""
    from ..data.writers import to_uint8_nhwc
    from ..features.compute import compute_features
    from ..metrics.fid import frechet_distance

    options = dict(extractor=extractor, device=device, weights=weights, progress=False, cache=False)
    result = {}
    for c in range(int(num_classes)):
        real = images[labels == c]
        if len(real) < 2:
            continue
        stats = []
        for batch in (real.permute(0, 2, 3, 1).numpy(), to_uint8_nhwc(sample(c))):
            features = compute_features(torch.from_numpy(np.ascontiguousarray(batch)), logits=False, **options)
            x = np.asarray(features.features, np.float64)
            stats.append((x.mean(0), np.cov(x, rowvar=False)))
        result[str(c)] = float(frechet_distance(stats[0][0], stats[0][1], stats[1][0], stats[1][1]))
    return result


@torch.no_grad()
def class_samples(run, c: int, n: int) -> torch.Tensor:
    """``n`` samples of class ``c`` from the run's generator (``run.sampler``) in eval mode (fixed noise per class)."""
    z = torch.randn(n, run.config.z_dim, generator=derive_generator(run.config.seed, EVAL, 2, c)).to(run.device)
    run.sampler.eval()
    try:
        return run.sampler(z, torch.full((n,), c, dtype=torch.long, device=run.device)).float().cpu()
    finally:
        run.G.train()
