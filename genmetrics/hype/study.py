"""Create a study folder, and invite raters to it.

A study folder holds ``study.json`` (how it was made: protocol, models, image encoding, mask method,
seed, version), ``hype.sqlite`` (images, raters, assignments, trials), ``images/`` (opaque random names),
``masks/`` and ``admin_token`` (readable by its owner only; the database keeps its SHA-256).
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import secrets
import shutil
from pathlib import Path

import numpy as np

from .. import __version__
from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from . import db
from .images import ENCODING, MASK_METHOD, encode_png, parse_size, phase_scrambled, resize
from .protocol import CONFIDENCE, BOOTSTRAP_RESAMPLES, Protocol

MASK_COUNT = 20  # genmetrics' choice: 20 distinct masks, 4 drawn per HYPE-time trial


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def _open_pool(path, what: str):
    from ..data import IterableSource, open_images
    source = open_images(path, name=what)
    if isinstance(source, IterableSource):
        raise GenmetricsError(f"{what}: give a folder, a .zip or a .npy/.npz of images, not an iterable")
    return source


def _load(source, index: int, what: str, size) -> np.ndarray:
    """One image, decoded and resized (loaded one at a time: a pool of 1024 px images does not fit in memory)."""
    from ..data import BadImage
    try:
        image = source.load(index)
    except BadImage as exc:
        raise GenmetricsError(f"{what}: {exc}; remove or fix that file") from None
    return resize(image, size or (image.shape[1], image.shape[0]))


def create_study(study, real, fakes: dict, method: str = "infinity", size=None, seed: int = DEFAULTS.seed,
                 force: bool = False, **counts) -> dict:
    """Prepare a HYPE study folder from Python (what ``genmetrics hype new`` calls).

    ``real``: the real images (folder, zip, npz/npy, array); ``fakes``: {model name: images};
    ``method``: "infinity" or "time"; ``size``: N or "WxH" [the first real image's]; ``seed``: the draws of
    images per rater and of the masks; ``counts``: per-study overrides of the paper's counts
    (tutorial_n, qualification_n, task_n, blocks, block_n). Returns the study record, and the admin token
    under "admin_token" (also in STUDY/admin_token).
    """
    protocol = Protocol(method=method, **counts).check()
    if not fakes:
        raise GenmetricsError("give at least one --fake NAME=PATH")
    for name in fakes:
        if not name or not all(c.isalnum() or c in "-_." for c in name):
            raise GenmetricsError(f"--fake {name!r}=...: model names use letters, digits, '-', '_' and '.'")
    final = Path(study)
    if final.exists() or final.is_symlink():
        if not force:
            raise GenmetricsError(f"{final} exists: choose a new study folder or pass --force to replace it")
        if not (final / "study.json").is_file():
            raise GenmetricsError(f"{final} exists and is not a HYPE study: --force only replaces a study folder")
    size = parse_size(size)
    real_source = _open_pool(real, "--real")
    if len(real_source) and size is None:
        size = tuple(int(v) for v in _load(real_source, 0, "--real", None).shape[1::-1])
    pools = {("real", None): (real_source, "--real")}
    pools.update({("fake", name): (_open_pool(path, f"--fake {name}"), f"--fake {name}")
                  for name, path in fakes.items()})
    half = protocol.images_per_rater() // 2
    for source, what in pools.values():
        if len(source) < max(half, 1):
            raise GenmetricsError(f"{what} has {len(source)} images; a rater sees {half} of each kind without "
                                  f"repeats, so give at least {half} (or lower the counts)")
    # Built beside the target and renamed into place: an interrupted `new` leaves no half study.
    out = final.parent / f".{final.name}.partial-{secrets.token_hex(4)}"
    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()
    try:
        token = _fill(out, pools, size, rng=np.random.default_rng(seed))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    record = {"genmetrics": __version__, "created": now(), "method": method, "protocol": protocol.to_dict(),
              "models": list(fakes), "n_real": len(real_source),
              "n_fake": {model: len(pools[("fake", model)][0]) for model in fakes},
              "size": list(size), "encoding": ENCODING, "masks": {"method": MASK_METHOD, "count": MASK_COUNT},
              "seed": seed, "bootstrap": BOOTSTRAP_RESAMPLES, "confidence": CONFIDENCE,
              "source": "Zhou et al., HYPE, NeurIPS 2019 (arXiv 1904.01121)"}
    (out / "study.json").write_text(json.dumps(record, indent=2) + "\n")
    if final.exists():
        shutil.rmtree(final)
    os.replace(out, final)
    return {**record, "study": str(final), "admin_token": token}


def _fill(out: Path, pools: dict, size, rng: np.random.Generator) -> str:
    """Write the images, the masks, the database and the admin token; returns the token."""
    db.create(out)
    rows = [(kind, model, i) for (kind, model), (source, _) in pools.items() for i in range(len(source))]
    order = rng.permutation(len(rows))  # write real and fake interleaved: no file order or time tells them apart
    with db.opened(out) as con, db.transaction(con):
        for index in order:
            kind, model, i = rows[index]
            source, what = pools[(kind, model)]
            name = secrets.token_hex(16)
            (out / "images" / f"{name}.png").write_bytes(encode_png(_load(source, i, what, size)))
            con.execute("INSERT INTO images (name, kind, model, source) VALUES (?, ?, ?, ?)",
                        (name, kind, model, source.item_name(i)))
        keys = list(pools)
        for m in range(MASK_COUNT):  # alternately real and fake, so the masks favour neither kind
            key = keys[0] if m % 2 == 0 else keys[1 + (m // 2) % (len(keys) - 1)]
            source, what = pools[key]
            image = _load(source, int(rng.integers(len(source))), what, size)
            (out / "masks" / f"{secrets.token_hex(16)}.png").write_bytes(encode_png(phase_scrambled(image, rng)))
        token = secrets.token_urlsafe(32)
        db.set_meta(con, "admin_token_sha256", hashlib.sha256(token.encode()).hexdigest())
    token_file = out / "admin_token"
    token_file.touch(mode=0o600)
    os.chmod(token_file, 0o600)  # before the secret is written
    token_file.write_text(token + "\n")
    return token


def load_study(study) -> tuple[dict, Protocol]:
    """The study record and its protocol; a GenmetricsError when the folder is not a study."""
    path = Path(study)
    if not (path / "study.json").is_file() or not (path / db.DB_NAME).is_file():
        raise GenmetricsError(f"{path} is not a HYPE study folder (no study.json / {db.DB_NAME}); make one with "
                              f"genmetrics hype new")
    record = json.loads((path / "study.json").read_text())
    return record, Protocol.from_dict(record["protocol"])


def _draw(con, protocol: Protocol, model: str, rng: np.random.Generator) -> list[tuple[str, int, int, int]]:
    """(phase, block, position, image id) for one rater: each block half real, half fake, no image twice."""
    plan = protocol.plan()
    half = sum(n for _, _, n in plan) // 2
    real = [r["id"] for r in con.execute("SELECT id FROM images WHERE kind = 'real' ORDER BY id")]
    fake = [r["id"] for r in con.execute("SELECT id FROM images WHERE kind = 'fake' AND model = ? ORDER BY id",
                                         (model,))]
    real = list(rng.choice(real, size=half, replace=False))
    fake = list(rng.choice(fake, size=half, replace=False))
    out = []
    for phase, block, n in plan:
        ids = [int(real.pop()) for _ in range(n // 2)] + [int(fake.pop()) for _ in range(n // 2)]
        out += [(phase, block, position, ids[i]) for position, i in enumerate(rng.permutation(n))]
    return out


def invite(study, n: int, model: str | None = None, base_url: str = "http://127.0.0.1:8000") -> list[dict]:
    """Create ``n`` raters, each with an unguessable link and its own draw of images (models in turn).

    Returns [{"rater", "model", "url", "completion_code"}]. The token is 256 bits from ``secrets``.
    """
    record, protocol = load_study(study)
    if n < 1:
        raise GenmetricsError(f"-n {n}: invite at least one rater")
    models = record["models"]
    if model is not None and model not in models:
        raise GenmetricsError(f"--model {model!r}: the study's models are {', '.join(models)}")
    out = []
    with db.opened(study) as con, db.transaction(con):
        start = con.execute("SELECT COUNT(*) FROM raters").fetchone()[0]
        for i in range(n):
            index = start + i
            chosen = model or models[index % len(models)]
            token = secrets.token_urlsafe(32)
            code = secrets.token_hex(5).upper()
            cur = con.execute("INSERT INTO raters (token, model, completion_code, invited_at) VALUES (?, ?, ?, ?)",
                              (token, chosen, code, now()))
            rater = cur.lastrowid
            # The draw is reproducible from the study seed and the rater's number.
            rng = np.random.default_rng([record["seed"], index + 1])
            con.executemany("INSERT INTO assignments (rater_id, seq, phase, block, position, image_id) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            [(rater, seq, *row) for seq, row in enumerate(_draw(con, protocol, chosen, rng))])
            out.append({"rater": rater, "model": chosen, "url": f"{base_url.rstrip('/')}/r/{token}",
                        "completion_code": code})
    return out
