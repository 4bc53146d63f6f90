"""The generator's exponential moving average (``g_ema`` > 0), the weights samples are drawn from.

After every generator update t = 1, 2, ...: G_ema <- decay_t G_ema + (1 - decay_t) G for the parameters,
while buffers (batch-norm statistics, ProGAN's level of detail) are copied: tkarras/progressive_growing_of_gans
``tfutil.py`` setup_as_moving_average_of (beta for trainables, beta_nontrainable = 0 for the rest); G_ema
starts as a copy of G (``train.py``: ``Gs = G.clone('Gs')``). Grids, evaluations, family measures,
``genmetrics sample`` and best.pt's choice all use G_ema (``TrainingState.sampler``); checkpoints hold it as
``generator_ema`` beside the trained ``generator``.

decay_t = min(decay, (1 + t) / (10 + t)): TensorFlow's ExponentialMovingAverage with ``num_updates``. A
departure from ProGAN, whose runs are hundreds of thousands of updates, past the 8,991 after which the
warm-up no longer binds; without it a CPU run of 600 updates at decay 0.999 would keep 0.999^600 = 55% of
the random initial weights in its samples.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn

WARMUP = 10  # (1 + t) / (10 + t): tf.train.ExponentialMovingAverage's num_updates rule


def ema_decay(decay: float, update: int) -> float:
    """The decay of update ``update`` (1, 2, ...): ``decay`` after the warm-up."""
    return min(decay, (1 + update) / (WARMUP + update))


def moving_average_copy(net: nn.Module) -> nn.Module:
    """A frozen copy of ``net`` in eval mode, the average's starting point."""
    average = copy.deepcopy(net).eval()
    average.requires_grad_(False)
    return average


@torch.no_grad()
def update_moving_average(average: nn.Module, net: nn.Module, decay: float) -> None:
    """average <- decay average + (1 - decay) net (parameters); buffers copied."""
    for mean, value in zip(average.parameters(), net.parameters()):
        mean.lerp_(value, 1.0 - decay)
    for mean, value in zip(average.buffers(), net.buffers()):
        mean.copy_(value)
