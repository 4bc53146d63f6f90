"""benchmarks/toy_modes.py keeps each row's settings as they depart from today's defaults, so the README's
table (rows at the defaults) never hides a run trained otherwise, nor lists a run at the defaults as a probe."""
import json

import pytest

from genmetrics.trainers import prepare

from .helpers import load_script


def test_rows_state_their_departures_from_todays_defaults(tmp_path):
    toy_modes = load_script("benchmarks/toy_modes.py")
    defaults = prepare("gan", "ring8", tmp_path / "defaults")[0]
    runs = tmp_path / "runs"
    # lr_g given at its default value is no departure; steps and g_width are; eval_every is bookkeeping
    row = toy_modes.run_one("ring8", "gan", 0, runs, {"steps": 2, "g_width": 8, "lr_g": defaults.lr_g,
                                                      "eval_every": 1, "eval_n": 50})
    assert row["overrides"] == {"steps": 2, "g_width": 8}
    assert row["final"]["n"] == 2500 and row["final"]["data"] == "ring8"

    # Had g_width's default been 8 when the run trained, --restate would read the run as at that default.
    config_path = runs / "ring8-gan-seed0" / "config.json"
    config = json.loads(config_path.read_text())
    config["g_width"] = defaults.g_width
    config_path.write_text(json.dumps(config))
    rows, restated = tmp_path / "rows.json", tmp_path / "restated.json"
    rows.write_text(json.dumps([row]))
    toy_modes.main(["--from-json", str(rows), "--restate", str(runs), "--json", str(restated)])
    assert json.loads(restated.read_text())[0]["overrides"] == {"steps": 2}

    # a row whose run folder is gone is an error that names the folder, not a row left as it was
    row["seed"] = 7
    rows.write_text(json.dumps([row]))
    with pytest.raises(SystemExit) as stopped:
        toy_modes.main(["--from-json", str(rows), "--restate", str(runs)])
    assert stopped.value.code == 2
