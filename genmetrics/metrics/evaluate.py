"""Every sample metric from one feature pass per input, with bootstrap confidence intervals.

``evaluate(a, b, metrics=[...])`` extracts the features of each input once (and the logits of ``b`` when
IS is asked for) and computes each metric from them. With ``bootstrap=B`` it also resamples the images
of both sides with replacement B times (deterministically, from ``seed``) and reports the percentile
interval of each metric: a confidence interval no peer tool reports. Note that resampling with
replacement duplicates points, which shrinks k-NN radii: bootstrap intervals of the k-NN metrics
(precision, recall, density, coverage) are indicative only.
"""
from __future__ import annotations

import numpy as np

from .._version import __version__
from ..defaults import DEFAULTS, EXTRACTION_OPTIONS, METRIC_OPTIONS, Options, check_keywords
from ..errors import GenmetricsError
from ..features.compute import Features, compute_features
from ..inputs import FEATURES, IMAGES, STATISTICS, open_input
from ..stats import Statistics
from . import registry
from .fid import _check_same_protocol, _check_sample_size
from .registry import GENERATED_IMAGES, GENERATED_LOGITS, REFERENCE_FEATURES, REFERENCE_IMAGES, REFERENCE_STATISTICS
from .registry import get_metric
from .scores import details, needed, protocol, scores, split_options
from .spaces import check_stored, feature_groups, stored_statistics


def __getattr__(name: str):
    if name == "METRICS":  # the former constant: now the registry's metrics for eval, always current
        return registry.metric_names("eval")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse_metrics(metrics) -> list[str]:
    """The metric names of ``metrics`` ("fid,kid" or a list) that eval can compute; see ``registry``."""
    return registry.parse_metrics(metrics, "eval")


PER_IMAGE = ("KID, precision/recall, density/coverage and bootstrap (per-image metrics; a statistics file serves "
             "FID alone)")


def _features(opened, group, logits: bool) -> Features:
    if opened.kind == FEATURES:
        if logits and opened.value.logits is None:
            raise GenmetricsError(f"{opened.name} holds no logits, which IS needs")
        check_stored(opened.value, opened.name, group)
        return opened.value
    return compute_features(opened, dims=group.dims, logits=logits, **group.options)


def evaluate(a, b, metrics=("fid",), *, dims: int = DEFAULTS.dims, bootstrap: int = DEFAULTS.bootstrap,
             confidence: float = DEFAULTS.confidence, **options) -> dict:
    """Compute ``metrics`` (names of the registry's eval metrics) of ``b`` (generated) against ``a`` (real)
    in one pass.

    Metric options (``defaults.Options``, each metric reads its own, see ``registry``): ``seed`` (KID's
    subsets and the bootstrap resampling; 2020 reproduces torch-fidelity), ``splits``, ``shuffle_seed``,
    ``kid_subsets``, ``kid_subset_size``, ``pr_k``, ``dc_k``. Options for the feature pass: ``resize``,
    ``weights``, ``device``, ``batch_size``, ``workers``, ``skip_bad``, ``progress``. Returns one dict:
    each metric's values, ``n1``, ``n2``, the ``protocol`` and, with ``bootstrap``, the intervals.
    """
    check_keywords(options, EXTRACTION_OPTIONS + METRIC_OPTIONS, "evaluate")
    names = parse_metrics(metrics)
    if not 0 < confidence < 1:
        raise GenmetricsError(f"--confidence must be in (0, 1), got {confidence}")
    settings, options = split_options(options)
    device = options.get("device", DEFAULTS.device)
    if names == ["fid"] and not bootstrap:  # statistics suffice: streamed, and statistics files work
        from .fid import fid
        result = fid(a, b, dims=dims, **options)
        return {"fid": result.fid, "n1": result.n1, "n2": result.n2,
                "protocol": _protocol(result.to_dict(), dims, names, settings), "version": __version__}

    # a reference's statistics (ours, or an edm2/ADM reference file) serve metrics that need no more
    statistics_serve = not bootstrap and not needed(names, REFERENCE_FEATURES)
    opened = [open_input(a, (IMAGES, FEATURES, STATISTICS) if statistics_serve else (IMAGES, FEATURES), PER_IMAGE),
              open_input(b, (IMAGES, FEATURES), PER_IMAGE)]  # both opened first: a typo in b fails before a is read
    on_pixels = [n for n in names if n in needed(names, REFERENCE_IMAGES) + needed(names, GENERATED_IMAGES)]
    if on_pixels == names:  # only metrics on pixels (swd): no feature network
        return _pixel_metrics(names, opened, settings, device, bootstrap)
    result, main, spaces, intervals, reports = {}, None, {}, {}, {}
    for group in feature_groups([n for n in names if n not in on_pixels], options, dims):
        fb = _features(opened[1], group, bool(needed(group.names, GENERATED_LOGITS)))
        xb = fb.features
        if opened[0].kind == STATISTICS:
            fa = stored_statistics(opened[0], group)
            _check_same_protocol(fa, Statistics(np.zeros(xb.shape[1]), np.zeros((0, 0)), len(xb), fb.protocol,
                                                opened[1].name))
            na, dims_a, made_by = fa.n, fa.dims, fb.protocol
        else:
            fa = _features(opened[0], group, False)
            na, dims_a, made_by = len(fa.features), fa.features.shape[1], fa.protocol
        if dims_a != xb.shape[1]:
            raise GenmetricsError(f"features of different dimension: {dims_a} vs {xb.shape[1]}")
        if needed(group.names, REFERENCE_STATISTICS):  # the warning genmetrics fid gives for fewer images than dims
            for images, n in zip(opened, (na, len(xb))):
                _check_sample_size(Statistics(np.zeros(xb.shape[1]), np.zeros((0, 0)), n, source=images.name))
        for name, values in details(group.names, fa, fb, settings, device).items():
            metric = get_metric(name)
            result.update({k: values[k] for k in metric.key_names})
            reports.update({k: values[k] for k in metric.report})  # authpct's nearest-neighbour list
        record = _protocol(made_by, xb.shape[1], group.names, settings)
        if group.space is None or main is None:  # the call's own space leads the protocol record
            main, counts = record, (na, len(xb))
        if group.space is not None:
            spaces.update({name: {k: record[k] for k in ("extractor", "resize", "dims", "weights_sha256")}
                           for name in group.names})
        if bootstrap:  # the same seed draws the same images in every space (same counts)
            drawn = _bootstrap(group.names, fa, fb, settings, device, bootstrap, confidence)
            for part in ("intervals", "std"):
                intervals.setdefault(part, {}).update(drawn.pop(part))
            intervals.update(drawn)
    if on_pixels:  # computed from the images themselves, once; not resampled by the bootstrap
        result.update(scores(on_pixels, None, None, settings, device, images=opened))
        intervals["not_resampled"] = on_pixels
    order = [k for m in registry.metrics() if m.name in names for k in m.key_names]
    result = {k: result[k] for k in order}
    if spaces:
        main = {**main, "metrics": names, "feature_spaces": spaces}
    result.update(reports)
    result.update(n1=counts[0], n2=counts[1], version=__version__, protocol=main)
    if bootstrap:
        result["bootstrap"] = intervals
    return result


