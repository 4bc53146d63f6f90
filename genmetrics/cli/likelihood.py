"""Likelihood commands: parzen (the Parzen-window estimate of 2014-era GAN tables) and nll (the exact or
bounded test log-likelihood of the likelihood models)."""
from __future__ import annotations

import click

from ..defaults import DEFAULTS, option_help
from ..metrics._parzen_inputs import parse_sigma_grid
from ..metrics.parzen import SEARCH_MODES, parzen_log_likelihood
from .common import cli, emit, friendly_errors, json_option, option, quiet_option


# Where the estimate is held against exact likelihoods (benchmarks/parzen_vs_truth.py's measured table).
PARZEN_CAVEAT = ("not the model's likelihood: how far it can be, measured against exact likelihoods: "
                 "docs/likelihood.md")


def _parzen_summary(result) -> str:
    tuned = ("fixed" if result.n_valid is None else
             f"chosen on {result.n_valid} {'TEST' if result.tuned_on_test else 'validation'} points"
             f"{', refined' if result.sigma_search == 'refine' else ''}")
    lines = [f"Parzen log-likelihood: {result.log_likelihood:.4f} ± {result.standard_error:.4f} nats  "
             f"(sigma={result.sigma:.5g}, {tuned})",
             f"  {result.bits_per_dim:.5f} bits/dim (negative log-likelihood per dimension, in bits)",
             f"  samples={result.n_samples}  test={result.n_test}  dim={result.dim}",
             f"  {PARZEN_CAVEAT}"]
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
@click.option("--sigma-grid", default=None, help=f"{option_help('parzen_sigma_grid')} [default: "
                                               f"{':'.join(map(str, DEFAULTS.parzen_sigma_grid))}, parzen_ll.py's]")
@option("parzen_sigma_search", "--sigma-search", type=click.Choice(SEARCH_MODES))
@option("parzen_n", "-n")
@option("parzen_batch_size", "--batch-size")
@option("device")
@click.option("--gray", is_flag=True, help="Make RGB images one luma channel (PIL convert('L')): MNIST, TFD.")
@click.option("--allow-tune-on-test", is_flag=True,
              help="Without --valid, choose sigma on TEST itself (inflates the score).")
@json_option
@quiet_option
@friendly_errors
def parzen_command(samples, test, valid, sigma, sigma_grid, parzen_sigma_search, parzen_n, parzen_batch_size, as_json,
                   quiet, **kwargs):
    """Gaussian Parzen-window log-likelihood of TEST under SAMPLES (Goodfellow et al. 2014, Table 1).

    SAMPLES and TEST (and --valid) are folders, zips or uint8 .npy/.npz images (pixels scaled to
    [0, 1]), or float (N, D) .npy/.npz vectors used as they are. Higher is better, but in high
    dimensions this is not the model's likelihood (Theis et al. 2016; measured against exact
    likelihoods in docs/likelihood.md).

    \b
    Examples:
      genmetrics parzen samples.npy mnist_test/ --valid mnist_valid/ --gray      MNIST, as Goodfellow et al.
      genmetrics parzen samples.npz digits_test.npz --valid digits_valid.npz --gray --json
    """
    result = parzen_log_likelihood(samples, test, valid, sigma, sigma_grid=parse_sigma_grid(sigma_grid),
                                   sigma_search=parzen_sigma_search, n=parzen_n, batch_size=parzen_batch_size,
                                   progress=not quiet, **kwargs)
    emit(result.to_dict(), as_json, _parzen_summary(result))


def _nll_summary(result) -> str:
    what = "exact" if result.exact else f"IWAE bound, k={result.k}"
    lines = [f"{result.model} on {result.data} ({result.split}, n={result.n}, D={result.dim}, "
             f"{result.levels} levels), step {result.step}",
             f"  NLL ({what}): {result.nll:.3f} ± {result.nll_se:.3f} nats/image   "
             f"{result.bits_per_dim:.4f} ± {result.bits_per_dim_se:.4f} bits/dim"]
    if result.neg_elbo is not None:
        lines.append(f"  -ELBO (mean of the same {result.k} draws): {result.neg_elbo:.3f} ± {result.neg_elbo_se:.3f} "
                     f"nats/image")
    if result.baseline_nll is not None:
        lines.append(f"  independent pixels (training frequencies): {result.baseline_nll:.3f} nats/image   "
                     f"{result.baseline_bits_per_dim:.4f} bits/dim")
    if result.binarization:
        lines.append(f"  binarisation: {result.binarization}")
    lines.append(f"  convention: {result.convention}")
    return "\n".join(lines)


@cli.command("nll")
@click.argument("run")
@click.option("--data", default=None, help="A data set (digits-binary, mnist-binary, ...), a folder or a uint8 "
                                           ".npz/.npy [default: the run's data].")
@click.option("--split", default="test", show_default=True, help="test, valid (digits) or train.")
@option("iwae_k", "-k")
@click.option("-n", "n", type=int, default=None, help="Only the first N images of the split.")
@option("seed", "--seed", help="Seed of the VAE's importance draws (image i's from (seed, i)).")
@option("nll_batch_size", "--batch-size")
@option("device")
@click.option("--data-root", default=None, help="Where torchvision datasets live (mnist-binary).")
@json_option
@quiet_option
@friendly_errors
def nll_command(run, data, split, iwae_k, n, seed, nll_batch_size, device, data_root, as_json, quiet):
    """Test negative log-likelihood of a likelihood model (nade, pixelcnn exact; vae: ELBO and IWAE bounds).

    Nats per image and bits per dimension, each with its standard error over the test images, beside the
    independent-pixel baseline. Published anchors and the Parzen estimate held against these numbers:
    docs/likelihood.md.

    \b
    Examples:
      genmetrics train nade --data digits-binary --out runs/nade
      genmetrics nll runs/nade --split test
      genmetrics nll runs/vae -k 5000 --json
    """
    from ..trainers.nll import negative_log_likelihood

    result = negative_log_likelihood(run, data, split, k=iwae_k, n=n, seed=seed, batch_size=nll_batch_size,
                                     device=device, data_root=data_root, progress=not quiet)
    emit(result.to_dict(), as_json, _nll_summary(result))
