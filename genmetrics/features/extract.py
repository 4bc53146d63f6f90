"""The feature engine: stream any image input through the FID InceptionV3 in batches.

Memory is constant in the number of images: images are decoded in DataLoader workers, a batch at a time,
and features are handed to the caller batch by batch (``FeatureStream``). The model runs in inference
mode, channels_last, with its BatchNorms folded into the convs; on CUDA the batches are pinned and
copied without blocking. Images of different sizes may share a batch: each size is resized on its own.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from .. import distributed
from ..data.sources import ArraySource, BadImage, IterableSource, open_images
from ..defaults import DEFAULTS
from ..device import resolve_device  # noqa: F401 (re-exported: older code imports it from here)
from ..errors import GenmetricsError
from .preprocess import CPU_RESIZES


# Degenerate-feature thresholds (see FeatureStream._check_degenerate for the measurements behind them).
NEAR_ZERO = 1e-4
SAME_FEATURES = 1e-6  # about 8 float32 round-offs (eps 1.19e-7) relative to the features' scale


# torch >= 2.9 sets float32 precision per backend (``fp32_precision``: "ieee" or "tf32"); mixing it with the
# legacy ``allow_tf32`` flags makes ``torch.get_float32_matmul_precision()`` raise, so the new one is used
# where it exists (it also keeps a user's "medium" matmul setting, which the legacy flags would turn to "high").
NEW_PRECISION_API = hasattr(torch.backends.cuda.matmul, "fp32_precision")


@contextlib.contextmanager
def cuda_tf32(allow: bool):
    """CUDA matmuls and cuDNN convolutions in TF32 (``allow``) or IEEE float32; the user's settings after."""
    if NEW_PRECISION_API:
        matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
        saved = matmul.fp32_precision, conv.fp32_precision
        matmul.fp32_precision = conv.fp32_precision = "tf32" if allow else "ieee"
        try:
            yield
        finally:
            matmul.fp32_precision, conv.fp32_precision = saved
    else:
        saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = allow
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@contextlib.contextmanager
def precision_mode(precision: str, device: torch.device):
    """bf16: autocast to bfloat16. On CUDA, tf32 allows TensorFloat-32 in matmuls and convolutions, and
    fp32 and fp64 forbid it: PyTorch's own default lets cuDNN convolutions run in TF32 (10-bit mantissas),
    which is not the float32 the reference tools compute on the CPU (measured on an H200:
    benchmarks/gpu_check.py, docs/speed.md)."""
    if precision == "bf16":
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            yield
    elif device.type == "cuda":
        with cuda_tf32(precision == "tf32"):
            yield
    else:
        yield


class _Decoded(torch.utils.data.Dataset):
    def __init__(self, source, protocol):
        self.source, self.protocol = source, protocol

    def __len__(self):
        return len(self.source)

    def __getitem__(self, index):
        try:
            return index, self.protocol.on_cpu(self.source.load(index)), None
        except BadImage as exc:
            return index, None, exc.reason


def _collate(items):
    """In the worker: stack the images of each size; keep decoding errors aside.

    Returns ``(groups, errors, count)`` with groups a list of (indices, stacked batch) tuples, so that
    the DataLoader's pin-memory thread can pin whole batches.
    """
    by_shape, errors = defaultdict(list), []
    for index, tensor, error in items:
        if error is None:
            by_shape[tuple(tensor.shape)].append((index, tensor))
        else:
            errors.append((index, error))
    groups = [(torch.tensor([i for i, _ in members]), torch.stack([t for _, t in members]))
              for members in by_shape.values()]
    return groups, errors, len(items)


def _worker_init(_):
    torch.set_num_threads(1)  # decoding workers must not fight the network for cores


