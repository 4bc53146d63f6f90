"""Mode coverage of our toy GANs on ring8 and grid25 over several seeds, beside the published rows.

Each (data, model, seed) trains with the default settings (or --steps / --set overrides) into a run
folder, then 2,500 samples (seed 0 of ``genmetrics sample``) are scored with ``mode_coverage``, for the
final checkpoint (latest.pt) and for the one the training-time evaluations chose (best.pt, selected on a
different, fixed noise set). Prints the minimum, mean and maximum over seeds (a user trains one seed, so
the minimum is what the defaults promise) and the time per run. Toy runs train with one intra-op thread
(trainers/loop.py), so ``--jobs 2`` runs two seeds at once on two cores.

    python benchmarks/toy_modes.py --seeds 10                    # gan on ring8 and grid25, seeds 0-9
    python benchmarks/toy_modes.py --seeds 3 --data ring8 --model gan --model unrolled --jobs 2
    python benchmarks/toy_modes.py --steps 2000 --set lr_g=5e-4 --set lr_d=5e-4 --json rows.json
    python benchmarks/toy_modes.py --from-json rows.json         # the table again, from saved rows
    python benchmarks/toy_modes.py --from-json rows.json --restate runs/ --json rows.json
                                                                 # settings again after a default changed
    python benchmarks/toy_modes.py --markdown --defaults-only --from-json benchmarks/results/toy_modes/*.json
                                                                 # the README's table (docs/trainers.md: all rows)
"""
from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genmetrics.metrics.modes import DEFAULT_SAMPLES, mode_coverage  # noqa: E402
from genmetrics.trainers import load_generator, train  # noqa: E402
from genmetrics.trainers.config import parse_setting  # noqa: E402
from genmetrics.trainers.loop import prepare  # noqa: E402

# Modes covered and high-quality samples (%), 2,500 samples. PacGAN (Lin et al. 2018) Table 1: mean over
# 10 trials. Unrolled GAN: VEEGAN (Srivastava et al. 2017) Table 1, as quoted in issue 19 (PacGAN's
# Table 1 repeats VEEGAN's baselines).
PUBLISHED = {
    "ring8": [("GAN (PacGAN Table 1)", 6.3, 98.2), ("PacGAN4 (PacGAN Table 1)", 7.8, 95.9),
              ("Unrolled GAN (VEEGAN Table 1)", 7.6, 35.6)],
    "grid25": [("GAN (PacGAN Table 1)", 17.3, 94.8), ("PacGAN4 (PacGAN Table 1)", 24.8, 93.6),
               ("Unrolled GAN (VEEGAN Table 1)", 23.6, 16.0)],
}
# This package's goal for the default gan on every seed (issue 19); other families: their published row.
TARGETS = {"ring8": (8, 0.95), "grid25": (25, 0.90)}


# config.json keys that say where and how often, not how a run trains: never a departure from the defaults.
BOOKKEEPING = {"out", "seed", "version", "eval_every", "eval_n", "sample_every", "checkpoint_every", "log_every"}


@functools.cache
def todays_defaults(model: str, data: str) -> dict:
    """The configuration ``genmetrics train MODEL --data DATA`` resolves to today (read only: it is shared)."""
    with tempfile.TemporaryDirectory() as tmp:  # prepare() writes nothing; the folder only has to be new
        return prepare(model, data, Path(tmp) / "run")[0].to_dict()


def departures(config: dict) -> dict:
    """The settings of a run's ``config.json`` that differ from today's defaults for its model and data: a
    ``--set`` equal to a default is not one, and a row trained before a default changed reads as that
    default's override (``--restate``)."""
    defaults = todays_defaults(config["model"], config["data"])
    return {key: value for key, value in config.items() if key not in BOOKKEEPING and defaults.get(key) != value}


def run_name(data: str, model: str, seed: int) -> str:
    return f"{data}-{model}-seed{seed}"


def score(run_dir: Path, which: str) -> dict:
    generator = load_generator(run_dir / "checkpoints" / which)
    points, _ = generator.sample(DEFAULT_SAMPLES, seed=0)
    return mode_coverage(points, generator.config.data).to_dict()


