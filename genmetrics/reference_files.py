"""Reference statistics written by other tools, read as ``Statistics`` that name their protocol.

- edm2 (NVlabs/edm2 calculate_metrics.py ``ref``): a pickle ``{'fid': {'mu', 'sigma'}, 'fd_dinov2': {'mu',
  'sigma'}}`` of numpy arrays. Unpickling runs whatever callables a file names, so these are read with an
  unpickler that admits only what numpy arrays, dicts and numbers need (``numpy``'s array reconstructor,
  ``ndarray``, ``dtype`` and ``scalar``); a file naming anything else is refused before any of it runs.
  Protocols: ``fid`` is Inception with resize "edm2-inception" (edm2's detector is StyleGAN3's pickled port
  of the TF graph, which resizes inside the network with affine_grid/grid_sample: features/preprocess.py
  ``stylegan_grid_resize``; samples scored against it need ``--resize edm2-inception``), ``fd_dinov2``
  DINOv2-ViT-L/14 with edm2's default torch resize ("edm2").
- ADM (openai/guided-diffusion evaluations/ reference batches, ``VIRTUAL_imagenet256_labeled.npz`` ...):
  ``mu``/``sigma`` (Inception pool) and ``mu_s``/``sigma_s`` (sFID's spatial features), with the TF graph's
  resize ("tf"); ``arr_0`` holds the images themselves: where per-image features are needed (precision/recall,
  KID, memorization) ``inputs.open_input`` reads them as images, featurised by the call's own extractor.
- clean-fid's and pytorch-fid's statistics ``.npz`` (``mu``, ``sigma``) are read by ``stats.load_statistics``.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from .errors import GenmetricsError
from .stats import Statistics, check_covariance

# What unpickling plain numpy arrays and numbers needs (numpy 1 names its module numpy.core, numpy 2
# numpy._core; a pickle records the one it was written with).
_ALLOWED = {(module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray")
            for name in ("_reconstruct", "scalar")} | {("numpy", "ndarray"), ("numpy", "dtype")}

EDM2_PROTOCOLS = {"fid": {"extractor": "inception", "resize": "edm2-inception", "dims": 2048},
                  "fd_dinov2": {"extractor": "dinov2-vit-l14", "resize": "edm2", "dims": 1024}}
ADM_PROTOCOLS = {"fid": ("mu", "sigma", {"extractor": "inception", "resize": "tf", "dims": 2048}),
                 "sfid": ("mu_s", "sigma_s", {"extractor": "inception", "resize": "tf", "dims": 2023})}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it names {module}.{name}, which a file of numpy arrays never needs")


def read_edm2_reference(path) -> dict[str, Statistics]:
    """The statistics of an edm2 reference pickle, by metric name (``fid``, ``fd_dinov2``)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = _ArraysOnly(handle).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise GenmetricsError(f"{path}: refused, not an edm2 reference of numpy arrays ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise GenmetricsError(f"{path}: expected edm2's {{'fid': {{'mu', 'sigma'}}, ...}}, found {type(data).__name__}")
    found = {}
    for metric, entry in data.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("mu"), np.ndarray)
                and isinstance(entry.get("sigma"), np.ndarray)):
            raise GenmetricsError(f"{path}: entry {metric!r} has no numpy 'mu' and 'sigma'")
        meta = {**EDM2_PROTOCOLS.get(metric, {}), "source_format": "edm2", "metric": metric}
        found[metric] = _statistics(path, metric, entry["mu"], entry["sigma"], meta)
    return found


def read_adm_reference(path) -> dict[str, Statistics]:
    """The statistics of an ADM reference batch, by metric name (``fid``; ``sfid`` when it has ``mu_s``)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in ("mu", "sigma", "mu_s", "sigma_s") if k in data.files}
    except (OSError, ValueError) as exc:
        raise GenmetricsError(f"{path}: not a readable .npz ({exc})") from None
    found = {}
    for metric, (mu, sigma, protocol) in ADM_PROTOCOLS.items():
        if mu in arrays and sigma in arrays:
            found[metric] = _statistics(path, metric, arrays[mu], arrays[sigma],
                                        {**protocol, "source_format": "adm", "metric": metric})
    if not found:
        raise GenmetricsError(f"{path}: no 'mu'/'sigma' (or 'mu_s'/'sigma_s'): not an ADM reference batch")
    return found


def reference_statistics(path, metric: str | None = "fid") -> Statistics:
    """The ``metric`` statistics of an edm2 ``.pkl`` or ADM ``.npz`` reference file (None: ``fid`` if the
    file has it, else its first entry; ``genmetrics eval`` then reads each metric's own entry)."""
    found = read_edm2_reference(path) if Path(path).suffix.lower() == ".pkl" else read_adm_reference(path)
    if metric is None:
        metric = "fid" if "fid" in found else next(iter(found))
    if metric not in found:
        raise GenmetricsError(f"{path} holds statistics for {', '.join(found)}, not {metric}")
    return found[metric]


def _statistics(path: Path, metric: str, mu: np.ndarray, sigma: np.ndarray, meta: dict) -> Statistics:
    name = f"{path} [{metric}]"
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]) or mu.dtype.kind not in "iuf" \
            or sigma.dtype.kind not in "iuf":
        raise GenmetricsError(f"{name}: mu {mu.dtype}{mu.shape} and sigma {sigma.dtype}{sigma.shape} are not "
                              f"a (D,) mean and a (D, D) covariance")
    mu64, sigma64 = mu.astype(np.float64), sigma.astype(np.float64)
    if not (np.isfinite(mu64).all() and np.isfinite(sigma64).all()):
        raise GenmetricsError(f"{name}: mu or sigma holds non-finite values")
    check_covariance(sigma64, sigma.dtype, name)
    return Statistics(mu64, sigma64, None, meta, name)
