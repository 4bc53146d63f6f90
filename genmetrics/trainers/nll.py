"""``genmetrics nll``: the test negative log-likelihood of a trained likelihood model, with standard errors.

- NADE, PixelCNN: exact, -log p(x) summed over the pixels of each image.
- VAE: upper bounds on -log p(x): the negative ELBO, estimated by the mean of log w over the k importance
  draws, and the negative IWAE_k bound, -(logsumexp_i log w_i - log k) (Burda et al. 2016, Eq. 8; vae.py),
  with k = 5000 by default (their evaluation). The draws of image i come from a generator seeded by
  (seed, i), so the numbers do not depend on the batch size.

Reported in nats per image and in bits per dimension, NLL / (D ln 2). Each is a mean over the test
images; its standard error is the standard deviation of the per-image values over sqrt(n). Beside the
model, the independent-pixel baseline: every pixel on its own, its level frequencies in the training
split with add-one smoothing; a model that does not beat it has learnt nothing about shapes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .._version import __version__
from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from ..metrics.result import MetricResult
from .binarize import BINARY, binarization_rule
from .data import DIGITS_SPLITS, TORCHVISION, default_data_root, load_binary, load_digits, load_torchvision
from .generator import load_generator
from .seeding import EVAL, derive_generator


def convention(levels: int, dim: int) -> str:
    """How the numbers are defined, printed with them (REFERENCES.md, "Likelihood anchors")."""
    return (f"discrete model of {levels}-level pixels: NLL = -log P(x) in nats per image, bits/dim = NLL / "
            f"({dim} ln 2); no dequantisation. A continuous density on [0, 1]^{dim} fitted to these images "
            f"dequantised as y = (x + u) / {levels}, u ~ U[0, 1), compares after adding D ln L = {dim} ln {levels} = "
            f"{dim * math.log(levels):.2f} nats to its NLL ({math.log2(levels):g} bits/dim)")


@dataclass
class NLLResult(MetricResult):
    """Test NLL of a run: ``nll`` is exact (NADE, PixelCNN) or the IWAE_k bound (VAE, ``exact`` False)."""

    model: str
    data: str
    split: str
    n: int
    dim: int
    levels: int
    exact: bool
    nll: float
    nll_se: float
    bits_per_dim: float
    bits_per_dim_se: float
    neg_elbo: float | None
    neg_elbo_se: float | None
    k: int | None
    baseline_nll: float | None
    baseline_bits_per_dim: float | None
    binarization: str | None
    convention: str
    checkpoint: str
    step: int
    seed: int | None
    version: str = __version__

    PROTOCOL = ("data", "split", "n", "k", "seed", "binarization", "checkpoint", "step", "version")


def held_out_images(name: str, split: str, shape: tuple, data_root: str | None = None) -> torch.Tensor:
    """uint8 (N, C, H, W) images of a named data set's ``split`` at the model's size, or of a folder or
    .npz/.npy (``split`` ignored)."""
    size = shape[-1]
    if name in BINARY:
        return load_binary(name, split, data_root, size, for_training=False)[0]
    if name == "digits":
        if split not in DIGITS_SPLITS:
            raise GenmetricsError(f"--split: digits has {', '.join(DIGITS_SPLITS)}, not {split!r}")
        return load_digits(size, split)[0]
    if name in TORCHVISION:
        return load_torchvision(name, data_root or default_data_root(), size, split)[0]
    path = Path(name).expanduser()
    if not path.exists():
        raise GenmetricsError(f"--data {name}: give a data set name ({', '.join([*BINARY, 'digits', *TORCHVISION])}), "
                              f"a folder of images or a uint8 .npz/.npy of images")
    from ..data import open_images

    source = open_images(path)
    images = np.stack([source.load(i) for i in range(len(source))])  # (N, H, W, 3): grey is replicated
    return torch.from_numpy(images[..., :shape[0]]).permute(0, 3, 1, 2).contiguous()


def _levels_of(images: torch.Tensor, levels: int, name: str, model: str) -> torch.Tensor:
    if levels == 256:
        return images.long()
    values = set(images.unique().tolist())
    if not values <= {0, 255} and not values <= {0, 1}:
        raise GenmetricsError(f"--data {name}: {model} models binary pixels but these images have "
                              f"{len(values)} grey levels; give a -binary data set (e.g. digits-binary)")
    return (images > 0).long()


def independent_pixel_nll(train: torch.Tensor, test: torch.Tensor, levels: int) -> np.ndarray:
    """Per-image NLL (nats) of ``test`` under independent pixels with add-one-smoothed level frequencies
    of ``train`` (integer levels, (N, ...))."""
    train, test = train.flatten(1), test.flatten(1)
    counts = torch.stack([(train == v).sum(0) for v in range(levels)], 1).double() + 1.0  # (D, L)
    log_p = (counts / counts.sum(1, keepdim=True)).log()
    return -log_p.gather(1, test.t()).t().sum(1).numpy()


def _mean_se(values: np.ndarray) -> tuple[float, float]:
    n = len(values)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")


def _vae_bounds(net, x: torch.Tensor, first: int, k: int, seed: int, device) -> tuple[np.ndarray, np.ndarray]:
    """Per-image (-ELBO estimate, -IWAE_k) of images first .. first + len(x) - 1; draws seeded per image."""
    eps = torch.stack([torch.randn(k, net.latent, generator=derive_generator(seed, EVAL, first + i))
                       for i in range(len(x))], 1)  # (k, N, latent)
    log_w = torch.cat([net.log_weights(x, eps[start:start + 500].to(device, net.dtype))
                       for start in range(0, k, 500)])  # (k, N), in chunks of 500 draws
    iwae = torch.logsumexp(log_w.double(), 0) - math.log(k)
    return (-log_w.double().mean(0)).cpu().numpy(), (-iwae).cpu().numpy()


@torch.no_grad()
def negative_log_likelihood(run: str | Path, data: str | None = None, split: str = "test", *,
                            k: int = DEFAULTS.iwae_k, n: int | None = None, seed: int = DEFAULTS.seed,
                            batch_size: int = DEFAULTS.nll_batch_size, device: str = DEFAULTS.device,
                            data_root: str | None = None, progress: bool = DEFAULTS.progress) -> NLLResult:
    """The test NLL of the likelihood model in ``run`` (a run folder or checkpoint) on ``data`` (a data set
    name, default the run's own, or a uint8 .npz/.npy) ``split``; ``n``: the first n images only; ``k``:
    the VAE's importance samples; ``seed``: their draws."""
    generator = load_generator(run, device=device)
    net, config = generator.net, generator.config
    if not hasattr(net, "log_prob") and not hasattr(net, "log_weights"):
        raise GenmetricsError(f"{run}: {config.model} has no tractable likelihood; score its samples with "
                              f"genmetrics parzen (and see docs/likelihood.md for how far that is from the truth)")
    if k < 1 or batch_size < 1 or (n is not None and n < 2):
        raise GenmetricsError("-k and --batch-size must be at least 1, -n at least 2")
    name = data or config.data
    images = held_out_images(name, split, net.shape, data_root)[:n]
    if tuple(images.shape[1:]) != tuple(net.shape):
        raise GenmetricsError(f"--data {name}: images of shape {tuple(images.shape[1:])}, but the model in {run} "
                              f"was trained on {tuple(net.shape)} ({config.data})")
    x_all = _levels_of(images, net.levels, name, config.model)
    nll, elbo = [], []
    for start in tqdm(range(0, len(x_all), batch_size), disable=not progress, desc="nll"):
        x = x_all[start:start + batch_size].to(generator.device)
        if net.exact:
            nll.append(-net.log_prob(x).double().cpu().numpy())
        else:
            neg_elbo, neg_iwae = _vae_bounds(net, x, start, k, seed, generator.device)
            elbo.append(neg_elbo)
            nll.append(neg_iwae)
    nll = np.concatenate(nll)
    mean, se = _mean_se(nll)
    to_bits = 1.0 / (net.dim * math.log(2))
    neg_elbo, neg_elbo_se = _mean_se(np.concatenate(elbo)) if elbo else (None, None)
    baseline = None
    train_name = name if (name in BINARY or name == "digits" or name in TORCHVISION) else None
    if train_name:
        train = _levels_of(held_out_images(train_name, "train", net.shape, data_root), net.levels, name, config.model)
        baseline = float(independent_pixel_nll(train, x_all.cpu(), net.levels).mean())
    return NLLResult(config.model, name, split, len(nll), net.dim, net.levels, bool(net.exact), mean, se,
                     mean * to_bits, se * to_bits, neg_elbo, neg_elbo_se, None if net.exact else k, baseline,
                     None if baseline is None else baseline * to_bits,
                     binarization_rule(name) if name in BINARY else None,
                     convention(net.levels, net.dim), str(run), generator.step, None if net.exact else seed)
