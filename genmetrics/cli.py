"""The command line: parse options, call one library function, print a summary or ``--json``.

No maths here. A ``GenmetricsError`` becomes one line on stderr and exit code 2.
"""
from __future__ import annotations

import functools
import json
import os
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
        click.option("--no-cache", is_flag=True,
                     help="Neither read nor write the content-keyed cache of statistics and features."),
        click.option("--precision", type=click.Choice(["fp32", "tf32", "bf16"]), default="fp32", show_default=True,
                     help="Network arithmetic. fp32 is exact; tf32 (CUDA) and bf16 are faster but move the numbers."),
        click.option("--hash-content", is_flag=True,
                     help="Key the cache on file contents rather than sizes and modification times."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def dims_option(func):
    """--dims and the extractor choice: the options that say which features are computed."""
    options = [
        click.option("--dims", type=click.Choice([str(d) for d in FEATURE_DIMS]), default=str(DEFAULTS.dims),
                     show_default=True, help="Inception layer: 64, 192, 768 (block features) or 2048 (pool)."),
        click.option("--extractor", default="inception", show_default=True,
                     help="Feature extractor: inception, vgg16, torchscript:PATH, or one registered in code."),
        click.option("--extractor-size", type=int, default=None,
                     help="Input resolution of the extractor (needed for torchscript:PATH)."),
        click.option("--extractor-weights", type=click.Path(dir_okay=False), default=None,
                     help="Weights of a non-Inception extractor (vgg16: torchvision's state dict)."),
        click.option("--extractor-input", type=click.Choice(["float", "uint8"]), default="float",
                     show_default=True, help="What a torchscript extractor takes: [0,1] floats or uint8."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def library_options(kwargs: dict) -> dict:
    """Map CLI options onto the library's keyword arguments."""
    out = {k: kwargs[k] for k in ("resize", "weights", "device", "batch_size", "workers", "skip_bad",
                                  "hash_content", "precision")}
    out["cache"] = not kwargs["no_cache"]
    out["progress"] = not kwargs["quiet"]
    if "dims" in kwargs:
        out["dims"] = int(kwargs["dims"])
    for key in ("extractor", "extractor_size", "extractor_weights", "extractor_input"):
        if key in kwargs:
            out[key] = kwargs[key]
    return out


def friendly_errors(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from . import distributed

        try:
            result = func(*args, **kwargs)
        except GenmetricsError as exc:
            where = f" (rank {os.environ['RANK']})" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else ""
            click.echo(f"genmetrics: error{where}: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("genmetrics: interrupted; no output file was written", err=True)
            sys.exit(130)
        distributed.finish()
        return result
    return wrapper


def emit(result: dict, as_json: bool, summary: str) -> None:
    """Print the result: once, by rank 0, when running under torchrun."""
    from . import distributed

    if distributed.is_main():
        click.echo(json.dumps(result, indent=2) if as_json else summary)


def main_process() -> bool:
    """The process that writes output files (rank 0 under torchrun)."""
    from . import distributed

    return distributed.is_main()


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """One line per warning; under torchrun only rank 0 prints (every rank sees the same gathered inputs,
    so N ranks would print each warning N times)."""
    if os.environ.get("RANK", "0") == "0":  # read from the environment: warnings come before the group is up
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
      genmetrics eval real/ fake/ --bootstrap 100   FID, IS, KID, precision/recall, density/coverage
      genmetrics parzen samples/ test/ --valid valid/ --gray
      genmetrics train dcgan --data digits --out runs/digits
      genmetrics data digits --split test -o digits_test.npz   held-out digits, offline
      genmetrics sweep runs/digits --ref real/ -o sweep
      torchrun --nproc-per-node 4 -m genmetrics fid real/ fake/

    Offline: pass --weights PATH or set GENMETRICS_WEIGHTS to the pytorch-fid weights file.
    """
    warnings.showwarning = _show_warning


@cli.command("fid")
@click.argument("path1")
@click.argument("path2")
@click.option("--infinity", is_flag=True,
              help="FID_inf (Chong & Forsyth 2020): FIDs of growing subsets of PATH2, fitted in 1/N and "
                   "extrapolated to 1/N = 0. PATH2 must be images or a features file.")
@click.option("--infinity-points", type=int, default=15, show_default=True, help="Subset sizes for --infinity.")
@click.option("--infinity-min", type=int, default=None, help="Smallest subset for --infinity [default: N/10].")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True, help="Subset draws of --infinity.")
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
        from .metrics.fid_infinity import fid_infinity

        result = fid_infinity(path1, path2, points=infinity_points, min_n=infinity_min, seed=seed,
                              **library_options(kwargs))
        table = "\n".join(f"  n={n:>8}  FID {value:.6f}" for n, value in result["points"])
        emit(result, as_json, f"FID_inf: {result['fid_infinity']:.6f}  (slope {result['slope']:.3f} per 1/N)\n{table}")
        return
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
    """Inception Score of the images at PATH (higher is better): mean and std over splits.

    \b
    Examples:
      genmetrics is fake/                                 10 splits in the given (sorted) order
      genmetrics is fake.npz --shuffle-seed 2020          torch-fidelity's number
      genmetrics is fake/ --json
    """
    from .metrics.inception_score import inception_score

    result = inception_score(path, splits=splits, shuffle_seed=shuffle_seed, **library_options(kwargs))
    emit(result.to_dict(), as_json,
         f"IS: {result.inception_score:.6f} ± {result.inception_score_std:.6f}  "
         f"(n={result.n}, splits={result.splits}, resize={result.resize})")


@cli.command("stats")
@click.argument("path")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The .npz to write (mu, sigma as pytorch-fid, plus our protocol metadata).")
@click.option("--force", is_flag=True, help="Replace the -o file if it exists.")
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
    from ._io import check_output
    from .features.compute import compute_statistics
    from .stats import save_statistics

    check_output(output, force=force)  # before the work, not after it
    stats = compute_statistics(path, **library_options(kwargs))
    if stats.n is not None and stats.n < 2:
        raise GenmetricsError(f"{path}: statistics need at least 2 images, found {stats.n}")
    if main_process():
        save_statistics(output, stats, force=force)
    emit({"output": output, "n": stats.n, **stats.meta}, as_json,
         f"wrote {output}  (n={stats.n}, dims={stats.dims}, resize={stats.meta.get('resize')})")


@cli.command("features")
@click.argument("path")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The .npz to write: pool (N, dims), logits (N, 1008), files.")
@click.option("--force", is_flag=True, help="Replace the -o file if it exists.")
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
    from ._io import check_output
    from .features.compute import compute_features, save_features

    check_output(output, force=force)  # before the work, not after it
    features = compute_features(path, **library_options(kwargs))
    if main_process():
        save_features(output, features, force=force)
    emit({"output": output, "n": len(features.features), "skipped": features.skipped, **features.protocol},
         as_json, f"wrote {output}  (n={len(features.features)}, dims={features.features.shape[1]})")


def metric_options(func):
    """Options of the one-pass metrics (eval, kid, prdc); names match ``genmetrics.evaluate``."""
    options = [
        click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True,
                     help="KID subsets and bootstrap draws; 2020 is torch-fidelity's."),
        click.option("--splits", type=int, default=DEFAULTS.splits, show_default=True, help="IS splits."),
        click.option("--kid-subsets", type=int, default=100, show_default=True),
        click.option("--kid-subset-size", type=int, default=None, help="[default: min(1000, n)]"),
        click.option("--pr-k", type=int, default=3, show_default=True, help="k of precision/recall."),
        click.option("--dc-k", type=int, default=5, show_default=True, help="k of density/coverage."),
        click.option("--bootstrap", type=int, default=0, show_default=True,
                     help="Resample the images B times and report percentile intervals."),
        click.option("--confidence", type=float, default=0.95, show_default=True, help="Interval level."),
    ]
    for option in reversed(options):
        func = option(func)
    return dims_option(extraction_options(func))


METRIC_LABELS = {"fid": "FID", "inception_score": "IS", "kid": "KID", "precision": "precision",
                 "recall": "recall", "density": "density", "coverage": "coverage"}


def run_evaluate(path1, path2, metrics, as_json, kwargs):
    from .metrics.evaluate import evaluate

    names = ("seed", "splits", "kid_subsets", "kid_subset_size", "pr_k", "dc_k", "bootstrap", "confidence")
    settings = {k: kwargs.pop(k) for k in names}
    result = evaluate(path1, path2, metrics, **settings, **library_options(kwargs))
    intervals = result.get("bootstrap", {}).get("intervals", {})
    lines = []
    for key, label in METRIC_LABELS.items():
        if key in result:
            spread = result.get("kid_std" if key == "kid" else "inception_score_std" if key == "inception_score"
                                else "", None)
            line = f"{label:>10}: {result[key]:.6f}" + (f" ± {spread:.6f}" if spread is not None else "")
            if key in intervals:
                line += f"  [{settings['confidence']:.0%} CI {intervals[key][0]:.6f}, {intervals[key][1]:.6f}]"
            lines.append(line)
    protocol = result["protocol"]
    lines.append(f"(n1={result['n1']}, n2={result['n2']}, features: {protocol['features']}, "
                 f"resize={protocol['resize']}, seed={protocol['seed']})")
    emit(result, as_json, "\n".join(lines))


@cli.command("eval")
@click.argument("path1")
@click.argument("path2")
@click.option("--metrics", default="fid,is,kid,precision,recall,density,coverage", show_default=True,
              help="Comma-separated: fid, is (of PATH2), kid, precision, recall, density, coverage.")
@metric_options
@friendly_errors
def eval_command(path1, path2, metrics, as_json, **kwargs):
    """Several metrics of PATH2 (generated) against PATH1 (real) from one feature pass per input.

    \b
    Examples:
      genmetrics eval real/ fake/                               all metrics
      genmetrics eval real/ fake/ --metrics fid,kid --json
      genmetrics eval real/ fake/ --metrics fid,precision,recall --bootstrap 200

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


@cli.group("cache")
def cache_group():
    """The content-keyed cache of statistics and features ($GENMETRICS_CACHE, default ~/.cache/genmetrics).

    Entries are keyed by the input's files (sizes and modification times, or contents with
    --hash-content), the extractor and weights, the protocol and the version: a changed image is
    recomputed, never served stale. Pass --no-cache to any command to bypass it.

    \b
    Examples:
      genmetrics cache list                               entries, sizes and the inputs they came from
      genmetrics cache list --json
      genmetrics cache clear                              delete genmetrics' entries (nothing else)
    """


@cache_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def cache_list(as_json):
    """List the cached entries: kind, size, number of images and the input each was made from.

    \b
    Examples:
      genmetrics cache list
      genmetrics cache list --json
    """
    from . import cache

    found = cache.entries()
    lines = [f"{e['kind']:>8}  {e.get('bytes', 0) / 2**20:8.1f} MiB  " +
             (f"DAMAGED ({e['damaged']}): {e['file']}" if "damaged" in e else
              f"n={e['n']}  {'(interrupted run, resumes) ' if e['partial'] else ''}{e['source']}") for e in found]
    emit({"cache_dir": str(cache.cache_dir()), "entries": found}, as_json,
         "\n".join([f"{cache.cache_dir()}: {len(found)} entries", *lines]))


@cache_group.command("clear")
def cache_clear():
    """Delete genmetrics' cached entries (and nothing else in the cache folder).

    \b
    Example:
      genmetrics cache clear
    """
    from . import cache

    click.echo(f"removed {cache.clear()} entries from {cache.cache_dir()}")


@cli.command("sweep")
@click.argument("generator")
@click.option("--ref", default=None, help="Reference images, features file or (FID/IS only) statistics file.")
@click.option("--truncation", "truncations", default="2.0,1.5,1.0,0.7,0.5,0.3,0.1", show_default=True,
              help="Truncation levels: a comma list or start:stop:num.")
@click.option("-n", "n", type=int, default=10000, show_default=True, help="Samples per truncation level.")
@click.option("--metrics", default="fid,is", show_default=True,
              help="Any of fid, is, kid, precision, recall, density, coverage, modes (toy generators).")
@click.option("--method", type=click.Choice(["resample", "scale", "psi"]), default="resample", show_default=True,
              help="resample: BigGAN paper (|z| > t redrawn); scale: TF-Hub BigGAN (t * truncnorm(-2, 2)); "
                   "psi: StyleGAN (w_avg + psi (w - w_avg); scales z for plain generators).")
@click.option("--seed", type=int, default=0, show_default=True, help="Latents; the same at every level.")
@click.option("--z-dim", type=int, default=None, help="Latent size of a TorchScript GENERATOR.")
@click.option("--modes-data", type=click.Choice(["ring8", "grid25"]), default=None,
              help="Toy data set for --metrics modes [default: the run's data].")
@click.option("--splits", type=int, default=DEFAULTS.splits, show_default=True, help="IS splits.")
@click.option("-o", "--output", default=None, help="Write OUT.csv, OUT.json and OUT.png (the plot).")
@click.option("--force", is_flag=True, help="Replace OUT.csv, OUT.json and OUT.png if they exist.")
@dims_option
@extraction_options
@friendly_errors
def sweep_command(generator, ref, truncations, n, metrics, method, seed, z_dim, modes_data, splits, output,
                  force, as_json, **kwargs):
    """Metrics of GENERATOR's samples against truncation level: the quality/diversity curve.

    GENERATOR is a run folder or checkpoint of genmetrics train, or a TorchScript file mapping z (N, Z)
    to images in [-1, 1] (or uint8) with --z-dim Z. Every level uses the same latents but for the
    truncation (common random numbers), so the curve is smooth.

    \b
    Examples:
      genmetrics sweep runs/cifar --ref cifar10.npz -n 10000 -o sweep
      genmetrics sweep G.pt --z-dim 128 --ref real/ --truncation 2:0.1:8 --method scale
      genmetrics sweep runs/ring --metrics modes --truncation 2,1,0.5,0.25 -n 2500
    """
    from .sweep import truncation_sweep
    from .sweep_report import output_paths, table, write_outputs

    if output:
        output_paths(output, force=force)  # before the sweep, not after it
    options = library_options(kwargs)
    model, z_dim, modes_data = _load_sweep_generator(generator, z_dim, modes_data, options["device"])
    rows = truncation_sweep(model, z_dim, ref, truncations, n=n, metrics=metrics, method=method, seed=seed,
                            modes_data=modes_data, splits=splits, **options)
    paths = write_outputs(output, rows, force=force) if output and main_process() else []
    emit(rows, as_json, table(rows) + "".join(f"\nwrote {p}" for p in paths))


def _load_sweep_generator(path, z_dim, modes_data, device):
    """(callable, z_dim, toy data name) for a TorchScript file (with --z-dim) or a genmetrics run."""
    import torch

    from .device import resolve_device

    device = resolve_device(device)
    if z_dim is not None:
        try:
            module = torch.jit.load(path, map_location=device).eval()
        except Exception as exc:
            raise GenmetricsError(f"{path}: not a TorchScript generator ({str(exc)[:160]})") from None
        return module, z_dim, modes_data
    from .trainers import load_generator

    loaded = load_generator(path, device=str(device))
    data = getattr(getattr(loaded, "config", None), "data", None)
    return loaded, loaded.z_dim, modes_data or (data if data in ("ring8", "grid25") else None)


# The Parzen command's imports sit beside it, so that it adds to this file without touching its header.
from .metrics.parzen import PARZEN_DEFAULTS, SEARCH_MODES  # noqa: E402


def _sigma_grid_option(text: str | None) -> tuple | None:
    """--sigma-grid lo:hi:n -> (lo, hi, n)."""
    if text is None:
        return None
    try:
        lo, hi, count = text.split(":")
        return float(lo), float(hi), int(count)
    except ValueError:
        raise GenmetricsError(f"--sigma-grid must be lo:hi:n such as 0.1:1:10, got {text!r}") from None


def _parzen_summary(result) -> str:
    tuned = ("fixed" if result.n_valid is None else
             f"chosen on {result.n_valid} {'TEST' if result.tuned_on_test else 'validation'} points"
             f"{', refined' if result.sigma_search == 'refine' else ''}")
    lines = [f"Parzen log-likelihood: {result.log_likelihood:.4f} ± {result.standard_error:.4f} nats  "
             f"(sigma={result.sigma:.5g}, {tuned})",
             f"  {result.bits_per_dim:.5f} bits/dim (negative log-likelihood per dimension, in bits)",
             f"  samples={result.n_samples}  test={result.n_test}  dim={result.dim}"]
    if result.curve:
        best = max(result.curve, key=lambda point: point[1])[0]
        lines.append("    sigma        valid LL")
        lines += [f"  {'*' if s == best else ' '} {s:<10.5g} {ll:12.4f}" for s, ll in result.curve]
    return "\n".join(lines)


@cli.command("parzen")
@click.argument("samples")
@click.argument("test")
@click.option("--valid", default=None, help="Validation set on which sigma is chosen (disjoint from TEST).")
@click.option("--sigma", type=float, default=None, help="A fixed kernel width: no tuning, --valid not read.")
@click.option("--sigma-grid", default=None,
              help="lo:hi:n, the widths numpy.logspace(log10 lo, log10 hi, n) [default: "
                   f"{':'.join(map(str, PARZEN_DEFAULTS.sigma_grid))}, parzen_ll.py's].")
@click.option("--sigma-search", type=click.Choice(SEARCH_MODES), default=PARZEN_DEFAULTS.sigma_search,
              show_default=True, help="grid, or refine: golden-section search around the best grid width.")
@click.option("-n", "n", type=int, default=PARZEN_DEFAULTS.n, show_default=True,
              help="Kernel centres: the first N samples.")
@click.option("--batch-size", type=int, default=PARZEN_DEFAULTS.batch_size, show_default=True,
              help="Rows per distance block; working memory about 24 x B x (B + D) bytes.")
@click.option("--device", default=PARZEN_DEFAULTS.device, show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--gray", is_flag=True, help="Make RGB images one luma channel (PIL convert('L')): MNIST, TFD.")
@click.option("--allow-tune-on-test", is_flag=True,
              help="Without --valid, choose sigma on TEST itself (inflates the score).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@friendly_errors
def parzen_command(samples, test, valid, sigma, sigma_grid, as_json, quiet, **kwargs):
    """Gaussian Parzen-window log-likelihood of TEST under SAMPLES (Goodfellow et al. 2014, Table 1).

    SAMPLES and TEST (and --valid) are folders, zips or uint8 .npy/.npz images (pixels scaled to
    [0, 1]), or float (N, D) .npy/.npz vectors used as they are. Higher is better, but in high
    dimensions this is not the model's likelihood (Theis et al. 2016).

    \b
    Example (MNIST):
      genmetrics parzen samples.npy mnist_test/ --valid mnist_valid/ --gray
    """
    from .metrics.parzen import parzen_log_likelihood

    result = parzen_log_likelihood(samples, test, valid, sigma, sigma_grid=_sigma_grid_option(sigma_grid),
                                   progress=not quiet, **kwargs)
    emit(result.to_dict(), as_json, _parzen_summary(result))


# The trainers' commands (train, sample, modes); their imports sit inside the functions.
def _train_overrides(options: dict, lr, settings) -> dict:
    """CLI options -> TrainConfig overrides (None: not given, the model's default applies)."""
    from .trainers.config import parse_setting

    overrides = {k: v for k, v in options.items() if v is not None}
    if lr is not None:
        overrides.update(lr_g=lr, lr_d=lr)
    overrides.update(parse_setting(text) for text in settings)
    return overrides


def _train_summary(result) -> str:
    lines = [f"trained to step {result.step}/{result.steps} in {result.seconds:.0f} s: {result.run_dir}",
             f"  checkpoint {result.checkpoint}"]
    if result.best:
        best = result.best
        value = (f"FID {best['fid']:.3f}, IS {best['inception_score']:.3f}" if best["metric"] == "fid" else
                 f"{best['modes_covered']}/{best['n_modes']} modes, {best['high_quality']:.1%} high quality")
        lines.append(f"  best: {value} at step {best['step']} (checkpoints/best.pt)")
    if result.kind == "toy":  # toy generators make 2-D points: a .npy, scored by genmetrics modes
        lines.append(f"  next: genmetrics sample {result.run_dir} -n 2500 -o points.npy && "
                     f"genmetrics modes points.npy --data {result.data}")
    else:
        lines.append(f"  next: genmetrics sample {result.run_dir} -n 1000 -o samples/")
    return "\n".join(lines)


@cli.command("train")
@click.argument("model", required=False)
@click.option("--data", default=None, help="A folder of images (class subfolders for acgan), digits, mnist, "
                                           "fashion-mnist, cifar10, ring8 or grid25.")
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False), help="The run folder.")
@click.option("--steps", type=int, default=None, help="Generator updates [default: per data, see --dry-run].")
@click.option("--epochs", type=float, default=None, help="Passes over the data (image data; instead of --steps).")
@click.option("--batch-size", type=int, default=None, help="[default: the model's published value]")
@click.option("--seed", type=int, default=None, help="One seed for init, data order and noise [default: 0].")
@click.option("--device", default=None, help="auto, cpu, cuda or cuda:N [default: auto].")
@click.option("--lr", type=float, default=None, help="Both learning rates [default: the model's published ones].")
@click.option("--image-size", type=int, default=None, help="Training resolution (a multiple of 4, >= 16).")
@click.option("--data-root", default=None, help="Where torchvision datasets live / are downloaded "
                                                "[default: $GENMETRICS_DATA_ROOT or ~/.cache/genmetrics/datasets].")
@click.option("--eval-every", type=int, default=None, help="Evaluate every N steps (FID/IS or mode coverage); 0: off.")
@click.option("--eval-n", type=int, default=None, help="Samples per evaluation.")
@click.option("--eval-ref", default=None, help="FID reference: a folder or statistics .npz [default: training data].")
@click.option("--weights", default=None, type=click.Path(dir_okay=False), help="FID Inception weights for --eval-every.")
@click.option("--sample-every", type=int, default=None, help="Write a sample grid every N steps; 0: only at the end.")
@click.option("--checkpoint-every", type=int, default=None, help="Write checkpoints/latest.pt every N steps.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Any other setting shown by --dry-run, e.g. --set n_critic=3 (repeatable).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from checkpoints/latest.pt.")
@click.option("--dry-run", is_flag=True, help="Print the resolved configuration (JSON) and stop.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@friendly_errors
def train_command(model, out, lr, settings, resume, dry_run, as_json, quiet, data, **options):
    """Train a reference GAN: MODEL is gan, dcgan, lsgan, wgan, wgan-gp, acgan or unrolled.

    Defaults are the published ones (cited in genmetrics/trainers/); --dry-run shows them all. The run
    folder gets config.json, checkpoints/{latest,best}.pt, samples/step_NNNNNN.png and metrics.jsonl.
    Ctrl-C or SIGTERM writes a checkpoint first; --resume continues to the same weights as an
    uninterrupted run.

    \b
    Examples:
      genmetrics train dcgan --data digits --out runs/digits         offline, about a minute on a CPU
      genmetrics train wgan-gp --data cifar10 --out runs/c10 --epochs 50
      genmetrics train acgan --data photos/ --out runs/ac             photos/<class>/*.png
      genmetrics train gan --data ring8 --out runs/ring --seed 1      2-D toy data, mode coverage
      genmetrics train --out runs/c10 --resume                        continue after an interruption
      genmetrics train dcgan --data mnist --out r --dry-run           show the resolved configuration
    """
    from .trainers import TrainingInterrupted, prepare, train

    overrides = _train_overrides(options, lr, settings)
    if dry_run:
        config = prepare(model, data, out, resume=resume, **overrides)[0]
        click.echo(json.dumps(config.to_dict(), indent=2))
        return
    try:
        result = train(model, data, out, resume=resume, progress=not quiet, **overrides)
    except TrainingInterrupted as exc:
        click.echo(f"genmetrics: {exc.signal_name} at step {exc.step}: checkpoint written to {exc.checkpoint}; "
                   f"continue with: genmetrics train --out {out} --resume", err=True)
        sys.exit(130)
    emit(result.to_dict(), as_json, _train_summary(result))


@cli.command("sample")
@click.argument("run")
@click.option("-n", "n", type=int, required=True, help="Number of samples.")
@click.option("-o", "--output", required=True,
              help="A new folder (PNGs), a .npz/.npy (uint8 NHWC); toy models: a .npy of float (N, 2).")
@click.option("--force", is_flag=True, help="Replace the -o file if it exists.")
@click.option("--seed", type=int, default=0, show_default=True, help="Sample i depends on (seed, i) only.")
@click.option("--batch-size", type=int, default=256, show_default=True, help="Does not change the samples.")
@click.option("--truncation", type=float, default=None, help="Redraw latent entries with |z| > T (truncation trick).")
@click.option("--class", "class_index", type=int, default=None, help="Only this class (acgan).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
@friendly_errors
def sample_command(run, n, output, force, seed, batch_size, truncation, class_index, device, as_json):
    """Draw N samples from RUN (a run folder: its best.pt, else latest.pt; or a .pt checkpoint).

    \b
    Examples:
      genmetrics sample runs/digits -n 1000 -o samples/             then: genmetrics fid ... samples/
      genmetrics sample runs/c10/checkpoints/latest.pt -n 50000 -o fake.npz --truncation 1.0
      genmetrics sample runs/ac -n 100 -o class3/ --class 3
      genmetrics sample runs/ring -n 2500 -o ring.npy               then: genmetrics modes ring.npy --data ring8
    """
    from .trainers import load_generator, write_samples

    generator = load_generator(run, device=device)
    result = write_samples(generator, n, output, seed=seed, batch_size=batch_size, truncation=truncation,
                           class_index=class_index, force=force)
    emit(result, as_json, f"wrote {result['n']} samples to {result['output']} ({result['format']}; "
                          f"{result['model']} on {result['data']}, step {result['step']}, seed {seed})")


@cli.command("data")
@click.argument("name")
@click.option("-o", "--output", required=True,
              help="A new folder (PNGs) or a .npz/.npy (uint8 NHWC); toy sets: a .npy of float (N, 2).")
@click.option("--force", is_flag=True, help="Replace the -o file if it exists.")
@click.option("--split", default="train", show_default=True,
              help="digits: train (1,497 images, what training uses), valid (150) or test (150); "
                   "mnist, fashion-mnist, cifar10: train or test.")
@click.option("--image-size", type=int, default=None, help="Resize to this side [digits: 32; others: native].")
@click.option("-n", "n", type=int, default=None, help="Only the first N images (toy sets: N points) [all; 2,500].")
@click.option("--seed", type=int, default=0, show_default=True, help="Toy sets: the seed of the draw.")
@click.option("--data-root", default=None, help="Where torchvision's data sets are (or are downloaded to).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
@friendly_errors
def data_command(name, output, force, split, image_size, n, seed, data_root, as_json):
    """Write the named data set NAME (digits, mnist, fashion-mnist, cifar10, ring8, grid25) as training
    sees it, to use as a reference for fid, parzen, prdc or modes.

    \b
    Examples (offline, with the bundled digits):
      genmetrics data digits --split test -o digits_test.npz
      genmetrics data digits --split valid -o digits_valid.npz
      genmetrics parzen samples/ digits_test.npz --valid digits_valid.npz --gray
      genmetrics data cifar10 -o cifar10_train/ --data-root ~/data
    """
    from .trainers.data import export_data

    result = export_data(name, output, split=split, image_size=image_size, n=n, seed=seed, data_root=data_root,
                         force=force)
    emit(result, as_json, f"wrote {result['n']} {'points' if 'split' not in result else 'images'} of "
                          f"{name}{' (' + split + ')' if 'split' in result else ''} to {result['output']} "
                          f"({result['format']})")


@cli.command("modes")
@click.argument("samples")
@click.option("--data", default=None, help="ring8 or grid25 [default: the run's data].")
@click.option("-n", "n", type=int, default=2500, show_default=True, help="Samples drawn from a run (PacGAN: 2,500).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the samples drawn from a run.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
@friendly_errors
def modes_command(samples, data, n, seed, as_json):
    """Mode coverage of 2-D samples on ring8 or grid25 (PacGAN / VEEGAN): modes with at least one
    high-quality sample (within 3 std of a mode), the high-quality fraction, and the reverse KL between
    the high-quality samples' mode histogram and the uniform one.

    SAMPLES is a .npy of float (N, 2) points or a toy run folder / checkpoint (N samples are drawn).

    \b
    Examples:
      genmetrics modes ring.npy --data ring8
      genmetrics modes runs/ring --json
    """
    from .metrics.modes import mode_coverage_of

    result = mode_coverage_of(samples, data, n=n, seed=seed)
    kl = "undefined (no high-quality sample)" if result.reverse_kl is None else f"{result.reverse_kl:.4f} nats"
    emit({k: v for k, v in result.to_dict().items()}, as_json,
         f"{result.data}: {result.modes_covered}/{result.n_modes} modes covered, "
         f"{result.high_quality:.1%} high quality, reverse KL {kl}  (n={result.n})")


def main():
    cli(prog_name="genmetrics")
