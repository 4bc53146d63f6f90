"""Streaming objects under torch.distributed: 2 gloo ranks on loopback (torchrun, as test_distributed.py) give
the single-process numbers, also when one rank has no batch at all (it still joins every collective, so
nothing hangs). One torchrun launch runs all scenarios (tests/streaming_worker.py): processes are costly."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("streaming_worker.py")


def _run(weights, out, distributed):
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command = (launcher if distributed else [sys.executable]) + [str(WORKER), weights, str(out)]
    # one thread per process in both runs: the thread count changes float32 rounding inside the network
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(WORKER.parent.parent)}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(out.read_text())


def test_two_gloo_ranks_equal_one_process(tmp_path, weights):
    single = _run(weights, tmp_path / "single.json", False)
    sharded = _run(weights, tmp_path / "sharded.json", True)
    assert single["world"] == 1 and sharded["world"] == 2
    for scenario in ("split", "empty", "fixed"):
        one, two = single[scenario], sharded[scenario]
        # the same features (same batches); float64 sums all-reduced in another order: 1e-12 relative
        assert two["fid"] == pytest.approx(one["fid"], rel=1e-12), scenario
        assert (two["n1"], two["n2"]) == (one["n1"], one["n2"]) == (12, 12)
        # features gathered in rank order = input order: the same KID subsets, the same numbers
        assert two["kid"] == one["kid"] and two["kid_std"] == one["kid_std"], scenario
    assert sharded["split"]["local_n2"] == 6 and sharded["empty"]["local_n2"] == 12  # rank 0's own share
