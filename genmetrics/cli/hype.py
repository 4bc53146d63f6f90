"""genmetrics hype: run a HYPE human evaluation (Zhou et al., NeurIPS 2019) from a study folder."""
from __future__ import annotations

import click

from .. import hype
from ..defaults import DEFAULTS
from ..errors import GenmetricsError
from ..hype.protocol import METHODS, RATERS_PER_MODEL, Protocol
from ..hype.server import PORT
from .common import cli, emit, friendly_errors, json_option

PAPER = Protocol()


@cli.group("hype")
def hype_group():
    """Human evaluation with HYPE: prepare a study, serve it to raters, score it.

    \b
    Examples:
      genmetrics hype new study --real real/ --fake ours=fake/ --method infinity
      genmetrics hype invite study -n 30 --base-url http://my-host:8000
      genmetrics hype serve study                    (loopback only; --host 0.0.0.0 to open it)
      genmetrics hype status study
      genmetrics hype score study -o report
      genmetrics hype export study -o judgments.csv
    """


def _fakes(values) -> dict:
    out = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise GenmetricsError(f"--fake {value!r}: write NAME=PATH, e.g. --fake stylegan=samples/")
        if name in out:
            raise GenmetricsError(f"--fake {name}=...: the model name {name!r} is given twice")
        out[name] = path
    return out


@hype_group.command("new")
@click.argument("study")
@click.option("--real", required=True, help="The real images: a folder, .zip or .npy/.npz.")
@click.option("--fake", "fakes", multiple=True, required=True, help="NAME=PATH: one model's images; repeat for more.")
@click.option("--method", type=click.Choice(METHODS), default="infinity", show_default=True,
              help="infinity: error rate without time limit; time: exposure threshold by staircase.")
@click.option("--size", default=None, help="Every image resized to N or WxH pixels [the first real image's].")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True,
              help="Seed of the per-rater draws and the masks.")
@click.option("--tutorial-n", type=int, default=PAPER.tutorial_n, show_default=True,
              help="Practice images with their labels (the paper gives no count).")
@click.option("--qualification-n", type=int, default=PAPER.qualification_n, show_default=True,
              help="Qualification images, 50/50, pass at 65% on each half (paper); 0: no qualification.")
@click.option("--task-n", type=int, default=PAPER.task_n, show_default=True,
              help="HYPE-infinity images per rater (paper).")
@click.option("--blocks", type=int, default=PAPER.blocks, show_default=True, help="HYPE-time staircases (paper).")
@click.option("--block-n", type=int, default=PAPER.block_n, show_default=True,
              help="HYPE-time images per staircase (paper).")
@click.option("--force", is_flag=True, help="Replace STUDY if it is a study folder.")
@json_option
@friendly_errors
def new_command(study, real, fakes, method, size, seed, tutorial_n, qualification_n, task_n, blocks, block_n,
                force, as_json):
    """Prepare the study folder STUDY: re-encode every image identically under a random name, make the
    masks, create the database and the admin token (STUDY/admin_token). The counts default to the paper's.

    \b
    Examples:
      genmetrics hype new study --real real/ --fake ours=fake/ --method infinity
      genmetrics hype new study --real ffhq.zip --fake sg2=a.npz --fake sg2-trunc=b.npz --method time --size 256
    """
    result = hype.create_study(study, real, _fakes(fakes), method=method, size=size, seed=seed, force=force,
                               tutorial_n=tutorial_n, qualification_n=qualification_n, task_n=task_n,
                               blocks=blocks, block_n=block_n)
    result.pop("admin_token")
    emit(result, as_json, f"study {result['study']}: HYPE-{method}, {result['n_real']} real images, "
                          f"models {', '.join(f'{m} ({n})' for m, n in result['n_fake'].items())}, "
                          f"{result['size'][0]}x{result['size'][1]} px\nadmin token in {result['study']}/admin_token"
                          f"; next: genmetrics hype invite {study} -n {RATERS_PER_MODEL * len(result['models'])}")


@hype_group.command("invite")
@click.argument("study")
@click.option("-n", "n", type=int, default=RATERS_PER_MODEL, show_default=True,
              help="Raters to invite (the paper uses 30 per model).")
@click.option("--model", default=None, help="All of them rate this model [models in turn].")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True,
              help="Where raters reach the server.")
@json_option
@friendly_errors
def invite_command(study, n, model, base_url, as_json):
    """Print one private link per new rater (each with its own draw of images).

    \b
    Examples:
      genmetrics hype invite study -n 30 --base-url https://study.example.org
      genmetrics hype invite study -n 5 --model ours --json
    """
    links = hype.invite(study, n, model=model, base_url=base_url)
    emit(links, as_json, "\n".join(f"{link['url']}\t{link['model']}" for link in links))


@hype_group.command("serve")
@click.argument("study")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; 0.0.0.0 opens the study to the network (put TLS in front).")
@click.option("--port", type=int, default=PORT, show_default=True)
@friendly_errors
def serve_command(study, host, port):
    """Serve the study's pages to raters until Ctrl-C. Every answer is committed as it arrives.

    \b
    Examples:
      genmetrics hype serve study                          http://127.0.0.1:8000 (this machine only)
      genmetrics hype serve study --host 0.0.0.0 --port 8080   open to the network: put TLS in front
    """
    hype.load_study(study)
    click.echo(f"serving {study} on http://{host}:{port} (Ctrl-C stops; nothing is lost)", err=True)
    hype.serve(study, host=host, port=port)


@hype_group.command("status")
@click.argument("study")
@json_option
@friendly_errors
def status_command(study, as_json):
    """Progress: raters invited, started, qualified, failed and finished per model; trials stored.

    \b
    Example:
      genmetrics hype status study --json
    """
    result = hype.status(study)
    lines = [f"{result['method']}: {result['trials_stored']} of {result['trials_assigned']} trials stored"]
    lines += [f"  {m:<16} " + "  ".join(f"{k.replace('_', ' ')} {v}" for k, v in e.items())
              for m, e in result["models"].items()]
    emit(result, as_json, "\n".join(lines))


@hype_group.command("score")
@click.argument("study")
@click.option("-o", "--output", default=None, help="Write report.json, report.txt and report.png to this folder.")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True, help="Seed of the bootstrap over raters.")
@json_option
@friendly_errors
def score_command(study, output, seed, as_json):
    """Per model: HYPE score, 95% bootstrap CI over raters, qualified raters; ANOVA and Tukey between models.

    \b
    Examples:
      genmetrics hype score study
      genmetrics hype score study -o report --json        report.json, report.txt, report.png
    """
    result = hype.score(study, seed=seed)
    if output:
        result["report"] = hype.write_report(result, output)
    emit(result, as_json, hype.summary(result))


@hype_group.command("export")
@click.argument("study")
@click.option("-o", "--output", required=True, help="The CSV file to write (one row per trial).")
@json_option
@friendly_errors
def export_command(study, output, as_json):
    """Every trial with its rater, model, image, label, answer and timings, as CSV.

    \b
    Example:
      genmetrics hype export study -o judgments.csv
    """
    result = hype.export(study, output)
    emit(result, as_json, f"wrote {result['trials']} trials to {result['output']}")
