"""Reference GAN trainers: tiny runs of every family, resume equality, signals, sampling, CLI end to end.

Everything runs on the CPU in seconds: images are scikit-learn's digits at 16x16 with networks a few
channels wide, toy runs use small MLPs. Tolerances are stated where a comparison is not exact.
"""
import json
import os
import signal
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from genmetrics import GenmetricsError, load_generator
from genmetrics.cli import cli
from genmetrics.metrics.modes import mode_coverage
from genmetrics.testing import synthetic_images, write_image_folder
from genmetrics.trainers import FAMILIES, MODELS, TrainingInterrupted, prepare, sample_noise, train
from genmetrics.trainers.checkpoint import read_checkpoint
from genmetrics.trainers.evaluate import evaluate_run
from genmetrics.trainers.state import TrainingState
from genmetrics.trainers.nets import conv_layout
from genmetrics.trainers.wgan_gp import interpolation_factors

pytest.importorskip("sklearn")  # digits come from scikit-learn (an optional extra)

# Tiny image settings: 16x16 digits, 4-8 channels, 8 images per batch; no periodic grids/checkpoints.
TINY_IMAGE = dict(image_size=16, g_width=8, d_width=8, batch_size=8, sample_every=0, checkpoint_every=0,
                  log_every=1, device="cpu", z_dim=8)
TINY_TOY = dict(g_width=16, g_depth=2, d_width=16, d_depth=2, batch_size=16, sample_every=0, checkpoint_every=0,
                log_every=1, device="cpu", eval_every=0, z_dim=2)


def tiny(kind: str, model: str, **extra) -> dict:
    options = dict(TINY_IMAGE if kind == "image" else TINY_TOY)
    if model == "unrolled":
        options["unroll_steps"] = 2
    if model in ("acgan", "cgan", "sgan", "infogan", "unrolled"):
        options["batch_size"] = 10 if kind == "image" else 16
    return {**options, **extra}


def states(run_dir) -> dict:
    return torch.load(run_dir / "checkpoints" / "latest.pt", weights_only=True)


def assert_same_weights(a: dict, b: dict) -> None:
    # Same ops in the same order on the same inputs: bit-identical on one machine; 1e-6 absolute would
    # allow only for reductions whose order a multi-threaded kernel might change.
    for part in ("generator", "discriminator"):
        assert a[part].keys() == b[part].keys()
        for key in a[part]:
            torch.testing.assert_close(a[part][key], b[part][key], rtol=0, atol=1e-6, msg=f"{part}.{key}")
    for part in ("opt_g", "opt_d"):
        for index, state in a[part]["state"].items():
            for name, value in state.items():
                torch.testing.assert_close(value, b[part]["state"][index][name], rtol=0, atol=1e-6)


# Likelihood models of binary pixels (nade, vae) train on the binarised digits; the others on grey levels.
BINARY_ONLY = [m for m in MODELS if 256 not in getattr(FAMILIES[m], "supported_levels", (256,))]
TOY_MODELS = [m for m in MODELS if "toy" in FAMILIES[m].data_kinds]


# Translation models (pix2pix, cyclegan, ...) train on pairs of domains: tests/test_translation.py; stackgan on
# captioned digits: tests/test_stackgan.py.
ONE_SET = [m for m in MODELS if not FAMILIES[m].translation and not getattr(FAMILIES[m], "captioned", False)]


@pytest.mark.parametrize("model", ONE_SET)
def test_every_model_trains_on_digits(tmp_path, model):
    data = "digits-binary" if model in BINARY_ONLY else "digits"
    result = train(model, data, tmp_path / "run", steps=2, progress=False, **tiny("image", model))
    run = tmp_path / "run"
    assert result.step == 2 and not result.stopped_early
    assert json.loads((run / "config.json").read_text())["model"] == model
    assert (run / "checkpoints" / "latest.pt").is_file() and (run / "checkpoints" / "best.pt").is_file()
    grid = Image.open(run / "samples" / "step_000002.png")
    assert grid.size[0] > 16 and grid.size[1] > 16
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    records = [r for r in records if "losses" in r]  # not a family's final measure (sgan, cgan, ...)
    assert [r["step"] for r in records] == [1, 2]
    assert all(np.isfinite(v) for r in records for v in r["losses"].values())
    payload = states(run)
    assert payload["config"]["model"] == model and payload["step"] == 2
    assert set(payload["rng"]) >= {"torch", "numpy", "python", "data"}