def _pixel_metrics(names, opened, settings: Options, device, bootstrap: int) -> dict:
    """Metrics computed from the images' pixels alone (swd): no feature extraction, no bootstrap."""
    if bootstrap:
        raise GenmetricsError(f"--bootstrap resamples features; {', '.join(names)} work on pixels: drop --bootstrap")
    result = scores(names, None, None, settings, device, images=opened)
    n = [len(x.value) if hasattr(x.value, "__len__") else None for x in opened]
    result.update(n1=n[0], n2=n[1], version=__version__,
                  protocol={"features": "pixels", "resize": "none", "seed": settings.seed, "metrics": names,
                            **protocol(names, settings)})
    return result


def _protocol(record: dict, dims: int, names, settings: Options) -> dict:
    extractor = record.get("extractor", "inception")
    return {"extractor": extractor, "features": f"{extractor} {dims}-d",
            "resize": record.get("resize"), "weights_sha256": record.get("weights_sha256"),
            "backend": record.get("backend"), "dims": dims, "seed": settings.seed, "metrics": names,
            **protocol(names, settings)}


def _resampled(features: Features, rows: np.ndarray) -> Features:
    logits = None if features.logits is None else features.logits[rows]
    return Features(features.features[rows], logits, None, features.protocol)


def _bootstrap(names, fa, fb, settings: Options, device, replicates, confidence) -> dict:
    rng = np.random.default_rng(settings.seed)
    spreads = {key.spread for name in names for key in get_metric(name).keys if key.spread}
    draws: dict[str, list] = {}
    na, nb = len(fa.features), len(fb.features)
    for r in range(replicates):
        ia, ib = rng.integers(0, na, na), rng.integers(0, nb, nb)
        drawn = scores(names, _resampled(fa, ia), _resampled(fb, ib), settings.replace(seed=settings.seed + 1 + r),
                       device)
        for name, value in drawn.items():
            if name not in spreads:  # a spread's interval says nothing the value's does not
                draws.setdefault(name, []).append(value)
    tail = 100 * (1 - confidence) / 2
    return {"replicates": replicates, "confidence": confidence, "method": "percentile",
            "intervals": {name: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))]
                          for name, v in draws.items()},
            "std": {name: float(np.std(v)) for name, v in draws.items()}}
