"""Commands about generators: train a reference model, sample it, sweep its truncation, count its modes."""
from __future__ import annotations

import json
import sys

import click

from ..defaults import DEFAULTS
from ..metrics import registry
from ..metrics.modes import mode_coverage_of
from ..sweep import METHODS, open_generator, truncation_sweep
from ..sweep_report import output_paths, table, write_outputs
from ..trainers import FAMILIES, TrainingInterrupted, load_generator, prepare, train, write_samples
from ..trainers.config import collect_overrides
from .common import (cli, dims_option, emit, extraction_options, friendly_errors, json_option, library_options,
                     main_process, option, quiet_option)


def _train_summary(result) -> str:
    lines = [f"trained to step {result.step}/{result.steps} in {result.seconds:.0f} s: {result.run_dir}",
             f"  checkpoint {result.checkpoint}"]
    if result.best:
        best = result.best
        if best["metric"] == "fid":
            value = f"FID {best['fid']:.3f}, IS {best['inception_score']:.3f}"
        elif "modes_covered" in best:
            value = f"{best['modes_covered']}/{best['n_modes']} modes, {best['high_quality']:.1%} high quality"
        else:
            value = f"{best['metric']} {best[best['metric']]:.4g}"
        lines.append(f"  best: {value} at step {best['step']} (checkpoints/best.pt)")
    if result.stopped_by:
        lines.append(f"  stopped early: {result.stopped_by}; the curve: {result.run_dir}/metrics.png")
    if result.measures:
        lines.append("  " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                      for k, v in result.measures.items() if not isinstance(v, dict)))
    if result.kind == "toy":  # toy generators make 2-D points: a .npy, scored by genmetrics modes
        lines.append(f"  next: genmetrics sample {result.run_dir} -n {DEFAULTS.toy_samples} -o points.npy && "
                     f"genmetrics modes points.npy --data {result.data}")
    elif result.model in FAMILIES and FAMILIES[result.model].translation:
        lines.append(f"  next: genmetrics eval-translation {result.run_dir}  (and genmetrics translate)")
    elif result.model in FAMILIES and getattr(FAMILIES[result.model], "captioned", False):  # text to image
        lines.append(f"  next: genmetrics eval-captions {result.run_dir}  (and genmetrics sample --caption TEXT)")
    elif result.model in FAMILIES and not FAMILIES[result.model].adversarial:  # a likelihood model
        lines.append(f"  next: genmetrics nll {result.run_dir} --split test  (and genmetrics sample)")
    else:
        lines.append(f"  next: genmetrics sample {result.run_dir} -n 1000 -o samples/")
    return "\n".join(lines)


@cli.command("train")
@click.argument("model", required=False)
@click.option("--data", "--data-a", "data", default=None,
              help="A folder of images (class subfolders for acgan), digits, stacked-digits, mnist, fashion-mnist, "
                   "cifar10, ring8 or grid25; binarised: digits-binary, mnist-binary (and -dynamic); translation "
                   "models: domains A,B[,...] (digits, digits-inverted, digits-thick, digits-rot90, digits-colour, "
                   "or folders); stackgan: digits-captions.")
@click.option("--data-b", default=None, help="Translation models: domain B (a folder; paired with --data-a's "
                                             "files by name for pix2pix), the same as --data A,B.")
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
@click.option("--stop-patience", type=int, default=None,
              help="End the run after N evaluations (--eval-every) without improvement; best.pt keeps the best.")
@click.option("--stop-metric", default=None,
              help="The tracked metric: fid, is, modes, or m_global (began) [default: the family's, else fid/modes].")
@click.option("--labels", type=int, default=None,
              help="sgan: labelled training examples kept, balanced over the classes [default: 100].")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Any other setting shown by --dry-run, e.g. --set n_critic=3 (repeatable).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from checkpoints/latest.pt.")
