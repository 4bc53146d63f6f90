"""What every command shares: the group, the options generated from ``defaults.Options``, errors and output.

No maths, loading or checking here: a command parses, calls one library function and prints. Options come
from the fields of ``defaults.Options`` (default, help and source in one place), so the CLI and the
library cannot drift; the CLI's names are the library's keywords with ``-`` for ``_``.
"""
from __future__ import annotations

import functools
import json
import os
import sys
import warnings

import click

from .. import __version__, distributed
from ..defaults import (BACKENDS, DEFAULTS, EXTRACTION_OPTIONS, EXTRACTOR_INPUTS, FEATURE_DIMS, KID_KERNELS, PRECISIONS,
                        RESIZE_MODES, Options, option_help)
from ..errors import GenmetricsError

# Option types that the field's Python type does not say (choices, paths).
_CHOICES = {"resize": click.Choice(RESIZE_MODES), "precision": click.Choice(PRECISIONS),
            "backend": click.Choice(BACKENDS),
            "extractor_input": click.Choice(EXTRACTOR_INPUTS), "kid_kernel": click.Choice(KID_KERNELS),
            "dims": click.Choice([str(d) for d in FEATURE_DIMS])}
_PATHS = {"weights", "extractor_weights"}


def option(name: str, *flags: str, **overrides):
    """A click option for the ``defaults.Options`` field ``name``: its default, help and type from the field.

    ``flags`` default to ``--name-with-dashes``; ``overrides`` (help, default, type...) win.
    """
    default = getattr(DEFAULTS, name)
    settings = {"default": str(default) if name == "dims" else default, "help": option_help(name),
                "show_default": default is not None and not isinstance(default, bool)}
    if name in _CHOICES:
        settings["type"] = _CHOICES[name]
    elif name in _PATHS:
        settings["type"] = click.Path(dir_okay=False)
    elif isinstance(default, bool):
        settings.update(is_flag=True, show_default=False)
    else:  # "int | None" fields (workers, kid_subset_size, ...) are ints when given
        annotation = str(Options.__dataclass_fields__[name].type)
        settings["type"] = (type(default) if default is not None else int if annotation.startswith("int")
                            else float if annotation.startswith("float") else str)
    settings.update(overrides)
    return click.option(*(flags or (f"--{name.replace('_', '-')}",)), name, **settings)


def stack(*decorators):
    """Apply ``decorators`` so that they list in --help in the order given."""
    def apply(func):
        for decorator in reversed(decorators):
            func = decorator(func)
        return func
    return apply


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a summary.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")

# The options every feature-extracting command shares (names match the library's keywords).
extraction_options = stack(
    option("resize"), option("weights"), option("device"), option("batch_size"), option("workers"),
    option("skip_bad"),
    click.option("--no-cache", is_flag=True,
                 help="Neither read nor write the content-keyed cache of statistics and features."),
    option("precision"), option("backend"), option("hash_content"), json_option, quiet_option)

# Which features are computed.
dims_option = stack(option("dims"), option("extractor"), option("extractor_size"), option("extractor_weights"),
                    option("extractor_input"))

# The one-pass metrics' settings (eval, kid, prdc), then the feature options.
metric_options = stack(option("seed"), option("splits"), option("kid_subsets"), option("kid_subset_size"),
                       option("kid_kernel"), option("kid_degree"), option("kid_gamma"), option("kid_coef0"),
                       option("kid_rbf_sigma"), option("pr_k"), option("dc_k"), option("bootstrap"), option("confidence"),
                       dims_option, extraction_options)


def library_options(kwargs: dict) -> dict:
    """The CLI's extraction options as the library's keywords (``--no-cache`` -> cache, ``-q`` -> progress)."""
    out = {k: kwargs.pop(k) for k in EXTRACTION_OPTIONS if k in kwargs}
    if "no_cache" in kwargs:
        out["cache"] = not kwargs.pop("no_cache")
    if "quiet" in kwargs:
        out["progress"] = not kwargs.pop("quiet")
    if "dims" in out:
        out["dims"] = int(out["dims"])
    return out


def friendly_errors(func):
    """A ``GenmetricsError`` is one line on stderr and exit code 2; Ctrl-C is exit 130."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
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


def emit(result, as_json: bool, summary: str) -> None:
    """Print the result: once, by rank 0, when running under torchrun."""
    if distributed.is_main():
        click.echo(json.dumps(result, indent=2) if as_json else summary)


def main_process() -> bool:
    """The process that writes output files (rank 0 under torchrun)."""
    return distributed.is_main()


def show_warning(message, category, filename, lineno, file=None, line=None):
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
    warnings.showwarning = show_warning