def run_one(data: str, model: str, seed: int, root: Path, overrides: dict) -> dict:
    """Train one seed and score its final and best checkpoints."""
    out = root / run_name(data, model, seed)
    started, cpu_started = time.monotonic(), time.process_time()
    train(model, data, out, seed=seed, progress=False, **overrides)
    seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu_started
    config = json.loads((out / "config.json").read_text())
    row = {"data": data, "model": model, "seed": seed, "steps": config["steps"], "seconds": seconds,
           "cpu_seconds": cpu_seconds, "overrides": departures(config), "date": time.strftime("%Y-%m-%d"),
           "final": score(out, "latest.pt"), "best": score(out, "best.pt")}
    print(f"  {data:7s} {model:9s} seed {seed}: final {row['final']['modes_covered']:2d} modes "
          f"{row['final']['high_quality']:.1%} HQ | best.pt {row['best']['modes_covered']:2d} modes "
          f"{row['best']['high_quality']:.1%} HQ | {seconds:.0f} s ({cpu_seconds:.0f} s CPU)", flush=True)
    return row


def spread(values) -> str:
    """"min / mean / max" of ``values``."""
    return f"{min(values):6.2f} / {sum(values) / len(values):6.2f} / {max(values):6.2f}"


def summary(rows: list[dict]) -> str:
    lines = [f"{'setting (min / mean / max over seeds)':40s} {'modes covered':>24s} {'high quality %':>24s} "
             f"{'reverse KL (mean)':>17s} {'s/run':>6s} {'CPU s/run':>9s}"]
    for data in dict.fromkeys(r["data"] for r in rows):
        for model in dict.fromkeys(r["model"] for r in rows if r["data"] == data):
            subset = [r for r in rows if r["data"] == data and r["model"] == model]
            for which in ("final", "best"):
                modes = [r[which]["modes_covered"] for r in subset]
                hq = [100 * r[which]["high_quality"] for r in subset]
                kls = [r[which]["reverse_kl"] for r in subset if r[which]["reverse_kl"] is not None]
                kl = f"{sum(kls) / len(kls):17.3f}" if kls else f"{'-':>17s}"
                secs = sum(r["seconds"] for r in subset) / len(subset)
                cpu = [r["cpu_seconds"] for r in subset if "cpu_seconds" in r]  # rows saved before it was kept lack it
                cpu = f"{sum(cpu) / len(cpu):9.0f}" if cpu else f"{'-':>9s}"
                label = f"{data} {model} ({'latest.pt' if which == 'final' else 'best.pt'}, {len(subset)} seeds)"
                lines.append(f"{label:40s} {spread(modes):>24s} {spread(hq):>24s} {kl} {secs:6.0f} {cpu}")
            worst = [(r["seed"], r["final"]["modes_covered"], 100 * r["final"]["high_quality"]) for r in subset]
            lines.append(f"{'':40s} per seed (latest.pt): " + ", ".join(f"{s}: {m}/{h:.1f}%" for s, m, h in worst))
        for label, modes, hq in PUBLISHED[data]:
            lines.append(f"{data + ' ' + label:40s} {modes:24.1f} {hq:24.1f}")
        target = TARGETS[data]
        lines.append(f"{data + ' target (gan, every seed)':40s} {target[0]:24d} {'>= ' + str(round(100 * target[1])):>24s}")
    return "\n".join(lines)


def seed_range(seeds: list[int]) -> str:
    seeds = sorted(seeds)
    return f"{seeds[0]}–{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 1 \
        else ", ".join(map(str, seeds))


