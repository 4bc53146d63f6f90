"""--stop-patience: the tracked metric, best.pt, the stop itself (equal after a resume), metrics.png."""
import json
from types import SimpleNamespace

import pytest

from genmetrics import GenmetricsError
from genmetrics.trainers import train
from genmetrics.trainers.checkpoint import read_checkpoint
from genmetrics.trainers.families import get_family
from genmetrics.trainers.stopping import Tracker, tracked_metric

from .test_train import TINY_IMAGE, assert_same_weights, states

pytest.importorskip("sklearn")

# BEGAN tracks M_global, computed from its losses: evaluations need no feature network (offline, fast).
BEGAN = {**TINY_IMAGE, "batch_size": 10, "eval_every": 1, "stop_patience": 2}


def config(**values):
    base = dict(stop_metric=None, kind="image", stop_patience=0)
    return SimpleNamespace(**{**base, **values})


def test_the_tracked_metric_and_its_direction():
    assert tracked_metric(config(), get_family("dcgan")) == "fid"
    assert tracked_metric(config(kind="toy"), get_family("gan")) == "modes"
    assert tracked_metric(config(), get_family("began")) == "m_global"
    assert tracked_metric(config(stop_metric="is"), get_family("began")) == "is"
    fid = Tracker(config(stop_patience=2), get_family("dcgan"))
    assert fid.is_better({"metric": "fid", "fid": 3.0}, {"metric": "fid", "fid": 4.0})
    assert not fid.is_better({"metric": "fid", "fid": 5.0}, {"metric": "fid", "fid": 4.0})
    inception = Tracker(config(stop_metric="is"), get_family("dcgan"))  # higher is better
    assert inception.is_better({"metric": "fid", "inception_score": 5.0}, {"metric": "fid", "inception_score": 4.0})
    assert not inception.is_better({"metric": "fid", "inception_score": 3.0}, {"metric": "fid", "inception_score": 4.0})
    modes = Tracker(config(kind="toy"), get_family("gan"))  # more modes, then a larger high-quality fraction
    assert not modes.is_better({"modes_covered": 7, "high_quality": 0.9}, {"modes_covered": 8, "high_quality": 0.5})
    assert modes.is_better({"modes_covered": 8, "high_quality": 0.6}, {"modes_covered": 8, "high_quality": 0.5})
    assert [fid.update(improved) for improved in (False, True, False, False)] == [False, False, False, True]
    began = Tracker(config(), get_family("began"))
    for value in (2.0, 4.0):
        began.observe({"m_global": value, "k": 0.1})
    record = began.evaluation()
    assert record == {"metric": "m_global", "m_global": 3.0, "steps_averaged": 2}
    assert began.evaluation()["steps_averaged"] == 0  # the mean restarts after each evaluation


def test_stop_patience_ends_the_run_keeps_the_best_and_resumes_to_the_same_stop(tmp_path):
    whole = train("began", "digits", tmp_path / "whole", steps=40, progress=False, **BEGAN)
    assert whole.stopped_by and "m_global" in whole.stopped_by and whole.step < 40
    records = [json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    evals = [(r["step"], r["eval"]["m_global"]) for r in records if "eval" in r]
    best_step, best_value = min(evals, key=lambda e: e[1])
    # The last two evaluations did not beat the best, which is what best.pt holds.
    assert [s for s, _ in evals[-2:]] == [whole.step - 1, whole.step] and best_step == whole.step - 2
    assert read_checkpoint(tmp_path / "whole" / "checkpoints" / "best.pt")["step"] == best_step
    assert whole.best["m_global"] == best_value
    assert any(r.get("event") == "stop-patience" for r in records)
    assert (tmp_path / "whole" / "metrics.png").stat().st_size > 1000

    train("began", "digits", tmp_path / "split", steps=40, max_steps=whole.step - 1, progress=False, **BEGAN)
    split = train(None, None, tmp_path / "split", resume=True, progress=False)
    assert split.step == whole.step and split.stopped_by == whole.stopped_by
    assert_same_weights(states(tmp_path / "whole"), states(tmp_path / "split"))


def test_stop_patience_settings_are_checked(tmp_path):
    with pytest.raises(GenmetricsError, match="--eval-every"):
        train("began", "digits", tmp_path / "a", steps=2, progress=False, **{**BEGAN, "eval_every": 0})
    with pytest.raises(GenmetricsError, match="not logged by dcgan"):
        train("dcgan", "digits", tmp_path / "b", steps=2, progress=False, **{**BEGAN, "stop_metric": "m_global"})
    with pytest.raises(GenmetricsError, match="choose one of"):
        train("dcgan", "digits", tmp_path / "c", steps=2, progress=False, **{**BEGAN, "stop_metric": "swd"})
