"""``unrolled``: Metz et al. 2017, the generator's loss is taken against the discriminator after k more
(simulated) Adam steps, differentiated through those steps, so G anticipates how D will respond.

The k steps reuse the step's real batch and G's fakes (kept in the graph), as the authors' code does
(poolio/unrolled_gan). The actual D update is the ordinary one.
"""
from __future__ import annotations

import torch
from torch.func import functional_call

from ..errors import GenmetricsError
from .base import Family, bce_with_target, register
from .dcgan import DCGAN_OPTIMIZER
from .gan import TOY_SCHEDULE

# Adam's sqrt(v) has an infinite derivative at v = 0 (an exactly zero gradient on the first step);
# 1e-16 inside the root keeps second-order gradients finite and changes the update by < 1e-8 relative.
SQRT_FLOOR = 1e-16


def unrolled_discriminator(run, real: torch.Tensor, fake: torch.Tensor, steps: int) -> dict:
    """D's parameters and buffers after ``steps`` differentiable Adam steps on the GAN loss."""
    opt = run.opt_d
    group = opt.param_groups[0]
    lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
    names = [name for name, _ in run.D.named_parameters()]
    params = [p for _, p in run.D.named_parameters()]
    buffers = {name: b.clone() for name, b in run.D.named_buffers()}
    moments = []
    for p in params:
        state = opt.state.get(p, {})
        moments.append((state.get("exp_avg", torch.zeros_like(p)), state.get("exp_avg_sq", torch.zeros_like(p)),
                        float(state.get("step", 0))))
    current = [p.detach().requires_grad_(True) for p in params]  # G needs d(loss)/d(fake) only
    for _ in range(steps):
        values = {**dict(zip(names, current)), **buffers}
        loss = (bce_with_target(functional_call(run.D, values, (real,)), 1.0)
                + bce_with_target(functional_call(run.D, values, (fake,)), 0.0))
        grads = torch.autograd.grad(loss, current, create_graph=True)
        updated, new_moments = [], []
        for p, g, (m, v, t) in zip(current, grads, moments):
            m, v, t = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g, t + 1
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            updated.append(p - lr * m_hat / ((v_hat + SQRT_FLOOR).sqrt() + eps))
            new_moments.append((m, v, t))
        current, moments = updated, new_moments
    return {**dict(zip(names, current)), **buffers}


@register
class Unrolled(Family):
    name = "unrolled"
    citation = "Metz, Poole, Pfau & Sohl-Dickstein 2017, Unrolled Generative Adversarial Networks"
    arch = "conv"
    # Images: DCGAN's networks and optimiser, which Metz et al. build on (Section 3.3); k = 5 unrolling steps.
    image_defaults = dict(DCGAN_OPTIMIZER, batch_size=128, unroll_steps=5, g_batchnorm=True, d_norm="batch")
    # 2-D mixtures: Adam beta1 0.5, batch 512, z 256-d, MLPs of 2 x 128 units, 5 unrolling steps (Metz et al.
    # 2017, Section 3.1 and Appendix A; poolio/unrolled_gan params). Departures, measured with
    # benchmarks/toy_modes.py (docs/trainers.md, rows in benchmarks/results/toy_modes/): Adam 1e-3 decayed
    # linearly to 0 (the toy gan's schedule) in place of the paper's constant 1e-4, which in our 8,000-step
    # runs leaves one blurred ring (ring8 seed 3: 7 modes, 5.9% high quality); and the toy gan's R1 penalty
    # (gamma 0.1), without which ring8 seed 4 ended with 7 modes (one holding 3 of 20,000 samples); with it
    # seeds 0-9 keep all 8 modes, at 71.9-81.2% high quality (VEEGAN's Unrolled GAN row: 7.6 modes, 35.6%).
    # The paper's settings: --set lr_g=1e-4 --set lr_d=1e-4 --set lr_decay=none --set r1_gamma=0. grid25 also
    # takes the toy gan's G (presets.TUNED_DEFAULTS).
    toy_defaults = dict(TOY_SCHEDULE, batch_size=512, z_dim=256, g_width=128, g_depth=2, g_batchnorm=False,
                        d_width=128, d_depth=2, d_activation="relu", unroll_steps=5, init_std=0.0, r1_gamma=0.1)

    def check(self, config):
        if config.optimizer != "adam":
            raise GenmetricsError("unrolled simulates Adam steps of D: keep optimizer=adam")
        if not config.unroll_steps or config.unroll_steps < 1:
            raise GenmetricsError("unroll_steps must be at least 1 (--set unroll_steps=5)")

    def generator_loss(self, run, real, labels, gen):
        fake = run.fake(real.shape[0], gen)
        values = unrolled_discriminator(run, real, fake, run.config.unroll_steps)
        loss = bce_with_target(functional_call(run.D, values, (fake,)), 1.0)
        return loss, {"loss_g": loss.item()}
