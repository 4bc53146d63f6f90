"""Scale: the cached second run, 1/2/4 processes under torchrun, and peak memory against N.

    python benchmarks/scale.py [--n 200] [--stream 10000,100000,1000000] [--procs 1,2,4]

1. `genmetrics fid real/ fake/`, then `genmetrics fid real/ fake2/` (new samples, real/ unchanged): the
   second run reads real/'s statistics from the cache and extracts fake2/ only; then that command again,
   with both inputs cached.
2. `genmetrics stats` under torchrun with 1, 2 and 4 processes (gloo on CPU; more processes than cores
   only shows the overhead).
3. Peak RSS of `compute_statistics` over a synthetic stream of N 8x8 images (an iterable source) through
   a tiny registered extractor, so that a CPU can stream a million images: the figure is the memory of
   the streaming pipeline (source, batching, float64 sums), which must not grow with N.
Inception weights: --weights FILE, else random weights of the exact architecture.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mib  # noqa: E402


def stream_child(n):
    import numpy as np
    import torch

    import genmetrics
    from genmetrics.features.registry import register_extractor

    register_extractor("mean-pool", lambda device, weights: lambda x: torch.nn.functional.avg_pool2d(x, 4).flatten(1),
                       size=8, override=True)

    def batches():
        rng = np.random.default_rng(0)
        for start in range(0, n, 1000):
            yield rng.integers(0, 256, (min(1000, n - start), 8, 8, 3), dtype=np.uint8)
    start = time.perf_counter()
    stats = genmetrics.compute_statistics(batches(), extractor="mean-pool", batch_size=1000, progress=False)
    print(json.dumps({"n": stats.n, "seconds": time.perf_counter() - start, "peak_mib": peak_rss_mib()}))


def run(command, env=None):
    start = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if out.returncode:
        raise SystemExit(out.stderr[-2000:])
    return time.perf_counter() - start, out.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="images per folder for parts 1 and 2")
    parser.add_argument("--stream", default="10000,100000,1000000")
    parser.add_argument("--procs", default="1,2,4")
    parser.add_argument("--weights")
    parser.add_argument("--stream-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        stream_child(args.stream_child)
        return

    from genmetrics.testing import synthetic_images, write_image_folder, write_random_weights

    print(f"# scale, {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = args.weights or str(write_random_weights(tmp / "w.pth"))
        for name, seed in (("real", 0), ("fake", 1), ("fake2", 2)):
            write_image_folder(tmp / name, synthetic_images(args.n, 32, seed=seed))
        env = {"GENMETRICS_CACHE": str(tmp / "cache")}
        fid = [sys.executable, "-m", "genmetrics", "fid", str(tmp / "real"), str(tmp / "fake"), "--weights",
               weights, "-q", "--json"]
        first, _ = run(fid, env)
        fid[-5] = str(tmp / "fake2")
        second, _ = run(fid, env)
        third, _ = run(fid, env)
        print(f"\n## cached second run ({args.n} + {args.n} images)\n| run | seconds |\n|---|---|")
        print(f"| real/ fake/ (extracts both) | {first:.1f} |\n| real/ fake2/ (real/ from the cache) | {second:.1f} |")
        print(f"| real/ fake2/ again (both from the cache) | {third:.1f} |")

        print(f"\n## genmetrics stats over {args.n} images under torchrun\n| processes | seconds | images/s |\n|---|---|---|")
        for procs in map(int, args.procs.split(",")):
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(procs),
                       "-m", "genmetrics", "stats", str(tmp / "real"), "-o", str(tmp / f"s{procs}.npz"),
                       "--weights", weights, "-q", "--no-cache"]
            seconds, _ = run(command)
            print(f"| {procs} | {seconds:.1f} | {args.n / seconds:.1f} |", flush=True)

    print("\n## peak memory against N (streamed statistics)\n| N | seconds | peak RSS (MiB) |\n|---|---|---|")
    for n in map(int, args.stream.split(",")):
        _, out = run([sys.executable, __file__, "--stream-child", str(n)])
        result = json.loads(out.strip().splitlines()[-1])
        print(f"| {result['n']:,} | {result['seconds']:.1f} | {result['peak_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