def default_workers(source) -> int:
    """No workers for in-memory arrays; for files, half the cores (at least 1, at most 8)."""
    if isinstance(source, (ArraySource, IterableSource)):
        return 0
    return max(1, min(8, (os.cpu_count() or 2) // 2))


@dataclass
class FeatureStream:
    """Iterate to get ``(indices, {output: float32 CPU tensor})`` per batch (float64 under ``precision``
    fp64), in input order.

    After iteration ``n`` is the number of images featurised and ``skipped`` lists the files that
    could not be decoded (only with ``skip_bad``; otherwise the first one raises).
    """

    images: object
    extractor: "Extractor"  # noqa: F821 (genmetrics.features.registry.Extractor)
    outputs: frozenset
    batch_size: int = DEFAULTS.batch_size
    workers: int | None = None
    skip_bad: bool = False
    progress: bool = True
    desc: str = "features"
    feature_key: str = "2048"  # which of ``outputs`` are the features (the rest: logits)
    start: int = 0  # skip the first ``start`` images (a resumed run)
    n: int = 0
    skipped: list = field(default_factory=list)

    def __post_init__(self):
        self.source = open_images(self.images)
        if self.batch_size < 1:
            raise GenmetricsError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.workers is not None and self.workers < 0:
            raise GenmetricsError(f"--workers must be 0 (decode in this process) or more, got {self.workers}")
        self._reference = None  # (input, outputs) of the first image, until the degeneracy check has run
        self._checked = False

    @property
    def files(self):
        return self.source.files

    def _run(self, groups: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[list[int], dict]:
        """Features of each (indices, batch) group, reassembled in index order."""
        ex = self.extractor
        parts = defaultdict(list)
        for _, x in groups:
            x = x.to(ex.device, non_blocking=True)
            x = ex.protocol.on_device(x)
            if ex.precision == "fp64" and x.is_floating_point():
                x = x.double()  # after the protocol's float32 resize: fp64 is the network's arithmetic
            if ex.backend == "torch":  # onnxruntime takes NCHW: channels_last would only be copied back
                x = x.contiguous(memory_format=torch.channels_last)
            with precision_mode(ex.precision, ex.device):
                out = ex.model(x, self.outputs)
            if not self._checked:
                self._check_degenerate(x, out)
            kept = torch.float64 if ex.precision == "fp64" else torch.float32
            for name, value in out.items():
                parts[name].append(value.to(kept).cpu())
        order = torch.cat([indices for indices, _ in groups])
        rank = torch.argsort(order)
        return order[rank].tolist(), {k: torch.cat(v)[rank] for k, v in parts.items()}

    def _check_finite(self, indices, feats):
        for value in feats.values():
            bad = (~torch.isfinite(value).all(dim=1)).nonzero().flatten().tolist()
            if bad:
                names = ", ".join(self._name(indices[i]) for i in bad[:3])
                raise GenmetricsError(f"non-finite features for {len(bad)} image(s) ({names}): the weights "
                                      f"file {self.extractor.weights_path} is probably damaged")

    def _weights_hint(self) -> str:
        path = self.extractor.weights_path
        if self.extractor.name == "inception":
            return (f"the weights file {path} gives degenerate features: use the FID weights, or for random "
                    f"test weights genmetrics.testing.write_random_weights (it calibrates the BatchNorms)")
        return f"the extractor {self.extractor.name}" + (f" (weights {path})" if path else "") + \
            " gives degenerate features"

    def _check_degenerate(self, x: torch.Tensor, out: dict) -> None:
        """Refuse weights whose features cannot tell images apart: checked once, on the first image and the
        first later image whose network input differs from it (so a set of identical images is never
        refused: it legitimately has identical features, and may legitimately map to zero).

        Thresholds, per output (features and logits):
          - near zero: every |feature| of the images seen so far below NEAR_ZERO. A working network's
            features are O(0.1-100) (the calibrated random test weights: up to 1-340; measured), a
            default-initialised Inception's pool features ~3e-7 and logits ~6e-8 (measured); features of
            scale 1e-4 give FIDs of order 1e-8, which print as 0.000000.
          - near constant: the two distinct images' features differ by at most SAME_FEATURES times their
            scale, i.e. a few float32 round-offs (eps 1.2e-7): the network ignores its input.
        """
        if self._reference is None:
            self._reference = x[:1].clone(), {k: v[:1].float() for k, v in out.items()}
        ref_x, ref_out = self._reference
        differs = (x != ref_x).flatten(1).any(dim=1)
        if not bool(differs.any()):
            return  # every image so far is the same image: nothing to compare yet
        other = int(differs.nonzero()[0])
        self._checked, self._reference = True, None
        for name, value in out.items():
            value, first = value.float(), ref_out[name][0]
            what = f"{name}-d feature" if name.isdigit() else name.rstrip("s")
            if not bool(torch.isfinite(value).all()) or not bool(torch.isfinite(first).all()):
                return  # _check_finite names the images
            scale = max(float(value.abs().max()), float(first.abs().max()))
            if scale < NEAR_ZERO:
                raise GenmetricsError(f"every {what} is below {NEAR_ZERO:g} in magnitude (largest "
                                      f"{scale:.3g}): {self._weights_hint()}")
            if float((value[other] - first).abs().max()) <= SAME_FEATURES * scale:
                raise GenmetricsError(f"two different images give the same {what}s (to "
                                      f"{SAME_FEATURES:g} of their scale): {self._weights_hint()}")

    def _name(self, index):
        return self.source.item_name(index) if hasattr(self.source, "item_name") else f"image {index}"

    def _indexed_batches(self):
        source, workers = self.source, self.workers
        workers = default_workers(source) if workers is None else workers
        dataset = _Decoded(source, self.extractor.protocol)
        if distributed.active():
            dataset = torch.utils.data.Subset(dataset, distributed.shard(len(source), self.batch_size))
        elif self.start:
            dataset = torch.utils.data.Subset(dataset, range(self.start, len(source)))
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=self.batch_size, shuffle=False,
            num_workers=workers, collate_fn=_collate, worker_init_fn=_worker_init if workers else None,
            prefetch_factor=4 if workers else None, pin_memory=self.extractor.device.type == "cuda")
        for groups, errors, count in loader:
            for index, error in errors:
                if not self.skip_bad:
                    raise GenmetricsError(f"{source.item_name(index)}: {error}; fix or remove the file, "
                                          f"or pass --skip-bad to skip unreadable images")
                self.skipped.append(source.item_name(index))
            yield groups, count

    def _iterable_batches(self):
        protocol, start, rank, world = self.extractor.protocol, 0, distributed.rank(), distributed.world_size()
        chunks = (chunk for batch in self.source.batches() for chunk in batch.split(self.batch_size))
        for number, chunk in enumerate(chunks):
            start += len(chunk)
            if number % world == rank:  # batches dealt round-robin across ranks
                if protocol.name in CPU_RESIZES:
                    chunk = torch.stack([protocol.on_cpu(img.permute(1, 2, 0).numpy()) for img in chunk])
                yield [(torch.arange(start - len(chunk), start), chunk)], len(chunk)

    def __iter__(self):
        total = None
        if not isinstance(self.source, IterableSource):
            total = (len(distributed.shard(len(self.source), self.batch_size)) if distributed.active()
                     else len(self.source) - self.start)
        batches = self._iterable_batches() if total is None else self._indexed_batches()
        with torch.inference_mode(), tqdm(total=total, unit="img", desc=self.desc, leave=False,
                                          disable=not (self.progress and distributed.is_main()),
                                          file=sys.stderr) as bar:
            for groups, count in batches:
                if groups:
                    indices, feats = self._run(groups)
                    self._check_finite(indices, feats)
                    self.n += len(indices)
                bar.update(count)
                if groups:
                    yield indices, feats
