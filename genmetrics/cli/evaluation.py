"""Commands that score images: fid, is, stats, features, eval, kid, prdc."""
from __future__ import annotations

import click

from .._io import check_output
from ..features.compute import compute_features, compute_statistics, save_features
from ..metrics import registry
from ..metrics.evaluate import evaluate
from ..metrics.fid import fid
from ..metrics.fid_infinity import POINTS, fid_infinity
from ..metrics.inception_score import inception_score
from ..defaults import METRIC_OPTIONS
from ..stats import save_statistics
from .common import (cli, dims_option, emit, extraction_options, friendly_errors, library_options, main_process,
                     metric_options, option)

force_option = click.option("--force", is_flag=True, help="Replace the -o file if it exists.")


@cli.command("fid")
@click.argument("path1")
@click.argument("path2")
@click.option("--infinity", is_flag=True,
              help="FID_inf (Chong & Forsyth 2020): FIDs of growing subsets of PATH2, fitted in 1/N and "
                   "extrapolated to 1/N = 0. PATH2 must be images or a features file.")
@click.option("--infinity-points", type=int, default=POINTS, show_default=True, help="Subset sizes for --infinity.")
@click.option("--infinity-min", type=int, default=None, help="Smallest subset for --infinity [default: N/10].")
@option("seed", help="Subset draws of --infinity.")
@dims_option
@extraction_options
@friendly_errors
def fid_command(path1, path2, infinity, infinity_points, infinity_min, seed, as_json, **kwargs):
    """Fréchet Inception Distance between PATH1 and PATH2 (lower is better).

    Each PATH is a folder of images (searched recursively), a .zip, a .npy/.npz uint8 image array, or a
    .npz of statistics (genmetrics stats, pytorch-fid, clean-fid) or features (genmetrics features).

    \b
    Examples:
      genmetrics fid real/ fake/                          the published protocol (TF1 resize, 2048-d)
      genmetrics fid real.npz fake/ --json                against stored statistics, as JSON
      genmetrics fid real/ fake/ --resize clean           clean-fid's protocol
      genmetrics fid real/ fake/ --weights pt_inception-2015-12-05-6726825d.pth   offline
      genmetrics fid real/ fake/ --infinity               FID_inf, the bias-free extrapolation
    """
    if infinity:
        result = fid_infinity(path1, path2, points=infinity_points, min_n=infinity_min, seed=seed,
                              **library_options(kwargs))
        table = "\n".join(f"  n={n:>8}  FID {value:.6f}" for n, value in result["points"])
        emit(result, as_json, f"FID_inf: {result['fid_infinity']:.6f}  (slope {result['slope']:.3f} per 1/N)\n{table}")
        return
    result = fid(path1, path2, **library_options(kwargs))
    emit(result.to_dict(), as_json,
         f"FID: {result.fid:.6f}  (n1={result.n1}, n2={result.n2}, dims={result.dims}, resize={result.resize})")


@cli.command("is")
@click.argument("path")
@option("splits")
@option("shuffle_seed")
@option("extractor", help="inception (the Inception Score), digits (10 digit classes; see the README) or "
        "stacked-digits (1,000 modes).")
@option("extractor_weights")
@extraction_options
@friendly_errors
def is_command(path, splits, shuffle_seed, as_json, **kwargs):
    """Inception Score of the images at PATH (higher is better): mean and std over splits.

    \b
    Examples:
      genmetrics is fake/                                 10 splits in the given (sorted) order
      genmetrics is fake.npz --shuffle-seed 2020          torch-fidelity's number
      genmetrics is fake/ --json
      genmetrics is digits/ --extractor digits            the bundled digits classifier's IS (at most 10)
    """
    result = inception_score(path, splits=splits, shuffle_seed=shuffle_seed, **library_options(kwargs))
    emit(result.to_dict(), as_json,
         f"IS: {result.inception_score:.6f} ± {result.inception_score_std:.6f}  "
         f"(n={result.n}, splits={result.splits}, "
         + (f"resize={result.resize})" if result.extractor == "inception" else f"extractor={result.extractor})"))


@cli.command("stats")
@click.argument("path")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The .npz to write (mu, sigma as pytorch-fid, plus our protocol metadata).")
@force_option
@dims_option
@extraction_options
@friendly_errors
def stats_command(path, output, force, as_json, **kwargs):
    """Mean and covariance of PATH's features, saved for later FIDs.

    \b
    Examples:
      genmetrics stats real/ -o real.npz                  then: genmetrics fid real.npz fake/
      genmetrics stats cifar10_train/ -o c10.npz --resize clean
    """
    check_output(output, force=force)  # before the work, not after it
    stats = compute_statistics(path, **library_options(kwargs))
    save_statistics(output, stats, force=force, write=main_process())
    emit({"output": output, "n": stats.n, **stats.meta}, as_json,
         f"wrote {output}  (n={stats.n}, dims={stats.dims}, resize={stats.meta.get('resize')})")


