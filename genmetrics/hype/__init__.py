"""HYPE human evaluation (Zhou et al., NeurIPS 2019): prepare a study, serve it to raters, score it.

From Python::

    from genmetrics import hype
    study = hype.create_study("study", real="real/", fakes={"ours": "fake/"}, method="infinity")
    links = hype.invite("study", n=30)
    hype.serve("study")                      # needs pip install 'genmetrics[hype]'
    result = hype.score("study")             # per model: score, 95% CI, raters; ANOVA/Tukey

The web app's modules (``app``, ``server``) import Starlette and uvicorn only when serving.
"""
from .protocol import Protocol, mode_exposure, next_exposure, staircase, target_accuracy
from .results import export, status, summary, write_report
from .scoring import score
from .server import background_server, serve
from .study import create_study, invite, load_study

__all__ = ["Protocol", "background_server", "create_study", "export", "invite", "load_study", "mode_exposure",
           "next_exposure", "score", "serve", "staircase", "status", "summary", "target_accuracy", "write_report"]
