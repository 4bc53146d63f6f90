"""Randomness as a function of (seed, purpose, step): what makes resumed runs equal uninterrupted ones.

Nothing in training reads a global random state: the data order, the noise of every step, the fixed
noise of the sample grids and the samples of ``genmetrics sample`` each come from a ``torch.Generator``
seeded by numpy's ``SeedSequence`` over (seed, purpose, indices), which mixes its inputs into
independent streams. The global torch / numpy / python states are still seeded at the start and stored in
checkpoints, for code (ours or a user's) that draws from them.
"""
from __future__ import annotations

import random

import numpy as np
import torch

# Purposes: distinct first entries keep the streams apart.
INIT, DATA, STEP, FIXED, EVAL, SAMPLE, REFERENCE, LABELLED = range(8)


def derive_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed for the stream (seed, *keys); negative keys are allowed."""
    entropy = [int(seed) % 2**63] + [int(k) % 2**63 for k in keys]
    return int(np.random.SeedSequence(entropy).generate_state(2, np.uint64)[0] >> np.uint64(1))


def derive_generator(seed: int, *keys: int) -> torch.Generator:
    """A CPU ``torch.Generator`` for the stream (seed, *keys)."""
    return torch.Generator().manual_seed(derive_seed(seed, *keys))


def seed_global(seed: int) -> None:
    """Seed the global torch, numpy and python generators (weight initialisation draws from torch's)."""
    torch.manual_seed(derive_seed(seed, INIT))
    np.random.seed(derive_seed(seed, INIT, 1) % 2**32)
    random.seed(derive_seed(seed, INIT, 2))


def global_rng_state() -> dict:
    """The global random states as tensors and plain lists (loadable with ``weights_only=True``)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {"torch": torch.get_rng_state(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
             "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next}}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_global_rng_state(state: dict) -> None:
    """Restore what ``global_rng_state`` returned."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
