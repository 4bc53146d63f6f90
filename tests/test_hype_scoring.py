"""HYPE scoring: hand-computed cases, simulated raters and observers, ANOVA/Tukey, and the CLI around them.

Raters here answer through ``hype.session`` (the rules the web app applies) without HTTP, so thousands
of answers take seconds; tests/test_hype_server.py drives the same rules over HTTP.
"""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from genmetrics import hype
from genmetrics.cli import cli
from genmetrics.errors import GenmetricsError
from genmetrics.hype import db, session
from genmetrics.hype.protocol import Protocol, mode_exposure, staircase, target_accuracy
from genmetrics.hype.scoring import anova_tukey, infinity_scores

from .hype_support import image_arrays, labels, make_study


def simulate(study, decide, n_raters, model=None):
    """Invite raters and let ``decide(state, kind, rater_index)`` answer every trial through the rules."""
    links = hype.invite(study, n_raters, model=model)
    truth = labels(study)
    _, protocol = hype.load_study(study)
    with db.opened(study) as con:
        con.execute("PRAGMA synchronous=OFF")  # test speed only: durability is not what is tested here
        for index, link in enumerate(links):
            token = link["url"].rsplit("/", 1)[1]
            session.consent(con, session.rater_by_token(con, token), "test")
            rater = session.rater_by_token(con, token)
            state = session.state(con, rater, protocol, ["m"])
            while state["page"] != "done":
                choice = decide(state, truth[state["image"]], index)
                session.answer(con, rater, protocol, {"trial": state["trial"], "answer": choice})
                state = session.state(con, rater, protocol, ["m"])
    return links


def other(kind):
    return "fake" if kind == "real" else "real"


def test_staircase_steps_derive_the_75_percent_target():
    # p * down = (1 - p) * up  ->  p = up / (up + down) = 30 / 40.
    assert target_accuracy(10, 30) == 0.75
    assert target_accuracy(30, 10) == 0.25  # the other reading of the paper: below chance, so not meant
    paper = Protocol(method="time")
    assert staircase([True, True, False], paper) == [500, 490, 480, 510]
    assert staircase([True] * 100, paper)[-1] == 100     # clamped at the paper's 100 ms floor
    assert staircase([False] * 100, paper)[-1] == 1000   # and at its 1000 ms ceiling
    assert mode_exposure([500, 490, 500, 480]) == 500
    assert mode_exposure([480, 490]) == 485  # a tie (the paper does not say): the mean of the tied values


def test_infinity_scores_hand_computed():
    # Rater 1: 10 of 50 fakes judged real, 5 of 50 reals judged fake; rater 2: 20 of 50 fakes, 0 reals.
    counts = np.array([[10, 50, 5, 50], [20, 50, 0, 50]], dtype=float)
    out = infinity_scores(counts)
    assert out == {"score": 100 * 35 / 200, "fake_error": 30.0, "real_error": 5.0}


