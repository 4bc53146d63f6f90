"""Modes of stacked digits (1,000) covered by our default GANs, beside the stacked-MNIST rows of PacGAN.

Each model trains with its default settings on ``--data stacked-digits`` (or --steps overrides), then
26,000 samples of the final weights (seed 0 of ``genmetrics sample``; VEEGAN's and PacGAN's count,
fjxmlzn/PacGAN VEEGAN_experiment config.py ``num_test_sample``) are classified channel by channel by the
digits classifier (``--extractor stacked-digits``) and scored with class coverage: modes with at least one
sample and KL(histogram || uniform) in nats. The held-out digits, stacked the same way, are the ceiling.

    python benchmarks/stacked_modes.py                       # dcgan and unrolled, seed 0
    python benchmarks/stacked_modes.py --model dcgan --seeds 3 --json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from genmetrics.features import compute_features  # noqa: E402
from genmetrics.metrics import class_coverage_from_logits  # noqa: E402
from genmetrics.trainers import load_generator, train  # noqa: E402
from genmetrics.trainers.data import load_stacked_digits  # noqa: E402

SAMPLES = 26_000
# Stacked MNIST, a different data set (MNIST's 70,000 digits at 28 px, their own classifier): PacGAN
# (Lin et al. 2018) Table 2, whose first four rows are VEEGAN's (Srivastava et al. 2017) Table 2, and
# Table 3 (the Unrolled GAN setting, D 1/4 the size of G), as fjxmlzn/PacGAN's results/Table2.png, Table3.png.
PUBLISHED = [("DCGAN (VEEGAN Table 2)", "99.0", "3.40"), ("Unrolled GAN (VEEGAN Table 2)", "48.7", "4.32"),
             ("VEEGAN (VEEGAN Table 2)", "150.0", "2.95"), ("DCGAN (PacGAN Table 2)", "78.9 ± 6.46", "4.50 ± 0.127"),
             ("PacDCGAN2 (PacGAN Table 2)", "1000.0 ± 0.00", "0.06 ± 0.003"),
             ("DCGAN, D = G/4 (PacGAN Table 3)", "30.6 ± 20.73", "5.99 ± 0.42"),
             ("Unrolled GAN 5 steps, D = G/4 (PacGAN Table 3)", "236.4 ± 63.30", "4.67 ± 0.43")]


def coverage_of(images_nchw: torch.Tensor) -> dict:
    """Class coverage of uint8 (N, 3, H, W) images under the stacked-digits classifier."""
    nhwc = images_nchw.permute(0, 2, 3, 1).numpy()
    logits = compute_features(nhwc, extractor="stacked-digits", progress=False, batch_size=500, cache=False).logits
    return class_coverage_from_logits(logits).to_dict()


def generated(run_dir: Path) -> torch.Tensor:
    images, _ = load_generator(run_dir / "checkpoints" / "latest.pt").sample(SAMPLES, seed=0)
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", help="dcgan, unrolled, ... [dcgan and unrolled]")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads [1: one core, so that other runs can share the machine]")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    real, _ = load_stacked_digits(32, "test", n=SAMPLES, seed=1)
    rows.append({"setting": "held-out digits stacked (test split)", **coverage_of(real)})
    print(f"{rows[-1]['setting']}: {rows[-1]['classes_covered']} modes, KL {rows[-1]['class_kl']:.3f}",
          file=sys.stderr, flush=True)
    overrides = {"steps": args.steps} if args.steps else {}
    with tempfile.TemporaryDirectory() as root:
        for model in args.model or ["dcgan", "unrolled"]:
            for seed in range(args.seeds):
                out = Path(root) / f"{model}-{seed}"
                started = time.monotonic()
                train(model, "stacked-digits", out, seed=seed, progress=False, **overrides)
                seconds = time.monotonic() - started
                rows.append({"setting": f"{model} defaults, seed {seed}", "train_seconds": round(seconds),
                             **coverage_of(generated(out))})
                print(f"{rows[-1]['setting']}: {rows[-1]['classes_covered']} modes, KL {rows[-1]['class_kl']:.3f}, "
                      f"{seconds:.0f} s", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("| setting (26,000 samples) | modes covered (of 1,000) | KL to uniform (nats) | training time |")
    print("|---|---|---|---|")
    for row in rows:
        seconds = f"{row['train_seconds'] / 60:.1f} min" if "train_seconds" in row else ""
        print(f"| {row['setting']} | {row['classes_covered']} | {row['class_kl']:.3f} | {seconds} |")
    for name, modes, kl in PUBLISHED:
        print(f"| stacked MNIST: {name} | {modes} | {kl} | |")


if __name__ == "__main__":
    main()
