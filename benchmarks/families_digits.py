"""Each GAN family trained with its defaults on the bundled digits: time on this machine, the family's
own measure, and the final sample grid; with ``--extractor digits`` (the digits classifier that ships with
genmetrics) FID, KID, precision, recall and class coverage of 1,000 samples against the 150 held-out test
digits in the classifier's space, beside the same family's untrained weights (``--untrained``) and the 150
held-out validation digits (the ceiling).

The family's own measure: what ``Family.measure`` returns at the end of a run (sgan's test accuracy,
infogan's clustering accuracy, cgan's per-class FID), the last logged value of what a family logs each
step (``LOGGED``: the critic's Wasserstein estimate, InfoGAN's mutual-information bound, EBGAN's energies,
BEGAN's M_global and k), and ProGAN's sliced Wasserstein distance (``swd``, pixels) against the test digits.
Samples come from the final weights (``latest.pt``; progan's: its generator's moving average).

Time: wall seconds of training and its CPU seconds (process time, less inflated than wall time when other
processes share the cores), with the load average at the start and end of each run.

    python benchmarks/families_digits.py                         # every GAN family, default run length
    python benchmarks/families_digits.py --model sgan --model began --steps 300 --out runs/bench
    nice -n 10 python benchmarks/families_digits.py --extractor digits --untrained --results families.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genmetrics.trainers import load_generator, train  # noqa: E402

N_SAMPLES = 1000
GANS = ["gan", "dcgan", "lsgan", "wgan", "wgan-gp", "acgan", "unrolled", "cgan", "sgan", "infogan", "ebgan", "began",
        "progan"]
METRICS = "fid,kid,precision,recall,class_coverage"
KEPT = ("fid", "kid", "precision", "recall", "classes_covered", "class_kl", "confident_fraction")
# What each family logs every step that measures it (the last value of the run is reported).
LOGGED = {"wgan": ("wasserstein",), "wgan-gp": ("wasserstein",), "infogan": ("mi_categorical", "mi_continuous"),
          "ebgan": ("energy_real", "energy_fake", "pull_away"), "began": ("m_global", "k"), "progan": ("wasserstein",)}


def score(test: Path, samples: Path, extractor: str, swd: bool) -> dict:
    """The digits-space metrics (and, with ``swd``, the sliced Wasserstein distance) of ``samples``."""
    from genmetrics.metrics import evaluate

    result = evaluate(str(test), str(samples), metrics=METRICS, extractor=extractor, progress=False)
    row = {key: result[key] for key in KEPT}
    if swd:
        row["swd"] = evaluate(str(test), str(samples), metrics="swd", progress=False)["swd"]
    return row


def untrained_samples(model: str, folder: Path) -> Path:
    """N_SAMPLES samples of the family's generator as initialised (seed 0), written as a .npz."""
    import torch

    from genmetrics.trainers import prepare
    from genmetrics.trainers.generator import LoadedGenerator, write_samples
    from genmetrics.trainers.state import TrainingState

    config, data, _ = prepare(model, "digits", folder / f"{model}-untrained", device="cpu")
    state = TrainingState(config, data, torch.device("cpu"))
    path = folder / f"{model}_untrained.npz"
    write_samples(LoadedGenerator(state.sampler, config, 0, torch.device("cpu")), N_SAMPLES, path, force=True)
    return path


def last_logged(run_dir: Path, keys: tuple[str, ...]) -> dict:
    losses = [json.loads(line).get("losses") for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    last = [record for record in losses if record][-1]
    return {key: last[key] for key in keys if key in last}


def save_rows(path: Path | None, rows: list) -> None:
    """Rewrite the results file after every row (atomically), so a long benchmark keeps what finished."""
    if path is not None:
        partial = path.with_suffix(path.suffix + ".tmp")
        partial.write_text(json.dumps(rows, indent=2) + "\n")
        os.replace(partial, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="a family (repeatable) [default: the 13 GAN families]")
    parser.add_argument("--steps", type=int, default=None, help="steps per run [default: the digits default]")
    parser.add_argument("--extractor", default=None, help="score FID/KID/PR/classes in this extractor's space (digits)")
    parser.add_argument("--untrained", action="store_true", help="also score each family's untrained generator")
    parser.add_argument("--out", default=None, help="keep the run folders here [default: a temporary folder]")
    parser.add_argument("--results", default=None, help="write the rows to this JSON file as each finishes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="families-"))
    out.mkdir(parents=True, exist_ok=True)
    results = Path(args.results) if args.results else None
    test, valid = out / "digits_test.npz", out / "digits_valid.npz"
    rows = []
    if args.extractor:
        from genmetrics.trainers.export import export_data

        for path, split in ((test, "test"), (valid, "valid")):
            if not path.exists():
                export_data("digits", path, split=split, image_size=32)
        rows.append({"model": "held-out digits (valid split, 150)", **score(test, valid, args.extractor, True)})
        save_rows(results, rows)
    for model in args.model or GANS:
        if args.extractor and args.untrained:
            rows.append({"model": f"{model}, untrained",
                         **score(test, untrained_samples(model, out), args.extractor, model == "progan")})
            save_rows(results, rows)
        options = {"steps": args.steps} if args.steps else {}
        load, started, cpu = os.getloadavg()[0], time.monotonic(), time.process_time()
        result = train(model, "digits", out / model, progress=False, device="cpu", **options)
        row = {"model": model, "steps": result.step, "seconds": round(time.monotonic() - started, 1),
               "cpu_seconds": round(time.process_time() - cpu, 1), "load": [round(load, 1), round(os.getloadavg()[0], 1)],
               "measures": result.measures, "logged": last_logged(out / model, LOGGED.get(model, ())),
               "grid": str(out / model / "samples" / f"step_{result.step:06d}.png")}
        if args.extractor:
            from genmetrics.trainers.generator import write_samples

            samples = out / model / "samples_latest.npz"
            write_samples(load_generator(out / model / "checkpoints" / "latest.pt"), N_SAMPLES, samples, force=True)
            row["trained"] = score(test, samples, args.extractor, model == "progan")
        rows.append(row)
        save_rows(results, rows)
        if not args.json:
            print(json.dumps(row), flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
