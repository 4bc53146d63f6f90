"""``genmetrics memorization``: which generated images copy training images (library: ``memorization_report``)."""
from __future__ import annotations

import click

from ..memorization import memorization_report
from .common import cli, dims_option, emit, extraction_options, friendly_errors, library_options, main_process, option


@cli.command("memorization")
@click.argument("train")
@click.argument("generated")
@click.option("-o", "--out", type=click.Path(file_okay=False),
              help="Folder for memorization.png (each suspicious sample, then its nearest training images) and "
                   "memorization.json [default: print only].")
@option("memorization_samples", "--samples")
@option("memorization_neighbours", "-k", "--neighbours")
@dims_option
@extraction_options
@friendly_errors
def memorization_command(train, generated, out, memorization_samples, memorization_neighbours, as_json, **kwargs):
    """Does GENERATED copy TRAIN? AuthPct and the generated images nearest to a training image.

    TRAIN is the model's training set, GENERATED its samples (folders, zips, uint8 .npy/.npz, or an ADM
    reference batch, whose arr_0 images are read). Both are mapped to features (--extractor; DINOv2 is the
    space dgm-eval recommends for this), then:

    \b
    AuthPct (Alaa et al. 2022, as dgm-eval computes it): for each generated sample g, d1 is the
      distance to its nearest training image t and d2 the distance from t to t's own nearest training
      neighbour; g is authentic when d2 < d1. 100% means no sample sits unusually close to a training
      image; copies pull it down. It does not rank models by quality.
    The list: the --samples generated images with the smallest d1/d2 (the most copy-like), each with its
      --neighbours nearest training images and their distances. A ratio near 0 is a near-exact copy; look
      at the PNG (-o) before concluding: a ratio below 1 can also be a common, simple image.

    \b
    Examples:
      genmetrics memorization train/ samples/ -o mem/                 PNG grid + JSON in mem/
      genmetrics memorization train/ samples/ --extractor dinov2-vit-l14 --samples 32
      genmetrics memorization digits_train.npz samples.npz --extractor digits --json
      genmetrics eval train/ samples/ --metrics authpct --json        the same list as "memorization"
    """
    report = memorization_report(train, generated, out if main_process() else None, samples=memorization_samples,
                                 k=memorization_neighbours, **library_options(kwargs))
    lines = [f"AuthPct: {report['authpct']:.2f}%  (n_train={report['n_train']}, n_generated={report['n_generated']}, "
             f"features: {report['protocol'].get('extractor', 'inception')})"]
    if report["suspicious"]:
        lines.append("most copy-like generated samples (d1/d2; nearest training image, distance):")
    for row in report["suspicious"]:
        nearest = row["neighbours"][0]
        generated_name = row["generated_file"] or f"#{row['generated']}"
        train_name = nearest["train_file"] or f"#{nearest['train']}"
        lines.append(f"  {generated_name}  ratio {row['ratio']:.3f}{'' if row['authentic'] else ' (not authentic)'}"
                     f"  ->  {train_name}  {nearest['distance']:.4g}")
    if report.get("files"):
        lines.append(f"wrote {', '.join(report['files'])}")
    emit(report, as_json, "\n".join(lines))
