"""Runs on many processes through torch.distributed: ``torchrun --nproc-per-node K -m genmetrics fid ...``.

No launcher of our own: torchrun sets RANK/WORLD_SIZE/MASTER_ADDR, genmetrics joins the process group on
first use (NCCL on GPUs, gloo on CPUs), each rank takes a contiguous run of whole batches of the input
(no image twice, none dropped; batches as a single process would form them), and then
  - statistics: the float64 count, sum and sum of outer products are all-reduced (exact up to float64
    summation order),
  - per-image features and logits (IS, KID, k-NN metrics): gathered in input order on every rank,
  - output: printed and written by rank 0 only.
A rank that fails ends with its error; torchrun then stops the other ranks, so nothing hangs, and since
only rank 0 writes, and atomically, nothing is left half-written.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import timedelta

import torch
import torch.distributed as dist

# How long a rank waits for the others at a collective before giving up (torch's default is 30 min for
# gloo); a crashed peer is normally reported by torchrun well before this.
TIMEOUT = timedelta(minutes=int(os.environ.get("GENMETRICS_DIST_TIMEOUT_MIN", "10")))


_alone = False  # set by local(): this rank works on its own share, no collectives


def _requested() -> bool:
    """torchrun's environment (WORLD_SIZE > 1 and this process's RANK). A framework's launcher that sets
    WORLD_SIZE but no RANK before it forms the group itself (Lightning's DDP children) is waited for: until
    that group exists, this process works alone (dist.is_initialized() is checked first in ``active``)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def active() -> bool:
    """Whether this process is one of several (joining the group on first call under torchrun). A group the
    caller initialised itself (torch.multiprocessing.spawn, a training framework) counts too."""
    if _alone:
        return False
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if not _requested():
        return False
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo", timeout=TIMEOUT)
    return dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    """Rank 0, or the only process: the one that prints and writes."""
    return rank() == 0


def shard(n_items: int, batch_size: int) -> range:
    """This rank's items: a contiguous run of whole batches (rank r of w gets batches b*r//w .. b*(r+1)//w)."""
    batches = -(-n_items // batch_size)
    r, w = rank(), world_size()
    return range(min(n_items, batches * r // w * batch_size), min(n_items, batches * (r + 1) // w * batch_size))


def _device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def all_reduce(tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """Sum (or max) of ``tensor`` over ranks, returned on the tensor's device."""
    if not active():
        return tensor
    moved = tensor.to(_device())
    dist.all_reduce(moved, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MAX)
    return moved.to(tensor.device)


def gather_rows(array: torch.Tensor | None, width: int | None = None,
                dtype: torch.dtype = torch.float32) -> torch.Tensor | None:
    """Concatenate each rank's (n_r, D) rows in rank order, on every rank. Ranks may hold different n_r
    (or none: ``array`` None)."""
    if not active():
        return array
    local = array if array is not None else torch.zeros(0, width or 0, dtype=dtype)
    sizes = torch.tensor([local.shape[0], local.shape[1] if local.dim() == 2 else 0], device=_device())
    all_sizes = [torch.zeros_like(sizes) for _ in range(world_size())]
    dist.all_gather(all_sizes, sizes)
    longest = int(max(s[0] for s in all_sizes))
    dims = int(max(s[1] for s in all_sizes))
    padded = torch.zeros(longest, dims, dtype=dtype, device=_device())
    if local.shape[0]:  # a rank without rows may not know the width (its empty array is (0, 0))
        padded[:local.shape[0]] = local.to(padded)
    parts = [torch.empty_like(padded) for _ in range(world_size())]
    dist.all_gather(parts, padded)
    return torch.cat([part[:int(s[0])] for part, s in zip(parts, all_sizes)]).cpu()


@contextmanager
def local():
    """Within this block the process works alone: for work that the caller has already split across ranks
    (a rank's share of a generator's samples), whose results it then gathers itself."""
    global _alone
    group = rank(), world_size()  # join the group first, outside the block
    previous, _alone = _alone, True
    try:
        yield group
    finally:
        _alone = previous


def barrier() -> None:
    if active():
        dist.barrier()


def gather_array(array, like=None):
    """Each rank's rows (a numpy array of any dtype, shape (n_r, ...)) concatenated in rank order, on every
    rank; ``like`` gives the trailing shape and dtype for a rank with no rows (``array`` None)."""
    import numpy as np

    if not active():
        return array
    template = array if array is not None else like
    shape, dtype = template.shape[1:], template.dtype
    local_rows = torch.from_numpy(np.ascontiguousarray(array if array is not None else template[:0]))
    width = int(np.prod(shape, dtype=np.int64))
    # reshape to an explicit width: (0, -1) is ambiguous for a rank with no rows
    gathered = gather_rows(local_rows.reshape(len(local_rows), width), width, local_rows.dtype)
    return gathered.numpy().reshape(-1, *shape).astype(dtype, copy=False)


def finish() -> None:
    """Leave the process group in step with the other ranks at the end of a successful run. Exiting
    with the group still open lets gloo's threads be torn down at interpreter exit, which now and then
    aborts a rank ("terminate called without an active exception") after its work is done."""
    if _requested() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def gather_objects(value) -> list:
    """Each rank's picklable ``value`` in rank order."""
    if not active():
        return [value]
    out = [None] * world_size()
    dist.all_gather_object(out, value)
    return out
