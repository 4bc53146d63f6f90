"""Commands about data on disk: write a named data set (data), look after the feature cache (cache) and the
named reference statistics (refs)."""
from __future__ import annotations

import click

from .. import cache, refs
from ..features.weights import sha256_of
from ..trainers.captions import export
from .common import cli, emit, friendly_errors, json_option, option


@cli.command("data")
@click.argument("name")
@click.option("-o", "--output", required=True,
              help="A new folder (PNGs) or a .npz/.npy (uint8 NHWC); toy sets: a .npy of float (N, 2).")
@click.option("--force", is_flag=True, help="Replace the -o file if it exists.")
@click.option("--split", default="train", show_default=True,
              help="digits: train (1,497 images, what training uses), valid (150) or test (150); "
                   "mnist, fashion-mnist, cifar10: train or test.")
@click.option("--image-size", type=int, default=None,
              help="Resize to this side [digits: 32; digits-binary: 8; others: native].")
@click.option("-n", "n", type=int, default=None, help="Only the first N images (toy sets: N points; stacked-digits: N "
              "drawn images) [all; 2,500; 25,600].")
@option("sample_seed", "--seed", help="Toy sets and stacked-digits: the seed of the draw (stacked-digits' "
        "training set: 0).")
@click.option("--data-root", default=None, help="Where torchvision's data sets are (or are downloaded to).")
@click.option("--unpaired", is_flag=True, help="Several translation domains: each from its own disjoint part of "
              "the split (no source digit in two domains) instead of paired by file name.")
@json_option
@friendly_errors
def data_command(name, output, force, split, image_size, n, sample_seed, data_root, unpaired, as_json):
    """Write the named data set NAME (digits, stacked-digits, mnist, fashion-mnist, cifar10, ring8, grid25;
    binarised: digits-binary, mnist-binary and their -dynamic forms, drawn once) as training sees it, to use
    as a reference for fid, parzen, prdc, modes or nll. Translation domains (digits-inverted, digits-thick,
    digits-rot90, digits-colour; several comma-separated: one subfolder each, paired by file name). Captioned
    digits (digits-captions: each digit thin or thick, upright or inverted) with their captions.

    \b
    Examples (offline, with the bundled digits):
      genmetrics data digits --split test -o digits_test.npz
      genmetrics data digits --split valid -o digits_valid.npz
      genmetrics data stacked-digits --split test -n 26000 --seed 1 -o stacked_test.npz
      genmetrics parzen samples/ digits_test.npz --valid digits_valid.npz --gray
      genmetrics data cifar10 -o cifar10_train/ --data-root ~/data
      genmetrics data digits,digits-thick --split test -o pairs/     pairs/digits/, pairs/digits-thick/
      genmetrics data digits-captions --split test -o captioned.npz    images, captions, attributes
    """
    result = export(name, output, split=split, image_size=image_size, n=n, seed=sample_seed,
                         data_root=data_root, force=force, unpaired=unpaired)
    emit(result, as_json, f"wrote {result['n']} {'points' if 'split' not in result else 'images'} of "
                          f"{name}{' (' + split + ')' if 'split' in result else ''} to {result['output']} "
                          f"({result['format']})")


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


def _entry_line(entry: dict) -> str:
    size = f"{entry['kind']:>8}  {entry.get('bytes', 0) / 2**20:8.1f} MiB  "
    if "damaged" in entry:
        return size + f"DAMAGED ({entry['damaged']}): {entry['file']}"
    resumes = "(interrupted run, resumes) " if entry["partial"] else ""
    count = f"n={entry['n']}  " if entry["n"] is not None else ""
    return size + f"{count}{resumes}{entry['source']}"


@cache_group.command("list")
@json_option
@friendly_errors
def cache_list(as_json):
    """List the cached entries: kind, size, number of images and the input each was made from.

    \b
    Examples:
      genmetrics cache list
      genmetrics cache list --json
    """
    found = cache.entries()
    emit({"cache_dir": str(cache.cache_dir()), "entries": found}, as_json,
         "\n".join([f"{cache.cache_dir()}: {len(found)} entries", *map(_entry_line, found)]))


@cache_group.command("clear")
@friendly_errors
def cache_clear():
    """Delete genmetrics' cached entries (and nothing else in the cache folder).

    \b
    Example:
      genmetrics cache clear
    """
    click.echo(f"removed {cache.clear()} entries from {cache.cache_dir()}")


@cli.group("refs")
def refs_group():
    """Named reference statistics, usable as ref:NAME wherever a statistics file is (genmetrics fid fake/ ref:NAME).

    Each is downloaded on first use into $GENMETRICS_CACHE/refs, checked against its pinned SHA-256 and
    written atomically; offline, the error names the file to download and where to copy it.

    \b
    Examples:
      genmetrics refs list                                names, protocols, where each comes from
      genmetrics refs fetch cifar10-train-ttur            download now (e.g. before going offline)
      genmetrics fid samples/ ref:cifar10-train-ttur      FID against the TTUR CIFAR-10 train statistics
    """


@refs_group.command("list")
@json_option
@friendly_errors
def refs_list(as_json):
    """List the named references: name, protocol, format, SHA-256, URL and whether it is cached.

    \b
    Examples:
      genmetrics refs list
      genmetrics refs list --json
    """
    found = refs.references()
    lines = [f"{r['name']:<30} {r['format']:<15} {'cached' if r['cached'] else 'not cached':<11} {r['protocol']}\n"
             f"{'':<30} {r['url']}  sha256={r['sha256'] or 'not pinned'}" for r in found]
    emit({"refs_dir": str(refs.refs_dir()), "references": found}, as_json,
         "\n".join([f"{refs.refs_dir()}: {len(found)} references", *lines]))


@refs_group.command("fetch")
@click.argument("names", nargs=-1, required=True)
@friendly_errors
def refs_fetch(names):
    """Download the named references NAMES into the cache (checked against their SHA-256).

    \b
    Example:
      genmetrics refs fetch cifar10-train-ttur imagenet256-adm
    """
    for name in names:
        path = refs.resolve(name, readable=False, progress=True)
        click.echo(f"{refs.PREFIX}{refs.lookup(name).name}: {path}  sha256={sha256_of(path)}")
