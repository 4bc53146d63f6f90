"""Mode coverage of our toy GANs on ring8 and grid25 over several seeds, beside PacGAN's Table 1.

Each (data, model, seed) trains with the default settings (or --steps / --set overrides) into a run
folder, then 2,500 samples (seed 0 of ``genmetrics sample``) are scored with ``mode_coverage``, for the
final checkpoint (latest.pt) and for the one the training-time evaluations chose (best.pt, selected on a
different, fixed noise set). Prints mean and standard error over seeds.

    python benchmarks/toy_modes.py                           # gan on ring8 and grid25, 5 seeds
    python benchmarks/toy_modes.py --seeds 3 --data ring8 --model gan --model unrolled
    python benchmarks/toy_modes.py --steps 2000 --set lr_g=5e-4 --set lr_d=5e-4 --json
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genmetrics.metrics.modes import DEFAULT_SAMPLES, mode_coverage  # noqa: E402
from genmetrics.trainers import load_generator, train  # noqa: E402
from genmetrics.trainers.config import parse_setting  # noqa: E402

# PacGAN (Lin et al. 2018) Table 1: modes covered and high-quality samples (%), 2,500 samples, mean
# over 10 trials.
PUBLISHED = {
    "ring8": [("GAN (PacGAN Table 1)", 6.3, 98.2), ("PacGAN4 (PacGAN Table 1)", 7.8, 95.9)],
    "grid25": [("GAN (PacGAN Table 1)", 17.3, 94.8), ("PacGAN4 (PacGAN Table 1)", 24.8, 93.6)],
}
TARGETS = {"ring8": (8, 0.95), "grid25": (25, 0.90)}  # this package's goal for the default settings


def mean_se(values) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, float("nan")
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var / n)


def score(run_dir: Path, which: str) -> dict:
    generator = load_generator(run_dir / "checkpoints" / which)
    points, _ = generator.sample(DEFAULT_SAMPLES, seed=0)
    return mode_coverage(points, generator.config.data).to_dict()


def run_setting(data: str, model: str, seeds: list[int], root: Path, overrides: dict) -> list[dict]:
    rows = []
    for seed in seeds:
        out = root / f"{data}-{model}-seed{seed}"
        started = time.monotonic()
        train(model, data, out, seed=seed, progress=False, **overrides)
        seconds = time.monotonic() - started
        row = {"data": data, "model": model, "seed": seed, "seconds": seconds,
               "final": score(out, "latest.pt"), "best": score(out, "best.pt")}
        rows.append(row)
        print(f"  {data:7s} {model:9s} seed {seed}: final {row['final']['modes_covered']:2d} modes "
              f"{row['final']['high_quality']:.1%} HQ | best.pt {row['best']['modes_covered']:2d} modes "
              f"{row['best']['high_quality']:.1%} HQ | {seconds:.0f} s", flush=True)
    return rows


def summary(rows: list[dict]) -> str:
    lines = [f"{'setting':34s} {'modes':>13s} {'high quality %':>15s} {'reverse KL':>13s} {'s/run':>6s}"]
    for data in dict.fromkeys(r["data"] for r in rows):
        for model in dict.fromkeys(r["model"] for r in rows if r["data"] == data):
            subset = [r for r in rows if r["data"] == data and r["model"] == model]
            for which in ("final", "best"):
                modes = mean_se([r[which]["modes_covered"] for r in subset])
                hq = mean_se([100 * r[which]["high_quality"] for r in subset])
                kls = [r[which]["reverse_kl"] for r in subset if r[which]["reverse_kl"] is not None]
                kl = mean_se(kls) if kls else (float("nan"), float("nan"))
                secs = mean_se([r["seconds"] for r in subset])[0]
                label = f"{data} {model} ({'latest.pt' if which == 'final' else 'best.pt'}, {len(subset)} seeds)"
                lines.append(f"{label:34s} {modes[0]:6.2f} ± {modes[1]:4.2f} {hq[0]:7.2f} ± {hq[1]:5.2f} "
                             f"{kl[0]:6.3f} ± {kl[1]:4.3f} {secs:6.0f}")
        for label, modes, hq in PUBLISHED[data]:
            lines.append(f"{data + ' ' + label:34s} {modes:6.1f}        {hq:7.1f}")
        target = TARGETS[data]
        lines.append(f"{data + ' target (defaults)':34s} {target[0]:6d}        >= {100 * target[1]:.0f}")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", choices=sorted(PUBLISHED), help="repeatable [both]")
    parser.add_argument("--model", action="append", help="repeatable [gan]")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 [5]")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="override the default steps")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=None, help="keep the run folders here [a temp dir]")
    parser.add_argument("--json", type=Path, default=None, help="also write every row to this JSON file")
    args = parser.parse_args(argv)
    overrides = dict(parse_setting(s) for s in args.settings)
    if args.steps is not None:
        overrides["steps"] = args.steps
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        for data in args.data or ["ring8", "grid25"]:
            for model in args.model or ["gan"]:
                rows += run_setting(data, model, seeds, root, overrides)
    print(summary(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
