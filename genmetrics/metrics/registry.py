"""The metric registry: one record per metric, read by evaluate, sweep, the trainers, the CLI and the plots.

Each metric file registers itself (``register_metric(...)`` at the bottom of ``fid.py``, ``kid.py``, ...)
with:

- ``name``: what ``--metrics`` selects (``fid``, ``is``, ...);
- ``keys``: the result keys it produces, each with ``higher_is_better`` (True, False, or None for a
  spread or a count that ranks nothing) and a label for tables and plots;
- ``needs``: what it is computed from, in the fixed vocabulary ``NEEDS``;
- ``options``: the names of ``defaults.Options`` it reads (their defaults and sources live there);
- ``compute(inputs) -> mapping``: the values from a ``scores.Inputs`` (see ``metrics/scores.py``).

Where a metric can be computed follows from what each context provides (``PROVIDES``): ``eval`` has two
image inputs, ``sweep`` a reference and a generator's images or 2-D points, ``train`` (the trainers'
periodic evaluation) cached reference statistics and the generator's images or points. A metric whose
needs a context lacks says why in ``not_applicable``.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable, Mapping

from ..defaults import option_names
from ..errors import GenmetricsError

REFERENCE_FEATURES = "reference_features"  # per-image features of the real images
REFERENCE_STATISTICS = "reference_statistics"  # their mean and covariance (a statistics file is enough)
GENERATED_FEATURES = "generated_features"  # per-image features of the generated images
GENERATED_LOGITS = "generated_logits"  # the classifier logits of the generated images
POINTS = "points"  # 2-D points and the toy mixture they are scored against
REFERENCE_IMAGES = "reference_images"  # the real images' pixels, uint8 (a metric on pixels: swd)
GENERATED_IMAGES = "generated_images"  # the generated images' pixels, uint8
NEEDS = (REFERENCE_FEATURES, REFERENCE_STATISTICS, GENERATED_FEATURES, GENERATED_LOGITS, POINTS, REFERENCE_IMAGES,
         GENERATED_IMAGES)

PROVIDES = {
    "eval": frozenset({REFERENCE_FEATURES, REFERENCE_STATISTICS, GENERATED_FEATURES, GENERATED_LOGITS,
                       REFERENCE_IMAGES, GENERATED_IMAGES}),
    "sweep": frozenset({REFERENCE_FEATURES, REFERENCE_STATISTICS, GENERATED_FEATURES, GENERATED_LOGITS, POINTS}),
    "train": frozenset({REFERENCE_STATISTICS, GENERATED_FEATURES, GENERATED_LOGITS, POINTS}),
}
CONTEXTS = tuple(PROVIDES)
# Why the metrics that need per-image reference features are not in the trainers' evaluation.
TRAIN_KEEPS_STATISTICS = ("the trainers keep only the reference's statistics (RUN/eval_ref_stats.npz), not "
                          "per-image features")


@dataclass(frozen=True)
class Key:
    """One result key of a metric.

    ``higher_is_better``: True, False, or None for a value that ranks nothing (a spread, a count).
    ``label``: for tables and plot axes. ``short``: a shorter label for one-line summaries.
    ``spread``: the key holding this value's standard deviation, if any. ``column``: shown in the sweep's
    table and CSV.
    """

    name: str
    higher_is_better: bool | None
    label: str
    short: str = ""
    spread: str = ""
    column: bool = True

    def axis_label(self) -> str:
        """The label with the direction, for a plot axis."""
        if self.higher_is_better is None:
            return self.label
        return f"{self.label} ({'higher' if self.higher_is_better else 'lower'} is better)"


@dataclass(frozen=True)
class FeatureSpace:
    """The feature space a metric is defined in, when that is not the call's ``--extractor``: FD_DINOv2 is
    DINOv2-ViT-L/14's, CMMD CLIP ViT-L/14@336's, sFID Inception's spatial features. ``resize``: the
    protocol (None: the extractor's default); ``dims``: the extractor output (Inception: 2048, "spatial").
    ``genmetrics eval`` extracts each space once, whatever the number of metrics in it; when the call's
    extractor is this one, the call's resize and weights apply."""

    extractor: str
    resize: str | None = None
    dims: int | str | None = None

    def describe(self) -> str:
        return self.extractor + (f" {self.dims}" if self.dims else "") + (f", {self.resize} resize" if self.resize else "")


@dataclass(frozen=True)
class Metric:
    name: str
    keys: tuple[Key, ...]
    needs: frozenset
    compute: Callable
    options: tuple[str, ...] = ()
    not_applicable: Mapping[str, str] = field(default_factory=dict)  # context -> why not
    unsourced: Mapping[str, str] = field(default_factory=dict)  # option -> why its default cites no source
    rank_by: tuple[str, ...] = ()  # keys compared in order to say which of two results is better
    note: str = ""  # shown after the name in the CLI's choices
    features: FeatureSpace | None = None  # its own feature space; None: the call's extractor
    default: bool = True  # in eval's default --metrics (False: computed only when asked for)
    report: tuple[str, ...] = ()  # detail keys genmetrics eval adds to its result (not ranked, not resampled)

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)

    def available(self, context: str) -> bool:
        return self.needs <= PROVIDES[context] and context not in self.not_applicable

    def ranking(self, values: Mapping) -> tuple:
        """A tuple that is larger for a better result (keys of ``rank_by``, signed by their direction)."""
        directions = {k.name: k.higher_is_better for k in self.keys}
        return tuple(values[name] if directions[name] else -values[name] for name in self.rank_by)

    def is_better(self, new: Mapping, best: Mapping | None) -> bool:
        return best is None or self.ranking(new) > self.ranking(best)


