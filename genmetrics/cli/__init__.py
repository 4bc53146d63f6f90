"""The command line: parse options, call one library function, print a summary or ``--json``.

Split by audience: ``evaluation`` (fid, is, stats, features, eval, kid, prdc), ``memorization``, ``likelihood`` (parzen),
``generators`` (train, sample, sweep, modes), ``translation`` (translate, eval-translation, eval-captions), ``datasets`` (data,
cache) and ``hype`` (human evaluation);
``common`` holds the group, the options generated from ``defaults.Options`` and the error handling. No maths here: a
``GenmetricsError`` becomes one line on stderr and exit code 2.
"""
from . import datasets, evaluation, generators, hype, likelihood, memorization, translation  # noqa: F401 (each adds its commands)
from .common import cli


def main():
    cli(prog_name="genmetrics")


__all__ = ["cli", "main"]