def test_anova_matches_sums_of_squares_by_hand():
    groups = {"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0], "c": [7.0, 9.0, 8.0]}
    out = anova_tukey(groups)
    # Means 2, 5, 8, grand mean 5: between SS = 3 * (9 + 0 + 9) = 54 on 2 df; within SS = 2 + 2 + 2 = 6 on 6 df.
    assert out["anova"]["F"] == pytest.approx((54 / 2) / (6 / 6), rel=1e-12)
    assert (out["anova"]["df_between"], out["anova"]["df_within"]) == (2, 6)
    pair = {(p["a"], p["b"]): p for p in out["tukey"]}
    assert pair[("a", "b")]["difference"] == pytest.approx(-3.0)
    assert pair[("a", "c")]["p"] < 0.01
    assert anova_tukey({"a": [1.0, 2.0], "b": [3.0]}) is None  # one usable group: no comparison


def test_simulated_raters_land_on_the_truth_and_the_unqualified_are_left_out(tmp_path):
    """30 raters who are right with probability 0.7: HYPE-infinity's CI covers the true 30% error."""
    made = make_study(tmp_path, n=40, tutorial_n=2, qualification_n=10, task_n=40)
    study = made["study"]
    rng = np.random.default_rng(7)

    def decide(state, kind, rater):
        if rater >= 30 and state["page"] == "qualification":
            return other(kind)  # raters 30-31 fail the qualification on purpose
        return kind if state["page"] != "task" or rng.random() < 0.7 else other(kind)

    simulate(study, decide, 32)
    result = hype.score(study)
    entry = result["models"]["good"]
    assert entry["raters"] == 30 and entry["failed_qualification"] == 2 and entry["invited"] == 32
    lo, hi = entry["ci"]
    # Seeded: 1,200 task answers, SE of the pooled error about 1.3 points, so the 95% CI is about +-2.6.
    assert lo < 30.0 < hi and hi - lo < 7.0
    assert abs(entry["score"] - 30.0) < 4.0
    assert entry["score"] == pytest.approx((entry["fake_error"] + entry["real_error"]) / 2)  # 50/50 tasks
    assert hype.status(study)["models"]["good"]["finished"] == 30
    # The bootstrap is seeded: the same seed gives the same CI.
    assert hype.score(study)["models"]["good"]["ci"] == entry["ci"]


def observer(t75, slope, rng):
    """A simulated observer: P(correct | exposure t) = 0.5 + 0.5 / (1 + exp(-(t - t75) / slope)), 75% at t75."""
    def decide(state, kind, rater=0):
        if not state.get("timed"):
            return kind
        p = 0.5 + 0.5 / (1.0 + np.exp(-(state["exposure_ms"] - t75) / slope))
        return kind if rng.random() < p else other(kind)
    return decide


def test_staircase_converges_to_the_observers_75_percent_point():
    rng = np.random.default_rng(3)
    paper = Protocol(method="time")
    for t75 in (250.0, 450.0):
        decide = observer(t75, 40.0, rng)
        exposure, seen = paper.start_ms, []
        for _ in range(6000):
            seen.append(exposure)
            correct = decide({"timed": True, "exposure_ms": exposure}, "real") == "real"
            exposure = hype.next_exposure(exposure, correct, paper)
        # After a 500-trial burn-in, the mean exposure is the staircase's equilibrium; the asymmetric
        # steps and the slope bias it by a few ms, and 5,500 correlated trials leave about 5 ms of noise.
        assert abs(np.mean(seen[500:]) - t75) < 20.0


def test_hype_time_scores_order_two_models(tmp_path):
    """Two models whose fakes need 250 and 450 ms: HYPE-time (mode per staircase) separates them."""
    made = make_study(tmp_path, method="time", n=80, models=("weak", "strong"), tutorial_n=0, qualification_n=0,
                      blocks=3, block_n=50)
    study = made["study"]
    rng = np.random.default_rng(5)
    simulate(study, observer(250.0, 30.0, rng), 5, model="weak")
    simulate(study, observer(450.0, 30.0, rng), 5, model="strong")
    result = hype.score(study)
    weak, strong = result["models"]["weak"], result["models"]["strong"]
    assert weak["raters"] == strong["raters"] == 5
    # 50-trial staircases from 500 ms: the weak model's run is still descending (10 ms per correct answer),
    # so its mode sits above 250; the order and the gap are what the test claims (tolerance 100 ms).
    assert strong["score"] > weak["score"] + 100
    assert result["comparison"]["anova"]["p"] < 0.01
    with db.opened(study) as con:
        rows = con.execute("SELECT requested_ms, shown_ms FROM trials").fetchall()
    assert all(100 <= r["requested_ms"] <= 1000 for r in rows)


def test_cli_new_invite_score_export_status(tmp_path):
    np.save(tmp_path / "real.npy", image_arrays(12, seed=1))
    np.save(tmp_path / "fake.npy", image_arrays(12, seed=2, smooth=True))
    study = str(tmp_path / "s")
    runner = CliRunner()
    out = runner.invoke(cli, ["hype", "new", study, "--real", str(tmp_path / "real.npy"), "--fake",
                              f"m={tmp_path / 'fake.npy'}", "--tutorial-n", "2", "--qualification-n", "4",
                              "--task-n", "10", "--json"])
    assert out.exit_code == 0, out.output
    record = json.loads(out.output)
    assert "admin_token" not in record and "phase-scrambled" in record["masks"]["method"]
    assert record["protocol"]["qualification_pass"] == 0.65
    out = runner.invoke(cli, ["hype", "invite", study, "-n", "2", "--json"])
    assert out.exit_code == 0 and len(json.loads(out.output)) == 2
    simulate(study, lambda state, kind, rater: kind, 1)
    out = runner.invoke(cli, ["hype", "score", study, "-o", str(tmp_path / "report")])
    assert out.exit_code == 0, out.output
    assert "0.0%" in out.output and (tmp_path / "report" / "report.png").stat().st_size > 1000
    out = runner.invoke(cli, ["hype", "export", study, "-o", str(tmp_path / "j.csv")])
    assert out.exit_code == 0 and "wrote 16 trials" in out.output
    assert (tmp_path / "j.csv").read_text().splitlines()[0].startswith("rater,model,phase")
    out = runner.invoke(cli, ["hype", "status", study])
    assert out.exit_code == 0 and "16 of 48 trials stored" in out.output  # 3 raters x 16, one finished


@pytest.mark.parametrize("args, message", [
    (["--fake", "nameless"], "write NAME=PATH"),
    (["--fake", "m=FAKE", "--task-n", "7"], "--task-n 7: give an even number"),
    (["--fake", "m=FAKE"], "give at least 105"),
])
def test_cli_new_mistakes_are_one_line(tmp_path, args, message):
    np.save(tmp_path / "real.npy", image_arrays(12, seed=1))
    np.save(tmp_path / "fake.npy", image_arrays(12, seed=2))
    args = [a.replace("FAKE", str(tmp_path / "fake.npy")) for a in args]
    out = CliRunner().invoke(cli, ["hype", "new", str(tmp_path / "s"), "--real", str(tmp_path / "real.npy"), *args])
    assert out.exit_code == 2 and message in out.output and len(out.output.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_missing_extra_is_one_line(tmp_path, monkeypatch):
    import sys
    made = make_study(tmp_path, n=4, tutorial_n=0, qualification_n=0, task_n=4)
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now raises ImportError
    out = CliRunner().invoke(cli, ["hype", "serve", made["study"]])
    assert out.exit_code == 2 and "pip install 'genmetrics[hype]'" in out.output
    with pytest.raises(GenmetricsError, match="genmetrics\\[hype\\]"):
        hype.serve(made["study"])


def test_each_rater_gets_own_balanced_draw_without_repeats(tmp_path):
    made = make_study(tmp_path, method="time", n=20, models=("a", "b"), tutorial_n=2, qualification_n=4,
                      blocks=3, block_n=10)
    study = made["study"]
    links = hype.invite(study, 4)
    assert [link["model"] for link in links] == ["a", "b", "a", "b"]  # models in turn
    assert len({link["url"] for link in links}) == 4
    with db.opened(study) as con:
        rows = con.execute("SELECT a.rater_id, a.phase, a.block, a.image_id, i.kind, i.model, r.model AS rated "
                           "FROM assignments a JOIN images i ON i.id = a.image_id "
                           "JOIN raters r ON r.id = a.rater_id").fetchall()
    for rater in {r["rater_id"] for r in rows}:
        mine = [r for r in rows if r["rater_id"] == rater]
        assert len(mine) == 2 + 4 + 30 and len({r["image_id"] for r in mine}) == len(mine)  # no repeats
        assert all(r["model"] == r["rated"] for r in mine if r["kind"] == "fake")
        for key in {(r["phase"], r["block"]) for r in mine}:
            kinds = [r["kind"] for r in mine if (r["phase"], r["block"]) == key]
            assert kinds.count("real") == kinds.count("fake")  # 50/50 in every block
