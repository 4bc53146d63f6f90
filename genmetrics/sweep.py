"""Truncation sweeps: a generator's quality/diversity curve, as rows, a table, CSV/JSON and a plot.

The truncation trick trades diversity for fidelity (Brock et al. 2018, "Large Scale GAN Training", section
3.1 and Fig. 2; Karras et al. 2019, StyleGAN, section 2.1 with psi). Papers mix three definitions:

  resample  the BigGAN paper: entries of z ~ N(0, I) with |z| > t are redrawn, i.e. z ~ truncnorm(-t, t)
  scale     the TF-Hub BigGAN modules: z = t * truncnorm(-2, 2)
  psi       StyleGAN: w = w_avg + psi (w - w_avg). A generator that accepts ``truncation_psi=`` gets it;
            for a plain generator the mean latent is 0, so this scales z ~ N(0, I) by psi.

Common random numbers: each sample's latent comes from the same uniforms u at every point, mapped through
the inverse CDF of that point's distribution (``z = Phi^-1(Phi(-t) + u (Phi(t) - Phi(-t)))`` for
resample), so points differ only by the truncation and the curve is smooth rather than noisy. The
uniforms depend on the seed alone, not on the batch size.

Under torchrun every rank draws the same uniforms, generates and featurises its own contiguous share of
the samples (whole batches), and the per-sample features (or points) are gathered in sample order, so each
point's numbers are those of a single process.
"""
from __future__ import annotations

import inspect
import os
import warnings

import numpy as np
import torch
from scipy.special import ndtr, ndtri
from tqdm import tqdm

from . import distributed
from ._version import __version__
from .data.decode import to_uint8
from .defaults import DEFAULTS, EXTRACTION_OPTIONS, METRIC_OPTIONS, check_keywords
from .errors import GenmetricsError
from .metrics import registry
from .metrics.registry import GENERATED_LOGITS, POINTS, REFERENCE_FEATURES, REFERENCE_STATISTICS
from .metrics.scores import needed, scores, split_options

METHODS = ("resample", "scale", "psi")
TF_HUB_BOUND = 2.0  # TF-Hub BigGAN colab: truncation * truncnorm.rvs(-2, 2, ...)
DEFAULT_TRUNCATIONS = DEFAULTS.truncations
# Inception throughput on a CPU, per core, fp32 at 299 px: 12 img/s on 2 cores in benchmarks/extract_speed.py
# (README table). Used only to warn before a long sweep; the progress bar shows the real rate.
CPU_IMAGES_PER_SECOND_PER_CORE = 6.0
LONG_SWEEP_SECONDS = 600.0  # warn when the estimate passes ten minutes


def __getattr__(name: str):
    if name == "SWEEP_METRICS":  # the former constant: the registry's sweep metrics, always current
        return registry.metric_names("sweep")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def estimate_seconds(images: int, device: torch.device) -> float | None:
    """A rough time to featurise ``images`` on a CPU (None on a GPU, where it is seldom long)."""
    if device.type != "cpu":
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return images / (CPU_IMAGES_PER_SECOND_PER_CORE * cores)


def parse_truncations(spec) -> list[float]:
    """"2.0,1.5,1.0" or "start:stop:num" (evenly spaced, both ends included) or a list of numbers."""
    if isinstance(spec, str):
        try:
            if ":" in spec:
                start, stop, num = spec.split(":")
                values = np.linspace(float(start), float(stop), int(num)).tolist()
            else:
                values = [float(v) for v in spec.split(",") if v.strip()]
        except ValueError:
            raise GenmetricsError(f"--truncation {spec!r}: give numbers like 2.0,1.0,0.5 or start:stop:num") from None
    else:
        values = [float(v) for v in spec]
    if not values:
        raise GenmetricsError("--truncation: the list of truncation levels is empty")
    return values


def uniforms(n: int, z_dim: int, seed: int) -> np.ndarray:
    """The (n, z_dim) uniforms every point shares, kept off 0 and 1 so the inverse CDF stays finite."""
    return np.clip(np.random.default_rng(seed).random((n, z_dim)), 1e-12, 1 - 1e-12)


def latents(u: np.ndarray, truncation: float, method: str) -> np.ndarray:
    """Latents for one truncation level from the shared uniforms ``u``."""
    if method not in METHODS:
        raise GenmetricsError(f"--method {method!r}; choose one of {', '.join(METHODS)}")
    if truncation <= 0 and method in ("resample", "scale"):
        raise GenmetricsError(f"truncation {truncation} must be > 0 for --method {method}")
    if method == "psi":
        return (truncation * ndtri(u)).astype(np.float32)
    bound = truncation if method == "resample" else TF_HUB_BOUND
    low = ndtr(-bound)
    z = ndtri(low + u * (1 - 2 * low))
    return (z if method == "resample" else truncation * z).astype(np.float32)


