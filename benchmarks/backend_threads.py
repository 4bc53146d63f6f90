"""How the onnxruntime backend and the decoding workers share the cores: alternating A/B runs, median.

    python benchmarks/backend_threads.py [--n 200] [--size 64] [--rounds 5] [--resize pytorch-fid]

End to end (decode, resize, network) on a folder of PNGs, ``compute_statistics(backend="onnxruntime")``,
in these settings (the first is genmetrics' default):

  default      DataLoader workers = half the cores (features/extract.py default_workers), each with one torch
               thread; onnxruntime intra-op threads = torch's thread count; no spin-waiting between ops
  spinning     the same with onnxruntime's default spin-waiting on
  no-workers   decoding and resizing in the main process (no overlap with the network)
  ort-1-thread onnxruntime on one thread (a core left to the workers)
  torch        the torch backend with its defaults (for scale)

Each round runs every setting once, the order rotated by one each round; the table gives each setting's
median images/s, and its per-round ratio to the default (median, min-max). Sessions are rebuilt for each
setting outside the timings (the export is cached, so that is a file read).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

import genmetrics  # noqa: E402
from genmetrics.features import onnx_backend, registry  # noqa: E402
from genmetrics.testing import synthetic_images, write_image_folder, write_random_weights  # noqa: E402

SETTINGS = {  # name: (backend, workers or None for the default, intra-op threads or None, spinning)
    "default": ("onnxruntime", None, None, "0"),
    "spinning": ("onnxruntime", None, None, "1"),
    "no-workers": ("onnxruntime", 0, None, "0"),
    "ort-1-thread": ("onnxruntime", None, 1, "0"),
    "torch": ("torch", None, None, "0"),
}


def configure(name: str, folder, weights, resize):
    """Apply setting ``name`` (fresh sessions, warmed up) and return the timed call."""
    backend, workers, threads, spinning = SETTINGS[name]
    onnx_backend.ALLOW_SPINNING = spinning
    onnx_backend.intra_op_threads = (lambda: threads) if threads else _torch_threads
    registry._models.clear()
    options = dict(resize=resize, weights=weights, progress=False, cache=False, backend=backend, device="cpu",
                   workers=workers)
    genmetrics.compute_statistics(sorted(Path(folder).iterdir())[:4], **options)  # sessions, outside timing
    return lambda: genmetrics.compute_statistics(folder, **options)


def _torch_threads() -> int:
    import torch

    return max(1, torch.get_num_threads())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--resize", default="pytorch-fid")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GENMETRICS_CACHE", str(Path(tmp) / "cache"))
        weights = str(write_random_weights(Path(tmp) / "w.pth"))
        folder = Path(tmp) / "images"
        write_image_folder(folder, synthetic_images(args.n, args.size, seed=0))
        names, seconds = list(SETTINGS), {name: [] for name in SETTINGS}
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                run = configure(name, folder, weights, args.resize)
                start = time.perf_counter()
                run()
                seconds[name].append(time.perf_counter() - start)
    print(f"# {args.n} PNGs of {args.size}x{args.size}, --resize {args.resize}, {args.rounds} alternating rounds, "
          f"{machine()}, {time.strftime('%Y-%m-%d')}")
    print("| setting | img/s (median) | speed / default (median, min-max) |")
    print("|---|---|---|")
    for name in names:
        ratios = [base / mine for base, mine in zip(seconds["default"], seconds[name])]
        print(f"| {name} | {args.n / statistics.median(seconds[name]):.1f} | {statistics.median(ratios):.2f} "
              f"({min(ratios):.2f}-{max(ratios):.2f}) |")


if __name__ == "__main__":
    main()