def markdown(rows: list[dict]) -> str:
    """The README's table: per data set and setting, the final weights' minimum (mean) over seeds, then the
    published rows."""
    lines = ["| setting (2,500 samples, final weights) | seeds | modes covered, min (mean) "
             "| high quality, min / mean / max | CPU min / run |", "|---|---|---|---|---|"]
    for data in [name for name in PUBLISHED if any(r["data"] == name for r in rows)]:
        n_modes = {"ring8": 8, "grid25": 25}[data]
        def setting(row):
            return row["model"], row.get("steps"), json.dumps(row["overrides"], sort_keys=True)
        here = [r for r in rows if r["data"] == data]
        settings = sorted(dict.fromkeys(map(setting, here)),
                          key=lambda s: (s[0], len(json.loads(s[2])), s[1] or 0, s[2]))  # defaults first
        for model, steps, overrides in settings:
            subset = [r for r in here if setting(r) == (model, steps, overrides)]
            modes = [r["final"]["modes_covered"] for r in subset]
            hq = [100 * r["final"]["high_quality"] for r in subset]
            cpu = [r["cpu_seconds"] / 60 for r in subset if r.get("cpu_seconds")] \
                or [r["seconds"] / 60 for r in subset]  # wall time where no run of the setting kept its CPU time
            extra = ", ".join(f"{k}={v}" for k, v in json.loads(overrides).items() if k != "steps")
            length = f"{steps:,} steps" if steps else ""
            label = (f"{data}, `{model}` " + (f"defaults ({length})" if overrides == "{}" else length)
                     + (f", {extra}" if extra else ""))
            lines.append(f"| {label} | {seed_range([r['seed'] for r in subset])} | {min(modes)} "
                         f"({sum(modes) / len(modes):.1f}) of {n_modes} | **{min(hq):.1f}%** / "
                         f"{sum(hq) / len(hq):.1f}% / {max(hq):.1f}% | {sum(cpu) / len(cpu):.1f} |")
        for label, modes, hq in PUBLISHED[data]:
            lines.append(f"| {data}, {label} | | {modes} | {hq}% | |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", choices=sorted(PUBLISHED), help="repeatable [both]")
    parser.add_argument("--model", action="append", help="repeatable [gan]")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 [10]")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="override the default steps")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once, one thread each [1]")
    parser.add_argument("--out", type=Path, default=None, help="keep the run folders here [a temp dir]")
    parser.add_argument("--device", default=None, help="train on this device (cpu, cuda) [the default's]")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write every row to this JSON file (rewritten as each run ends)")
    parser.add_argument("--from-json", type=Path, nargs="+", default=None, metavar="ROWS",
                        help="print the table of the rows saved in these files (together); train nothing")
    parser.add_argument("--markdown", action="store_true", help="with --from-json: the README's table")
    parser.add_argument("--defaults-only", action="store_true",
                        help="with --from-json: only the rows trained at today's defaults (no settings)")
    parser.add_argument("--restate", type=Path, default=None, metavar="RUNS",
                        help="with --from-json: state each row's settings again from its run folder in RUNS "
                             "(its config.json against today's defaults), after a default changed; with --json, "
                             "write the restated rows there")
    args = parser.parse_args(argv)
    if args.from_json:
        rows = [row for path in args.from_json for row in json.loads(path.read_text())]
        if args.restate:
            for row in rows:
                config = args.restate / run_name(row["data"], row["model"], row["seed"]) / "config.json"
                if not config.is_file():
                    parser.error(f"--restate: no run folder for {row['data']} {row['model']} seed {row['seed']}: "
                                 f"{config} does not exist")
                row["overrides"] = departures(json.loads(config.read_text()))
            if args.json:
                args.json.write_text(json.dumps(rows, indent=2) + "\n")
        rows = sorted((row for row in rows if not (args.defaults_only and row["overrides"])),
                      key=lambda r: (r["data"], r["model"], r["seed"]))
        print(markdown(rows) if args.markdown else summary(rows))
        return
    overrides = dict(parse_setting(s) for s in args.settings)
    if args.steps is not None:
        overrides["steps"] = args.steps
    if args.device is not None:
        overrides["device"] = args.device
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        jobs = [(data, model, seed, root, overrides) for data in args.data or ["ring8", "grid25"]
                for model in args.model or ["gan"] for seed in seeds]
        rows = []

        def keep(row):  # an interrupted sweep keeps the runs that ended
            rows.append(row)
            if args.json:
                args.json.write_text(json.dumps(sorted(rows, key=lambda r: (r["data"], r["model"], r["seed"])),
                                                indent=2))
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
                for future in as_completed([pool.submit(run_one, *job) for job in jobs]):
                    keep(future.result())
        else:
            for job in jobs:
                keep(run_one(*job))
    rows.sort(key=lambda r: (r["data"], r["model"], r["seed"]))
    print(summary(rows))


if __name__ == "__main__":
    main()
