"""Stop on a signal: the tracked metric, ``--stop-patience N``, and the run's curve in RUN/metrics.png.

The tracked metric decides which evaluation is best (RUN/checkpoints/best.pt) and, with a patience N > 0,
ends the run once N evaluations in a row have not improved on the best. It is ``stop_metric`` when
given, else the family's own (``Family.tracked``: BEGAN's M_global), else the leading metric of the
trainers' evaluation (FID for images, modes covered for toy data). It is either

- a registered metric of the ``train`` context (fid, is, modes): computed by the periodic evaluation and
  ranked by its ``rank_by`` in the registry; or
- a value the family logs every step (``m_global``): its mean over the steps since the previous
  evaluation, lower is better; no feature network runs, so this works offline.

The count of evaluations without improvement and the running mean live in checkpoints, so a resumed
run stops where an uninterrupted one would.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import GenmetricsError
from ..metrics.registry import POINTS, get_metric, metric_names

LOGGED = {"m_global": "BEGAN's convergence measure M_global (lower is better)"}


def tracked_metric(config, family) -> str:
    """The name of the metric the run tracks (see the module docstring)."""
    if config.stop_metric:
        return config.stop_metric
    if family.tracked:
        return family.tracked
    names = metric_names("train")  # the leading metric of trainers/evaluate.py's train_metrics(kind)
    return next(n for n in names if (POINTS in get_metric(n).needs) == (config.kind == "toy"))


def check_stopping(config, family) -> None:
    """GenmetricsError for a tracked metric or patience the run cannot use."""
    name = tracked_metric(config, family)
    offered = metric_names("train")
    if name not in LOGGED and name not in offered:
        raise GenmetricsError(f"--stop-metric {name}: choose one of {', '.join(sorted({*offered, *LOGGED}))}")
    if name in LOGGED and name != family.tracked:
        raise GenmetricsError(f"--stop-metric {name}: {LOGGED[name]} is not logged by {config.model}")
    if config.stop_patience < 0:
        raise GenmetricsError("--stop-patience must be 0 (off) or positive")
    if config.stop_patience and not config.eval_every:
        raise GenmetricsError("--stop-patience counts evaluations: give --eval-every N as well")


class Tracker:
    """The tracked metric's running mean (for logged values) and the evaluations since the best."""

    def __init__(self, config, family):
        self.name = tracked_metric(config, family)
        self.logged = self.name in LOGGED
        self.patience = config.stop_patience
        self.total, self.count, self.stale = 0.0, 0, 0

    def observe(self, logs: dict) -> None:
        if self.logged and self.name in logs:
            self.total += float(logs[self.name])
            self.count += 1

    def evaluation(self) -> dict:
        """The evaluation record of a logged value: its mean since the previous evaluation."""
        value = self.total / max(self.count, 1)
        record = {"metric": self.name, self.name: value, "steps_averaged": self.count}
        self.total, self.count = 0.0, 0
        return record

    def is_better(self, new: dict, best: dict | None) -> bool:
        keys = (self.name,) if self.logged else get_metric(self.name).rank_by
        if best is None or any(k not in best for k in keys):  # nothing to beat yet
            return True
        if self.logged:
            return new[self.name] < best[self.name]
        return get_metric(self.name).is_better(new, best)

    def update(self, improved: bool) -> bool:
        """Count an evaluation; True when the patience is used up (the run should stop)."""
        self.stale = 0 if improved else self.stale + 1
        return bool(self.patience) and self.stale >= self.patience

    def state(self) -> dict:
        return {"total": self.total, "count": self.count, "stale": self.stale}

    def load(self, state: dict | None) -> None:
        if state:
            self.total, self.count, self.stale = float(state["total"]), int(state["count"]), int(state["stale"])


def plot_metrics(run_dir: str | Path, tracked: str | None = None) -> Path | None:
    """RUN/metrics.png from RUN/metrics.jsonl: the losses per step and the tracked metric per evaluation
    (its best marked); None when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from .._io import atomic_write

    run_dir = Path(run_dir)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    losses = [r for r in records if "losses" in r]
    evals = [r for r in records if "eval" in r]
    fig, axes = plt.subplots(1, 2 if evals else 1, figsize=(11 if evals else 6, 3.6), squeeze=False)
    for key in sorted({k for r in losses for k in r["losses"]}):
        points = [(r["step"], r["losses"][key]) for r in losses if key in r["losses"]]
        axes[0, 0].plot(*zip(*points), label=key, linewidth=0.8)
    axes[0, 0].set(xlabel="step", title="training losses")
    axes[0, 0].legend(fontsize=7)
    if evals:
        name = tracked or evals[-1]["eval"]["metric"]
        key = name if name in LOGGED else get_metric(name).rank_by[0]
        points = [(r["step"], r["eval"][key]) for r in evals if key in r["eval"]]
        ax = axes[0, 1]
        ax.plot(*zip(*points), marker="o", markersize=3)
        if points:
            best = (min if name in LOGGED or not get_metric(name).keys[0].higher_is_better else max)(
                points, key=lambda p: p[1])
            ax.plot(*best, marker="*", markersize=12, color="tab:red", label=f"best: step {best[0]}")
            ax.legend(fontsize=7)
        ax.set(xlabel="step", title=f"tracked: {key}")
    fig.tight_layout()
    path = run_dir / "metrics.png"
    with atomic_write(path) as handle:
        fig.savefig(handle, format="png", dpi=100)
    plt.close(fig)
    return path
