"""Named reference statistics: ``ref:NAME`` wherever an input is accepted (``genmetrics fid samples/ ref:NAME``).

One table (``REFERENCES``) names the published reference files, each with its URL, where that URL is
published, the SHA-256 of the file, and the protocol its numbers were made under. On first use a file is
downloaded into ``$GENMETRICS_CACHE/refs/`` (``cache.cache_dir()``), checked against its SHA-256 before it
appears, and written atomically; later uses read it there (checked again, memoised on size and mtime). An
offline machine gets an error naming the file to download and the path to copy it to.
``$GENMETRICS_REFS_MIRROR`` replaces the host: ``{mirror}/{file name}`` (a cluster's own copy).

SHA-256: none of these publishers states a digest, and this project's machines have no network, so the
entries below carry ``sha256=None`` until someone with network access pins them (``genmetrics refs fetch
NAME`` prints the digest of what it downloaded). An unpinned file is downloaded with a warning that says
its digest; a pinned one is refused when its digest differs. ``register_reference`` adds (or pins) one.
edm2's ``.pkl`` and ADM's ``.npz`` are read by ``reference_files.py`` (each statistic with its protocol).
"""
from __future__ import annotations

import difflib
import hashlib
import os
import urllib.error
import urllib.request
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import GenmetricsError

PREFIX = "ref:"
ENV_MIRROR = "GENMETRICS_REFS_MIRROR"
STATISTICS_NPZ, ADM_NPZ, EDM2_PKL = "statistics-npz", "adm-npz", "edm2-pkl"
# The formats inputs.open_input reads (edm2 and ADM through reference_files.py).
READABLE = {STATISTICS_NPZ: "mu and sigma (pytorch-fid's layout)",
            ADM_NPZ: "ADM reference batch: images arr_0, mu, sigma, mu_s, sigma_s",
            EDM2_PKL: "edm2 reference pickle: fid and fd_dinov2 statistics"}


@dataclass(frozen=True)
class Reference:
    """One published reference file. ``resize``: the genmetrics protocol its statistics match (None: none)."""

    name: str
    url: str
    sha256: str | None
    protocol: str
    resize: str | None
    format: str
    source: str  # where the URL is published

    @property
    def file(self) -> str:
        return self.url.rsplit("/", 1)[-1]


_TTUR = "http://bioinf.jku.at/research/ttur/ttur_stats/"
_TTUR_SOURCE = "bioinf-jku/TTUR README.md, 'Precalculated Statistics for FID calculation'"
_TTUR_PROTOCOL = "TF FID Inception pool_3 (2048-d), TF1 bilinear resize (tf)"
_CLEAN = "https://www.cs.cmu.edu/~clean-fid/stats/"
_CLEAN_SOURCE = "clean-fid cleanfid/features.py get_reference_statistics (base_url, file name pattern)"
_ADM = "https://openaipublic.blob.core.windows.net/diffusion/jul-2021/ref_batches/"
_ADM_SOURCE = "openai/guided-diffusion evaluations/README.md"
_EDM2 = "https://nvlabs-fi-cdn.nvidia.com/edm2/dataset-refs/"
_EDM2_SOURCE = "NVlabs/edm2 README.md, calculate_metrics.py --ref"

REFERENCES: dict[str, Reference] = {r.name: r for r in (
    Reference("cifar10-train-ttur", _TTUR + "fid_stats_cifar10_train.npz", None,
              f"{_TTUR_PROTOCOL}; all 50,000 CIFAR-10 training images", "tf", STATISTICS_NPZ, _TTUR_SOURCE),
    Reference("celeba-ttur", _TTUR + "fid_stats_celeba.npz", None,
              f"{_TTUR_PROTOCOL}; all cropped CelebA images at 64x64", "tf", STATISTICS_NPZ, _TTUR_SOURCE),
    Reference("lsun-bedroom-ttur", _TTUR + "fid_stats_lsun_train.npz", None,
              f"{_TTUR_PROTOCOL}; all LSUN bedroom training images", "tf", STATISTICS_NPZ, _TTUR_SOURCE),
    Reference("cifar10-train-clean", _CLEAN + "cifar10_clean_train_32.npz", None,
              "clean-fid mode clean (PIL bicubic on float images), 2048-d; CIFAR-10 train at 32x32", "clean",
              STATISTICS_NPZ, _CLEAN_SOURCE),
    # clean-fid's legacy_tensorflow mode feeds StyleGAN's TorchScript Inception, which resizes inside itself
    # (cleanfid/features.py resize_inside=True): strictly "edm2-inception", within float32 rounding of the
    # sampling coordinates of "tf" (tests/test_edm2_inception.py); kept as "tf" so default samples compare.
    Reference("cifar10-train-clean-legacy-tf", _CLEAN + "cifar10_legacy_tensorflow_train_32.npz", None,
              "clean-fid mode legacy_tensorflow (TF1 bilinear), 2048-d; CIFAR-10 train at 32x32", "tf",
              STATISTICS_NPZ, _CLEAN_SOURCE),
    Reference("imagenet256-adm", _ADM + "imagenet/256/VIRTUAL_imagenet256_labeled.npz", None,
              "ADM evaluator (TF FID Inception pool_3, the graph's bilinear resize); ImageNet 256x256 reference "
              "batch with its statistics", "tf", ADM_NPZ, _ADM_SOURCE),
    Reference("imagenet64-edm2", _EDM2 + "img64.pkl", None,
              "edm2 calculate_metrics.py ref: FID Inception and DINOv2-L/14 statistics, ImageNet 64x64", None,
              EDM2_PKL, _EDM2_SOURCE),
    Reference("imagenet512-edm2", _EDM2 + "img512.pkl", None,
              "edm2 calculate_metrics.py ref: FID Inception and DINOv2-L/14 statistics, ImageNet 512x512", None,
              EDM2_PKL, _EDM2_SOURCE),
)}


