"""Progress, the export of every trial, and the score report (table, JSON, plot)."""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from ..errors import GenmetricsError
from . import db
from .scoring import rater_trials
from .study import load_study

EXPORT_COLUMNS = ("rater", "model", "phase", "block", "position", "image", "kind", "answer", "correct",
                  "requested_ms", "shown_ms", "rt_ms", "received_at", "comment")


def status(study) -> dict:
    """Raters invited / started / qualified / failed / finished per model, and trials stored."""
    record, protocol = load_study(study)
    with db.opened(study) as con:
        raters = rater_trials(con, protocol)
        stored = con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        expected = con.execute("SELECT COUNT(*) FROM assignments").fetchone()[0]
    per_model = {}
    for model in record["models"]:
        mine = [r for r in raters if r["model"] == model]
        per_model[model] = {
            "invited": len(mine), "started": sum(r["consented"] for r in mine),
            "qualified": sum(r["qualification"]["passed"] and r["qualification"]["done"] for r in mine),
            "failed_qualification": sum(r["qualification"]["done"] and not r["qualification"]["passed"]
                                        for r in mine),
            "finished": sum(r["complete"] and r["qualification"]["passed"] for r in mine)}
    return {"study": str(study), "method": protocol.method, "models": per_model, "trials_stored": stored,
            "trials_assigned": expected}


def _cell(value):
    """Spreadsheet-safe text: a leading = + - @ would be run as a formula by Excel and LibreOffice."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_rows(study) -> list[dict]:
    """Every stored trial, in the order raters answered, with the image's label (admin only) and the rater's
    comment (free text from the thank-you page, repeated on each of the rater's rows)."""
    load_study(study)
    with db.opened(study) as con:
        rows = con.execute(
            "SELECT a.rater_id AS rater, r.model AS model, a.phase AS phase, a.block AS block, "
            "a.position AS position, i.name AS image, i.kind AS kind, t.answer AS answer, t.correct AS correct, "
            "t.requested_ms AS requested_ms, t.shown_ms AS shown_ms, t.rt_ms AS rt_ms, "
            "t.received_at AS received_at, r.comment AS comment FROM trials t JOIN assignments a ON a.id = t.assignment_id JOIN raters r ON r.id = a.rater_id "
            "JOIN images i ON i.id = a.image_id ORDER BY t.id").fetchall()
    return [dict(row) for row in rows]


def rows_to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def export(study, output) -> dict:
    """Write every trial to ``output`` (CSV, atomically); returns {"output", "trials"}."""
    rows = export_rows(study)
    out = Path(output)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(rows_to_csv(rows))
    os.replace(tmp, out)
    return {"output": str(out), "trials": len(rows)}


def summary(result: dict) -> str:
    """The score as a human table."""
    unit = "%" if result["method"] == "infinity" else " ms"
    lines = [f"{result['metric']}, {result['bootstrap']['confidence']:.0%} CI over raters "
             f"({result['bootstrap']['resamples']:,} bootstrap resamples, seed {result['bootstrap']['seed']})"]
    for model, entry in result["models"].items():
        if "score" not in entry:
            lines.append(f"  {model:<16} no finished, qualified raters yet ({entry['invited']} invited)")
            continue
        lo, hi = entry["ci"]
        ci = f"({lo:.1f}-{hi:.1f})" if lo is not None else "(no CI: one rater)"
        line = f"  {model:<16} {entry['score']:7.1f}{unit} {ci}  raters {entry['raters']}"
        if result["method"] == "infinity":
            line += f"  fake error {entry['fake_error']:.1f}%  real error {entry['real_error']:.1f}%"
        lines.append(line)
    comparison = result.get("comparison")
    if comparison:
        a = comparison["anova"]
        lines.append(f"one-way ANOVA: F({a['df_between']}, {a['df_within']}) = {a['F']:.2f}, p = {a['p']:.3g}")
        for pair in comparison["tukey"]:
            lines.append(f"  Tukey {pair['a']} - {pair['b']}: {pair['difference']:+.1f}{unit}, p = {pair['p']:.3g}")
    return "\n".join(lines)


def write_report(result: dict, folder) -> dict:
    """report.json, report.txt and report.png (scores with CI bars) in ``folder``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "report.txt").write_text(summary(result) + "\n")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise GenmetricsError("the report's plot needs matplotlib: pip install 'genmetrics[hype]'") from None
    scored = {m: e for m, e in result["models"].items() if "score" in e}
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * max(len(scored), 1), 3.6))
    names = list(scored)
    values = [scored[m]["score"] for m in names]
    errors = [[v - (scored[m]["ci"][0] if scored[m]["ci"][0] is not None else v) for m, v in zip(names, values)],
              [(scored[m]["ci"][1] if scored[m]["ci"][1] is not None else v) - v for m, v in zip(names, values)]]
    ax.bar(names, values, yerr=errors, capsize=4, color="#4a7ab5")
    ax.set_ylabel("% judged wrongly" if result["method"] == "infinity" else "exposure (ms)")
    ax.set_title(result["metric"], fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "report.png", dpi=120)
    plt.close(fig)
    return {"folder": str(out), "files": ["report.json", "report.txt", "report.png"]}
