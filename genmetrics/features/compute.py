"""Library entry points over the feature engine: features, statistics, and the inputs that hold them."""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import cache as content_cache
from .. import distributed
from .._io import NPZ_READ_ERRORS, atomic_write, check_output, unreadable_npz
from .._version import __version__
from ..data.sources import IterableSource, Source, open_images
from ..defaults import DEFAULTS, EXTRACTION_OPTIONS, check_keywords
from ..errors import GenmetricsError
from ..stats import META_KEY, RunningStats, Statistics, is_statistics_file, load_statistics, write_statistics
from .extract import FeatureStream
from .registry import load_extractor


def feature_stream(images, *, dims: int = DEFAULTS.dims, logits: bool | None = False,
                   resize: str = DEFAULTS.resize, weights=None, device=DEFAULTS.device,
                   batch_size: int = DEFAULTS.batch_size, workers: int | None = None,
                   skip_bad: bool = False, progress: bool = True, desc: str = "features",
                   extractor: str = DEFAULTS.extractor, extractor_size: int | None = None,
                   extractor_weights=None, extractor_input: str = DEFAULTS.extractor_input,
                   precision: str = DEFAULTS.precision) -> FeatureStream:
    """A ``FeatureStream`` over ``images`` with the given options (every public call goes through here).

    ``logits``: True to require the IS logits, None for "if the extractor has them", False for none.
    """
    images = open_images(images)  # a missing or unreadable input fails before the weights are fetched
    loaded = load_extractor(extractor, resize=resize, weights=weights, device=device, size=extractor_size,
                            extractor_weights=extractor_weights, extractor_input=extractor_input,
                            precision=precision, progress=progress)
    outputs, key = loaded.select(dims, logits)
    stream = FeatureStream(images, loaded, outputs, batch_size=batch_size, workers=workers,
                           skip_bad=skip_bad, progress=progress, desc=desc)
    stream.feature_key = key
    return stream


def protocol_of(stream: FeatureStream, dims: int) -> dict:
    if stream.extractor.name != "inception":
        dims = None  # the extractor's own feature size; recorded by the caller from the features
    return {**stream.extractor.protocol_record, "dims": dims, "version": __version__}


@dataclass
class Features:
    """Per-image features: ``features`` (N, dims), ``logits`` (N, 1008) or None, in input order."""

    features: np.ndarray
    logits: np.ndarray | None
    files: list[str] | None
    protocol: dict
    skipped: list[str] = field(default_factory=list)


def compute_features(images, *, dims: int = DEFAULTS.dims, logits: bool | None = None, **options) -> Features:
    """Features of every image in ``images`` (any input ``open_images`` accepts).

    ``dims`` picks the Inception layer (64, 192, 768 or the 2048-d pool); ``logits`` adds the 1008
    unbiased logits (default: when the extractor has them). Options: ``resize`` ("tf", "pytorch-fid",
    "clean"), ``weights`` (path), ``device``, ``batch_size``, ``workers``, ``skip_bad``, ``progress``,
    ``extractor`` ("inception", "vgg16", "torchscript:PATH" or a registered name), ``extractor_size``,
    ``extractor_weights``, ``extractor_input``.
    """
    check_keywords(options, EXTRACTION_OPTIONS, "compute_features")
    cache, hash_content = _cache_options(options)
    stream = feature_stream(images, dims=dims, logits=logits, **options)
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
        collected[name] = distributed.gather_rows(local, None)[rank].numpy()
    return collected


def save_features(path: str | Path, features: Features, *, force: bool = False, source: str | None = None) -> None:
    """Write ``pool``, ``logits``, ``files`` and the protocol (with n and ``source``) atomically; an
    existing ``path`` is replaced only with ``force``."""
    check_output(path, force=force)
    _write_features(path, features, source)


def _write_features(path: Path, features: Features, source: str | None) -> None:
    meta = {**features.protocol, "skipped": features.skipped, "n": int(len(features.features))}
    if source is not None:
        meta["source"] = source
    arrays = {"pool": features.features, "files": np.array(features.files or [], dtype=str),
              META_KEY: np.array(json.dumps(meta))}
    if features.logits is not None:
        arrays["logits"] = features.logits
    with atomic_write(path) as handle:
        np.savez(handle, **arrays)


