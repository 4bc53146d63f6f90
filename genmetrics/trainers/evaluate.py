"""Evaluation while training (the registry's "train" metrics: FID/IS on images, mode coverage on toy
data) and the sample grids.

Images: ``eval_n`` samples from fixed noise, one Inception pass (pool features and logits) through the
core engine; FID against ``eval_ref`` (a folder or statistics npz) or, by default, ``eval_n`` training
images, whose statistics are cached in RUN/eval_ref_stats.npz (keyed by the reference and the Inception
weights' hash). Toy data: mode coverage of ``eval_n`` samples. The values come from ``metrics.scores``,
as in ``genmetrics eval`` and ``sweep``; which evaluation is better from the leading metric's ``rank_by``
in the registry (lower FID; for modes, more modes covered, then a larger high-quality fraction).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..defaults import DEFAULTS
from ..metrics.registry import GENERATED_LOGITS, POINTS, REFERENCE_STATISTICS, get_metric, metric_names
from ..metrics.scores import details, needed, scores
from ..stats import Statistics, load_statistics, save_statistics
from ..data.writers import save_png, to_uint8_nhwc
from .generator import LoadedGenerator, sample_noise
from .seeding import EVAL, FIXED, REFERENCE, derive_generator, derive_seed

REF_CACHE = "eval_ref_stats.npz"


def is_better(new: dict, best: dict | None) -> bool:
    """Whether evaluation ``new`` beats ``best`` on the leading metric (its ``rank_by`` in the registry)."""
    return get_metric(new["metric"]).is_better(new, best)


def train_metrics(kind: str) -> list[str]:
    """The registry's "train" metrics for a model of ``kind``: those of 2-D points for toy data, the others
    for images. The first is the leading metric, which picks the best checkpoint."""
    names = metric_names("train")
    points = needed(names, POINTS)
    return points if kind == "toy" else [n for n in names if n not in points]


def generate_samples(run, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` samples of the current generator (``run.sampler``: its moving average when kept) in eval mode
    (batch-size independent), then back to train."""
    z, labels = sample_noise(n, run.sampler.z_dim, seed, num_classes=run.config.num_classes)
    try:
        generator = LoadedGenerator(run.sampler, run.config, run.step, run.device)
        step = DEFAULTS.sample_batch_size
        out = torch.cat([generator(z[i:i + step], None if labels is None else labels[i:i + step])
                         for i in range(0, n, step)])
    finally:
        run.G.train()
    return out, labels


def evaluate_run(run) -> dict:
    """One evaluation of the current generator (see the module docstring)."""
    cfg = run.config
    samples, _ = generate_samples(run, cfg.eval_n, derive_seed(cfg.seed, EVAL))
    names = train_metrics(cfg.kind)
    if cfg.kind == "toy":  # every value and detail (mode coverage's per-mode counts) goes to metrics.jsonl
        found = details(names, run.data.mixture, samples, device=cfg.device)
        return {"metric": names[0], **{k: v for record in found.values() for k, v in record.items()}}
    from ..features.compute import compute_features

    images = torch.from_numpy(to_uint8_nhwc(samples))
    options = dict(weights=cfg.weights, device=cfg.device, progress=False, batch_size=DEFAULTS.batch_size)
    features = compute_features(images, dims=DEFAULTS.dims, logits=bool(needed(names, GENERATED_LOGITS)), **options)
    reference = None
    if needed(names, REFERENCE_STATISTICS):
        reference = reference_statistics(run, features.protocol.get("weights_sha256"), options)
    splits = min(DEFAULTS.splits, len(features.features))  # IS of fewer samples than splits: one per split
    values = scores(names, reference, features, DEFAULTS.replace(splits=splits), cfg.device)
    return {"metric": names[0], **values, "n": int(len(features.features)),
            "n_ref": None if reference is None else reference.n, "splits": splits,
            "weights_sha256": features.protocol.get("weights_sha256")}


def reference_statistics(run, weights_sha256: str | None, options: dict) -> Statistics:
    """The FID reference: cached in the run folder, computed once per reference and weights."""
    from ..features.compute import compute_statistics

    cfg = run.config
    ref = cfg.eval_ref or f"training data ({cfg.data}, {min(cfg.eval_n, run.data.n_train)} images)"
    cache = Path(cfg.out) / REF_CACHE
    cached = getattr(run, "_reference", None)
    if cached is None and cache.is_file():
        cached = load_statistics(cache)
    if cached is not None and cached.meta.get("ref") == ref and cached.meta.get("weights_sha256") == weights_sha256:
        run._reference = cached
        return cached
    if cfg.eval_ref:
        stats = compute_statistics(cfg.eval_ref, **options)
    else:
        rows = torch.randperm(run.data.n_train, generator=derive_generator(cfg.seed, REFERENCE))[:cfg.eval_n]
        stats = compute_statistics(run.data.images[rows], **options)
    stats = Statistics(stats.mu, stats.sigma, stats.n, {**stats.meta, "ref": ref}, ref)
    save_statistics(cache, stats, force=True)  # replaces the reference of other weights
    run._reference = stats
    return stats


def image_grid(images: torch.Tensor, nrow: int) -> np.ndarray:
    """[-1, 1] NCHW -> one uint8 HxWxC grid with 2-pixel gaps."""
    from torchvision.utils import make_grid

    grid = make_grid(images.float(), nrow=nrow, padding=2, pad_value=1.0)
    return to_uint8_nhwc(grid[None])[0][..., :images.shape[1]]


def scatter(points: np.ndarray, mixture, size: int = 400) -> np.ndarray:
    """A scatter plot drawn with PIL: grey points, the modes as red circles of radius 3 std."""
    extent = mixture.extent()
    canvas = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(canvas)

    def pixel(xy):
        return (xy[..., 0] + extent) / (2 * extent) * (size - 1), (extent - xy[..., 1]) / (2 * extent) * (size - 1)

    draw.line([(0, size // 2), (size, size // 2)], fill=(225, 225, 225))
    draw.line([(size // 2, 0), (size // 2, size)], fill=(225, 225, 225))
    px, py = pixel(np.asarray(points, np.float64))
    for x, y in zip(px, py):
        if 0 <= x < size and 0 <= y < size:
            draw.rectangle([x - 1, y - 1, x, y], fill=(40, 40, 40))
    radius = max(2.0, 3 * mixture.std / (2 * extent) * (size - 1))
    for x, y in zip(*pixel(mixture.means_array())):
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], outline=(220, 30, 30))
    return np.asarray(canvas)


def write_sample_grid(run, path: Path) -> None:
    """The grid (or scatter plot) of the fixed noise at the current step."""
    cfg = run.config
    if cfg.kind == "toy":
        points, _ = generate_samples(run, DEFAULTS.toy_samples, derive_seed(cfg.seed, FIXED))  # PacGAN plots 2,500 points
        save_png(path, scatter(points.numpy(), run.data.mixture))
        return
    own = run.family.sample_grid(run)
    if own is not None:
        save_png(path, own)
        return
    classes = cfg.num_classes or 0
    n = 8 * classes if 0 < classes <= 16 else 64  # acgan: one row of 8 per class
    z = torch.randn(n, run.sampler.z_dim, generator=derive_generator(cfg.seed, FIXED))
    labels = (torch.arange(n) // 8 if classes <= 16 else torch.arange(n) % classes) if classes else None
    try:
        images = LoadedGenerator(run.sampler, cfg, run.step, run.device)(z, labels)
    finally:
        run.G.train()
    save_png(path, image_grid(images, nrow=8))
