"""The generator's moving average (``g_ema``, trainers/ema.py): ProGAN's samples come from it (Karras et al.
2018, decay 0.999), it follows the closed-form update with its warm-up, and checkpoints and sampling carry it.
Resuming a progan run ends at the same average: tests/test_families.py's resume test compares it."""
import pytest
import torch

from genmetrics import GenmetricsError, load_generator
from genmetrics.trainers import prepare, train
from genmetrics.trainers.ema import ema_decay, moving_average_copy, update_moving_average
from genmetrics.trainers.state import TrainingState
from genmetrics.trainers.nets import build_generator

from .test_train import TINY_IMAGE, states

pytest.importorskip("sklearn")  # digits come from scikit-learn


def test_decay_warms_up_as_tensorflows_rule_then_holds():
    assert ema_decay(0.999, 1) == pytest.approx(2 / 11, abs=1e-15)
    assert ema_decay(0.999, 100) == pytest.approx(101 / 110, abs=1e-15)
    assert ema_decay(0.999, 10_000) == 0.999 and ema_decay(0.5, 30) == 0.5


def test_update_averages_parameters_and_copies_buffers():
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    average = moving_average_copy(net)
    start = [p.clone() for p in average.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
        net[1].running_mean.fill_(5.0)
    update_moving_average(average, net, 0.9)
    for mean, first, now in zip(average.parameters(), start, net.parameters()):
        torch.testing.assert_close(mean, 0.9 * first + 0.1 * now, rtol=0, atol=1e-6)  # float32 round-off
        assert not mean.requires_grad
    assert torch.equal(average[1].running_mean, net[1].running_mean)


def test_progan_keeps_the_average_and_samples_from_it(tmp_path):
    options = dict(TINY_IMAGE, batch_size=8)
    config, data, _ = prepare("progan", "digits", tmp_path / "unused", steps=3, **options)
    assert config.g_ema == 0.999
    run = TrainingState(config, data, torch.device("cpu"))
    expected = {k: v.clone() for k, v in run.G.state_dict().items()}
    for step in (1, 2, 3):
        run.train_step()
        decay = ema_decay(0.999, step)  # 2/11, 3/12, 4/13: the warm-up binds in a short run
        for key, value in run.G.state_dict().items():
            expected[key] = value.clone() if key.endswith("level") else decay * expected[key] + (1 - decay) * value
    for key, value in run.G_ema.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=1e-6, msg=key)  # float32 round-off
    assert run.sampler is run.G_ema

    train("progan", "digits", tmp_path / "run", steps=1, progress=False, **options)
    saved = states(tmp_path / "run")
    assert saved["generator_ema"].keys() == saved["generator"].keys()
    loaded = load_generator(tmp_path / "run").net.state_dict()
    assert all(torch.equal(loaded[k], saved["generator_ema"][k]) for k in loaded)
    assert not all(torch.equal(loaded[k], saved["generator"][k]) for k in loaded)


def test_any_family_may_keep_an_average_and_bad_decays_are_refused(tmp_path):
    config = prepare("dcgan", "digits", tmp_path / "d", g_ema=0.99, **TINY_IMAGE)[0]
    assert build_generator(config) is not None and config.g_ema == 0.99
    assert prepare("dcgan", "digits", tmp_path / "d", **TINY_IMAGE)[0].g_ema == 0.0  # off unless asked
    for bad in (1.0, -0.1):
        with pytest.raises(GenmetricsError, match="g_ema"):
            prepare("progan", "digits", tmp_path / "p", g_ema=bad, **TINY_IMAGE)
