"""The one training loop every family runs on: ``train(model, data, out, ...)``.

Per step (state.py ``TrainingState.train_step``): ``n_critic`` discriminator updates, each on the next
data batch, then one generator update (a likelihood model, ``Family.adversarial = False``, has no
discriminator: one batch, one model update);
the step's noise comes from a generator seeded by (seed, step) and batch b of the data is a function of
(seed, b) (see seeding.py and data.py). So a run stopped at any step and resumed from its checkpoint
ends at the weights of an uninterrupted run. Ctrl-C and SIGTERM finish the current step, write
checkpoints/latest.pt and raise ``TrainingInterrupted``; a second Ctrl-C stops at once.
"""
from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..errors import GenmetricsError
from ..device import intra_op_threads, resolve_device
from .checkpoint import (BEST, FOR_RESUMING, LATEST, checkpoint_dir, config_of, read_checkpoint,
                         save_checkpoint)
from .config import TrainConfig, resolve_config, resume_config, write_config
from .evaluate import evaluate_run, write_sample_grid
from .families import get_family
from .state import TrainingState
from .stopping import plot_metrics
from .captions import open_data

# Toy runs (MLPs on batches of 2-D points) use one intra-op thread on the CPU: `python
# benchmarks/toy_speed.py` (alternating 1 and 2 threads in one process; numbers in docs/trainers.md) on the
# shared 2-core machine at a load of about 8, 2026-11-30: the default `gan` on ring8 ran 4.5 steps/s with
# 1 thread against 0.3-0.5 with 2 (the threads wait on each other when the cores are busy), and the
# weights after 60 steps were bit-identical.
TOY_THREADS = 1

class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped training after a checkpoint was written; ``--resume`` continues."""

    def __init__(self, step: int, checkpoint: Path, signal_name: str):
        super().__init__(f"{signal_name} at step {step}; checkpoint written to {checkpoint}")
        self.step, self.checkpoint, self.signal_name = step, checkpoint, signal_name


@dataclass
class TrainResult:
    run_dir: str
    step: int
    steps: int
    checkpoint: str
    best: dict | None
    last_eval: dict | None
    stopped_early: bool
    seconds: float
    kind: str = "image"  # "image" or "toy": what the generator makes (and so how to sample it)
    data: str = ""
    measures: dict | None = None  # the family's own measure at the end (Family.measure), e.g. SGAN's accuracy
    stopped_by: str | None = None  # why --stop-patience ended the run
    model: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class MetricsLog:
    """RUN/metrics.jsonl; on resume, lines after the checkpoint's step are dropped (they will be redone)."""

    def __init__(self, path: Path, resume_step: int | None):
        self.path = path
        if resume_step is not None and path.is_file():
            kept = [line for line in path.read_text().splitlines() if line.strip()
                    and json.loads(line).get("step", 0) <= resume_step]
            path.write_text("".join(line + "\n" for line in kept))
        elif resume_step is None:
            path.write_text("")

    def write(self, record: dict) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")


class StopSignals:
    """Turns the first SIGINT/SIGTERM into a flag the loop checks between steps (main thread only)."""

    def __init__(self):
        self.received: str | None = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.received = signal.Signals(signum).name
        signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))  # a second one acts at once

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def prepare(model: str | None, data: str | None, out: str | Path, *, resume: bool = False,
            **options) -> tuple[TrainConfig, object, dict | None]:
    """(config, training data, checkpoint payload or None) for a new or resumed run; nothing is written."""
    out = Path(out)
    latest = checkpoint_dir(out) / LATEST
    if resume:
        if not latest.is_file():
            raise GenmetricsError(f"--resume: {out} holds no checkpoints/{LATEST} to continue from")
        payload = read_checkpoint(latest, FOR_RESUMING)
        stored = config_of(payload, latest).to_dict()
        for key, given in (("model", model), ("data", data)):
            if given is not None and given != stored[key]:
                raise GenmetricsError(f"--resume: the run in {out} trains {stored[key]!r}, not {given!r} ({key})")
        config = resume_config(stored, options)
        return config, open_data(config.data, config.data_root, config.image_size, config.model), payload
    if latest.is_file():
        raise GenmetricsError(f"{out} already holds a run: pass --resume to continue it, or choose another --out")
    if not model or not data:
        raise GenmetricsError("give a MODEL and --data")
    get_family(model)
    opened = open_data(data, options.get("data_root"), options.get("image_size"), model)
    return resolve_config(model, opened, out, options), opened, None


def train(model: str | None, data: str | None, out: str | Path, *, resume: bool = False,
          max_steps: int | None = None, progress: bool = True, callback=None, **options) -> TrainResult:
    """Train ``model`` on ``data`` into the run folder ``out`` (or continue it with ``resume=True``).

    ``options``: TrainConfig fields (steps, epochs, batch_size, seed, device, lr_g, eval_every, ...).
    ``max_steps``: stop once this many steps are done, writing latest.pt as an interruption would.
    ``callback(state)``: called after every step (tests use it to send signals).
    Raises ``TrainingInterrupted`` after Ctrl-C/SIGTERM, once the checkpoint is written.
    """
    config, data_obj, payload = prepare(model, data, out, resume=resume, **options)
    device = resolve_device(config.device)
    threads = TOY_THREADS if config.kind == "toy" and device.type == "cpu" else None
    with intra_op_threads(threads):
        return _train(config, data_obj, payload, Path(out), device, max_steps, progress, callback)


