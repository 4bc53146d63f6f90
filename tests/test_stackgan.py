"""StackGAN (issue 16): template captions and their bag-of-words encoder, conditioning augmentation's KL,
a tiny two-stage run (resume equals an uninterrupted run across the switch to Stage II; sample --caption;
eval-captions), and caption accuracy on real captioned digits.

Tiny run: 16 px captioned digits, Stage I at 8 px, networks 4 channels wide, batch 4, 4 steps (2 per stage).
One torch thread (as test_translation.py).
"""
import json

import numpy as np
import pytest
import torch

from genmetrics import GenmetricsError
from genmetrics.trainers import load_generator, train
from genmetrics.trainers.captions import (CAPTION_DATA, TEMPLATES, VOCABULARY, captioned_split, embed,
                                          embedding_table, open_caption_data, parse_caption, render)

from .helpers import one_thread  # noqa: F401 (autouse: this module runs on one torch thread)
from .helpers import fails_cleanly
from .helpers import run as run_cli
from .test_train import assert_same_weights, states

pytest.importorskip("sklearn")  # digits come from scikit-learn

TINY = dict(image_size=16, stage1_size=8, stage1_fraction=0.5, g_width=4, d_width=4, condition_dim=4, z_dim=8, batch_size=4, steps=4,
            sample_every=0, checkpoint_every=0, log_every=1, device="cpu")


def test_captions_say_class_and_attributes_and_unknown_words_are_refused():
    assert render(7, 1, 0) == "a thick seven" and render(2, 0, 1) == "a thin inverted two"
    assert render(8, 0, 0, 1) == "an eight with thin strokes" and render(2, 1, 1, 2) == "the digit two, thick, inverted"
    table = embedding_table()
    for d in range(10):
        for t in range(2):
            for i in range(2):
                for k in range(len(TEMPLATES)):
                    assert parse_caption(render(d, t, i, k)) == (d, t, i)
                    assert torch.equal(table[d, t, i, k], embed(render(d, t, i, k)))
    # a bag of words: word order and case do not matter; different facts give different vectors
    assert torch.equal(embed("Seven, thick: a"), embed("a thick seven"))
    assert len({tuple(v.tolist()) for v in table[:, :, :, 0].reshape(40, -1)}) == 40
    assert embed("a thin inverted two").sum() == 4 and len(VOCABULARY) == len(set(VOCABULARY))
    with pytest.raises(GenmetricsError, match=r"unknown word '7'.*thick, inverted, zero, one"):
        embed("a thick 7")
    with pytest.raises(GenmetricsError, match="one thickness"):
        parse_caption("a seven")
    with pytest.raises(GenmetricsError, match="one digit"):
        parse_caption("a thick seven two")


def test_captioned_digits_are_the_four_variants_with_their_captions():
    data = open_caption_data(16, "stackgan")
    images, labels = data.images, data.labels
    n = len(images) // 4
    assert (n, data.name, data.image_size) == (1497, CAPTION_DATA, 16) and labels.shape == (4 * n, 4)
    thin, thick = images[:n], images[n:2 * n]
    assert torch.equal(images[2 * n:3 * n], 255 - thin) and torch.equal(images[3 * n:], 255 - thick)
    assert (thick >= thin).all() and torch.equal(labels[:n, 0], labels[n:2 * n, 0])
    assert labels[:, 1:3].tolist() == [[0, 0]] * n + [[1, 0]] * n + [[0, 1]] * n + [[1, 1]] * n
    counts = torch.bincount(labels[:, 3], minlength=len(TEMPLATES))
    assert counts.min() > 0.3 * len(labels)  # templates drawn uniformly (1/3 each, within a few %)
    x, batch_labels = data.batch(0, 3, 8)
    assert torch.equal(x, data.batch(0, 3, 8)[0]) and batch_labels.shape == (8, 4)  # a function of (seed, batch)
    with pytest.raises(GenmetricsError, match="text-to-image"):
        open_caption_data(16, "dcgan")


def test_data_command_writes_captioned_digits_with_their_captions(tmp_path):
    code, out, err = run_cli("data", CAPTION_DATA, "--split", "test", "-o", tmp_path / "c.npz", "--json")
    assert code == 0, err
    images, labels = captioned_split("test")
    with np.load(tmp_path / "c.npz") as data:
        assert data["images"].shape == (600, 32, 32, 1) and np.array_equal(data["attributes"], labels.numpy())
        assert data["captions"][0] == render(*labels[0].tolist()) and np.array_equal(data["labels"], labels[:, 0])
    code, out, err = run_cli("data", CAPTION_DATA, "-n", "2", "-o", tmp_path / "folder")
    assert code == 0, err
    lines = (tmp_path / "folder" / "captions.txt").read_text().splitlines()
    assert len(lines) == 2 and lines[0].startswith("000000.png\t") and (tmp_path / "folder" / "000001.png").is_file()


def test_conditioning_augmentation_kl_is_the_closed_form():
    from genmetrics.trainers.stackgan_nets import ConditioningAugmentation, kl_to_standard_normal

    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 3, generator=gen, dtype=torch.float64), torch.randn(5, 3, generator=gen, dtype=torch.float64)
    expected = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * logvar).exp()),
                                                 torch.distributions.Normal(0.0, 1.0)).mean()
    torch.testing.assert_close(kl_to_standard_normal(mu, logvar), expected, rtol=1e-12, atol=0)  # float64 round-off
    assert kl_to_standard_normal(torch.zeros(2, 3), torch.zeros(2, 3)) == 0
    ca = ConditioningAugmentation(4, 3)
    embedding, eps = torch.randn(2, 4, generator=gen), torch.randn(2, 3, generator=gen)
    c, mu, logvar = ca(embedding, eps)
    torch.testing.assert_close(c, mu + (0.5 * logvar).exp() * eps)


def test_caption_accuracy_of_real_digits_is_high_and_of_shuffled_captions_low():
    from genmetrics.trainers.caption_scores import border_brightness, caption_accuracy, ink_kept

    images, labels = captioned_split("test")
    right = caption_accuracy(images, labels, "cpu")
    # Deterministic (fixed classifier, fixed thresholds); measured 0.960 / 0.920 / 1.000 / 0.880 on 600 images.
    assert right["class_accuracy"] >= 0.95 and right["thickness_accuracy"] >= 0.9
    assert right["inversion_accuracy"] == 1.0 and right["caption_accuracy"] >= 0.85
    shuffled = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    wrong = caption_accuracy(images, shuffled, "cpu")
    # chance: 0.1, 0.5, 0.5, 0.025; bounds leave 3 standard errors or more on 600 images
    assert wrong["class_accuracy"] < 0.2 and wrong["thickness_accuracy"] < 0.6 and wrong["inversion_accuracy"] < 0.6
    assert wrong["caption_accuracy"] < 0.1
    # the parts: a flat bar 6 px wide keeps (6 - 2) / 6 of its ink; a bright border is an inverted image
    bar = torch.zeros(1, 1, 32, 32)
    bar[..., 10:16, :] = 255
    assert ink_kept(bar).item() == pytest.approx(4 / 6)
    assert border_brightness(bar).item() < 127.5 < border_brightness(255 - bar).item()


