"""Helpers shared by the benchmark scripts (not part of the package)."""
import os
import platform
import resource
import time
from contextlib import contextmanager

import torch


def machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timer(results: dict, key: str):
    start = time.perf_counter()
    yield
    results[key] = time.perf_counter() - start


def patch_pytorch_fid_weights(path: str) -> None:
    """Make pytorch-fid load ``path`` instead of downloading its weights."""
    import pytorch_fid.inception as pfi

    pfi.load_state_dict_from_url = lambda *args, **kwargs: torch.load(path)


def alternate(runs: dict, rounds: int) -> dict:
    """{tool: [seconds per round]}: every round runs each tool once, the order rotated by one each round."""
    names, seconds = list(runs), {name: [] for name in runs}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            start = time.perf_counter()
            runs[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds
