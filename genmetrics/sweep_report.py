"""Sweep output: a terminal table, OUT.csv and OUT.json with every point, and OUT.png (matplotlib, Agg).

The columns, their order, labels and directions come from the metric registry (``metrics/registry.py``):
the result keys of the sweep's metrics in registration order, less those marked ``column=False``.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ._io import atomic_write, check_output
from .metrics import registry


def columns() -> tuple[str, ...]:
    """"truncation", then every result key a sweep can report, in the registry's order."""
    return ("truncation",) + tuple(k.name for k in registry.result_keys("sweep") if k.column)


def labels() -> dict[str, str]:
    """Axis labels with the direction of each value (``higher_is_better`` of the registry)."""
    return {k.name: k.axis_label() for k in registry.result_keys("sweep")}


def __getattr__(name: str):
    if name == "COLUMNS":  # the former constants, now read from the registry
        return columns()
    if name == "LABELS":
        return labels()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def present(rows) -> list[str]:
    return [c for c in columns() if any(c in row for row in rows)]


def table(rows) -> str:
    columns = present(rows)
    lines = ["  ".join(f"{c:>15}" for c in columns)]
    for row in rows:
        lines.append("  ".join(f"{row[c]:>15.6g}" if isinstance(row.get(c), (int, float)) else f"{'':>15}"
                               for c in columns))
    return "\n".join(lines)


def write_csv(path: Path, rows) -> None:
    columns = present(rows) + ["n", "method", "seed"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_write(path, "w") as handle:
        handle.write(buffer.getvalue())


def write_json(path: Path, rows) -> None:
    with atomic_write(path, "w") as handle:
        json.dump(rows, handle, indent=2)


def plot(path: Path, rows, title: str = "") -> None:
    """IS against FID with each point labelled by its truncation, and each metric against truncation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    spreads = {k.spread for k in registry.result_keys("sweep") if k.spread}  # shown as the value's spread only
    metrics = [c for c in present(rows) if c != "truncation" and c not in spreads]
    label = labels()
    curve = "fid" in metrics and "inception_score" in metrics
    panels = len(metrics) + curve
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.8), squeeze=False)
    axes = list(axes[0])
    t = [row["truncation"] for row in rows]
    if curve:
        ax = axes.pop(0)
        fid, score = [row["fid"] for row in rows], [row["inception_score"] for row in rows]
        ax.plot(fid, score, "o-", color="tab:blue", label=f"{rows[0]['method']} truncation")
        for x, y, level in zip(fid, score, t):
            ax.annotate(f"{level:g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xlabel(label["fid"])
        ax.set_ylabel(label["inception_score"])
        ax.set_title("quality / diversity trade-off")
        ax.legend(fontsize=8)
    for ax, metric in zip(axes, metrics):
        ax.plot(t, [row.get(metric) for row in rows], "o-", color="tab:orange", label=metric)
        ax.set_xlabel(f"truncation ({rows[0]['method']})")
        ax.set_ylabel(label.get(metric, metric))
        ax.set_title(metric)
        ax.legend(fontsize=8)
    fig.suptitle(title or f"truncation sweep, n={rows[0]['n']} per point, seed {rows[0]['seed']}")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    with atomic_write(path) as handle:
        handle.write(buffer.getvalue())


def output_paths(out: str | Path, *, force: bool = False) -> list[Path]:
    """OUT.csv, OUT.json and OUT.png (a suffix on ``out`` is dropped), checked to be writable (existing
    files only with ``force``): call it before the sweep, so that a bad -o fails before the work."""
    base = Path(out)
    base = base.with_suffix("") if base.suffix in (".csv", ".json", ".png") else base
    paths = [base.with_name(base.name + ext) for ext in (".csv", ".json", ".png")]
    for path in paths:
        check_output(path, force=force)
    return paths


def write_outputs(out: str | Path, rows, *, force: bool = False) -> list[Path]:
    """OUT.csv, OUT.json and OUT.png (a suffix on ``out`` is dropped); existing files only with ``force``."""
    paths = output_paths(out, force=force)
    write_csv(paths[0], rows)
    write_json(paths[1], rows)
    try:
        plot(paths[2], rows)
    except ImportError:
        import warnings
        warnings.warn("matplotlib is not installed, so no plot was drawn: pip install matplotlib")
        return paths[:2]
    return paths