_registry: dict[str, Metric] = {}


def register_metric(name: str, keys, needs, compute: Callable, *, options=(), not_applicable=None,
                    unsourced=None, rank_by=None, note: str = "", features: FeatureSpace | None = None,
                    default: bool = True, report=()) -> Metric:
    """Add a metric; every field is checked here, so a mistake fails at import, not in a user's run."""
    def fail(why: str):
        raise GenmetricsError(f"register_metric({name!r}): {why}")

    if not isinstance(name, str) or not name or name != name.strip().lower() or "," in name:
        fail("the name must be a non-empty lower-case string without commas")
    if name in _registry:
        fail("a metric of this name is already registered (unregister_metric it first)")
    keys = tuple(keys)
    if not keys or not all(isinstance(k, Key) for k in keys):
        fail("keys must be one or more registry.Key records")
    names = [k.name for k in keys]
    taken = {k: m.name for m in _registry.values() for k in m.key_names}
    for key in keys:
        if names.count(key.name) > 1 or key.name in taken:
            fail(f"result key {key.name!r} is produced twice ({taken.get(key.name, name)!r})")
        if key.higher_is_better not in (True, False, None):
            fail(f"key {key.name!r}: higher_is_better must be True, False or None")
        if not key.label:
            fail(f"key {key.name!r} needs a label")
        if key.spread and key.spread not in names:
            fail(f"key {key.name!r}: its spread {key.spread!r} is not one of the keys")
    needs = frozenset(needs)
    if not needs or not needs <= set(NEEDS):
        fail(f"needs {sorted(needs)}: choose from {', '.join(NEEDS)}")
    if not callable(compute):
        fail("compute must be a callable taking a scores.Inputs")
    options = tuple(options)
    for option in options:
        if option not in option_names():
            close = difflib.get_close_matches(option, option_names(), n=1)
            fail(f"option {option!r} is not in defaults.Options" + (f"; did you mean {close[0]!r}?" if close else ""))
    not_applicable, unsourced = dict(not_applicable or {}), dict(unsourced or {})
    if features is not None:
        if not isinstance(features, FeatureSpace):
            fail("features must be a registry.FeatureSpace")
        for context in ("sweep", "train"):  # their feature passes run one extractor
            not_applicable.setdefault(context, f"it is computed in its own feature space ({features.describe()}); "
                                               f"genmetrics eval computes it")
    for context, why in not_applicable.items():
        if context not in CONTEXTS or not why:
            fail(f"not_applicable maps a context ({', '.join(CONTEXTS)}) to the reason, got {context!r}: {why!r}")
    for option, why in unsourced.items():
        if option not in options or not why:
            fail(f"unsourced maps one of its options to the reason, got {option!r}: {why!r}")
    ranked = [k for k in keys if k.higher_is_better is not None]
    rank_by = tuple(rank_by) if rank_by is not None else tuple(k.name for k in ranked[:1])
    if not all(r in [k.name for k in ranked] for r in rank_by):
        fail(f"rank_by {rank_by} must name keys with a higher_is_better")
    report = tuple(report)
    if any(r in taken or r in names for r in report):
        fail(f"report keys {report} must not be result keys")
    metric = Metric(name, keys, needs, compute, options, not_applicable, unsourced, rank_by, note, features,
                    bool(default), report)
    _registry[name] = metric
    return metric


def unregister_metric(name: str) -> None:
    """Remove a metric (tests, or replacing one)."""
    _registry.pop(name, None)


def metrics(context: str | None = None) -> tuple[Metric, ...]:
    """The registered metrics in registration order (those available in ``context`` when given)."""
    if context is not None and context not in CONTEXTS:
        raise GenmetricsError(f"unknown metric context {context!r}; choose from {', '.join(CONTEXTS)}")
    return tuple(m for m in _registry.values() if context is None or m.available(context))


def metric_names(context: str | None = None) -> tuple[str, ...]:
    return tuple(m.name for m in metrics(context))


def default_metric_names(context: str) -> tuple[str, ...]:
    """The metrics computed in ``context`` when none are named (those registered with ``default=False``,
    which need a particular extractor, only when asked for)."""
    return tuple(m.name for m in metrics(context) if m.default)


def get_metric(name: str) -> Metric:
    try:
        return _registry[name]
    except KeyError:
        raise GenmetricsError(f"unknown metric {name!r}{_suggestion(name, metric_names())}") from None


def result_keys(context: str | None = None) -> tuple[Key, ...]:
    """Every result key, in registration order."""
    return tuple(k for m in metrics(context) for k in m.keys)


def key_info(name: str) -> Key | None:
    return next((k for k in result_keys() if k.name == name), None)


def parse_metrics(spec, context: str) -> list[str]:
    """The metric names of ``spec`` ("fid,kid" or a list), checked against ``context``, in the given order."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    names = list(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    valid = metric_names(context)
    if not names:
        raise GenmetricsError(f"no metric given; choose from {', '.join(valid)}")
    for name in names:
        if name in valid:
            continue
        if name in _registry:
            why = _registry[name].not_applicable.get(context, f"it needs {', '.join(sorted(_registry[name].needs))}")
            raise GenmetricsError(f"metric {name!r} is not available here ({context}): {why}")
        raise GenmetricsError(f"unknown metric {name!r}{_suggestion(name, valid)}")
    return names


def choices_help(context: str) -> str:
    """One line for the CLI's --metrics help: the names available in ``context``."""
    choices = [f"{m.name} ({m.note})" if m.note else m.name for m in metrics(context)]
    return f"Comma-separated, any of: {', '.join(choices)}."


def _suggestion(name: str, valid) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (choose from {', '.join(valid)})"
