"""What a streaming metric object keeps, how ranks combine it, and its checkpoint form (``streaming.py``).

Per side (``real``, ``fake``): float64 sums (``RunningStats``) for metrics read from statistics, or the
feature rows for metrics read from per-image features, and the generated logits for IS. A reference given
when the object was made is ``fixed``: a ``Statistics`` (kept exact, not turned into sums) or feature rows
that every rank already holds in full (so they are not gathered again).
"""
from __future__ import annotations

import json

import numpy as np
import torch

from .. import distributed
from ..errors import GenmetricsError
from ..features.files import Features
from ..stats import RunningStats, Statistics
from .fid import _check_same_protocol, _check_sample_size

REAL, FAKE = "real", "fake"
SIDES = (REAL, FAKE)
_WORDS = {REAL: "reference", FAKE: "generated"}
# The protocol fields a checkpoint must share with the object that loads it (the version may differ).
SAME_PROTOCOL = ("extractor", "resize", "input_size", "weights_sha256", "precision", "dims")


def _empty(*shape) -> torch.Tensor:
    return torch.zeros(shape, dtype=torch.float64)


class StreamState:
    def __init__(self, names, moments: bool, rows: bool, logits: bool, max_samples: int, protocol: dict,
                 points: bool = False):
        self.names, self.moments, self.rows, self.logits = tuple(names), moments, rows, logits
        self.points = points  # rows are 2-D points (mode coverage), not image features
        self.max_samples, self.protocol = int(max_samples), protocol
        self.mixture = None  # mode coverage: the toy data set the points are scored on
        self.reset(keep_reference=False)

    def reset(self, keep_reference: bool) -> None:
        self.sums = {FAKE: RunningStats(), REAL: self.sums[REAL] if keep_reference else RunningStats()}
        self.kept = {FAKE: [], REAL: self.kept[REAL] if keep_reference else []}
        self.kept_logits: list[torch.Tensor] = []
        if not keep_reference:
            self.fixed, self.fixed_stats = False, None

    # ---- updates
    def count(self, side: str) -> int:
        return sum(len(rows) for rows in self.kept[side])

    def check_room(self, side: str, more: int, what: str = "features") -> None:
        held = self.count(side) if what == "features" else sum(len(x) for x in self.kept_logits)
        if held + more > self.max_samples:
            raise GenmetricsError(
                f"{', '.join(self.names)} keep(s) every {_WORDS[side]} image's {what}: {more} more would hold "
                f"{held + more:,}, past stream_max_samples={self.max_samples:,} per side and process (2048-d "
                f"float32 features take 8 KiB per image); pass a larger stream_max_samples= if the memory is "
                f"there, call reset(), or use FID, which keeps constant-size float64 sums")

    def keep_rows(self, side: str, rows: torch.Tensor) -> None:
        if rows.dim() != 2:
            raise GenmetricsError(f"expected (N, D) rows, got shape {tuple(rows.shape)}")
        self.check_room(side, len(rows))
        self.kept[side].append(rows)

    def keep_logits(self, logits: torch.Tensor) -> None:
        self.check_room(FAKE, len(logits), "logits")
        self.kept_logits.append(logits)

    def set_fixed(self, reference) -> None:
        self.fixed = True
        if isinstance(reference, Statistics):
            self.fixed_stats = reference
        else:
            self.check_room(REAL, len(reference))
            self.kept[REAL] = [reference]

    def move(self, device) -> None:
        for acc in self.sums.values():
            if acc.sum is not None:
                acc.sum, acc.outer = acc.sum.to(device), acc.outer.to(device)
        self.kept = {side: [rows.to(device) for rows in kept] for side, kept in self.kept.items()}
        self.kept_logits = [rows.to(device) for rows in self.kept_logits]

    # ---- what compute() hands to the registry, over all ranks when ``gather``
    def inputs(self, gather: bool):
        if self.points:
            if self.mixture is None:
                raise GenmetricsError("mode coverage needs the toy data set: reference='ring8' or 'grid25'")
            return self.mixture, self._rows(FAKE, gather).numpy()
        if self.moments:
            real = self.fixed_stats if self.fixed_stats is not None else self._statistics(REAL, gather)
            fake = self._statistics(FAKE, gather)
            _check_same_protocol(real, fake)
            for stats in (real, fake):
                _check_sample_size(stats)
            return real, fake
        reference = Features(self._rows(REAL, gather).numpy(), None, None, self.protocol) if self.rows else None
        features = self._rows(FAKE, gather).numpy() if self.rows else None
        logits = self._gathered(self.kept_logits, gather, "logits").numpy() if self.logits else None
        return reference, Features(features, logits, None, self.protocol)

    def _statistics(self, side: str, gather: bool) -> Statistics:
        acc = RunningStats().merge(self.sums[side])
        if gather:
            acc.all_reduce()
        if acc.n == 0:
            raise self._nothing(side)
        size = acc.sum.shape[0]
        return Statistics(acc.mean(), acc.covariance() if acc.n > 1 else np.full((size, size), np.nan), acc.n,
                          dict(self.protocol), f"<{_WORDS[side]} images, streamed>")

    def _rows(self, side: str, gather: bool) -> torch.Tensor:
        rows = self._gathered(self.kept[side], gather and not (side == REAL and self.fixed), side)
        if len(rows) == 0:
            raise self._nothing(side)
        return rows

    def _gathered(self, kept: list, gather: bool, side: str) -> torch.Tensor:
        local = torch.cat(kept) if kept else None
        if gather:  # every rank, also one without rows: gather_rows is a collective
            dtype = torch.float64 if self.protocol.get("precision") == "fp64" or self.points else torch.float32
            local = distributed.gather_rows(local, None if local is None else local.shape[1], dtype)
        if local is None or len(local) == 0:
            raise self._nothing(FAKE if side == "logits" else side)
        return local.cpu()

    def _nothing(self, side: str) -> GenmetricsError:
        if side == REAL:
            return GenmetricsError(f"{', '.join(self.names)}: no reference yet: pass reference= when making the "
                                   f"object, or call update(images, real=True)")
        return GenmetricsError(f"{', '.join(self.names)}: no generated images yet: call update(images) first")

    # ---- checkpoint form: tensors only, so any torch checkpoint holds it
    def record(self) -> dict:
        fixed = None
        if self.fixed_stats is not None:
            fixed = {"n": self.fixed_stats.n, "meta": self.fixed_stats.meta, "source": self.fixed_stats.source}
        return {"metrics": list(self.names), "protocol": self.protocol, "fixed": self.fixed,
                "fixed_statistics": fixed, "mixture": self.mixture if isinstance(self.mixture, str) else None}

    def to_tensors(self) -> dict[str, torch.Tensor]:
        out = {"record": torch.tensor(list(json.dumps(self.record()).encode()), dtype=torch.uint8)}
        if self.moments:
            for side in SIDES:
                acc = self.sums[side]
                out[f"{side}_n"] = torch.tensor(acc.n, dtype=torch.int64)
                out[f"{side}_sum"] = acc.sum if acc.sum is not None else _empty(0)
                out[f"{side}_outer"] = acc.outer if acc.outer is not None else _empty(0, 0)
            stats = self.fixed_stats
            out["real_mu"] = torch.from_numpy(stats.mu) if stats is not None else _empty(0)
            out["real_sigma"] = torch.from_numpy(stats.sigma) if stats is not None else _empty(0, 0)
        if self.rows:
            for side in SIDES:
                out[f"{side}_rows"] = torch.cat(self.kept[side]) if self.kept[side] else _empty(0, 0)
        if self.logits:
            out["fake_logits"] = torch.cat(self.kept_logits) if self.kept_logits else _empty(0, 0)
        return out

    def from_tensors(self, tensors: dict, device) -> None:
        record = json.loads(bytes(tensors["record"].cpu().tolist()).decode())
        if record["metrics"] != list(self.names):
            raise GenmetricsError(f"the state holds the metrics {','.join(record['metrics'])}, this object "
                                  f"{','.join(self.names)}: load it into an object of the same metrics")
        for key in SAME_PROTOCOL:
            saved, ours = record["protocol"].get(key), self.protocol.get(key)
            if saved != ours:
                raise GenmetricsError(f"the state was made with {key}={saved}, this object has {key}={ours}: make "
                                      f"the object with the options of the run that saved it")
        self.reset(keep_reference=False)
        self.fixed, self.mixture = record["fixed"], record["mixture"] or self.mixture
        if self.moments:
            for side in SIDES:
                acc, n = self.sums[side], int(tensors[f"{side}_n"])
                if n:
                    acc.n = n
                    acc.sum = tensors[f"{side}_sum"].to(device, torch.float64).clone()
                    acc.outer = tensors[f"{side}_outer"].to(device, torch.float64).clone()
            fixed = record["fixed_statistics"]
            if fixed is not None:
                self.fixed_stats = Statistics(tensors["real_mu"].cpu().numpy().copy(),
                                              tensors["real_sigma"].cpu().numpy().copy(), fixed["n"], fixed["meta"],
                                              fixed["source"])
        if self.rows:
            for side in SIDES:
                rows = tensors[f"{side}_rows"]
                self.kept[side] = [rows.to(device).clone()] if len(rows) else []
        if self.logits and len(tensors["fake_logits"]):
            self.kept_logits = [tensors["fake_logits"].to(device).clone()]

    def summary(self) -> str:
        if self.moments:
            return f"n_real={self.sums[REAL].n}, n_fake={self.sums[FAKE].n}"
        return f"n_real={self.count(REAL)}, n_fake={self.count(FAKE) or sum(len(x) for x in self.kept_logits)}"