def features_from_file(path) -> Features | None:
    """The contents of a features npz (from ``save_features``), or None for any other input; an .npz that
    cannot be read, or whose arrays are not (N, D) rows of the same N, is an error naming it."""
    if not isinstance(path, (str, Path)) or not str(path).lower().endswith(".npz") or not Path(path).is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if "pool" not in data.files and "logits" not in data.files:
                return None
            meta = json.loads(str(data[META_KEY])) if META_KEY in data.files else {}
            pool = data["pool"] if "pool" in data.files else None
            logits = data["logits"] if "logits" in data.files else None
            files = [str(f) for f in data["files"]] if "files" in data.files else None
    except NPZ_READ_ERRORS as exc:
        raise unreadable_npz(path, exc) from None
    _check_feature_rows(path, pool, logits, files)
    meta.pop("n", None)  # written for genmetrics cache list; the protocol is what a fresh run returns
    meta.pop("source", None)
    return Features(pool, logits, files, meta, meta.get("skipped", []))


def _check_feature_rows(path, pool, logits, files) -> None:
    """pool (N, D) and logits (N, K): one row per image, the same N, and as many file names if any."""
    rows = {}
    for name, value in (("pool", pool), ("logits", logits)):
        if value is not None:
            if value.ndim != 2 or value.dtype.kind not in "iuf":
                raise GenmetricsError(f"{path}: {name} is a {value.dtype} array of shape {value.shape}; a "
                                      f"features file holds one row of numbers per image, (N, D)")
            rows[name] = value.shape[0]
    if files:
        rows["files"] = len(files)
    if len(set(rows.values())) > 1:
        counts = ", ".join(f"{name} {count}" for name, count in rows.items())
        raise GenmetricsError(f"{path}: its arrays hold different numbers of images ({counts}); make the "
                              f"features file again with genmetrics features")


def statistics_from_features(features: np.ndarray, meta: dict | None = None, source: str = "") -> Statistics:
    """Mean and covariance of an (N, D) feature array, accumulated in float64."""
    acc = RunningStats()
    acc.update(torch.from_numpy(np.asarray(features)))
    return Statistics(acc.mean(), acc.covariance(), acc.n, meta or {}, source)


def compute_statistics(images, *, dims: int = DEFAULTS.dims, **options) -> Statistics:
    """Mean and covariance of the features of ``images``, streamed in float64 (constant memory).

    ``images`` may also be a statistics npz (ours, pytorch-fid's or clean-fid's) or a features npz
    from ``genmetrics features``; those are read, not recomputed.
    """
    check_keywords(options, EXTRACTION_OPTIONS, "compute_statistics")
    if is_statistics_file(images):
        return load_statistics(images)
    stored = features_from_file(images)
    if stored is not None and stored.features is not None:
        return statistics_from_features(stored.features, stored.protocol, str(images))
    cache, hash_content = _cache_options(options)
    stream = feature_stream(images, dims=dims, desc=f"stats {_short(images)}", **options)
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
    """The 1008 unbiased logits of every image (or those stored in a features npz), and the protocol."""
    check_keywords(options, EXTRACTION_OPTIONS, "compute_logits")
    stored = features_from_file(images)
    if stored is not None:
        if stored.logits is None:
            raise GenmetricsError(f"{images} holds no logits; write it with genmetrics features")
        return stored.logits, stored.protocol
    options.pop("dims", None)
    _cache_options(options)  # logits are not cached on their own (features files hold them)
    if options.get("extractor", "inception") != "inception":
        raise GenmetricsError("the Inception Score needs the inception extractor's logits; drop --extractor")
    stream = feature_stream(images, dims=2048, logits=True, desc=f"logits {_short(images)}", **options)
    logits = _collect(stream)["logits"]
    return logits, {**protocol_of(stream, 2048), "skipped": len(stream.skipped)}


def _short(images) -> str:
    if isinstance(images, (Source, IterableSource)):  # opened by open_input
        return Path(images.name).name
    return Path(images).name if isinstance(images, (str, Path)) else type(images).__name__


def open_input(images):
    """Check an input before any work: a statistics or features npz is returned as it is, anything else
    opened (``open_images``), so that a missing or unreadable input fails now rather than after another
    input was extracted. The result is accepted wherever ``images`` was."""
    if _npz_keys(images) & {"mu", "pool", "logits"}:  # read later by compute_statistics / compute_features
        return images
    return open_images(images)


def _npz_keys(path) -> set[str]:
    """The array names of an existing .npz (cheap: the arrays are not read), else an empty set."""
    if not isinstance(path, (str, Path)) or not str(path).lower().endswith(".npz") or not Path(path).is_file():
        return set()
    try:
        with np.load(path, allow_pickle=False) as data:
            return set(data.files)
    except NPZ_READ_ERRORS as exc:
        raise unreadable_npz(path, exc) from None
