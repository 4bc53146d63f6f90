"""Library entry points over the feature engine: features, statistics, and the inputs that hold them."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch

from .. import cache as content_cache
from .. import distributed
from .._io import atomic_write
from .._version import __version__
from ..data.sources import open_images
from ..defaults import DEFAULTS, EXTRACTION_OPTIONS, check_keywords
from ..errors import GenmetricsError
from ..stats import RunningStats, Statistics, load_statistics, write_statistics
from .extract import FeatureStream
from .files import Features, _write_features, features_from_file, save_features, statistics_from_features  # noqa: F401
from ..inputs import FEATURES, IMAGES, STATISTICS, open_input
from .registry import load_extractor


def feature_stream(images, *, dims: int = DEFAULTS.dims, logits: bool | None = False,
                   resize: str = DEFAULTS.resize, weights=None, device=DEFAULTS.device,
                   batch_size: int = DEFAULTS.batch_size, workers: int | None = None,
                   skip_bad: bool = False, progress: bool = True, desc: str = "features",
                   extractor: str = DEFAULTS.extractor, extractor_size: int | None = None,
                   extractor_weights=None, extractor_input: str = DEFAULTS.extractor_input,
                   precision: str = DEFAULTS.precision, backend: str = DEFAULTS.backend) -> FeatureStream:
    """A ``FeatureStream`` over ``images`` with the given options (every public call goes through here).

    ``logits``: True to require the IS logits, None for "if the extractor has them", False for none.
    """
    images = open_images(images)  # a missing or unreadable input fails before the weights are fetched
    loaded = load_extractor(extractor, resize=resize, weights=weights, device=device, size=extractor_size,
                            extractor_weights=extractor_weights, extractor_input=extractor_input,
                            precision=precision, progress=progress, backend=backend)
    outputs, key = loaded.select(dims, logits)
    stream = FeatureStream(images, loaded, outputs, batch_size=batch_size, workers=workers,
                           skip_bad=skip_bad, progress=progress, desc=desc)
    stream.feature_key = key
    return stream


def protocol_of(stream: FeatureStream, dims: int) -> dict:
    if stream.extractor.name != "inception":
        dims = None  # the extractor's own feature size; recorded by the caller from the features
    return {**stream.extractor.protocol_record, "dims": dims, "version": __version__}


def compute_features(images, *, dims: int = DEFAULTS.dims, logits: bool | None = None, **options) -> Features:
    """Features of every image in ``images`` (any input ``open_images`` accepts).

    ``dims`` picks the Inception layer (64, 192, 768 or the 2048-d pool); ``logits`` adds the 1008
    unbiased logits (default: when the extractor has them). Options: ``resize`` ("tf", "pytorch-fid",
    "clean"), ``weights`` (path), ``device``, ``batch_size``, ``workers``, ``skip_bad``, ``progress``,
    ``extractor`` ("inception", "vgg16", "torchscript:PATH" or a registered name), ``extractor_size``,
    ``extractor_weights``, ``extractor_input``.
    """
    check_keywords(options, EXTRACTION_OPTIONS, "compute_features")
    opened = open_input(images, (IMAGES, FEATURES), "per-image features")
    if opened.kind == FEATURES:
        return opened.value
    cache, hash_content = _cache_options(options)
    stream = feature_stream(opened.images, dims=dims, logits=logits, **options)
    entry = _cache_entry("features", stream, dims, hash_content) if cache else None
    if entry is not None:
        stored = content_cache.read_entry(entry, features_from_file)
        if stored is not None:
            return stored
    parts = _collect(stream)
    kept = None
    if stream.files is not None:
        skipped = set(stream.skipped)
        kept = [f for i, f in enumerate(stream.files) if stream.source.item_name(i) not in skipped]
    features = parts[stream.feature_key]
    protocol = protocol_of(stream, dims)
    protocol["dims"] = features.shape[1]
    result = Features(features, parts.get("logits"), kept, protocol, stream.skipped)
    if entry is not None and distributed.is_main():
        content_cache.write_entry(entry, lambda path: _write_features(path, result, stream.source.name))
    return result


def _cache_options(options: dict) -> tuple[bool, bool]:
    """Pop ``cache`` (default on unless $GENMETRICS_NO_CACHE is set) and ``hash_content``."""
    cache = options.pop("cache", None)
    if cache is None:
        cache = not os.environ.get("GENMETRICS_NO_CACHE")
    return bool(cache), bool(options.pop("hash_content", False))


def _cache_entry(kind: str, stream: FeatureStream, dims: int, hash_content: bool) -> Path | None:
    """The cache file for this input and protocol, or None for inputs that are not files."""
    identity = content_cache.input_identity(stream.source, hash_content)
    if identity is None:
        return None
    protocol = {**stream.extractor.protocol_record, "dims": dims, "outputs": sorted(stream.outputs),
                "skip_bad": stream.skip_bad}
    return content_cache.entry_path(kind, content_cache.key(kind, identity, protocol))


def _collect(stream: FeatureStream) -> dict[str, np.ndarray]:
    """Every output of the stream, over all ranks, in input order."""
    # sorted: every rank must issue its gathers in the same order (set order varies between processes)
    indices, parts = [], {name: [] for name in sorted(stream.outputs)}
    for batch_indices, feats in stream:
        indices.extend(batch_indices)
        for name, value in feats.items():
            parts[name].append(value)
    order = torch.tensor(indices, dtype=torch.float64).reshape(-1, 1)  # exact up to 2^53 images
    stream.skipped = [name for names in distributed.gather_objects(stream.skipped) for name in names]
    if distributed.active():
        order = distributed.gather_rows(order, 1, torch.float64)
    rank = torch.argsort(order.flatten())
    if len(rank) == 0:
        raise GenmetricsError(f"{stream.source.name}: no image could be read")
    collected = {}
    for name, values in parts.items():
        local = torch.cat(values) if values else None
        dtype = torch.float64 if stream.extractor.precision == "fp64" else torch.float32  # the same on every rank
        collected[name] = distributed.gather_rows(local, None, dtype)[rank].numpy()
    return collected


def compute_statistics(images, *, dims: int = DEFAULTS.dims, **options) -> Statistics:
    """Mean and covariance of the features of ``images``, streamed in float64 (constant memory).

    ``images`` may also be a statistics npz (ours, pytorch-fid's or clean-fid's) or a features npz
    from ``genmetrics features``; those are read, not recomputed.
    """
    check_keywords(options, EXTRACTION_OPTIONS, "compute_statistics")
    opened = open_input(images, (IMAGES, FEATURES, STATISTICS), "statistics")
    if opened.kind == STATISTICS:
        return opened.value
    if opened.kind == FEATURES:
        if opened.value.features is None:
            raise GenmetricsError(f"{opened.name} holds no pool features, only logits; write it with genmetrics features")
        return statistics_from_features(opened.value.features, opened.value.protocol, opened.name)
    cache, hash_content = _cache_options(options)
    stream = feature_stream(opened.images, dims=dims, desc=f"stats {_short(opened.images)}", **options)
    entry = _cache_entry("stats", stream, dims, hash_content) if cache else None
    cached = content_cache.read_entry(entry, load_statistics) if entry is not None else None
    if cached is not None:
        cached.source = stream.source.name
        return cached
    acc = _accumulate(stream, entry)
    acc.all_reduce()
    stream.skipped = [name for names in distributed.gather_objects(stream.skipped) for name in names]
    if acc.n == 0:
        raise GenmetricsError(f"{stream.source.name}: no image could be read")
    size = acc.sum.shape[0]
    meta = {**protocol_of(stream, dims), "dims": size, "skipped": len(stream.skipped)}
    stats = Statistics(acc.mean(), acc.covariance() if acc.n > 1 else np.full((size, size), np.nan),
                       acc.n, meta, stream.source.name)
    if entry is not None and acc.n > 1 and distributed.is_main():
        entry_stats = Statistics(stats.mu, stats.sigma, stats.n, {**meta, "source": stats.source})
        content_cache.write_entry(entry, lambda path: write_statistics(path, entry_stats))
    return stats


CHECKPOINT_SECONDS = 30.0  # how often an interrupted statistics run can lose at most this much work


def _accumulate(stream: FeatureStream, entry: Path | None) -> RunningStats:
    """Stream the features into float64 sums; with a cache entry (and one process), checkpoint the sums
    beside it every CHECKPOINT_SECONDS and resume from such a checkpoint instead of starting over."""
    acc = RunningStats()
    partial = entry.with_name(entry.name.replace(".npz", ".partial.npz")) if entry is not None else None
    resumable = partial is not None and not distributed.active()
    resumed = content_cache.read_entry(partial, lambda path: _read_checkpoint(path, len(stream.source))) \
        if resumable else None
    if resumed is not None:
        stream.start, acc.n, acc.sum, acc.outer, stream.skipped = resumed
    last = time.monotonic()
    for indices, feats in stream:
        acc.update(feats[stream.feature_key])
        if resumable and time.monotonic() - last > CHECKPOINT_SECONDS:
            resumable = content_cache.write_entry(partial, lambda path: _write_checkpoint(path, indices, acc, stream))
            last = time.monotonic()
    if partial is not None and not distributed.active():
        content_cache.write_entry(partial, lambda path: path.unlink(missing_ok=True))
    return acc


def _write_checkpoint(path: Path, indices: list[int], acc: RunningStats, stream: FeatureStream) -> None:
    with atomic_write(path) as handle:
        np.savez(handle, done=indices[-1] + 1, n=acc.n, sum=acc.sum.cpu().numpy(),
                 outer=acc.outer.cpu().numpy(), skipped=np.array(stream.skipped, dtype=str))


def _read_checkpoint(path: Path, total: int) -> tuple:
    """(done, n, sum, outer, skipped) of a resume file; ValueError if its arrays do not fit together."""
    with np.load(path, allow_pickle=False) as data:
        done, n, total_sum, outer = int(data["done"]), int(data["n"]), data["sum"], data["outer"]
        skipped = [str(f) for f in data["skipped"]]
    dims = total_sum.shape[0] if total_sum.ndim == 1 else -1
    if not (0 <= n <= done <= total and outer.shape == (dims, dims) and np.isfinite(outer).all()):
        raise ValueError(f"done={done}, n={n} of {total} images, sum {total_sum.shape}, outer {outer.shape}")
    return done, n, torch.from_numpy(total_sum), torch.from_numpy(outer), skipped


def compute_logits(images, **options) -> tuple[np.ndarray, dict]:
    """The logits of every image (or those stored in a features npz), and the protocol: the 1008 unbiased
    logits of the inception extractor, the 10 of ``digits``, the 1,000 of ``stacked-digits``."""
    check_keywords(options, EXTRACTION_OPTIONS, "compute_logits")
    opened = open_input(images, (IMAGES, FEATURES), "the Inception Score")
    if opened.kind == FEATURES:
        if opened.value.logits is None:
            raise GenmetricsError(f"{opened.name} holds no logits; write it with genmetrics features")
        return opened.value.logits, opened.value.protocol
    images = opened.images
    options.pop("dims", None)
    _cache_options(options)  # logits are not cached on their own (features files hold them)
    stream = feature_stream(images, dims=2048, logits=True, desc=f"logits {_short(images)}", **options)
    logits = _collect(stream)["logits"]
    return logits, {**protocol_of(stream, 2048), "skipped": len(stream.skipped)}


def _short(images) -> str:
    return Path(images.name).name
