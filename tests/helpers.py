"""Helpers shared by the tests."""
import importlib.util
import pathlib

import numpy as np
import pytest
from click.testing import CliRunner

from genmetrics.cli import cli
from genmetrics.device import intra_op_threads


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Import into a test module to run it on one torch thread (small networks: the threads only wait)."""
    with intra_op_threads(1):
        yield


ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_script(relative_path: str):
    """A script outside the package (examples/, benchmarks/) as a module, by its path under the repository."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def relative_error(ours, reference) -> float:
    """max |ours - reference| / max |reference|: robust where single features are near zero."""
    ours, reference = np.asarray(ours, np.float64), np.asarray(reference, np.float64)
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def run(*args):
    """The CLI in-process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def fails_cleanly(args, *fragments) -> str:
    """Exit code 2, one line on stderr naming the problem, no traceback; returns that line."""
    code, out, err = run(*args)
    assert code == 2, (code, out, err)
    lines = [line for line in err.splitlines() if line.startswith("genmetrics: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
