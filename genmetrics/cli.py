"""The command line: parse options, call one library function, print a summary or ``--json``.

No maths here. A ``GenmetricsError`` becomes one line on stderr and exit code 2.
"""
from __future__ import annotations

import functools
import json
import sys
import warnings

import click

from . import __version__
from .defaults import DEFAULTS, FEATURE_DIMS, RESIZE_MODES
from .errors import GenmetricsError


def extraction_options(func):
    """The options every feature-extracting command shares (names match the library's keywords)."""
    options = [
        click.option("--resize", type=click.Choice(RESIZE_MODES), default=DEFAULTS.resize, show_default=True,
                     help="Preprocessing protocol: tf = TF1 bilinear on uint8 (published numbers, "
                          "torch-fidelity); pytorch-fid = torch bilinear on [0,1]; clean = clean-fid's PIL bicubic."),
        click.option("--weights", type=click.Path(dir_okay=False), default=None,
                     help="FID Inception weights file (pytorch-fid's .pth); also $GENMETRICS_WEIGHTS. "
                          "Downloaded and cached on first use otherwise."),
        click.option("--device", default=DEFAULTS.device, show_default=True, help="auto, cpu, cuda or cuda:N."),
        click.option("--batch-size", type=int, default=DEFAULTS.batch_size, show_default=True),
        click.option("--workers", type=int, default=None,
                     help="Image decoding processes [default: half the cores for files, 0 for arrays]."),
        click.option("--skip-bad", is_flag=True, help="Skip (and count) unreadable images instead of stopping."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def dims_option(func):
    return click.option("--dims", type=click.Choice([str(d) for d in FEATURE_DIMS]), default=str(DEFAULTS.dims),
                        show_default=True, help="Feature layer: 64, 192, 768 (block features) or 2048 (pool).")(func)


def library_options(kwargs: dict) -> dict:
    """Map CLI options onto the library's keyword arguments."""
    out = {k: kwargs[k] for k in ("resize", "weights", "device", "batch_size", "workers", "skip_bad")}
    out["progress"] = not kwargs["quiet"]
    if "dims" in kwargs:
        out["dims"] = int(kwargs["dims"])
    return out


def friendly_errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except GenmetricsError as exc:
            click.echo(f"genmetrics: error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("genmetrics: interrupted; no output file was written", err=True)
            sys.exit(130)
    return wrapper


def emit(result: dict, as_json: bool, summary: str) -> None:
    click.echo(json.dumps(result, indent=2) if as_json else summary)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"genmetrics: warning: {message}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="genmetrics")
def cli():
    """Evaluate generative image models: FID and Inception Score with the numbers of pytorch-fid,
    torch-fidelity and clean-fid.

    \b
    Examples:
      genmetrics fid real/ fake/                    FID between two folders
      genmetrics stats real/ -o real.npz            reference statistics, reusable by fid
      genmetrics fid real.npz fake/ --json          FID against stored statistics, as JSON
      genmetrics is fake/                           Inception Score (10 splits)
      genmetrics features fake/ -o feats.npz        per-image pool features and logits

    Offline: pass --weights PATH or set GENMETRICS_WEIGHTS to the pytorch-fid weights file.
    """
    warnings.showwarning = _show_warning


@cli.command("fid")
@click.argument("path1")
@click.argument("path2")
@dims_option
@extraction_options
@friendly_errors
def fid_command(path1, path2, as_json, **kwargs):
    """Fréchet Inception Distance between PATH1 and PATH2 (lower is better).

    Each PATH is a folder of images (searched recursively), a .zip, a .npy/.npz uint8 image array, or a
    .npz of statistics (genmetrics stats, pytorch-fid, clean-fid) or features (genmetrics features).
    """
    from .metrics.fid import fid

    result = fid(path1, path2, **library_options(kwargs))
    emit(result.to_dict(), as_json,
         f"FID: {result.fid:.6f}  (n1={result.n1}, n2={result.n2}, dims={result.dims}, resize={result.resize})")


@cli.command("is")
@click.argument("path")
@click.option("--splits", type=int, default=DEFAULTS.splits, show_default=True, help="Number of splits.")
@click.option("--shuffle-seed", type=int, default=None,
              help="Shuffle before splitting with RandomState(S); 2020 reproduces torch-fidelity.")
@extraction_options
@friendly_errors
def is_command(path, splits, shuffle_seed, as_json, **kwargs):
    """Inception Score of the images at PATH (higher is better): mean and std over splits."""
    from .metrics.inception_score import inception_score

    result = inception_score(path, splits=splits, shuffle_seed=shuffle_seed, **library_options(kwargs))
    emit(result.to_dict(), as_json,
         f"IS: {result.inception_score:.6f} ± {result.inception_score_std:.6f}  "
         f"(n={result.n}, splits={result.splits}, resize={result.resize})")


@cli.command("stats")
@click.argument("path")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The .npz to write (mu, sigma as pytorch-fid, plus our protocol metadata).")
@dims_option
@extraction_options
@friendly_errors
def stats_command(path, output, as_json, **kwargs):
    """Mean and covariance of PATH's features, saved for later FIDs."""
    from .features.compute import compute_statistics
    from .stats import save_statistics

    stats = compute_statistics(path, **library_options(kwargs))
    if stats.n is not None and stats.n < 2:
        raise GenmetricsError(f"{path}: statistics need at least 2 images, found {stats.n}")
    save_statistics(output, stats)
    emit({"output": output, "n": stats.n, **stats.meta}, as_json,
         f"wrote {output}  (n={stats.n}, dims={stats.dims}, resize={stats.meta.get('resize')})")


@cli.command("features")
@click.argument("path")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The .npz to write: pool (N, dims), logits (N, 1008), files.")
@dims_option
@extraction_options
@friendly_errors
def features_command(path, output, as_json, **kwargs):
    """Per-image features and logits of PATH, in input order."""
    from .features.compute import compute_features, save_features

    features = compute_features(path, **library_options(kwargs))
    save_features(output, features)
    emit({"output": output, "n": len(features.features), "skipped": features.skipped, **features.protocol},
         as_json, f"wrote {output}  (n={len(features.features)}, dims={features.features.shape[1]})")


def main():
    cli(prog_name="genmetrics")