def _accepts_psi(generator) -> bool:
    try:
        return "truncation_psi" in inspect.signature(generator).parameters
    except (TypeError, ValueError):
        return False


def generate(generator, z: np.ndarray, batch_size: int, device, psi: float | None = None):
    """Yield the generator's outputs for ``z`` in batches: uint8 NCHW images, or float (N, 2) points."""
    kwargs = {"truncation_psi": psi} if psi is not None else {}
    with torch.inference_mode():
        for start in range(0, len(z), batch_size):
            out = generator(torch.from_numpy(z[start:start + batch_size]).to(device), **kwargs)
            if not isinstance(out, torch.Tensor):
                raise GenmetricsError(f"the generator returned a {type(out).__name__}; expected a tensor")
            if out.dim() == 2 and out.shape[1] == 2:
                yield out.float().cpu()
            elif out.dim() == 4 and out.shape[1] in (1, 3):
                yield to_uint8(out.float() * 0.5 + 0.5 if out.is_floating_point() else out).cpu()
            else:
                raise GenmetricsError(f"the generator returned shape {tuple(out.shape)}; expected images "
                                      f"(N, 3, H, W) in [-1, 1] or uint8, or (N, 2) toy points")


def _reference(ref, metrics, options):
    """What the metrics need of the reference, computed once per sweep: None, statistics or features."""
    from .features.compute import compute_features, compute_statistics
    from .inputs import FEATURES, IMAGES, STATISTICS, open_input

    per_image = needed(metrics, REFERENCE_FEATURES)
    if not per_image:
        # FID needs only the reference's statistics (a statistics file will do); IS and modes no reference
        if not needed(metrics, REFERENCE_STATISTICS):
            return None
        return compute_statistics(open_input(ref, (IMAGES, FEATURES, STATISTICS), "--ref"), **options)
    opened = open_input(ref, (IMAGES, FEATURES), f"{', '.join(per_image)} (per-image reference features)")
    return compute_features(opened, logits=False, **options)


def _gathered_features(batches, logits: bool, options: dict):
    """Features (and logits) of this rank's ``batches``, gathered in sample order over the ranks."""
    from .features.compute import Features, compute_features

    if not distributed.active():
        return compute_features(iter(batches), logits=logits, **options)
    with distributed.local() as (rank, _):
        mine = compute_features(iter(batches), logits=logits,
                                **{**options, "progress": options.get("progress") and rank == 0}) if batches else None
    shapes = distributed.gather_objects(None if mine is None else (
        mine.features.shape[1], None if mine.logits is None else mine.logits.shape[1], mine.protocol))
    width, logits_width, protocol = next(s for s in shapes if s is not None)
    features = distributed.gather_array(None if mine is None else mine.features, np.zeros((0, width), np.float32))
    gathered_logits = None
    if logits_width is not None:
        gathered_logits = distributed.gather_array(None if mine is None else mine.logits,
                                                   np.zeros((0, logits_width), np.float32))
    return Features(features, gathered_logits, None, protocol)


def _point(batches, metrics, reference, settings, options, modes_data, device):
    """One sweep point: the metrics of this level's samples (2-D points or images) via ``scores``."""
    batches = list(batches)
    point_metrics = needed(metrics, POINTS)
    image_metrics = [m for m in metrics if m not in point_metrics]
    row = {}
    if point_metrics:
        mine = torch.cat(batches).numpy() if batches else None
        points = distributed.gather_array(mine, np.zeros((0, 2), np.float32))
        row.update(scores(point_metrics, modes_data, points, settings, device))
    if image_metrics:
        if batches and batches[0].dim() != 4:
            raise GenmetricsError(f"{', '.join(image_metrics)} need images; this generator makes 2-D points "
                                  f"(use --metrics {','.join(needed(registry.metric_names('sweep'), POINTS))})")
        fake = _gathered_features(batches, bool(needed(image_metrics, GENERATED_LOGITS)), options)
        row.update(scores(image_metrics, reference, fake, settings, device))
        row["protocol"] = {k: fake.protocol.get(k) for k in ("extractor", "resize", "weights_sha256", "dims")}
    return row


