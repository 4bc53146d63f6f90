"""HYPE scores from the stored trials: HYPE-infinity and HYPE-time, bootstrap CIs, ANOVA and Tukey.

Only raters who passed the qualification and finished the task count (paper, evaluator
qualification). HYPE-infinity (paper, "HYPE∞") is the percentage of task images judged wrongly, pooled over
raters, with the fake error (fakes judged real) and the real error (reals judged fake). HYPE-time (paper,
"HYPE_time") is, per rater, the most frequent requested exposure of each staircase averaged over the
staircases, and per model the mean over raters. The 95% CIs resample raters with replacement 10,000
times (paper), with a seeded generator; several models get a one-way ANOVA over the raters' scores and
Tukey's HSD between models (scipy.stats.f_oneway, scipy.stats.tukey_hsd).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..defaults import DEFAULTS
from . import db
from .protocol import BOOTSTRAP_RESAMPLES, CONFIDENCE, Protocol, mode_exposure
from .session import qualification
from .study import load_study


def rater_trials(con, protocol: Protocol) -> list[dict]:
    """Every rater with its model, qualification result, and task trials (kind, correct, block, exposure)."""
    out = []
    for rater in con.execute("SELECT id, model, consent_at FROM raters ORDER BY id").fetchall():
        trials = con.execute(
            "SELECT i.kind AS kind, t.correct AS correct, a.block AS block, a.position AS position, "
            "t.requested_ms AS requested_ms FROM trials t JOIN assignments a ON a.id = t.assignment_id "
            "JOIN images i ON i.id = a.image_id WHERE a.rater_id = ? AND a.phase = 'task' "
            "ORDER BY a.block, a.position", (rater["id"],)).fetchall()
        qual = qualification(con, rater["id"], protocol)
        out.append({"rater": rater["id"], "model": rater["model"], "consented": rater["consent_at"] is not None,
                    "qualification": qual, "complete": len(trials) == protocol.task_units(),
                    "trials": [dict(t) for t in trials]})
    return out


def infinity_counts(trials: list[dict]) -> np.ndarray:
    """[fakes judged real, fakes, reals judged fake, reals] for one rater's task."""
    fake = [t for t in trials if t["kind"] == "fake"]
    real = [t for t in trials if t["kind"] == "real"]
    return np.array([sum(1 - t["correct"] for t in fake), len(fake), sum(1 - t["correct"] for t in real), len(real)],
                    dtype=np.float64)


def infinity_scores(counts: np.ndarray) -> dict:
    """Pooled HYPE-infinity, fake error and real error (percent) from per-rater counts (..., raters, 4)."""
    total = counts.sum(axis=-2)
    wrong_fake, n_fake, wrong_real, n_real = (total[..., i] for i in range(4))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {"score": 100.0 * (wrong_fake + wrong_real) / (n_fake + n_real),
               "fake_error": 100.0 * wrong_fake / n_fake, "real_error": 100.0 * wrong_real / n_real}
    return {k: float(v) if np.ndim(v) == 0 else v for k, v in out.items()}


def time_score(trials: list[dict], blocks: int) -> float:
    """One rater's HYPE-time: the mode exposure of each staircase, averaged over the staircases."""
    modes = [mode_exposure([t["requested_ms"] for t in trials if t["block"] == b]) for b in range(blocks)]
    return float(np.mean(modes))


def bootstrap_ci(per_rater: np.ndarray, statistic, resamples: int, confidence: float,
                 rng: np.random.Generator) -> list[float | None]:
    """Percentile CI of ``statistic`` over raters resampled with replacement (rows of ``per_rater``).

    ``statistic`` takes the resamples at once, shape (resamples, raters, ...), and returns (resamples,).
    """
    n = len(per_rater)
    if n < 2:
        return [None, None]  # one rater has no spread to resample
    index = rng.integers(0, n, size=(resamples, n))
    values = np.asarray(statistic(per_rater[index]))
    tail = (1.0 - confidence) / 2.0 * 100.0
    return [float(np.percentile(values, tail)), float(np.percentile(values, 100.0 - tail))]


def anova_tukey(groups: dict[str, list[float]]) -> dict | None:
    """One-way ANOVA over the models' per-rater scores and Tukey's HSD between every pair (scipy)."""
    usable = {name: values for name, values in groups.items() if len(values) >= 2}
    if len(usable) < 2:
        return None
    from scipy import stats
    names = list(usable)
    samples = [np.asarray(usable[name], dtype=np.float64) for name in names]
    anova = stats.f_oneway(*samples)
    tukey = stats.tukey_hsd(*samples)
    low, high = tukey.confidence_interval(CONFIDENCE)
    pairs = [{"a": names[i], "b": names[j], "difference": float(tukey.statistic[i, j]),
              "p": float(tukey.pvalue[i, j]), "ci": [float(low[i, j]), float(high[i, j])]}
             for i in range(len(names)) for j in range(i + 1, len(names))]
    return {"anova": {"F": float(anova.statistic), "p": float(anova.pvalue), "groups": names,
                      "df_between": len(names) - 1, "df_within": int(sum(len(s) for s in samples) - len(names))},
            "tukey": pairs}


def score(study, seed: int = DEFAULTS.seed, resamples: int = BOOTSTRAP_RESAMPLES, confidence: float = CONFIDENCE) -> dict:
    """Score a study: per model the HYPE score, its CI and the number of raters; ANOVA/Tukey between models.

    ``seed`` seeds the bootstrap (one generator per model, offset by the model's position).
    """
    record, protocol = load_study(study)
    with db.opened(study) as con:
        raters = rater_trials(con, protocol)
    models, groups = {}, {}
    for k, model in enumerate(record["models"]):
        mine = [r for r in raters if r["model"] == model]
        counted = [r for r in mine if r["complete"] and r["qualification"]["passed"]]
        entry = {"raters": len(counted), "invited": len(mine),
                 "failed_qualification": sum(r["qualification"]["done"] and not r["qualification"]["passed"]
                                             for r in mine)}
        rng = np.random.default_rng([seed, k])
        if protocol.method == "infinity":
            counts = np.array([infinity_counts(r["trials"]) for r in counted]).reshape(-1, 4)
            groups[model] = [infinity_scores(c[None])["score"] for c in counts]
            if len(counted):
                entry.update(infinity_scores(counts))
                entry["ci"] = bootstrap_ci(counts, lambda c: infinity_scores(c)["score"], resamples, confidence, rng)
                entry["fake_error_ci"] = bootstrap_ci(counts, lambda c: infinity_scores(c)["fake_error"],
                                                      resamples, confidence, rng)
                entry["real_error_ci"] = bootstrap_ci(counts, lambda c: infinity_scores(c)["real_error"],
                                                      resamples, confidence, rng)
        else:
            values = np.array([time_score(r["trials"], protocol.blocks) for r in counted])
            groups[model] = values.tolist()
            if len(counted):
                entry["score"] = float(values.mean())
                entry["ci"] = bootstrap_ci(values, lambda v: v.mean(axis=-1), resamples, confidence, rng)
        models[model] = entry
    return {"study": str(Path(study)), "method": protocol.method,
            "metric": "HYPE-infinity (% judged wrongly)" if protocol.method == "infinity" else "HYPE-time (ms)",
            "models": models, "comparison": anova_tukey(groups), "per_rater": groups,
            "bootstrap": {"resamples": resamples, "confidence": confidence, "seed": seed, "over": "raters"},
            "protocol": protocol.to_dict(), "masks": record["masks"]["method"],
            "source": "Zhou et al., HYPE, NeurIPS 2019 (arXiv 1904.01121)"}
