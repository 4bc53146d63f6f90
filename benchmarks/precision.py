"""How far reduced precision moves FID and the features: fp32 (the default) against tf32 (CUDA only) and
bf16, on real images, in one run.

    python benchmarks/precision.py [--n 500] [--device auto] [--weights FILE]

The images are real handwritten digits, offline: scikit-learn's bundled 8x8 digits upsampled to 32x32
RGB. One side is the training split's first N, the other the held-out 300 (valid + test) plus training
images from the end: two samples of the same distribution, as when a good generator is scored. For each
precision it prints the images/s, the FID, its change against fp32, and the largest per-image feature
change relative to the largest fp32 feature. Without --weights, random weights of the exact architecture
(calibrated as in the tests) stand in for the real file: the size of the shift then says how much
rounding the network amplifies, not the exact figure with the real weights; pass --weights for that.
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

import genmetrics  # noqa: E402
from genmetrics.device import resolve_device  # noqa: E402
from genmetrics.features.compute import statistics_from_features  # noqa: E402
from genmetrics.metrics.fid import frechet_distance  # noqa: E402
from genmetrics.testing import write_random_weights  # noqa: E402
from genmetrics.trainers.data import load_digits  # noqa: E402


def digits_rgb(n: int) -> tuple[np.ndarray, np.ndarray]:
    train, _ = load_digits(32, "train")
    held = torch.cat([load_digits(32, "valid")[0], load_digits(32, "test")[0], train.flip(0)])
    to_rgb = lambda x: x.expand(-1, 3, -1, -1).permute(0, 2, 3, 1).contiguous().numpy()  # noqa: E731
    return to_rgb(train[:n]), to_rgb(held[:n])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=500, help="images per side (at most 748)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--weights", help="FID Inception weights (default: random, same architecture)")
    args = parser.parse_args()
    if not 2 <= args.n <= 748:
        parser.error("--n must be in 2..748 (the two sides must not share images)")
    device = resolve_device(args.device)
    precisions = ["fp32", "tf32", "bf16"] if device.type == "cuda" else ["fp32", "bf16"]
    a, b = digits_rgb(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or str(write_random_weights(Path(tmp) / "w.pth"))
        results = {}
        for precision in precisions:
            options = dict(weights=weights, device=str(device), precision=precision, progress=False, cache=False)
            genmetrics.compute_features(a[:8], logits=False, **options)  # warm-up: model build, kernels
            start = time.perf_counter()
            fa = genmetrics.compute_features(a, logits=False, **options).features.astype(np.float64)
            fb = genmetrics.compute_features(b, logits=False, **options).features.astype(np.float64)
            rate = 2 * args.n / (time.perf_counter() - start)
            stats = [statistics_from_features(f) for f in (fa, fb)]
            fid = frechet_distance(stats[0].mu, stats[0].sigma, stats[1].mu, stats[1].sigma)
            results[precision] = (rate, fid, fa)
    base_rate, base_fid, base_features = results["fp32"]
    scale = np.abs(base_features).max()
    print(f"# precision, {args.n} + {args.n} digits at 32x32 -> 299, {'given' if args.weights else 'random'} "
          f"weights, {device}, {machine()}")
    print("| precision | images/s | FID | FID change vs fp32 | max feature change / max feature |")
    print("|---|---|---|---|---|")
    for precision, (rate, fid, features) in results.items():
        change = np.abs(features - base_features).max() / scale
        print(f"| {precision} | {rate:.1f} | {fid:.4f} | {(fid - base_fid) / base_fid:+.2e} | {change:.1e} |")


if __name__ == "__main__":
    main()
