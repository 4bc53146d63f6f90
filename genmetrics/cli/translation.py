"""Commands about conditional image runs: translate images with a translation run, score one; score a
text-to-image run's samples against their captions."""
from __future__ import annotations

import click

from ..errors import GenmetricsError
from ..trainers.caption_eval import SAMPLES_PER_CAPTION, captions_table, evaluate_captions
from ..trainers.translate import translate_images
from ..trainers.translation_eval import evaluate_translation, translation_table
from .common import cli, emit, friendly_errors, json_option, option, quiet_option


@cli.command("translate")
@click.argument("run")
@click.argument("input")
@click.option("-o", "--output", required=True, help="A new folder (PNGs) or a .npz/.npy (uint8 NHWC).")
@click.option("--to", "to", default=None, help="Target domain, by name or index [default: B, or A for a run's B inputs].")
@click.option("--from", "source", default=None, help="The inputs' domain, by name or index [default: A].")
@click.option("--split", default="test", show_default=True,
              help="When INPUT is a bundled domain (digits, digits-thick, ...): its digits split.")
@click.option("--force", is_flag=True, help="Replace the -o file if it exists.")
@option("device")
@json_option
@friendly_errors
def translate_command(run, input, output, to, source, split, force, device, as_json):
    """Translate the images INPUT (a folder, .npz or .npy, or a bundled domain name) with the translation run
    RUN (a run folder: best.pt, else latest.pt; or a .pt checkpoint) into its domain --to.

    \b
    Examples:
      genmetrics translate runs/p2p digits -o thick/                   the 150 test digits, A -> B
      genmetrics translate runs/cg photos/ -o paintings.npz
      genmetrics translate runs/cg digits-thick -o thin/ --from 1 --to 0   CycleGAN's other direction
    """
    result = translate_images(run, input, output, to=to, source_domain=source, split=split, device=device,
                              force=force)
    emit(result, as_json, f"translated {result['n']} images {result['from']} -> {result['to']} with "
                          f"{result['model']} (step {result['step']}) to {result['output']} ({result['format']})")


@cli.command("eval-translation")
@click.argument("run")
@click.option("--data", default=None, help="A_DIR,B_DIR: inputs and target images (ground truth where the file "
                                            "names match) [default: the run's bundled domains, held-out digits].")
@option("extractor", help="Feature space of FID/KID [default: digits for the bundled domains, else inception].",
        default=None, show_default=False)
@option("device")
@click.option("--no-baselines", is_flag=True, help="Only the model's row (not identity and ground truth).")
@json_option
@quiet_option
@friendly_errors
def eval_translation_command(run, data, extractor, device, no_baselines, as_json, quiet):
    """Score the translation run RUN: FID/KID of its outputs against the target domain (digits classifier
    features), content accuracy (the digits classifier on the outputs against the inputs' labels) and
    L1/PSNR/SSIM to the ground truth, beside the identity mapping and the ground truth itself.

    \b
    Examples:
      genmetrics eval-translation runs/p2p
      genmetrics eval-translation runs/cg --data photos_test/,paintings_test/ --json
    """
    result = evaluate_translation(run, data, extractor=extractor, device=device, baselines=not no_baselines,
                                  progress=not quiet)
    emit(result, as_json, translation_table(result))


@cli.command("eval-captions")
@click.argument("run")
@click.option("-n", "per_caption", type=int, default=SAMPLES_PER_CAPTION, show_default=True,
              help="Samples per caption (40 captions: each digit thin or thick, upright or inverted).")
@option("sample_seed", "--seed")
@option("device")
@click.option("--no-baselines", is_flag=True, help="Only the model's row (not the real digits nor untrained weights).")
@json_option
@friendly_errors
def eval_captions_command(run, per_caption, sample_seed, device, no_baselines, as_json):
    """Score the text-to-image run RUN (stackgan): the share of its samples whose digit class (the digits
    classifier), stroke thickness and inversion match their captions, beside the held-out digits with their
    own captions (the ceiling), with shuffled captions (chance) and the run's untrained weights.

    \b
    Examples:
      genmetrics eval-captions runs/stack
      genmetrics eval-captions runs/stack -n 50 --json
    """
    if per_caption < 1:
        raise GenmetricsError(f"-n {per_caption}: give at least 1 sample per caption")
    result = evaluate_captions(run, per_caption=per_caption, seed=sample_seed, device=device,
                               baselines=not no_baselines)
    emit(result, as_json, captions_table(result))
