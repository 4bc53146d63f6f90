"""Where the FID Inception weights come from: a path, an environment variable, the cache, or the web.

Order of precedence: ``weights=`` / ``--weights PATH``, then ``$GENMETRICS_WEIGHTS``, then the file in
torch.hub's checkpoint folder (``$TORCH_HOME/hub/checkpoints``, by default under ``$XDG_CACHE_HOME`` or
``~/.cache``; the same folder pytorch-fid downloads to, so a file it fetched is reused), then a download
from the canonical URL into that folder. Downloads are checked against the SHA-256 prefix that the file
name carries (torch.hub's convention) and written atomically.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .._io import atomic_write
from ..errors import GenmetricsError

# pytorch-fid's port of the TF graph's weights (pytorch-fid inception.py FID_WEIGHTS_URL).
WEIGHTS_URL = ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
               "pt_inception-2015-12-05-6726825d.pth")
WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_SHA256_PREFIX = "6726825d"  # torch.hub's convention: the name carries the digest's prefix
ENV_WEIGHTS = "GENMETRICS_WEIGHTS"
ENV_WEIGHTS_URL = "GENMETRICS_WEIGHTS_URL"  # a mirror, for clusters behind a proxy

_sha_cache: dict[tuple, str] = {}


@dataclass(frozen=True)
class WeightsSpec:
    """Where one network's weights come from: canonical URL, cached file name, digest prefix, env var."""

    what: str
    url: str
    file: str
    sha256_prefix: str | None  # None: no published digest (DINOv2); the file's SHA-256 is still recorded
    env: str
    env_url: str | None = None


INCEPTION = WeightsSpec("the FID Inception weights", WEIGHTS_URL, WEIGHTS_FILE, WEIGHTS_SHA256_PREFIX,
                        ENV_WEIGHTS, ENV_WEIGHTS_URL)
# torchvision's ImageNet VGG16 (torchvision.models.VGG16_Weights.IMAGENET1K_V1); torch-fidelity's
# weights-vgg16 file has the same state-dict format.
VGG16 = WeightsSpec("the VGG16 weights", "https://download.pytorch.org/models/vgg16-397923af.pth",
                    "vgg16-397923af.pth", "397923af", "GENMETRICS_VGG16_WEIGHTS")


def weights_dir() -> Path:
    """torch.hub's checkpoint folder: honours ``$TORCH_HOME`` and ``$XDG_CACHE_HOME``."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def sha256_of(path: str | os.PathLike) -> str:
    """The file's SHA-256 (memoised on path, size and modification time)."""
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _sha_cache:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _sha_cache[key] = digest.hexdigest()
    return _sha_cache[key]


def is_canonical(sha256: str) -> bool:
    """Whether these are the published FID weights (so numbers compare with papers)."""
    return sha256.startswith(WEIGHTS_SHA256_PREFIX)


def _offline_message(spec: WeightsSpec, url: str, reason: str, option: str) -> str:
    return (f"cannot download {spec.what} from {url} ({reason}). Fetch that file on a machine with network "
            f"access, then either pass {option} PATH or set {spec.env}=PATH; or put it in "
            f"{weights_dir() / spec.file}")


def download(url: str, dest: Path, sha256_prefix: str | None, progress: bool = True,
             spec: WeightsSpec = INCEPTION, option: str = "--weights") -> Path:
    """Fetch ``url`` to ``dest`` atomically, checking the SHA-256 prefix before the file appears."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, atomic_write(dest) as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {dest.name}",
                      disable=not progress) as bar:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
            if sha256_prefix and not digest.hexdigest().startswith(sha256_prefix):
                raise GenmetricsError(
                    f"the file downloaded from {url} has SHA-256 {digest.hexdigest()}, which does not "
                    f"start with {sha256_prefix}: the download is corrupt or the URL is wrong; "
                    f"nothing was written")
    except (urllib.error.URLError, OSError) as exc:
        raise GenmetricsError(_offline_message(spec, url, str(getattr(exc, "reason", exc)), option)) from None
    return dest


def resolve_weights(weights: str | os.PathLike | None = None, progress: bool = True,
                    spec: WeightsSpec | None = None, option: str = "--weights") -> Path:
    """The path of the weights file to use, downloading the canonical one if nothing else is given.

    ``spec`` defaults to the FID Inception weights; ``option`` is the CLI option named in messages.
    """
    spec = spec or INCEPTION
    given = weights if weights is not None else os.environ.get(spec.env) or None
    if given is not None:
        path = Path(given).expanduser()
        source = option if weights is not None else f"${spec.env}"
        if not path.is_file():
            raise GenmetricsError(f"weights file {path} (from {source}) does not exist")
        return path
    cached = weights_dir() / spec.file
    if cached.is_file():
        return cached
    if shutil.disk_usage(cached.parent if cached.parent.exists() else Path.home()).free < 800 << 20:
        raise GenmetricsError(f"less than 800 MB free for {spec.what} in {cached.parent}")
    url = (os.environ.get(spec.env_url) if spec.env_url else None) or spec.url
    return download(url, cached, spec.sha256_prefix, progress, spec, option)


def state_dict_mismatch(module, state: dict, network: str = "the network") -> str | None:
    """Why ``state`` does not fit ``module`` (missing or unexpected keys, or the first key whose shape
    differs, with both shapes), or None when ``module.load_state_dict(state)`` will succeed.

    ``load_state_dict`` raises a RuntimeError listing every mismatch (even with ``strict=False`` for
    shapes); this names the first one so that a message stays one line.
    """
    expected = {k: v for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    given = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    if missing or unexpected:
        return (f"{len(missing)} missing keys (e.g. {missing[:2]}), {len(unexpected)} unexpected "
                f"(e.g. {unexpected[:2]})")
    for key, value in expected.items():
        found = given[key]
        shape = tuple(found.shape) if hasattr(found, "shape") else type(found).__name__
        if shape != tuple(value.shape):
            return f"{key} has shape {shape} in the file but {tuple(value.shape)} in {network}"
    return None


cache_dir = weights_dir  # the former name (genmetrics.cache.cache_dir is the statistics cache)