def _train(config: TrainConfig, data_obj, payload: dict | None, out: Path, device: torch.device,
           max_steps: int | None, progress: bool, callback) -> TrainResult:
    """The body of ``train`` once the configuration is resolved."""
    run = TrainingState(config, data_obj, device)
    if payload is not None:
        run.load(payload, checkpoint_dir(out) / LATEST)
    else:
        out.mkdir(parents=True, exist_ok=True)
    write_config(out / "config.json", config)
    (out / "samples").mkdir(exist_ok=True)
    log = MetricsLog(out / "metrics.jsonl", run.step if payload is not None else None)
    started = time.monotonic() - run.elapsed  # time counts across resumed sessions
    latest, best_path = checkpoint_dir(out) / LATEST, checkpoint_dir(out) / BEST

    def checkpoint():
        run.elapsed = time.monotonic() - started
        save_checkpoint(latest, run.payload())

    def run_evaluation() -> bool:
        """Evaluate, keep best.pt; True when --stop-patience is used up."""
        result = run.tracker.evaluation() if run.tracker.logged else evaluate_run(run)
        measures = run.family.measure(run, final=False)
        if measures:
            result["family"] = measures
        run.last_eval = {"step": run.step, **result}
        log.write({"step": run.step, "time": round(time.monotonic() - started, 3), "eval": result})
        improved = run.tracker.is_better(result, run.best)
        if improved:
            run.best = run.last_eval
            run.elapsed = time.monotonic() - started
            save_checkpoint(best_path, run.payload())
        return run.tracker.update(improved)

    bar = tqdm(total=config.steps, initial=run.step, disable=not progress, desc=f"{config.model} {config.data}",
               dynamic_ncols=True)
    stopped_early, stopped_by = False, None
    with StopSignals() as signals, bar:
        while run.step < config.steps and stopped_by is None:
            logs = run.train_step()
            run.tracker.observe(logs)
            step = run.step
            if step % config.log_every == 0 or step == config.steps:
                log.write({"step": step, "time": round(time.monotonic() - started, 3), "losses": logs})
            if config.eval_every and step % config.eval_every == 0 and run_evaluation():
                stopped_by = (f"{run.tracker.name} did not improve in {config.stop_patience} evaluations "
                              f"(best at step {run.best['step']})")
                log.write({"step": step, "time": round(time.monotonic() - started, 3), "event": "stop-patience",
                           "reason": stopped_by})
            if config.sample_every and step % config.sample_every == 0:
                write_sample_grid(run, out / "samples" / f"step_{step:06d}.png")
            if config.checkpoint_every and step % config.checkpoint_every == 0:
                checkpoint()
            bar.update(1)
            bar.set_postfix_str(_postfix(logs, run.last_eval), refresh=False)
            if callback is not None:
                callback(run)
            if signals.received:
                checkpoint()
                log.write({"step": step, "time": round(time.monotonic() - started, 3), "event": signals.received})
                raise TrainingInterrupted(step, latest, signals.received)
            if max_steps is not None and step >= max_steps:
                stopped_early = True
                break
    if not stopped_early and config.eval_every and (run.last_eval or {}).get("step") != run.step:
        run_evaluation()
    measures = None
    if not stopped_early:
        measures = run.family.measure(run, final=True) or None
        if measures:
            log.write({"step": run.step, "time": round(time.monotonic() - started, 3), "family": measures})
    if not (out / "samples" / f"step_{run.step:06d}.png").exists():
        write_sample_grid(run, out / "samples" / f"step_{run.step:06d}.png")
    checkpoint()
    if not config.eval_every and not stopped_early:
        save_checkpoint(best_path, run.payload())  # no evaluation: best.pt is the final checkpoint
    if config.eval_every:
        plot_metrics(out, run.tracker.name)
    return TrainResult(str(out), run.step, config.steps, str(latest), run.best, run.last_eval, stopped_early,
                       round(run.elapsed, 3), config.kind, config.data, measures, stopped_by, config.model)


def _postfix(logs: dict, last_eval: dict | None) -> str:
    text = " ".join(f"{k}={v:.3g}" for k, v in logs.items())
    if last_eval:
        if last_eval["metric"] == "fid":
            text += f" | fid={last_eval['fid']:.2f}@{last_eval['step']}"
        elif "modes_covered" in last_eval:
            text += (f" | modes={last_eval['modes_covered']}/{last_eval['n_modes']} "
                     f"hq={last_eval['high_quality']:.3f}@{last_eval['step']}")
        else:
            text += f" | {last_eval['metric']}={last_eval.get(last_eval['metric'], float('nan')):.3g}@{last_eval['step']}"
    return text
