"""The one training loop every family runs on: ``train(model, data, out, ...)``.

Per step: ``n_critic`` discriminator updates, each on the next data batch, then one generator update (a
likelihood model, ``Family.adversarial = False``, has no discriminator: one batch, one model update);
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
from .checkpoint import (BEST, FOR_RESUMING, LATEST, checkpoint_dir, config_of, load_weights, read_checkpoint,
                         save_checkpoint)
from .config import TrainConfig, resolve_config, resume_config, write_config
from .translation_data import open_data
from .ema import ema_decay, moving_average_copy, update_moving_average
from .evaluate import evaluate_run, write_sample_grid
from .families import get_family
from .nets import build_discriminator, build_generator
from .seeding import STEP, derive_generator, global_rng_state, seed_global, set_global_rng_state
from .stopping import Tracker, plot_metrics

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


class TrainingState:
    """The networks, optimisers and counters of a run; families read ``G``, ``D``, ``config`` from it."""

    def __init__(self, config: TrainConfig, data, device: torch.device):
        self.config, self.data, self.device = config, data, device
        self.family = get_family(config.model)
        seed_global(config.seed)
        self.G, self.D = build_generator(config).to(device), build_discriminator(config).to(device)
        self.G_ema = moving_average_copy(self.G) if config.g_ema else None  # ema.py
        self.opt_g, self.opt_d = self._optimizer(self.G, config.lr_g), self._optimizer(self.D, config.lr_d)
        self.step, self.batches_drawn, self.elapsed = 0, 0, 0.0
        self.best: dict | None = None
        self.last_eval: dict | None = None
        self.family_state = self.family.initial_state(config)
        self.tracker = Tracker(config, self.family)

    def _optimizer(self, net, lr):
        if not any(True for _ in net.parameters()):
            return None  # a likelihood model's placeholder discriminator (base.Family.adversarial)
        if self.config.optimizer == "rmsprop":
            return torch.optim.RMSprop(net.parameters(), lr=lr)
        return torch.optim.Adam(net.parameters(), lr=lr, betas=(self.config.beta1, self.config.beta2))

    @property
    def sampler(self) -> torch.nn.Module:
        """The generator samples, grids and evaluations come from: the moving average when kept (ema.py)."""
        return self.G if self.G_ema is None else self.G_ema

    def noise(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = torch.randn(n, self.config.z_dim, generator=gen).to(self.device)
        if not self.config.num_classes:
            return z, None
        return z, torch.randint(self.config.num_classes, (n,), generator=gen).to(self.device)

    def fake(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return self.fake_with_labels(n, gen)[0]

    def fake_with_labels(self, n: int, gen: torch.Generator):
        z, labels = self.noise(n, gen)
        return self.G(z, labels), labels

    def set_learning_rates(self) -> None:
        """Learning rates as a function of the step alone (so resuming needs no scheduler state)."""
        scale = 1.0 - self.step / self.config.steps if self.config.lr_decay == "linear" else 1.0
        if self.config.lr_decay == "half-linear":  # constant, then linear to 0 over the second half (pix2pix/CycleGAN)
            half = self.config.steps / 2
            scale = min(1.0, 1.0 - (self.step - half) / half) if half else 1.0
        for opt, lr in ((self.opt_g, self.config.lr_g), (self.opt_d, self.config.lr_d)):
            for group in [] if opt is None else opt.param_groups:
                group["lr"] = lr * scale

    def next_batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next data batch on the device (and its labels or None)."""
        cfg = self.config
        real, labels = self.data.batch(cfg.seed, self.batches_drawn, cfg.batch_size)
        self.batches_drawn += 1
        return real.to(self.device), None if labels is None else labels.to(self.device)

    def train_step(self) -> dict:
        cfg, family = self.config, self.family
        gen = derive_generator(cfg.seed, STEP, self.step)
        self.set_learning_rates()
        family.before_step(self)
        if not family.adversarial:  # a likelihood model (base.Family.adversarial): one batch, no discriminator
            (real, labels), logs = self.next_batch(), {}
        for _ in range(cfg.n_critic if family.adversarial else 0):
            real, labels = self.next_batch()
            self.opt_d.zero_grad(set_to_none=True)
            loss, logs = family.discriminator_loss(self, real, labels, gen)
            loss.backward()
            self.opt_d.step()
            family.after_discriminator_step(self)
        self.opt_g.zero_grad(set_to_none=True)
        loss, g_logs = family.generator_loss(self, real, labels, gen)
        loss.backward()
        self.opt_g.step()
        self.step += 1
        if self.G_ema is not None:
            update_moving_average(self.G_ema, self.G, ema_decay(cfg.g_ema, self.step))
        return {**logs, **g_logs}

    def payload(self) -> dict:
        return {"config": self.config.to_dict(), "step": self.step, "elapsed": self.elapsed,
                "generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
                **({} if self.G_ema is None else {"generator_ema": self.G_ema.state_dict()}),
                "opt_g": self.opt_g.state_dict(), "opt_d": {} if self.opt_d is None else self.opt_d.state_dict(),
                "rng": {**global_rng_state(),
                        "data": self.data.order_state(self.config.seed, self.batches_drawn, self.config.batch_size)},
                "best": self.best, "last_eval": self.last_eval, "family_state": dict(self.family_state),
                "stopping": self.tracker.state()}

    def load(self, payload: dict, path: Path) -> None:
        """Continue from the checkpoint ``payload`` read from ``path``."""
        load_weights(self.G, payload["generator"], "generator", self.config, path)
        load_weights(self.D, payload["discriminator"], "discriminator", self.config, path)
        if self.G_ema is not None:
            if "generator_ema" not in payload:
                raise GenmetricsError(f"{path} lacks generator_ema, the moving average its config's g_ema "
                                      f"{self.config.g_ema} keeps; retrain")
            load_weights(self.G_ema, payload["generator_ema"], "generator_ema", self.config, path)
        for part, opt in (("opt_g", self.opt_g), ("opt_d", self.opt_d)):
            if opt is None and not payload.get(part):
                continue  # no discriminator, no optimiser state
            try:
                opt.load_state_dict(payload[part])
            except (ValueError, KeyError, TypeError, AttributeError) as exc:  # torch's own mismatch messages
                raise GenmetricsError(f"{path}: its {part} optimiser state does not match the run's config "
                                      f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                                      f"retrain") from None
        set_global_rng_state(payload["rng"])
        self.step, self.elapsed = int(payload["step"]), float(payload["elapsed"])
        self.batches_drawn = int(payload["rng"]["data"]["batches_drawn"])
        self.best, self.last_eval = payload.get("best"), payload.get("last_eval")
        self.family_state = dict(payload.get("family_state") or self.family.initial_state(self.config))
        self.tracker.load(payload.get("stopping"))


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
