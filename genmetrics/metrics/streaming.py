"""Streaming metric objects for training and evaluation loops: update with batches, compute, reset.

    fid = genmetrics.metrics.FID(reference="ref:cifar10-train")  # or fid.update(real_batch, real=True)
    for z in latents:
        fid.update(generator(z))                                  # uint8 or [0, 1] float image batches
    fid.compute().fid                                             # an FIDResult, as genmetrics.fid returns
    fid.reset(keep_reference=True)                                # the next evaluation, same reference

Each object works as a plain object and is a ``torch.nn.Module``: ``.to(device)`` moves its state and the
place where features are extracted; ``state_dict()``/``load_state_dict()`` checkpoint it, nested in a
training module or alone. What it keeps:

- metrics read from statistics (FID): per side the float64 count, sum and sum of outer products
  (``stats.RunningStats``), constant memory however many images are seen;
- metrics read from per-image features (KID, precision/recall, density/coverage), logits (IS) or points
  (mode coverage): the rows themselves, at most ``stream_max_samples`` per side and process (see
  ``defaults.Options``); past it ``update`` refuses with a message and keeps what it had.

``compute()`` hands the same inputs as ``genmetrics eval`` to the registry's compute functions
(``metrics.scores.details``), so the numbers are those of the one-shot calls. Under torch.distributed each
rank updates with its own batches; ``compute()`` all-reduces the sums and gathers the rows in rank order.
Every rank takes part in the same collectives in the same order, a rank that saw no batch too, so nothing
waits for ever (the hang of torchmetrics #2684 comes from ranks that skip a collective).
"""
from __future__ import annotations

import numpy as np
import torch

from .. import distributed
from ..defaults import DEFAULTS, EXTRACTION_OPTIONS, check_keywords, option_names
from ..device import resolve_device
from ..errors import GenmetricsError
from ..features.compute import compute_features, compute_statistics, feature_stream
from ..features.files import Features
from ..stats import Statistics
from .result import PRDC_KEYS, KIDResult, PRDCResult
from ._stream_state import FAKE, REAL, SIDES, StreamState
from .fid import FIDResult
from .inception_score import ISResult
from .modes import ModeCoverage
from .registry import GENERATED_LOGITS, POINTS, REFERENCE_FEATURES, REFERENCE_STATISTICS, get_metric, parse_metrics
from .scores import details

# Options an object takes: extraction, the metrics' settings and the streaming bound (defaults.Options).
STREAMING_OPTIONS = option_names("extraction", "metrics", "streaming")
_REFERENCE_ONLY = ("cache", "hash_content")  # they key the cache of a path reference, not a batch