def test_toy_runs_use_one_thread_and_restore_the_count(tmp_path):
    # loop.TOY_THREADS: one intra-op thread while a toy run trains on the CPU, the caller's count after.
    seen = []
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        train("gan", "ring8", tmp_path / "run", steps=2, progress=False, callback=lambda run: seen.append(
            torch.get_num_threads()), **tiny("toy", "gan"))
        assert seen == [1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("model", TOY_MODELS)
def test_every_model_trains_on_toy_data(tmp_path, model):
    train(model, "ring8", tmp_path / "run", steps=2, progress=False, **tiny("toy", model))
    generator = load_generator(tmp_path / "run")
    points, labels = generator.sample(20, seed=1)
    assert points.shape == (20, 2) and torch.isfinite(points).all()
    assert (labels is not None) == bool(generator.num_classes)  # class-conditional (acgan, cgan) or a code
    assert (generator.num_classes is not None) == FAMILIES[model].conditional or model == "infogan"


@pytest.mark.parametrize("model,data", [("gan", "ring8"), ("unrolled", "ring8"), ("infogan", "digits")])
def test_generator_update_leaves_the_discriminator_gradients_alone(tmp_path, model, data):
    # The generator's update runs with D frozen (state.frozen): D's .grad after the step is exactly what
    # D's own update left, and D's parameters are trainable again afterwards.
    kind = "toy" if data == "ring8" else "image"
    config, opened, _ = prepare(model, data, tmp_path / "run", **tiny(kind, model, steps=3))
    run = TrainingState(config, opened, torch.device("cpu"))
    after_d = {}
    run.family.after_discriminator_step = lambda r: after_d.update(
        {name: p.grad.clone() for name, p in r.D.named_parameters() if p.grad is not None})
    run.train_step()
    assert after_d and all(p.requires_grad for p in run.D.parameters())
    for name, p in run.D.named_parameters():
        if name in after_d:
            assert torch.equal(p.grad, after_d[name]), name


@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_lsgan_losses_are_half_squared_errors_and_take_the_r1_penalty(tmp_path, gamma):
    """Mao et al. 2017 Eq. 2 with a = 0, b = c = 1, plus gamma / 2 E|grad D(x)|^2 on real data (R1)."""
    config, opened, _ = prepare("lsgan", "ring8", tmp_path / "run", **tiny("toy", "lsgan", r1_gamma=gamma))
    run = TrainingState(config, opened, torch.device("cpu"))
    real = torch.randn(6, 2, generator=torch.Generator().manual_seed(0))
    loss_d, logs = run.family.discriminator_loss(run, real.clone(), None, torch.Generator().manual_seed(1))
    x = real.clone().requires_grad_(True)
    score_real = run.D(x)[:, 0]
    (grad,) = torch.autograd.grad(score_real.sum(), x)
    score_fake = run.D(run.fake(6, torch.Generator().manual_seed(1)))[:, 0]
    expected = (0.5 * (score_real - 1).pow(2).mean() + 0.5 * score_fake.pow(2).mean()
                + gamma / 2 * grad.pow(2).sum(dim=1).mean())
    torch.testing.assert_close(loss_d, expected, rtol=1e-6, atol=0)  # float32: the same sums in another order
    assert ("r1" in logs) == (gamma > 0)
    loss_g, _ = run.family.generator_loss(run, real, None, torch.Generator().manual_seed(2))
    score_g = run.D(run.fake(6, torch.Generator().manual_seed(2)))[:, 0]
    torch.testing.assert_close(loss_g, 0.5 * (score_g - 1).pow(2).mean(), rtol=1e-6, atol=0)


def test_r1_penalty_is_refused_where_the_discriminator_loss_cannot_take_it(tmp_path):
    # The families that take it are those training D with Family.discriminator_loss, listed from the registry.
    with pytest.raises(GenmetricsError, match=r"r1_gamma applies to dcgan, gan, lsgan, unrolled .* not to wgan"):
        prepare("wgan", "ring8", tmp_path / "r", r1_gamma=0.1)
    assert prepare("lsgan", "ring8", tmp_path / "l", r1_gamma=0.5)[0].r1_gamma == 0.5


@pytest.mark.parametrize("model,data", [("dcgan", "digits"), ("wgan-gp", "ring8"), ("unrolled", "ring8"),
                                        ("gan", "ring8")])
def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path, model, data):
    kind = "toy" if data == "ring8" else "image"
    # gan with its R1 penalty; wgan-gp with several critic updates a step (its toy default is one), so that
    # resuming is checked where a step reads several data batches.
    extra = {"gan": dict(r1_gamma=0.1), "wgan-gp": dict(n_critic=3)}.get(model, {})
    options = tiny(kind, model, lr_decay="linear", **extra)
    train(model, data, tmp_path / "whole", steps=6, progress=False, **options)
    first = train(model, data, tmp_path / "split", steps=6, max_steps=3, progress=False, **options)
    assert first.stopped_early and states(tmp_path / "split")["step"] == 3
    train(None, None, tmp_path / "split", resume=True, progress=False)
    assert_same_weights(states(tmp_path / "whole"), states(tmp_path / "split"))
    losses = [[json.loads(line)["losses"] for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
              for name in ("whole", "split")]
    assert losses[0] == losses[1]  # the same floats at every step: the same trajectory


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_writes_checkpoint_then_resume_matches(tmp_path, sig):
    options = tiny("toy", "gan")
    train("gan", "ring8", tmp_path / "whole", steps=5, progress=False, **options)

    def send_at_step_2(state):
        if state.step == 2:
            os.kill(os.getpid(), sig)

    handler_before = signal.getsignal(sig)
    with pytest.raises(KeyboardInterrupt) as caught:  # TrainingInterrupted is a KeyboardInterrupt
        train("gan", "ring8", tmp_path / "split", steps=5, progress=False, callback=send_at_step_2, **options)
    assert isinstance(caught.value, TrainingInterrupted) and caught.value.step == 2
    assert states(tmp_path / "split")["step"] == 2
    assert signal.getsignal(sig) is handler_before  # the loop's handler is gone again
    train(None, None, tmp_path / "split", resume=True, progress=False)
    assert_same_weights(states(tmp_path / "whole"), states(tmp_path / "split"))


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("digits") / "run"
    train("dcgan", "digits", run, steps=2, progress=False, **TINY_IMAGE)
    return run


def test_sampling_does_not_depend_on_batch_size(digits_run, tmp_path):
    generator = load_generator(digits_run)
    a, _ = generator.sample(7, seed=3, batch_size=2)
    b, _ = generator.sample(7, seed=3, batch_size=7)
    c, _ = generator.sample(5, seed=3, batch_size=5)
    # The latents are identical by construction; the network in eval mode maps each sample on its own,
    # but a batched kernel may sum in another order: 1e-6 on values in [-1, 1].
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    torch.testing.assert_close(a[:5], c, rtol=0, atol=1e-6)
    assert not torch.allclose(a, generator.sample(7, seed=4)[0])
    # Any slice of the sample indices (a torchrun rank's share) draws those samples, across noise chunks.
    z, labels = sample_noise(2500, 3, seed=3, truncation=1.5, num_classes=4)
    part, part_labels = sample_noise(1300, 3, seed=3, truncation=1.5, num_classes=4, start=999)
    assert torch.equal(part, z[999:2299]) and torch.equal(part_labels, labels[999:2299])
    torch.testing.assert_close(generator.sample(3, seed=3, start=4)[0], a[4:], rtol=0, atol=1e-6)
    runner = CliRunner()
    for batch, out in ((3, "x"), (7, "y")):
        result = runner.invoke(cli, ["sample", str(digits_run), "-n", "7", "-o", str(tmp_path / out),
                                     "--seed", "3", "--batch-size", str(batch)])
        assert result.exit_code == 0, result.output
    for i in range(7):
        x = np.asarray(Image.open(tmp_path / "x" / f"{i:06d}.png"), np.int16)
        y = np.asarray(Image.open(tmp_path / "y" / f"{i:06d}.png"), np.int16)
        assert np.abs(x - y).max() <= 1  # a 1e-6 difference can flip one rounding step of 8 bits


def test_noise_chunks_and_truncation():
    z1, _ = sample_noise(2500, 4, seed=0)
    z2, _ = sample_noise(1200, 4, seed=0)
    assert torch.equal(z1[:1200], z2)
    zt, _ = sample_noise(500, 4, seed=0, truncation=0.5)
    assert zt.abs().max() <= 0.5 and not torch.equal(zt, z1[:500])
    with pytest.raises(GenmetricsError, match="truncation"):
        sample_noise(5, 4, seed=0, truncation=0.0)


def test_load_generator_is_a_callable(digits_run, tmp_path):
    generator = load_generator(digits_run / "checkpoints" / "best.pt")
    assert generator.z_dim == 8 and generator.num_classes is None and generator.kind == "image"
    images = generator(torch.randn(3, 8))
    assert images.shape == (3, 1, 16, 16) and images.min() >= -1 and images.max() <= 1
    result = CliRunner().invoke(cli, ["sample", str(digits_run), "-n", "5", "-o", str(tmp_path / "s.npz"),
                                      "--truncation", "0.7", "--json"])
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "s.npz") as data:
        assert data["images"].shape == (5, 16, 16, 1) and data["images"].dtype == np.uint8


