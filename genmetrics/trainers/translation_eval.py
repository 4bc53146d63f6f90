"""Score a translation run: ``evaluate_translation(run, data=None)``, the library form of ``genmetrics
eval-translation``.

For each direction the run translates (A -> B; CycleGAN and DiscoGAN also B -> A; StarGAN every pair):

- the inputs are the source domain's held-out digits (the test split, 150 images), or the user's folder;
- **realism**: FID and KID of the outputs against the target domain, in the digits classifier's feature
  space (``--extractor digits``; the target-domain reference is the *validation* split, 150 other digits,
  so that even the ground truth scores above 0); for user folders the extractor is the one given
  (Inception by default);
- **content**: the digits classifier's accuracy on the outputs against the inputs' labels
  (metrics/translation.py ``content_accuracy``; bundled domains only);
- **fidelity**: L1, PSNR and SSIM to the ground truth: the same test digits in the target domain (bundled
  domains: every model has one, paired or not), or the target folder's images of the same file names.

Each direction gets two baselines beside the model: ``identity`` (the inputs themselves, made the target's
channel count) and ``ground truth`` (the target images: the ceiling of content accuracy and fidelity, the
floor of FID against the reference).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.writers import to_uint8_nhwc
from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from ..metrics.translation import content_accuracy, l1_distance, psnr, ssim
from .translate import load_translator, to_model_input
from .translation_data import DOMAINS, domain_split, parse_spec
from .translation_folders import load_folders

REALISM = ("fid", "kid")
# KID subsets of 100 of the 150 held-out images: torch-fidelity's 1,000 capped at n would make every subset
# the whole set (one value, no spread); 100 leaves 100 distinct subsets.
KID_SUBSET = 100


def _channels(images: np.ndarray, channels: int) -> np.ndarray:
    if images.shape[-1] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    from ..features.digits import LUMA

    return np.rint((images.astype(np.float64) * np.array(LUMA)).sum(-1, keepdims=True)).astype(np.uint8)


def _bundled(domain: str, split: str, size: int, channels: int):
    images, labels = domain_split(domain, split, size)
    return _channels(images.permute(0, 2, 3, 1).numpy(), channels), labels.numpy()


def _realism(outputs: np.ndarray, reference_features, options: dict) -> dict:
    from ..features.compute import compute_features
    from ..metrics.scores import scores

    features = compute_features(outputs, **options)
    n = min(len(features.features), len(reference_features.features))
    return scores(REALISM, reference_features, features, DEFAULTS.replace(kid_subset_size=min(KID_SUBSET, n)),
                  device=options.get("device"))


def _row(name: str, outputs, truth, labels, target_domain, reference_features, options) -> dict:
    row = {"row": name, **_realism(outputs, reference_features, options)}
    if labels is not None and target_domain in DOMAINS:
        row["content_accuracy"] = content_accuracy(outputs, labels, target_domain, device=options.get("device", "cpu"))
    if truth is not None:
        row.update(l1=l1_distance(truth, outputs), psnr=psnr(truth, outputs), ssim=ssim(truth, outputs))
    return row


def evaluate_translation(run: str | Path, data: str | None = None, *, extractor: str | None = None,
                         device: str = DEFAULTS.device, baselines: bool = True, progress: bool = False) -> dict:
    """Score the run ``run`` (a run folder or checkpoint) on ``data``: None for the run's bundled domains
    (held-out splits), else ``"A_DIR,B_DIR"``: inputs from A; B as the target reference and, matched by
    file name when every name matches, as ground truth. Returns {"directions": [{"from", "to", "rows":
    [{"row", "fid", "kid", "content_accuracy", "l1", "psnr", "ssim"}, ...]}], "protocol": {...}}."""
    from ..device import resolve_device
    from ..features.compute import compute_features

    translator = load_translator(run, device)
    cfg = translator.config
    bundled = data is None and all(d in DOMAINS for d in translator.domains)
    if data is None and not bundled:
        raise GenmetricsError(f"{run} was trained on folders ({cfg.data}): give --data A_DIR,B_DIR (inputs, targets)")
    extractor = extractor or ("digits" if bundled else "inception")
    options = dict(extractor=extractor, device=str(resolve_device(device)), progress=progress, cache=False)
    directions = []
    for s, t in translator.net.directions():
        if bundled:
            inputs, labels = _bundled(translator.domains[s], "test", cfg.image_size, cfg.channels)
            truth, _ = _bundled(translator.domains[t], "test", cfg.image_size, cfg.channels)
            reference, _ = _bundled(translator.domains[t], "valid", cfg.image_size, cfg.channels)
        else:
            if (s, t) != (0, 1):
                continue  # user folders: the A -> B direction
            folders, labels = [Path(p).expanduser() for p in parse_spec(data)][:2], None
            try:  # every file has a partner of the same name: B is the ground truth too
                inputs, truth = (_channels(x.permute(0, 2, 3, 1).numpy(), cfg.channels)
                                 for x in load_folders(folders, cfg.image_size, True, tuple(DOMAINS)))
                reference = truth
            except GenmetricsError:  # realism only
                inputs, reference = (_channels(x.permute(0, 2, 3, 1).numpy(), cfg.channels)
                                     for x in load_folders(folders, cfg.image_size, False, tuple(DOMAINS)))
                truth = None
        outputs = to_uint8_nhwc(translator(to_model_input(inputs, translator), s, t))
        reference_features = compute_features(reference, **options)
        target = translator.domains[t]
        rows = [_row(cfg.model, outputs, truth, labels, target, reference_features, options)]
        if baselines:
            rows.append(_row("identity", inputs, truth, labels, target, reference_features, options))
            if truth is not None:
                rows.append(_row("ground truth", truth, truth, labels, target, reference_features, options))
        directions.append({"from": translator.domains[s], "to": target, "n": len(outputs),
                           "n_reference": len(reference), "rows": rows})
    protocol = {"extractor": extractor, "inputs": "test split (150 digits)" if bundled else data,
                "reference": "target domain, validation split (150 other digits)" if bundled else "B folder",
                "ground_truth": "target domain, test split" if bundled else "B folder, matched by file name",
                "ssim": "Gaussian sigma 1.5, 11 taps, K1 0.01, K2 0.03, L 255 (Wang et al. 2004)"}
    return {"run": str(run), "model": cfg.model, "step": translator.step, "directions": directions,
            "protocol": protocol}


def translation_table(result: dict) -> str:
    """A plain-text table of ``evaluate_translation``'s result."""
    columns = ("fid", "kid", "content_accuracy", "l1", "psnr", "ssim")
    lines = [f"{result['model']} at step {result['step']} ({result['protocol']['extractor']} features)"]
    for direction in result["directions"]:
        lines.append(f"{direction['from']} -> {direction['to']} (n={direction['n']})")
        lines.append(f"  {'':<14}" + "".join(f"{c:>18}" for c in columns))
        for row in direction["rows"]:
            cells = [row.get(c) for c in columns]
            lines.append(f"  {row['row']:<14}" + "".join(f"{'-':>18}" if v is None else f"{v:>18.4f}" for v in cells))
    return "\n".join(lines)