class StreamingMetrics(torch.nn.Module):
    """The metrics ``metrics`` ("fid,kid" or a list of registered names) over batches fed one at a time.

    ``reference``: what the generated images are compared with, given once: any input of
    ``genmetrics.fid`` / ``evaluate`` (a folder, a statistics or features file, ``ref:NAME``, an array), or
    a toy mixture name for mode coverage; or None, and ``update(images, real=True)`` feeds it. Options: those
    of ``defaults.Options`` (``resize``, ``dims``, ``weights``, ``device``, ``kid_subsets``,
    ``stream_max_samples`` ...). ``compute()`` returns a dict of the result keys and ``n1``/``n2``; the
    classes of one metric (``FID``, ``KID``, ``InceptionScore``, ``PRDC``) return its result type.
    """

    metric_names: tuple[str, ...] = ()

    def __init__(self, metrics=None, *, reference=None, **options):
        super().__init__()
        check_keywords(options, STREAMING_OPTIONS, type(self).__name__)
        spec = metrics if metrics is not None else self.metric_names
        for name in spec.split(",") if isinstance(spec, str) else spec:
            space = get_metric(name.strip().lower()).features if name.strip() else None
            if space is not None:  # one object extracts with one extractor (the call's options)
                raise GenmetricsError(f"{name} is computed in its own feature space ({space.describe()}); stream "
                                      f"it as StreamingMetrics('fd', extractor={space.extractor!r}), or use "
                                      f"genmetrics.evaluate")
        self.names = tuple(parse_metrics(spec, "sweep"))
        needs = set().union(*(get_metric(name).needs for name in self.names))
        self.points = POINTS in needs
        if self.points and len(needs) > 1:
            raise GenmetricsError("mode coverage scores 2-D points; stream it apart from the image metrics")
        rows = self.points or REFERENCE_FEATURES in needs
        moments = REFERENCE_STATISTICS in needs and not rows  # per-image features give the statistics too
        options.setdefault("progress", False)  # no progress bar per batch
        self.options = DEFAULTS.replace(**{k: v for k, v in options.items() if k in option_names("metrics")})
        self.max_samples = options.pop("stream_max_samples", DEFAULTS.stream_max_samples)
        extraction = {k: v for k, v in options.items() if k in EXTRACTION_OPTIONS}
        self.dims = int(extraction.pop("dims", DEFAULTS.dims))
        self.register_buffer("_anchor", torch.empty(0, device=resolve_device(extraction.pop("device",
                                                                                          DEFAULTS.device))),
                             persistent=False)
        self._reference_options = {k: extraction.pop(k) for k in _REFERENCE_ONLY if k in extraction}
        self._extraction = extraction
        self.state = StreamState(self.names, moments, rows, GENERATED_LOGITS in needs, self.max_samples,
                                 self._protocol_record(), points=self.points)
        if reference is not None:
            self._set_reference(reference)

    @property
    def device(self) -> torch.device:
        return self._anchor.device

    # ---- feeding
    def update(self, images, real: bool = False) -> None:
        """Add a batch: images (a uint8 or [0, 1] float tensor or array, a list of images, a path ...) of
        the generated side, or with ``real=True`` of the reference; 2-D points for mode coverage."""
        state, side = self.state, REAL if real else FAKE
        if real and self.points:
            raise GenmetricsError("mode coverage has no real images: its reference is the toy mixture "
                                  "(reference='ring8' or 'grid25')")
        if real and not (state.moments or state.rows):
            raise GenmetricsError(f"{', '.join(self.names)} score(s) the generated images alone: update(images) "
                                  f"without real=True")
        if real and state.fixed:
            raise GenmetricsError("the reference was given when this object was made; to feed reference images "
                                  "instead, call reset(keep_reference=False) first")
        if self.points:
            state.keep_rows(side, torch.as_tensor(images, dtype=torch.float64).to(self.device))
            return
        if isinstance(images, (torch.Tensor, np.ndarray, list, tuple)) and state.rows:
            state.check_room(side, len(images))  # before the work, when the count is known
        features, logits = self._extract(images, logits=state.logits and not real)
        if state.moments:
            state.sums[side].update(features.to(self.device))
        if state.rows:
            state.keep_rows(side, features.to(self.device))
        if logits is not None:
            state.keep_logits(logits.to(self.device))

    forward = update

    def _extract(self, images, logits: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        if isinstance(images, torch.Tensor):
            images = images.detach().cpu()
        with distributed.local():  # this rank's own batch: not split again across ranks
            stream = feature_stream(images, dims=self.dims, logits=logits, device=self.device,
                                    desc="update", **self._extraction)
            parts = {name: [] for name in stream.outputs}
            for _, feats in stream:
                for name, value in feats.items():
                    parts[name].append(value)
        if not parts[stream.feature_key]:
            raise GenmetricsError(f"{stream.source.name}: no image could be read")
        return torch.cat(parts[stream.feature_key]), torch.cat(parts["logits"]) if logits else None

    def _set_reference(self, reference) -> None:
        state, options = self.state, {**self._extraction, **self._reference_options, "device": self.device}
        if self.points:
            state.mixture = reference
        elif state.moments:
            state.set_fixed(compute_statistics(reference, dims=self.dims, **options))
        elif state.rows:
            found = compute_features(reference, dims=self.dims, logits=False, **options).features
            state.set_fixed(torch.as_tensor(found).to(self.device))
        else:
            raise GenmetricsError(f"{', '.join(self.names)} score(s) the generated images alone: drop reference=")

    # ---- results
    def compute(self, sync: bool = True):
        """The metrics of everything fed since the last ``reset``; ``sync=False`` keeps to this rank's own
        batches under torch.distributed (every rank must call ``compute`` alike: it is a collective)."""
        reference, generated = self.state.inputs(sync and distributed.active())
        values = details(self.names, reference, generated, self.options, self.device)
        return self._result(values, reference, generated)

    def _result(self, values: dict, reference, generated):
        flat = {key: values[name][key] for name in self.names for key in get_metric(name).key_names}
        return {**flat, "n1": _count(reference), "n2": _count(generated), "protocol": dict(self.state.protocol)}

    def reset(self, keep_reference: bool = True) -> None:
        """Forget the generated side; with ``keep_reference=False`` the reference too (also one given when
        the object was made)."""
        self.state.reset(keep_reference)

    # ---- torch.nn.Module: device moves and checkpoints
    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        self.state.move(self.device)  # the state keeps its dtype (float64 sums stay float64)
        return self

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for key, value in self.state.to_tensors().items():
            destination[prefix + key] = value

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        own = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix) and "." not in k[len(prefix):]}
        expected = set(self.state.to_tensors())
        missing_keys.extend(prefix + k for k in sorted(expected - set(own)))
        unexpected_keys.extend(prefix + k for k in sorted(set(own) - expected))
        if expected <= set(own):
            self.state.from_tensors({k: own[k] for k in expected}, self.device)

    def extra_repr(self) -> str:
        return f"metrics={','.join(self.names)}, dims={self.dims}, device={self.device}, {self.state.summary()}"

    def _protocol_record(self) -> dict:
        if self.points:
            return {}
        from .._version import __version__
        from ..features.registry import load_extractor

        names = ("resize", "weights", "extractor_weights", "extractor_input", "precision", "backend", "progress")
        loaded = load_extractor(self._extraction.get("extractor", DEFAULTS.extractor), device=self.device,
                                size=self._extraction.get("extractor_size"),
                                **{k: v for k, v in self._extraction.items() if k in names})
        return {**loaded.protocol_record, "dims": self.dims if loaded.name == "inception" else None,
                "version": __version__}