def test_acgan_on_class_folders_samples_one_class(tmp_path):
    for name, seed in (("cats", 1), ("dogs", 2)):
        write_image_folder(tmp_path / "photos" / name, synthetic_images(6, size=16, seed=seed))
    train("acgan", str(tmp_path / "photos"), tmp_path / "run", steps=2, progress=False,
          **{**TINY_IMAGE, "batch_size": 4})
    generator = load_generator(tmp_path / "run")
    assert generator.num_classes == 2 and generator.channels == 3
    images, labels = generator.sample(4, class_index=1)
    assert images.shape == (4, 3, 16, 16) and labels.tolist() == [1, 1, 1, 1]
    write_image_folder(tmp_path / "flat", synthetic_images(4, size=16, seed=3))
    with pytest.raises(GenmetricsError, match="class labels"):
        prepare("acgan", str(tmp_path / "flat"), tmp_path / "r2")


def test_fid_evaluation_while_training(tmp_path, weights):
    # Random Inception weights (no download here); 10 samples + 10 reference images per evaluation.
    result = train("dcgan", "digits", tmp_path / "run", steps=2, eval_every=1, eval_n=10, weights=weights,
                   progress=False, **TINY_IMAGE)
    evals = [json.loads(line)["eval"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
             if "eval" in json.loads(line)]
    assert len(evals) == 2 and all(np.isfinite(e["fid"]) and e["fid"] >= 0 for e in evals)
    assert result.best["fid"] == min(e["fid"] for e in evals)
    assert (tmp_path / "run" / "eval_ref_stats.npz").is_file()
    assert read_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")["step"] == result.best["step"]


def test_gan_on_ring8_covers_more_modes_than_its_initialisation(tmp_path):
    # The default toy settings, 400 steps: the initial generator puts every point near the origin
    # (no mode within 3 std); a few hundred steps reach the ring. Seeded, so this is deterministic.
    options = dict(steps=400, eval_every=0, sample_every=0, checkpoint_every=0, device="cpu")
    config, data, _ = prepare("gan", "ring8", tmp_path / "run", **options)
    before = evaluate_run(TrainingState(config, data, torch.device("cpu")))
    train("gan", "ring8", tmp_path / "run", progress=False, **options)
    after = mode_coverage(load_generator(tmp_path / "run").sample(2500)[0], "ring8")
    assert after.modes_covered > before["modes_covered"]


def test_wgan_gp_interpolates_per_sample():
    gen = torch.Generator().manual_seed(0)
    eps = interpolation_factors(6, 4, gen, "cpu")
    assert eps.shape == (6, 1, 1, 1) and len(set(eps.flatten().tolist())) == 6


def test_conv_layout_scales_to_the_resolution():
    assert conv_layout(28) == (7, 2) and conv_layout(32) == (4, 3) and conv_layout(64) == (4, 4)


def test_bad_inputs_raise_genmetrics_errors(tmp_path, monkeypatch):
    with pytest.raises(GenmetricsError, match="unknown model"):
        prepare("stylegan9", "digits", tmp_path / "r")
    with pytest.raises(GenmetricsError, match="no such folder"):
        prepare("dcgan", str(tmp_path / "nope"), tmp_path / "r")
    with pytest.raises(GenmetricsError, match="--steps or --epochs"):
        prepare("dcgan", "digits", tmp_path / "r", steps=3, epochs=1)
    with pytest.raises(GenmetricsError, match="no epochs"):
        prepare("gan", "ring8", tmp_path / "r", epochs=1)
    with pytest.raises(GenmetricsError, match="--resume"):
        prepare(None, None, tmp_path / "r", resume=True)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # as if scikit-learn were not installed
    with pytest.raises(GenmetricsError, match="pip install scikit-learn"):
        prepare("dcgan", "digits", tmp_path / "r")


def test_offline_torchvision_dataset_says_how_to_fix(tmp_path, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, root, train, download):
            raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torchvision.datasets, "MNIST", Offline)
    with pytest.raises(GenmetricsError, match="--data-root") as caught:
        prepare("dcgan", "mnist", tmp_path / "r", data_root=str(tmp_path / "data"))
    assert "folder of images" in str(caught.value)