@cli.command("features")
@click.argument("path")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The .npz to write: pool (N, dims), logits (N, 1008), files.")
@force_option
@dims_option
@extraction_options
@friendly_errors
def features_command(path, output, force, as_json, **kwargs):
    """Per-image features and logits of PATH, in input order.

    \b
    Examples:
      genmetrics features fake/ -o fake_feats.npz         then: genmetrics eval real_feats.npz fake_feats.npz
      genmetrics features fake/ -o f.npz --extractor vgg16 --extractor-weights vgg16-397923af.pth
    """
    check_output(output, force=force)  # before the work, not after it
    features = compute_features(path, **library_options(kwargs))
    if main_process():
        save_features(output, features, force=force)
    emit({"output": output, "n": len(features.features), "skipped": features.skipped, **features.protocol},
         as_json, f"wrote {output}  (n={len(features.features)}, dims={features.features.shape[1]})")


def run_evaluate(path1, path2, metrics, as_json, kwargs):
    """``evaluate`` with the CLI's options, and a summary line per metric (labels from the registry)."""
    settings = {k: kwargs.pop(k) for k in METRIC_OPTIONS if k in kwargs}
    result = evaluate(path1, path2, metrics, **settings, **library_options(kwargs))
    intervals = result.get("bootstrap", {}).get("intervals", {})
    lines = []
    for key in registry.result_keys("eval"):
        if key.name in result and key.higher_is_better is not None:
            spread = result.get(key.spread) if key.spread else None
            value = result[key.name]
            line = f"{key.short or key.label:>10}: " + (f"{value}" if isinstance(value, int) else f"{value:.6f}") + (
                f" ± {spread:.6f}" if spread is not None else "")
            if key.name in intervals:
                low, high = intervals[key.name]
                line += f"  [{settings['confidence']:.0%} CI {low:.6f}, {high:.6f}]"
            lines.append(line)
    protocol = result["protocol"]
    lines.append(f"(n1={result['n1']}, n2={result['n2']}, features: {protocol['features']}, "
                 f"resize={protocol['resize']}, seed={protocol['seed']})")
    emit(result, as_json, "\n".join(lines))


@cli.command("eval")
@click.argument("path1")
@click.argument("path2")
@click.option("--metrics", default=",".join(registry.default_metric_names("eval")), show_default=True,
              help=registry.choices_help("eval"))
@metric_options
@option("memorization_samples")
@option("memorization_neighbours")
@friendly_errors
def eval_command(path1, path2, metrics, as_json, **kwargs):
    """Several metrics of PATH2 (generated) against PATH1 (real) from one feature pass per input.

    \b
    Examples:
      genmetrics eval real/ fake/                               all metrics
      genmetrics eval real/ fake/ --metrics fid,kid --json
      genmetrics eval real/ fake/ --metrics fid,precision,recall --bootstrap 200
      genmetrics eval digits_test.npz samples.npz --extractor digits --metrics fid,kid,is,class_coverage
      genmetrics eval train/ fake/ --metrics authpct --json     + "memorization": the most copy-like samples

    Precision/recall (k=3, Kynkaanniemi et al. 2019) and density/coverage (k=5, Naeem et al. 2020) use
    the Inception pool features; KID (Binkowski et al. 2018) the same features.
    """
    run_evaluate(path1, path2, metrics, as_json, kwargs)


@cli.command("kid")
@click.argument("path1")
@click.argument("path2")
@metric_options
@friendly_errors
def kid_command(path1, path2, as_json, **kwargs):
    """Kernel Inception Distance between PATH1 and PATH2 (genmetrics eval --metrics kid).

    \b
    Examples:
      genmetrics kid real/ fake/                          100 subsets of min(1000, n), torch-fidelity's draws
      genmetrics kid real_feats.npz fake/ --kid-subset-size 500 --json
      genmetrics kid real/ fake/ --kid-kernel rbf --kid-rbf-sigma 10   torch-fidelity's RBF kernel
    """
    run_evaluate(path1, path2, "kid", as_json, kwargs)


@cli.command("prdc")
@click.argument("path1")
@click.argument("path2")
@metric_options
@friendly_errors
def prdc_command(path1, path2, as_json, **kwargs):
    """Precision, recall, density and coverage of PATH2 against PATH1 (eval --metrics precision,...).

    \b
    Examples:
      genmetrics prdc real/ fake/                         k=3 (precision/recall), k=5 (density/coverage)
      genmetrics prdc real_feats.npz fake_feats.npz --json
    """
    run_evaluate(path1, path2, "precision,recall,density,coverage", as_json, kwargs)