class FID(StreamingMetrics):
    """Streaming FID (Heusel et al. 2017): float64 sums per side, constant memory in the number of images.
    ``compute()`` returns an ``FIDResult``, as ``genmetrics.fid``."""

    metric_names = ("fid",)

    def __init__(self, *, reference=None, **options):
        super().__init__(None, reference=reference, **options)

    def _result(self, values, reference, generated) -> FIDResult:
        protocol = self.state.protocol
        return FIDResult(values["fid"]["fid"], reference.n, generated.n, reference.dims, protocol.get("resize"),
                         protocol.get("weights_sha256"), protocol.get("weights_canonical"),
                         [reference.source, generated.source], [0, 0], backend=protocol.get("backend"))


class KID(StreamingMetrics):
    """Streaming KID (Binkowski et al. 2018): keeps the features (``stream_max_samples``); a ``KIDResult``."""

    metric_names = ("kid",)

    def __init__(self, *, reference=None, **options):
        super().__init__(None, reference=reference, **options)

    def _result(self, values, reference, generated) -> KIDResult:
        return KIDResult(**values["kid"])


class InceptionScore(StreamingMetrics):
    """Streaming Inception Score of the generated images (keeps their logits); an ``ISResult``."""

    metric_names = ("is",)

    def __init__(self, **options):
        super().__init__(None, **options)

    def _result(self, values, reference, generated) -> ISResult:
        protocol, options = self.state.protocol, self.options
        return ISResult(values["is"]["inception_score"], values["is"]["inception_score_std"], options.splits,
                        _count(generated), options.shuffle_seed, protocol.get("resize"),
                        protocol.get("weights_sha256"), protocol.get("weights_canonical"), "<streamed>",
                        backend=protocol.get("backend"))


class PRDC(StreamingMetrics):
    """Streaming precision, recall, density and coverage (one k-NN pass): keeps the features; a
    ``PRDCResult``. ``Precision``, ``Recall``, ``Density`` and ``Coverage`` are the same object."""

    metric_names = PRDC_KEYS

    def __init__(self, *, reference=None, **options):
        super().__init__(None, reference=reference, **options)

    def _result(self, values, reference, generated) -> PRDCResult:
        merged = {key: value for name in self.names for key, value in values[name].items()}
        return PRDCResult(**{key: merged[key] for key in (*PRDC_KEYS, "pr_k", "dc_k", "version")})


Precision = Recall = Density = Coverage = PRDC


class Modes(StreamingMetrics):
    """Streaming mode coverage of 2-D points on a toy mixture (``reference="ring8"``); a ``ModeCoverage``."""

    metric_names = ("modes",)

    def __init__(self, *, reference=None, **options):
        super().__init__(None, reference=reference, **options)

    def _result(self, values, reference, generated) -> ModeCoverage:
        return ModeCoverage(**values["modes"])


def _count(side) -> int | None:
    if isinstance(side, Statistics):
        return side.n
    if isinstance(side, Features):
        rows = side.features if side.features is not None else side.logits
        return int(len(rows))
    return int(len(side)) if hasattr(side, "__len__") and not isinstance(side, str) else None


__all__ = ["Coverage", "Density", "FAKE", "FID", "InceptionScore", "KID", "Modes", "PRDC", "Precision", "REAL",
           "Recall", "SIDES", "STREAMING_OPTIONS", "StreamingMetrics"]