@pytest.mark.parametrize("model,data,expected", [
    ("gan", "ring8", dict(steps=16000, r1_gamma=0.1, g_width=400)),
    ("gan", "grid25", dict(steps=16000, r1_gamma=0.1, g_width=400)),
    ("unrolled", "ring8", dict(steps=8000, r1_gamma=0.1, g_width=128, g_depth=2, d_width=128, unroll_steps=5)),
    ("unrolled", "grid25", dict(steps=12000, r1_gamma=0.1, g_width=400, g_depth=4, d_width=128)),
    ("lsgan", "ring8", dict(steps=8000, lr_g=1e-3, lr_decay="linear", batch_size=100, r1_gamma=0.1)),
    ("lsgan", "grid25", dict(steps=16000, lr_g=1e-3, lr_decay="linear", batch_size=100, r1_gamma=0.1)),
    ("wgan", "ring8", dict(steps=8000, optimizer="rmsprop", lr_g=2e-4, lr_decay="linear", clip_value=0.01,
                           n_critic=5, batch_size=100)),
    ("wgan", "grid25", dict(steps=12000, lr_g=2e-4, lr_decay="linear", n_critic=5, batch_size=100)),
    ("wgan-gp", "ring8", dict(steps=8000, lr_g=1e-3, lr_decay="linear", beta2=0.9, gp_lambda=0.1, n_critic=1,
                              batch_size=100)),
    ("wgan-gp", "grid25", dict(steps=12000, lr_g=1e-3, lr_decay="linear", beta2=0.9, gp_lambda=1.0, n_critic=1,
                               batch_size=100))])