def test_tiny_stackgan_resumes_across_the_stages_samples_captions_and_scores(tmp_path):
    train("stackgan", CAPTION_DATA, tmp_path / "whole", progress=False, **TINY)
    first = train("stackgan", CAPTION_DATA, tmp_path / "split", max_steps=2, progress=False, **TINY)
    assert first.stopped_early and states(tmp_path / "split")["generator"]["stage"] == 1
    train(None, None, tmp_path / "split", resume=True, progress=False)
    whole, split = states(tmp_path / "whole"), states(tmp_path / "split")
    assert_same_weights(whole, split)
    assert whole["family_state"] == split["family_state"] == {"stage1_steps": 2}
    assert whole["generator"]["stage"] == 2
    log = [json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    assert [r["losses"]["stage"] for r in log if "losses" in r] == [1, 1, 2, 2]
    (family,) = [r["family"] for r in log if "family" in r]  # caption accuracy at the end of the run
    assert family["n"] == 400 and 0 <= family["caption_accuracy"] <= 1
    assert (tmp_path / "whole" / "samples" / "step_000004.png").is_file()

    code, out, err = run_cli("sample", tmp_path / "whole", "-n", "3", "-o", tmp_path / "s.npz", "--caption",
                             "a thick Seven", "--json")
    assert code == 0, err
    assert json.loads(out)["caption"] == "a thick Seven"
    with np.load(tmp_path / "s.npz") as data:
        assert data["images"].shape == (3, 16, 16, 1) and data["labels"].tolist() == [7, 7, 7]
    fails_cleanly(["sample", tmp_path / "whole", "-n", "3", "-o", tmp_path / "u.npz", "--caption", "a big seven"],
                  "unknown word 'big'", "thick")
    code, out, err = run_cli("sample", tmp_path / "whole", "-n", "5", "-o", tmp_path / "r.npz")
    assert code == 0, err  # no caption: each sample's drawn from the 40
    generator = load_generator(tmp_path / "whole", device="cpu")
    whole_batch, labels = generator.sample(5, batch_size=5)
    in_twos, _ = generator.sample(5, batch_size=2)
    torch.testing.assert_close(whole_batch, in_twos, rtol=0, atol=1e-6)  # eval mode: rows are independent
    with np.load(tmp_path / "r.npz") as data:
        assert data["labels"].tolist() == labels.tolist()
    with pytest.raises(GenmetricsError, match="takes --caption"):
        generator.sample(2, code="1")
    code, out, err = run_cli("eval-captions", tmp_path / "whole", "-n", "1", "--no-baselines", "--json")
    assert code == 0, err
    (row,) = json.loads(out)["rows"]
    assert row["row"] == "stackgan" and row["n"] == 40


def test_digits_defaults_are_the_measured_run(tmp_path):
    """docs/trainers.md's default run: 6,000 steps at the paper's learning rate, Stage II from step 5,000
    (stage1_fraction 5/6 must round to exactly 5,000 of 6,000), Stage I at 8 px."""
    from genmetrics.trainers.config import resolve_config
    from genmetrics.trainers.families import get_family

    config = resolve_config("stackgan", open_caption_data(32, "stackgan"), tmp_path, {})
    assert (config.steps, config.batch_size, config.stage1_size, config.g_width, config.d_width) == (6000, 64, 8, 16, 16)
    assert (config.lr_g, config.lr_d, config.kl_lambda, config.condition_dim) == (2e-4, 2e-4, 2.0, 128)
    assert get_family("stackgan").initial_state(config) == {"stage1_steps": 5000}


def test_caption_options_are_refused_where_they_do_not_apply(tmp_path):
    from genmetrics.trainers.config import TrainConfig
    from genmetrics.trainers.generator import LoadedGenerator
    from genmetrics.trainers.nets import build_generator

    config = TrainConfig(model="dcgan", data="digits", out=str(tmp_path), image_size=16, channels=1, g_width=4)
    with pytest.raises(GenmetricsError, match="--caption needs a text-to-image model"):
        LoadedGenerator(build_generator(config), config, 0, torch.device("cpu")).sample(2, caption="a thick seven")
    with pytest.raises(GenmetricsError, match="--data digits-captions"):
        train("stackgan", "digits", tmp_path / "a", progress=False, **TINY)
    with pytest.raises(GenmetricsError, match="stage1_size"):
        train("stackgan", CAPTION_DATA, tmp_path / "b", progress=False, **dict(TINY, stage1_size=16))
