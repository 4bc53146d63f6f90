"""The translation families on the bundled digits domains: train with the family's digits defaults, then
``evaluate_translation`` (FID/KID in the digits classifier's space against the target domain's validation
digits, content accuracy, L1/PSNR/SSIM to the test digits' ground truth) beside the identity mapping and the
ground truth; prints one markdown row per (task, direction, row) and the run's wall-clock time.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/translation_digits.py --model pix2pix --task digits,digits-thick
    python benchmarks/translation_digits.py --model cyclegan --task digits,digits-inverted --steps 500 --out runs/b
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genmetrics.trainers import train  # noqa: E402
from genmetrics.trainers.translation_eval import evaluate_translation  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--task", action="append", help="domains A,B (repeatable) [default: digits,digits-thick]")
    parser.add_argument("--steps", type=int, default=None, help="[default: the family's digits default]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="keep the runs here [default: a temporary folder]")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    root = Path(args.out or tempfile.mkdtemp(prefix="translation_digits_"))
    results = []
    for task in args.task or ["digits,digits-thick"]:
        run = root / f"{args.model}_{task.replace(',', '_to_')}_s{args.seed}"
        started = time.monotonic()
        trained = train(args.model, task, run, seed=args.seed, progress=False,
                        **({"steps": args.steps} if args.steps else {}))
        seconds = time.monotonic() - started
        scored = evaluate_translation(run, device="cpu")
        results.append({"task": task, "model": args.model, "steps": trained.step, "seconds": round(seconds, 1),
                        "scores": scored})
        for direction in scored["directions"]:
            for row in direction["rows"]:
                time_cell = f"{seconds:.0f} s" if row["row"] == args.model else ""
                print(f"| {direction['from']} -> {direction['to']} | {row['row']} | {trained.step if time_cell else ''} "
                      f"| {time_cell} | {row['fid']:.1f} | {row['kid']:.2f} | {row.get('content_accuracy', float('nan')):.3f} "
                      f"| {row['l1']:.4f} | {row['psnr']:.2f} | {row['ssim']:.4f} |", flush=True)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