def test_toy_defaults_are_the_measured_ones(tmp_path, model, data, expected):
    # The settings docs/trainers.md's toy table was measured at (the family's toy_defaults, then
    # presets.DATASET_DEFAULTS and TUNED_DEFAULTS); an explicit option still wins.
    config = prepare(model, data, tmp_path / "a")[0].to_dict()
    assert {key: config[key] for key in expected} == expected
    assert prepare(model, data, tmp_path / "b", steps=5, r1_gamma=0.0)[0].steps == 5


def test_cli_end_to_end(tmp_path):
    runner = CliRunner()
    run = str(tmp_path / "run")
    tiny_cli = ["--steps", "2", "--batch-size", "8", "--image-size", "16", "--device", "cpu", "-q",
                "--set", "g_width=8", "--set", "d_width=8", "--set", "z_dim=8", "--sample-every", "0"]
    dry = runner.invoke(cli, ["train", "dcgan", "--data", "digits", "--out", run, "--dry-run", *tiny_cli])
    assert dry.exit_code == 0, dry.output
    config = json.loads(dry.output)
    # lr 5e-4: the digits run's tuned rate (presets.TUNED_DEFAULTS); beta1 DCGAN's; steps and width the options'.
    assert (config["lr_g"], config["beta1"], config["steps"], config["g_width"]) == (5e-4, 0.5, 2, 8)
    assert not (tmp_path / "run").exists()  # a dry run writes nothing
    result = runner.invoke(cli, ["train", "dcgan", "--data", "digits", "--out", run, "--json", *tiny_cli])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["step"] == 2
    result = runner.invoke(cli, ["sample", run, "-n", "3", "-o", str(tmp_path / "png")])
    assert result.exit_code == 0 and len(list((tmp_path / "png").glob("*.png"))) == 3
    toy = str(tmp_path / "toy")
    result = runner.invoke(cli, ["train", "gan", "--data", "ring8", "--out", toy, "--steps", "2", "-q",
                                 "--set", "g_width=8", "--set", "d_width=8", "--eval-every", "0"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["modes", toy, "-n", "50", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["n_modes"] == 8
    result = runner.invoke(cli, ["sample", toy, "-n", "4", "-o", str(tmp_path / "p.npy")])
    assert result.exit_code == 0 and np.load(tmp_path / "p.npy").shape == (4, 2)

    errors = [["train", "stylegan9", "--data", "digits", "--out", str(tmp_path / "a")],
              ["train", "dcgan", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "b")],
              ["train", "dcgan", "--data", "digits", "--out", run],                  # exists, no --resume
              ["train", "--out", run, "--resume", "--batch-size", "16"],             # changes a stored setting
              ["train", "dcgan", "--data", "digits", "--out", str(tmp_path / "c"), "--set", "nonsense=1"],
              ["sample", str(tmp_path / "no-such-run"), "-n", "2", "-o", str(tmp_path / "d")],
              ["sample", run, "-n", "2", "-o", str(tmp_path / "e"), "--class", "1"],  # not acgan
              ["sample", toy, "-n", "2", "-o", str(tmp_path / "f")],                 # toy needs .npy
              ["modes", run]]                                                         # image model
    for args in errors:
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("genmetrics: error:"), (args, result.output)


def test_set_none_is_a_choice_where_none_is_one_and_unset_elsewhere():
    # `--set d_norm=none` used to come back as None, which resolve_config drops as "not given": the run
    # silently kept batch norm in D.
    from genmetrics.trainers.config import parse_setting

    assert parse_setting("d_norm=none") == ("d_norm", "none")
    assert parse_setting("d_norm=None") == ("d_norm", "none")
    assert parse_setting("clip_value=none") == ("clip_value", None)
    config = prepare("dcgan", "digits", "unused", d_norm=parse_setting("d_norm=none")[1], **TINY_IMAGE)[0]
    assert config.d_norm == "none"


def test_offline_first_run_train_sample_parzen_on_held_out_digits(digits_run, tmp_path):
    """The README's offline path: a digits run, its samples, held-out digits from `genmetrics data`, and
    `genmetrics parzen` of the samples on them; nothing downloaded."""
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(cli, [str(a) for a in args])
        assert result.exit_code == 0, result.output
        return result.stdout

    run("sample", digits_run, "-n", "64", "-o", tmp_path / "samples.npz")
    for split in ("valid", "test"):
        run("data", "digits", "--split", split, "--image-size", "16", "-o", tmp_path / f"{split}.npz")
    from sklearn.datasets import load_digits

    with np.load(tmp_path / "test.npz") as test:  # the last 150 of scikit-learn's 1,797
        assert test["images"].shape == (150, 16, 16, 1) and np.array_equal(test["labels"], load_digits().target[-150:])
    report = json.loads(run("parzen", tmp_path / "samples.npz", tmp_path / "test.npz", "--valid",
                            tmp_path / "valid.npz", "--gray", "--json", "-q"))
    assert report["n_test"] == report["n_valid"] == 150 and report["dim"] == 256
    assert np.isfinite(report["log_likelihood"]) and report["sigma"] > 0
    bad = runner.invoke(cli, ["data", "digits", "--split", "holdout", "-o", str(tmp_path / "x.npz")])
    assert bad.exit_code == 2 and "splits train, valid, test" in bad.stderr


def test_training_on_digits_never_sees_the_held_out_splits():
    from genmetrics.trainers.data import load_digits

    train_images, _ = load_digits(16)
    test_images, _ = load_digits(16, "test")
    assert len(train_images) == 1497 and len(test_images) == 150
    flat = {bytes(x) for x in train_images.numpy()}
    assert sum(bytes(x) in flat for x in test_images.numpy()) < 5  # a few digits may coincide pixel for pixel
