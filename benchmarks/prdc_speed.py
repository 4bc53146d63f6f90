"""Precision/recall/density/coverage: time and peak memory of genmetrics vs the prdc package.

    python benchmarks/prdc_speed.py [--sizes 10000,20000,50000] [--dims 256] [--k 5]

Each (tool, size) runs in its own process so that its peak RSS is its own. Both get the same float32
features (N real and N fake, Gaussian with a shift). The prdc package holds three N x N distance
matrices; it is skipped where they would not fit in the memory limit (--max-gib), and the line says so.
genmetrics computes in float64 blocks of at most 128 MiB of distances. Also prints the largest
difference between the two tools' four metrics where both ran.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mib  # noqa: E402


def data(n, dims):
    rng = np.random.default_rng(0)
    return (rng.normal(size=(n, dims)).astype(np.float32),
            (rng.normal(size=(n, dims)) + 0.1).astype(np.float32))


def child(tool, n, dims, k):
    real, fake = data(n, dims)
    start = time.perf_counter()
    if tool == "genmetrics":
        from genmetrics import prdc
        result = prdc(real, fake, pr_k=k, dc_k=k)
    else:
        import contextlib
        import io

        from prdc import compute_prdc
        with contextlib.redirect_stdout(io.StringIO()):
            result = {key: float(v) for key, v in compute_prdc(real, fake, nearest_k=k).items()}
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_mib": peak_rss_mib(), **result}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,20000,50000")
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--max-gib", type=float, default=20.0, help="skip prdc above this estimated memory")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.dims, args.k)
        return
    print(f"# precision/recall/density/coverage, {args.dims}-d features, k={args.k}, {machine()}")
    print("| N real = N fake | tool | seconds | peak RSS (MiB) |")
    print("|---|---|---|---|")
    for n in map(int, args.sizes.split(",")):
        results = {}
        for tool in ("genmetrics", "prdc"):
            need_gib = 3 * n * n * 4 / 2**30
            if tool == "prdc" and need_gib > args.max_gib:
                print(f"| {n} | prdc | skipped: three {n}x{n} float32 matrices need {need_gib:.0f} GiB | |")
                continue
            out = subprocess.run([sys.executable, __file__, "--child", tool, str(n), "--dims", str(args.dims),
                                  "--k", str(args.k)], capture_output=True, text=True, check=True).stdout
            results[tool] = json.loads(out.strip().splitlines()[-1])
            print(f"| {n} | {tool} | {results[tool]['seconds']:.1f} | {results[tool]['peak_mib']:.0f} |", flush=True)
        if len(results) == 2:
            diff = max(abs(results["genmetrics"][m] - results["prdc"][m])
                       for m in ("precision", "recall", "density", "coverage"))
            print(f"|  | max metric difference | {diff:.1e} | |")


if __name__ == "__main__":
    main()
