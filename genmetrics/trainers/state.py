"""A run's state: its networks, optimisers, counters and random streams, and one training step.

``TrainingState.train_step`` is the step the docstring of loop.py describes; ``payload``/``load`` are what a
checkpoint holds, so a resumed run continues exactly where it stopped.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import torch

from ..errors import GenmetricsError
from .checkpoint import load_weights
from .config import TrainConfig
from .ema import ema_decay, moving_average_copy, update_moving_average
from .families import get_family
from .nets import build_discriminator, build_generator
from .seeding import STEP, derive_generator, global_rng_state, seed_global, set_global_rng_state
from .stopping import Tracker


@contextmanager
def frozen(net: torch.nn.Module):
    """``net``'s trainable parameters excluded from autograd inside the block (inputs still get gradients)."""
    params = [p for p in net.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


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
        with frozen(self.D):  # G's update needs gradients through D, not D's own: skip their arithmetic
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