@click.option("--dry-run", is_flag=True, help="Print the resolved configuration (JSON) and stop.")
@json_option
@quiet_option
@friendly_errors
def train_command(model, out, lr, settings, resume, dry_run, as_json, quiet, data, data_b, **options):
    """Train a reference model: MODEL is a GAN (gan, dcgan, lsgan, wgan, wgan-gp, acgan, unrolled, cgan, sgan,
    infogan, ebgan, began, progan), an adversarial autoencoder (aae), a likelihood model (vae, nade,
    pixelcnn; scored by genmetrics nll), a translation model (pix2pix; scored by genmetrics eval-translation) or a
    text-to-image model (stackgan on digits-captions; scored by genmetrics eval-captions).

    Defaults are the published ones (cited in genmetrics/trainers/); --dry-run shows them all. The run
    folder gets config.json, checkpoints/{latest,best}.pt, samples/step_NNNNNN.png and metrics.jsonl.
    Ctrl-C or SIGTERM writes a checkpoint first; --resume continues to the same weights as an
    uninterrupted run.

    \b
    Examples:
      genmetrics train dcgan --data digits --out runs/digits         offline, about 2 minutes on 2 CPU cores
      genmetrics train wgan-gp --data cifar10 --out runs/c10 --epochs 50
      genmetrics train acgan --data photos/ --out runs/ac             photos/<class>/*.png
      genmetrics train gan --data ring8 --out runs/ring --seed 1      2-D toy data, mode coverage
      genmetrics train --out runs/c10 --resume                        continue after an interruption
      genmetrics train dcgan --data mnist --out r --dry-run           show the resolved configuration
      genmetrics train sgan --data digits --out runs/s --labels 100   semi-supervised: reports test accuracy
      genmetrics train began --data digits --out r --eval-every 20 --stop-patience 5
      genmetrics train nade --data digits-binary --out runs/nade     8x8 binarised digits; then genmetrics nll
      genmetrics train pix2pix --data digits,digits-thick --out runs/p2p   then genmetrics eval-translation runs/p2p
      genmetrics train cyclegan --data-a photos/ --data-b paintings/ --out runs/cg
    """
    overrides = collect_overrides(options, lr, settings)
    if data_b is not None:
        data = f"{data},{data_b}" if data else data_b
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
@option("sample_seed", "--seed")
@option("sample_batch_size", "--batch-size")
@click.option("--truncation", type=float, default=None, help="Redraw latent entries with |z| > T (truncation trick).")
@click.option("--class", "class_index", type=int, default=None, help="Only this class (acgan, cgan; infogan: this categorical code).")
@click.option("--code", default=None, metavar="C[,V1,...]",
              help="infogan: fix the categorical code C and continuous codes V in [-1, 1] (* = random), e.g. 3,0.5,*.")
@click.option("--caption", default=None, metavar="TEXT",
              help="stackgan: the caption of every sample, e.g. \"a thick seven\" [default: one drawn per sample].")
@option("device")
@json_option
@friendly_errors
def sample_command(run, n, output, force, sample_seed, sample_batch_size, truncation, class_index, code, caption,
                   device, as_json):
    """Draw N samples from RUN (a run folder: its best.pt, else latest.pt; or a .pt checkpoint).

    \b
    Examples:
      genmetrics sample runs/digits -n 1000 -o samples/             then: genmetrics fid ... samples/
      genmetrics sample runs/c10/checkpoints/latest.pt -n 50000 -o fake.npz --truncation 1.0
      genmetrics sample runs/ac -n 100 -o class3/ --class 3
      genmetrics sample runs/info -n 64 -o c3.npz --code 3,-1,*      infogan: category 3, first code -1
      genmetrics sample runs/ring -n 2500 -o ring.npy               then: genmetrics modes ring.npy --data ring8
      genmetrics sample runs/stack -n 16 -o sevens/ --caption "a thick seven"       stackgan
    """
    generator = load_generator(run, device=device)
    result = write_samples(generator, n, output, seed=sample_seed, batch_size=sample_batch_size,
                           truncation=truncation, class_index=class_index, force=force, code=code, caption=caption)
    emit(result, as_json, f"wrote {result['n']} samples to {result['output']} ({result['format']}; "
                          f"{result['model']} on {result['data']}, step {result['step']}, seed {sample_seed})")


@cli.command("sweep")
@click.argument("generator")
@click.option("--ref", default=None, help="Reference images, features file or (FID/IS only) statistics file.")
@option("truncations", "--truncation", default=",".join(map(str, DEFAULTS.truncations)), type=str,
        help="Truncation levels: a comma list or start:stop:num.")
