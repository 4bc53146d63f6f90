"""``began``: Berthelot, Schumm & Metz 2017, Boundary Equilibrium GAN, with an autoencoder discriminator.

L(v) = mean |v - D(v)| (per sample, the mean over pixels; eta = 1). D minimises L(x) - k_t L(G(z_D)) and G
minimises L(G(z_G)); the equilibrium control k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1),
k_0 = 0, keeps E L(G(z)) = gamma E L(x) (Section 3.3, Eq. 4). The convergence measure
M_global = L(x) + |gamma L(x) - L(G(z_G))| (Section 3.4.1) is logged every step, with k_t, and is what
``--stop-patience`` tracks for this family. z_D and z_G are separate draws (each update draws its own).
k_t lives in the run's family state, so resuming continues it exactly.
"""
from __future__ import annotations

from ..errors import GenmetricsError
from .autoencoder import build_autoencoder, reconstruction_error
from .base import Family, register


@register
class BEGAN(Family):
    name = "began"
    citation = "Berthelot, Schumm & Metz 2017, BEGAN: Boundary Equilibrium Generative Adversarial Networks"
    arch = "conv"
    measures = "M_global, the convergence measure (logged every step)"
    tracked = "m_global"  # what --stop-patience and best.pt follow (Section 3.4.1: it tracks convergence)
    # gamma = 0.5 and lambda_k = 0.001 (Section 3.3 and Section 4.1 ("lambda_k = 0.001"), Figure 2's gamma);
    # Adam lr 1e-4 (Section 4.1); beta1 0.5 and batch 16: carpedm20/BEGAN-tensorflow config.py defaults.
    # h = N_z = 64 (Section 4.1). No batch norm anywhere (Section 3.5); the paper's ELU and nearest-neighbour
    # upsampling are replaced by nets.py's DCGAN blocks.
    image_defaults = dict(optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.999, batch_size=16,
                          z_dim=64, ae_code=64, began_gamma=0.5, lambda_k=0.001, g_batchnorm=False, d_norm="none")
    toy_defaults = dict(optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.999, batch_size=16,
                        ae_code=16, began_gamma=0.5, lambda_k=0.001)

    def check(self, config):
        if config.began_gamma is None or not 0 < config.began_gamma <= 1:
            raise GenmetricsError("began needs 0 < began_gamma <= 1 (--set began_gamma=0.5)")
        if config.lambda_k is None or config.lambda_k < 0:
            raise GenmetricsError("began needs lambda_k >= 0 (--set lambda_k=0.001)")
        if not config.ae_code or config.ae_code < 1 or config.pack != 1 or config.n_critic != 1:
            raise GenmetricsError("began needs ae_code >= 1 (--set ae_code=64), pack 1 and n_critic 1")

    def build_discriminator(self, config):
        return build_autoencoder(config)

    def initial_state(self, config):
        return {"k": 0.0}  # k_0 = 0 (Section 4.1)

    def discriminator_loss(self, run, real, labels, gen):
        fake = run.fake(real.shape[0], gen).detach()
        loss_real = reconstruction_error(run.D, real, 1).mean()
        loss_fake = reconstruction_error(run.D, fake, 1).mean()
        run._began_real = loss_real.item()  # for this step's k_t update and M_global
        loss = loss_real - run.family_state["k"] * loss_fake
        return loss, {"loss_d": loss.item(), "loss_real": loss_real.item()}

    def generator_loss(self, run, real, labels, gen):
        cfg, state = run.config, run.family_state
        loss = reconstruction_error(run.D, run.fake(real.shape[0], gen), 1).mean()
        balance = cfg.began_gamma * run._began_real - loss.item()
        m_global = run._began_real + abs(balance)
        state["k"] = min(max(state["k"] + cfg.lambda_k * balance, 0.0), 1.0)
        return loss, {"loss_g": loss.item(), "k": state["k"], "m_global": m_global}