def _warn_if_long(n: int, levels: list, metrics: list, device: torch.device) -> None:
    if len(needed(metrics, POINTS)) == len(metrics):
        return  # toy points: no network
    images = n * len(levels)
    seconds = estimate_seconds(images, device)
    if seconds is not None and seconds > LONG_SWEEP_SECONDS:
        warnings.warn(f"this sweep featurises {len(levels)} levels x {n:,} samples = {images:,} images (plus the "
                      f"reference) on the CPU: roughly {seconds / 60:.0f} min at ~"
                      f"{CPU_IMAGES_PER_SECOND_PER_CORE:g} img/s per core; -n 2000 gives a quicker, noisier "
                      f"curve", stacklevel=3)


def truncation_sweep(generator, z_dim: int, ref=None, truncations=DEFAULT_TRUNCATIONS, *, n: int = DEFAULTS.sweep_n,
                     metrics=("fid", "is"), method: str = "resample", seed: int = DEFAULTS.sample_seed,
                     sample_batch_size: int = DEFAULTS.sample_batch_size,
                     modes_data: str | None = None, progress: bool = True, **options) -> list[dict]:
    """One row per truncation level: the metrics of ``n`` samples of ``generator`` against ``ref``.

    ``generator``: a callable ``z (N, z_dim) -> images`` ((N, 3, H, W) in [-1, 1] or uint8) or (N, 2)
    toy points, such as ``genmetrics.load_generator(path)``. ``ref``: images, a features file or (for
    FID/IS only) a statistics file; computed once for the whole sweep. ``metrics``: any of the registry's
    sweep metrics (``registry.metric_names("sweep")``; "modes" for toy generators, against ``modes_data``
    "ring8" or "grid25"). Metric options (``splits``, ``kid_subsets``, ``pr_k``, ...: ``defaults.Options``)
    go to the metrics, feature options (``resize``, ``weights``, ``device``, ``batch_size``, ...) to the
    feature engine; ``sample_batch_size`` is the generator's batch (it does not change the samples).
    """
    check_keywords(options, EXTRACTION_OPTIONS + METRIC_OPTIONS, "truncation_sweep")
    from .device import resolve_device

    metrics = registry.parse_metrics(metrics, "sweep")
    with_reference = [m for m in metrics if registry.get_metric(m).needs & {REFERENCE_FEATURES, REFERENCE_STATISTICS}]
    if with_reference and ref is None:
        raise GenmetricsError(f"--ref is needed for {', '.join(with_reference)}")
    if needed(metrics, POINTS) and modes_data is None:
        raise GenmetricsError(f"--metrics {','.join(needed(metrics, POINTS))} needs the toy data set (ring8 or grid25)")
    if n < 2 or z_dim < 1:
        raise GenmetricsError(f"-n must be at least 2 and --z-dim at least 1 (got n={n}, z_dim={z_dim})")
    levels = parse_truncations(truncations)
    u = uniforms(n, z_dim, seed)
    for level in levels:
        latents(u[:1], level, method)  # validates every level before any work
    settings, options = split_options(options)  # ``seed`` is the latents'; KID's stays DEFAULTS.seed
    options.setdefault("progress", progress)
    device = resolve_device(options.get("device", DEFAULTS.device))
    _warn_if_long(n, levels, metrics, device)
    reference = _reference(ref, metrics, options)
    native_psi = method == "psi" and _accepts_psi(generator)
    share = distributed.shard(n, sample_batch_size)  # this rank's samples (all of them in a single process)
    rows = []
    for level in tqdm(levels, desc="sweep", unit="point", disable=not (progress and distributed.is_main()),
                      leave=False):
        z = latents(u[share.start:share.stop], 1.0 if native_psi else level, "psi" if native_psi else method)
        batches = generate(generator, z, sample_batch_size, device, psi=level if native_psi else None)
        row = {"truncation": level, "n": n, "method": method, "seed": seed}
        row.update(_point(batches, metrics, reference, settings, options, modes_data, device))
        row["version"] = __version__
        rows.append(row)
    return rows


def open_generator(path, z_dim: int | None = None, modes_data: str | None = None, device=DEFAULTS.device):
    """(generator, z_dim, toy data name) for a sweep: a TorchScript, torch.export (.pt2) or ONNX file mapping
    z (N, ``z_dim``) to images (``z_dim`` given; model_files.py), or a run folder / checkpoint of genmetrics
    train (its own z_dim and data)."""
    from .device import resolve_device
    from .model_files import load_network

    device = resolve_device(device)
    if z_dim is not None:
        return load_network(path, device, "generator"), z_dim, modes_data
    from .trainers import load_generator

    loaded = load_generator(path, device=str(device))
    data = getattr(getattr(loaded, "config", None), "data", None)
    return loaded, loaded.z_dim, modes_data or (data if data in ("ring8", "grid25") else None)
