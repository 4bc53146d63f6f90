"""Training steps per second of a toy model at different intra-op thread counts, alternating in one process.

Each trial builds the run's networks afresh (same seed), times ``--steps`` training steps (the loop's
``train_step``, without evaluations or checkpoints) at one thread count, and prints steps/s and a hash of
the generator's weights, so the thread counts are shown to give the same weights. The counts alternate
(1, 2, 1, 2, ...) so a change in the machine's load hits both alike.

    python benchmarks/toy_speed.py                                   # gan on ring8, 60 steps, 1,2,1,2
    python benchmarks/toy_speed.py --model unrolled --data grid25 --steps 30 --threads 1,2
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from genmetrics.trainers.config import parse_setting  # noqa: E402
from genmetrics.trainers.loop import prepare  # noqa: E402
from genmetrics.trainers.state import TrainingState  # noqa: E402


def weights_digest(net: torch.nn.Module) -> str:
    return hashlib.sha1(b"".join(p.detach().cpu().numpy().tobytes() for p in net.parameters())).hexdigest()[:12]


def time_steps(model: str, data: str, steps: int, threads: int, overrides: dict) -> tuple[float, str]:
    """(steps per second after one warm-up step, digest of G's weights after ``steps`` steps)."""
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        config, opened, _ = prepare(model, data, Path(tmp) / "run", steps=steps, device="cpu", **overrides)
        run = TrainingState(config, opened, torch.device("cpu"))
        run.train_step()
        started = time.perf_counter()
        for _ in range(steps - 1):
            run.train_step()
        seconds = time.perf_counter() - started
    return (steps - 1) / seconds, weights_digest(run.G)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="gan")
    parser.add_argument("--data", default="ring8", choices=("ring8", "grid25"))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", default="1,2,1,2", help="thread counts, in this order [1,2,1,2]")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    overrides = dict(parse_setting(s) for s in args.settings)
    digests = set()
    for threads in (int(t) for t in args.threads.split(",")):
        rate, digest = time_steps(args.model, args.data, args.steps, threads, overrides)
        digests.add(digest)
        print(f"{args.model} {args.data} threads={threads}: {rate:6.1f} steps/s  G weights {digest}", flush=True)
    print("weights identical across thread counts" if len(digests) == 1 else "weights DIFFER across thread counts")


if __name__ == "__main__":
    main()
