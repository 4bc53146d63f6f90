"""Metrics from features, written once: ``scores(names, reference, generated, options, device)``.

``genmetrics eval`` (and its bootstrap), ``genmetrics sweep`` and the trainers' periodic evaluation all
call this one function, so a metric computes the same way everywhere. Each metric's compute function
(registered in its own file, see ``registry.py``) receives an ``Inputs`` and reads what it needs from it;
the reference's and the generated statistics are computed once per call however many metrics use them,
and metrics sharing one compute function (precision, recall, density and coverage) run it once.

The device rule: the metric arithmetic runs on ``device`` when it is a CUDA device (the Fréchet distance
in torch float64, the k-NN distances of precision/recall/density/coverage in float64), and on the CPU
otherwise (the Fréchet distance with SciPy/LAPACK), as ``genmetrics fid`` does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..defaults import DEFAULTS, METRIC_OPTIONS, Options
from ..errors import GenmetricsError
from ..stats import Statistics
from .registry import GENERATED_FEATURES, GENERATED_LOGITS, POINTS, REFERENCE_FEATURES, REFERENCE_STATISTICS
from .registry import get_metric, metrics


def metric_device(device) -> torch.device | None:
    """The device the metric arithmetic runs on: a CUDA device, or None for the CPU path."""
    if device is None:
        return None
    if not isinstance(device, torch.device):
        from ..device import resolve_device

        device = resolve_device(device)
    return device if device.type == "cuda" else None


def split_options(options: dict) -> tuple[Options, dict]:
    """(the metric Options in ``options``, the rest): the rest goes to the feature engine."""
    chosen = {k: options[k] for k in METRIC_OPTIONS if k in options}
    return DEFAULTS.replace(**chosen), {k: v for k, v in options.items() if k not in chosen}


def _features_of(value, side: str) -> np.ndarray:
    """The (N, D) array of a Features record, or the array itself."""
    if hasattr(value, "features"):
        return np.asarray(value.features)
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return np.asarray(value)
    raise GenmetricsError(f"this metric needs per-image {side} features; the {side} input holds "
                          f"{'nothing' if value is None else type(value).__name__}: pass the images or a "
                          f"features file (a statistics file holds only mu and sigma)")


@dataclass
class Inputs:
    """What a metric is computed from; each property raises ``GenmetricsError`` when it is missing.

    ``reference``: Features (or an (N, D) array), Statistics, a toy mixture (name or object) or None.
    ``generated``: Features (or an (N, D) array), Statistics (the streaming objects' sums) or (N, 2) points.
    """

    reference: object
    generated: object
    options: Options = DEFAULTS
    device: torch.device | None = None
    images: tuple = (None, None)  # the opened image inputs (inputs.Input) behind reference and generated
    _memo: dict = field(default_factory=dict, repr=False)

    def memo(self, key, make):
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    @property
    def reference_features(self) -> np.ndarray:
        return self.memo("reference_features", lambda: _features_of(self.reference, "reference"))

    @property
    def reference_statistics(self) -> Statistics:
        if isinstance(self.reference, Statistics):
            return self.reference
        return self.memo("reference_statistics", lambda: _statistics(self.reference_features))

    @property
    def generated_features(self) -> np.ndarray:
        return self.memo("generated_features", lambda: _features_of(self.generated, "generated"))

    @property
    def generated_statistics(self) -> Statistics:
        if isinstance(self.generated, Statistics):  # a streaming FID's float64 sums
            return self.generated
        return self.memo("generated_statistics", lambda: _statistics(self.generated_features))

    @property
    def generated_logits(self) -> np.ndarray:
        logits = getattr(self.generated, "logits", None)
        if logits is None:
            raise GenmetricsError("the generated images' features hold no logits, which IS needs")
        return np.asarray(logits)

    @property
    def reference_images(self) -> np.ndarray:
        return self.memo("reference_images", lambda: _pixels(self.images[0], "reference"))

    @property
    def generated_images(self) -> np.ndarray:
        return self.memo("generated_images", lambda: _pixels(self.images[1], "generated"))

    @property
    def points(self):
        if hasattr(self.generated, "features"):
            raise GenmetricsError("this metric needs 2-D points; the generated input is image features")
        return self.generated

    @property
    def mixture(self):
        if not (isinstance(self.reference, str) or hasattr(self.reference, "means")):
            raise GenmetricsError("mode coverage needs the toy data set (ring8 or grid25) as its reference")
        return self.reference


def _pixels(opened, side: str) -> np.ndarray:
    """Every image of an opened image input as one uint8 NHWC array (for metrics on pixels)."""
    from ..data.sources import BadImage

    source = getattr(opened, "value", None)
    if getattr(opened, "kind", None) != "images" or not hasattr(source, "load"):
        raise GenmetricsError(f"this metric works on pixels: give the {side} images themselves (a folder, zip, "
                              f"npz or array), not {getattr(opened, 'name', 'features or statistics')}")
    try:
        return np.stack([source.load(i) for i in range(len(source))])
    except BadImage as exc:
        raise GenmetricsError(f"{exc}; remove or fix the file") from None
    except ValueError:  # np.stack of images of different sizes
        raise GenmetricsError(f"{opened.name}: a metric on pixels needs images of one size") from None


def _statistics(features: np.ndarray) -> Statistics:
    from ..features.compute import statistics_from_features

    return statistics_from_features(features)


def scores(names, reference, generated, options: Options = DEFAULTS, device=None, images=(None, None)) -> dict:
    """The values of the metrics ``names`` of ``generated`` against ``reference``: one flat dict of result keys.

    Metrics are computed in registration order (so the keys come in a fixed order), each once.
    ``options``: a ``defaults.Options`` (KID subsets, k, splits, seed ...). ``device``: see the module
    docstring. ``images``: the opened image inputs (inputs.Input) of both sides, for metrics on pixels (swd).
    """
    return {key: record[key] for name, record in details(names, reference, generated, options, device,
                                                         images).items()
            for key in get_metric(name).key_names}


def details(names, reference, generated, options: Options = DEFAULTS, device=None,
            images=(None, None)) -> dict[str, dict]:
    """Per metric name, its result keys (from ``scores``) plus any detail its compute function reports
    (mode coverage's per-mode counts, say)."""
    wanted = {get_metric(name).name for name in names}
    inputs = Inputs(reference, generated, options, metric_device(device), tuple(images))
    computed: dict = {}  # compute function -> its values, so a shared one runs once
    out = {}
    for metric in metrics():
        if metric.name not in wanted:
            continue
        if metric.compute not in computed:
            computed[metric.compute] = dict(_as_mapping(metric.compute(inputs)))
        values = computed[metric.compute]
        missing = [k for k in metric.key_names if k not in values]
        if missing:
            raise RuntimeError(f"metric {metric.name!r} did not produce its registered keys {missing}")
        shared = {k for m in metrics() if m.compute is metric.compute and m.name != metric.name for k in m.key_names}
        out[metric.name] = {**{k: values[k] for k in metric.key_names},
                            **{k: v for k, v in values.items() if k not in metric.key_names and k not in shared}}
    return out


def _as_mapping(values):
    return values.to_dict() if hasattr(values, "to_dict") else values


def needed(names, need: str) -> list[str]:
    """The names among ``names`` whose metric needs ``need`` (one of registry.NEEDS)."""
    return [n for n in names if need in get_metric(n).needs]


def protocol(names, options: Options) -> dict:
    """The Options the metrics ``names`` read, by name (for a result's protocol record)."""
    return {option: getattr(options, option) for m in metrics() if m.name in set(names) for option in m.options}


__all__ = ["GENERATED_FEATURES", "GENERATED_LOGITS", "Inputs", "POINTS", "REFERENCE_FEATURES",
           "REFERENCE_STATISTICS", "details", "metric_device", "needed", "protocol", "scores", "split_options"]