@option("sweep_n", "-n")
@option("sweep_metrics", "--metrics", default=",".join(DEFAULTS.sweep_metrics), type=str,
        help=registry.choices_help("sweep"))
@click.option("--method", type=click.Choice(METHODS), default=METHODS[0], show_default=True,
              help="resample: BigGAN paper (|z| > t redrawn); scale: TF-Hub BigGAN (t * truncnorm(-2, 2)); "
                   "psi: StyleGAN (w_avg + psi (w - w_avg); scales z for plain generators).")
@option("sample_seed", "--seed", help="Latents; the same at every level.")
@click.option("--z-dim", type=int, default=None, help="Latent size of a GENERATOR file (TorchScript, .pt2 or .onnx).")
@click.option("--modes-data", type=click.Choice(["ring8", "grid25"]), default=None,
              help="Toy data set for --metrics modes [default: the run's data].")
@option("splits")
@option("sample_batch_size")
@click.option("-o", "--output", default=None, help="Write OUT.csv, OUT.json and OUT.png (the plot).")
@click.option("--force", is_flag=True, help="Replace OUT.csv, OUT.json and OUT.png if they exist.")
@dims_option
@extraction_options
@friendly_errors
def sweep_command(generator, ref, truncations, sweep_n, sweep_metrics, method, sample_seed, z_dim, modes_data,
                  splits, sample_batch_size, output, force, as_json, **kwargs):
    """Metrics of GENERATOR's samples against truncation level: the quality/diversity curve.

    GENERATOR is a run folder or checkpoint of genmetrics train, or a TorchScript, torch.export (.pt2) or
    ONNX (.onnx) file mapping z (N, Z) to images in [-1, 1] (or uint8) with --z-dim Z. Every level uses the same latents but for the
    truncation (common random numbers), so the curve is smooth. --batch-size is the feature network's
    batch, --sample-batch-size the generator's; neither changes the numbers.

    \b
    Examples:
      genmetrics sweep runs/cifar --ref cifar10.npz -n 10000 -o sweep
      genmetrics sweep G.pt --z-dim 128 --ref real/ --truncation 2:0.1:8 --method scale
      genmetrics sweep runs/ring --metrics modes --truncation 2,1,0.5,0.25 -n 2500
    """
    if output:
        output_paths(output, force=force)  # before the sweep, not after it
    options = library_options(kwargs)
    model, z_dim, modes_data = open_generator(generator, z_dim, modes_data, options["device"])
    rows = truncation_sweep(model, z_dim, ref, truncations, n=sweep_n, metrics=sweep_metrics, method=method,
                            seed=sample_seed, sample_batch_size=sample_batch_size, modes_data=modes_data,
                            splits=splits, **options)
    paths = write_outputs(output, rows, force=force) if output and main_process() else []
    emit(rows, as_json, table(rows) + "".join(f"\nwrote {p}" for p in paths))


@cli.command("modes")
@click.argument("samples")
@click.option("--data", default=None, help="ring8 or grid25 [default: the run's data].")
@option("toy_samples", "-n", help="Samples drawn from a run (PacGAN: 2,500).")
@option("sample_seed", "--seed", help="Seed of the samples drawn from a run.")
@json_option
@friendly_errors
def modes_command(samples, data, toy_samples, sample_seed, as_json):
    """Mode coverage of 2-D samples on ring8 or grid25 (PacGAN / VEEGAN): modes with at least one
    high-quality sample (within 3 std of a mode), the high-quality fraction, and the reverse KL between
    the high-quality samples' mode histogram and the uniform one.

    SAMPLES is a .npy of float (N, 2) points or a toy run folder / checkpoint (N samples are drawn).

    \b
    Examples:
      genmetrics modes ring.npy --data ring8
      genmetrics modes runs/ring --json
    """
    result = mode_coverage_of(samples, data, n=toy_samples, seed=sample_seed)
    kl = "undefined (no high-quality sample)" if result.reverse_kl is None else f"{result.reverse_kl:.4f} nats"
    emit(result.to_dict(), as_json,
         f"{result.data}: {result.modes_covered}/{result.n_modes} modes covered, "
         f"{result.high_quality:.1%} high quality, reverse KL {kl}  (n={result.n})")
