"""Each GAN family trained with its defaults on the bundled digits: time on this machine, the family's
own measure, and the final sample grid; with ``--extractor digits`` (the digits classifier, when
installed) FID and KID of 1,000 samples against the 150 held-out test digits, beside untrained weights.

    python benchmarks/families_digits.py                         # every family, default run length
    python benchmarks/families_digits.py --model sgan --model began --steps 300 --out runs/bench
    python benchmarks/families_digits.py --extractor digits --json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genmetrics.trainers import MODELS, load_generator, train  # noqa: E402

N_SAMPLES = 1000


def score(run_dir: Path, extractor: str, test: Path, checkpoint: str) -> dict:
    """FID and KID of N_SAMPLES samples of a checkpoint against the held-out digits, in ``extractor``'s space."""
    from genmetrics.metrics import evaluate
    from genmetrics.trainers.generator import write_samples

    samples = run_dir / f"samples_{checkpoint}.npz"
    write_samples(load_generator(run_dir / "checkpoints" / checkpoint), N_SAMPLES, samples, force=True)
    result = evaluate(str(test), str(samples), metrics="fid,kid", extractor=extractor, progress=False)
    return {"fid": result["fid"], "kid": result["kid"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="a family (repeatable) [default: all]")
    parser.add_argument("--steps", type=int, default=None, help="steps per run [default: the digits default]")
    parser.add_argument("--extractor", default=None, help="score FID/KID in this extractor's space (digits)")
    parser.add_argument("--out", default=None, help="keep the run folders here [default: a temporary folder]")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="families-"))
    test = out / "digits_test.npz"
    if args.extractor and not test.exists():
        from genmetrics.trainers.data import export_data

        export_data("digits", test, split="test", image_size=32)
    rows = []
    for model in args.model or MODELS:
        options = {"steps": args.steps} if args.steps else {}
        started = time.monotonic()
        result = train(model, "digits", out / model, progress=False, device="cpu", **options)
        row = {"model": model, "steps": result.step, "seconds": round(time.monotonic() - started, 1),
               "measures": result.measures, "grid": str(out / model / "samples" / f"step_{result.step:06d}.png")}
        if args.extractor:
            row["trained"] = score(out / model, args.extractor, test, "latest.pt")
        rows.append(row)
        if not args.json:
            print(json.dumps(row), flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
