"""The reference trainers: every family runs, resume equals an uninterrupted run, sampling is deterministic."""
import json
import os
import signal

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import genmetrics
from genmetrics.cli import cli
from genmetrics.trainers import MODELS, TrainingInterrupted, load_generator, train

TINY = dict(batch_size=16, g_width=8, d_width=8, sample_every=2, checkpoint_every=2, log_every=1, device="cpu")


@pytest.mark.parametrize("model", MODELS)
def test_every_model_trains_on_digits_and_writes_its_run_folder(tmp_path, model):
    out = tmp_path / model
    result = train(model, "digits", out, steps=2, seed=0, progress=False, **TINY)
    assert result.step == 2
    for name in ("config.json", "metrics.jsonl", "checkpoints/latest.pt", "samples"):
        assert (out / name).exists(), name
    assert list((out / "samples").glob("step_*.png"))
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == model and config["data"] == "digits"
    generator = load_generator(out)
    images = generator(torch.zeros(3, generator.z_dim))
    assert images.shape[0] == 3 and images.min() >= -1 and images.max() <= 1


def generator_output(run):
    g = load_generator(run)
    return g(torch.randn(8, g.z_dim, generator=torch.Generator().manual_seed(5))).detach()


@pytest.mark.parametrize("model, data", [("wgan-gp", "digits"), ("gan", "ring8")])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, model, data):
    train(model, data, tmp_path / "whole", steps=6, seed=3, progress=False, **TINY)
    train(model, data, tmp_path / "split", steps=6, seed=3, progress=False, max_steps=3, **TINY)
    train(None, None, tmp_path / "split", resume=True, progress=False)
    # Data order and noise are functions of (seed, step): the same float32 operations in the same order,
    # so the generators agree to round-off (1e-6 allows for kernel choices between processes).
    torch.testing.assert_close(generator_output(tmp_path / "split"), generator_output(tmp_path / "whole"),
                               rtol=1e-6, atol=1e-6)


def test_sigterm_writes_a_checkpoint(tmp_path):
    def send_sigterm(state):
        if state.step == 2:
            os.kill(os.getpid(), signal.SIGTERM)
    with pytest.raises(TrainingInterrupted):
        train("gan", "ring8", tmp_path / "run", steps=50, seed=0, progress=False, callback=send_sigterm, **TINY)
    assert load_generator(tmp_path / "run").step == 2


def test_sampling_is_deterministic_across_batch_sizes(tmp_path):
    train("dcgan", "digits", tmp_path / "run", steps=1, seed=0, progress=False, **TINY)
    runner = CliRunner()
    for batch in (7, 64):
        result = runner.invoke(cli, ["sample", str(tmp_path / "run"), "-n", "20", "-o",
                                     str(tmp_path / f"s{batch}.npz"), "--batch-size", str(batch), "--seed", "4"])
        assert result.exit_code == 0, result.output
    with np.load(tmp_path / "s7.npz") as a, np.load(tmp_path / "s64.npz") as b:
        first, second = a[a.files[0]], b[b.files[0]]
    assert first.dtype == np.uint8 and first.shape[0] == 20 and np.array_equal(first, second)


def test_gan_on_ring8_covers_more_modes_than_its_initialisation(tmp_path):
    train("gan", "ring8", tmp_path / "start", steps=1, seed=0, progress=False, device="cpu")
    train("gan", "ring8", tmp_path / "trained", steps=600, seed=0, progress=False, device="cpu")

    def covered(run):
        points = load_generator(run).sample(2500, seed=0)[0].numpy()
        return genmetrics.mode_coverage(points, "ring8").modes_covered
    assert covered(tmp_path / "trained") > covered(tmp_path / "start")


def test_cli_bad_input(tmp_path):
    runner = CliRunner()
    for args, fragment in ((["train", "nope", "--data", "digits", "--out", str(tmp_path / "a")], "unknown model"),
                           (["train", "gan", "--data", "nowhere", "--out", str(tmp_path / "b")], "nowhere"),
                           (["sample", str(tmp_path / "missing"), "-n", "3", "-o", str(tmp_path / "c")], "missing")):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2 and fragment in result.stderr and "Traceback" not in result.stderr, result.stderr