def register_reference(reference: Reference, override: bool = False) -> None:
    """Add a reference (or, with ``override``, replace one: to pin a digest, say)."""
    if not reference.name or ":" in reference.name or reference.name != reference.name.lower():
        raise ValueError(f"reference name {reference.name!r} must be lower-case without ':'")
    if reference.name in REFERENCES and not override:
        raise ValueError(f"reference {reference.name!r} is already registered; pass override=True")
    REFERENCES[reference.name] = reference


def references() -> list[dict]:
    """Every reference as a dict (name, url, sha256, protocol, resize, format, source, file, cached path)."""
    return [{**asdict(r), "file": r.file, "cached": str(path) if (path := refs_dir() / r.file).is_file() else None}
            for r in REFERENCES.values()]


def refs_dir() -> Path:
    from .cache import cache_dir

    return cache_dir() / "refs"


def lookup(name: str) -> Reference:
    name = name.removeprefix(PREFIX)
    if name not in REFERENCES:
        close = difflib.get_close_matches(name, list(REFERENCES), n=1)
        hint = f"did you mean {PREFIX}{close[0]}? " if close else ""
        raise GenmetricsError(f"unknown reference {PREFIX}{name}; {hint}genmetrics refs list shows them")
    return REFERENCES[name]


def resolve(name: str, *, readable: bool = True, progress: bool = False) -> Path:
    """The local path of ``ref:NAME``, downloaded and checked on first use. With ``readable``, a format that
    genmetrics cannot read yet is refused before anything is downloaded."""
    reference = lookup(name)
    if readable and reference.format not in READABLE:
        raise GenmetricsError(f"{PREFIX}{reference.name} is an {reference.format} file, which genmetrics cannot "
                              f"read yet (it reads {', '.join(READABLE)}); genmetrics refs fetch "
                              f"{reference.name} downloads it for other tools")
    path = refs_dir() / reference.file
    if path.is_file():
        from .features.weights import sha256_of

        found = sha256_of(path)
        if reference.sha256 and found != reference.sha256:
            raise GenmetricsError(f"{path} has SHA-256 {found}, not {reference.sha256} as {PREFIX}{reference.name} "
                                  f"is pinned: the file is damaged or another one; delete it and run again")
        return path
    return _download(reference, path, progress)


def _download(reference: Reference, path: Path, progress: bool) -> Path:
    from tqdm import tqdm

    from ._io import atomic_write

    mirror = os.environ.get(ENV_MIRROR)
    url = f"{mirror.rstrip('/')}/{reference.file}" if mirror else reference.url
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=60) as response, atomic_write(path) as out:
            with tqdm(unit="B", unit_scale=True, desc=f"downloading {reference.file}", disable=not progress) as bar:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
            if reference.sha256 and digest.hexdigest() != reference.sha256:  # the temporary file is removed
                raise GenmetricsError(f"the file downloaded from {url} has SHA-256 {digest.hexdigest()}, not "
                                      f"{reference.sha256} as {PREFIX}{reference.name} is pinned: the download "
                                      f"is corrupt or the URL serves another file; nothing was written")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        pinned = f" (SHA-256 {reference.sha256})" if reference.sha256 else ""
        raise GenmetricsError(f"cannot download {PREFIX}{reference.name} from {url} ({reason}). On a machine with "
                              f"network access download {reference.url}{pinned} and copy it to {path}, or pass "
                              f"that file's path instead of {PREFIX}{reference.name}") from None
    if not reference.sha256:
        warnings.warn(f"{PREFIX}{reference.name} has no pinned SHA-256 (its publisher states none); the file "
                      f"downloaded to {path} has SHA-256 {digest.hexdigest()}: compare it with a trusted copy",
                      UserWarning, stacklevel=3)
    return path
