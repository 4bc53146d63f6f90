"""``stackgan``: Zhang, Xu, Li, Zhang, Wang, Huang & Metaxas 2017, StackGAN: Text to Photo-realistic Image
Synthesis with Stacked Generative Adversarial Networks (StackGAN-v1).

Text to image on captioned digits (``--data digits-captions``, captions.py: template captions embedded by a
fixed bag of words, where the paper uses a pretrained char-CNN-RNN). Networks: stackgan_nets.py.

- Conditioning augmentation: c = mu + sigma * eps from the embedding; G's loss adds
  ``kl_lambda`` * KL(N(mu, sigma^2) || N(0, I)), kl_lambda = 2.0 (the official config's TRAIN.COEFF.KL,
  hanzhanggit/StackGAN-Pytorch miscc/config.py and every cfg/*.yml).
- Matching-aware discriminators (Reed et al. 2016's GAN-CLS, as the official ``compute_discriminator_loss``):
  D scores (real image, its caption), (real image, a wrong caption: image i with the caption of image i + 1
  of the batch, as the official code shifts the conditions) and (fake image, its caption); D reads the
  caption's embedding through its own fully connected layer (the paper; stackgan_nets.py says why not
  G's mu, as the official PyTorch code). Stage I: L_D = BCE(real, 1) + 0.5 (BCE(fake, 0) + BCE(wrong, 0)). Stage II's
  D also has an unconditional head: L_D = (BCE(real, 1) + BCE_u(real, 1)) / 2 + (BCE(fake, 0) +
  BCE(wrong, 0) + BCE_u(fake, 0)) / 3. G: BCE(D(fake, mu), 1) (+ the unconditional term in Stage II) +
  the KL term. Each step generates one batch of fakes for both updates, as the official trainer.
- Stages trained in turn ("Implementation details": 600 epochs of Stage I, then 600 of Stage II with
  Stage I fixed): the first ``stage1_fraction`` of the steps train Stage I on the real images
  area-averaged to ``stage1_size``; the rest train Stage II on Stage I's images, Stage I frozen (and in
  eval mode, so its batch norm uses its running statistics; the official code leaves it in training mode).
  The step where Stage II starts is fixed when the run starts and saved in checkpoints, so a resumed run
  with more --steps keeps it.
- Adam 2e-4, beta (0.5, 0.999) (the paper: "ADAM solver ... initial learning rate of 0.0002"; betas from the
  official trainer.py), batch 64. The paper halves the rate every 100 of each stage's 600 epochs; here
  ``lr_decay`` applies within each stage (each stage starts at the full rate): "none" by default.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import GenmetricsError
from .base import Family, register
from .captions import CAPTION_DATA, DIGIT_WORDS, VOCABULARY, embed_labels, embedding_table
from .seeding import FIXED, derive_generator
from .stackgan_nets import StackDiscriminator, StackGenerator, init_stackgan, kl_to_standard_normal

GRID_COLUMNS = 8


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def discriminator_terms(d, real, fake, embedding) -> tuple[torch.Tensor, dict]:
    """The matching-aware loss of one stage's D (module docstring) and its parts."""
    real_features, fake_features = d(real), d(fake)
    real_loss = bce(d.conditional(real_features, embedding), 1.0)
    wrong = bce(d.conditional(real_features[:-1], embedding[1:]), 0.0)
    fake_loss = bce(d.conditional(fake_features, embedding), 0.0)
    logs = {"d_real": real_loss.item(), "d_wrong": wrong.item(), "d_fake": fake_loss.item()}
    if d.uncond is None:
        loss = real_loss + 0.5 * (fake_loss + wrong)
    else:
        real_u, fake_u = bce(d.unconditional(real_features), 1.0), bce(d.unconditional(fake_features), 0.0)
        loss = (real_loss + real_u) / 2 + (fake_loss + wrong + fake_u) / 3
    return loss, {"loss_d": loss.item(), **logs}


def stage_at(run) -> int:
    return 1 if run.step < run.family_state["stage1_steps"] else 2


@register
class StackGAN(Family):
    name = "stackgan"
    citation = "Zhang et al. 2017, StackGAN: Text to Photo-realistic Image Synthesis with Stacked GANs"
    captioned = True  # trains on captioned data (captions.py)
    data_kinds = ("image",)
    measures = "caption accuracy of samples: class, thickness, inversion (genmetrics eval-captions)"
    tracked = None
    # Batch 64, 600 + 600 epochs, Z_DIM 100, CONDITION_DIM 128, GF_DIM 128 (our width: Stage I's last block,
    # GF_DIM / 2 = 64), DF_DIM 64, R_NUM 2, Stage I at 64 px of 256: the paper and the official config / coco_s2.yml.
    image_defaults = dict(optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999, lr_decay="none",
                          batch_size=64, epochs=1200, z_dim=100, condition_dim=128, g_width=64, d_width=64,
                          g_blocks=2, kl_lambda=2.0, stage1_fraction=0.5, stage1_size=64, init_std=0.02,
                          sample_every=500)
    # Bundled captioned digits (CPU-sized, not the paper's; docs/trainers.md has the measured runs): Stage I at
    # the digits' own 8x8 (a quarter of the side, as the paper's 64 of 256 px; at 16 px, 1,500 Stage-I steps
    # learned the inversion but no class), 16-channel networks, batch 64, the paper's learning rate, 6,000
    # steps: 5,000 of Stage I (53 epochs) and 1,000 of Stage II (11). Measured: the class comes with Stage I's
    # length (class accuracy 0.21 after 1,500 Stage-I steps, 0.66 after 3,000, 0.84 after 5,000), and Stage II
    # needs about 1,000 steps for the thickness (500: 0.58-0.89, 1,000: 0.83-0.92 in probes). About 0.025 s a
    # Stage-I step and 0.14 s a Stage-II step on an idle core (4-5 minutes a run); 0.12 s and ~0.6 s on
    # the shared 2-core machine at a load of 4-5.
    digits_defaults = dict(epochs=None, steps=6000, stage1_fraction=5 / 6, stage1_size=8, g_width=16, d_width=16,
                           sample_every=250, checkpoint_every=400)

    def check(self, config) -> None:
        if config.data != CAPTION_DATA:
            raise GenmetricsError(f"--data {config.data}: stackgan turns captions into images; give --data "
                                  f"{CAPTION_DATA} (captioned digits)")
        if config.eval_every:
            raise GenmetricsError("stackgan: --eval-every scores unconditional samples; score captions with "
                                  "genmetrics eval-captions RUN after training (or --eval-every 0)")
        size, low = config.image_size, config.stage1_size or 0
        if size & (size - 1) or low & (low - 1) or not 8 <= low < size:
            raise GenmetricsError(f"stackgan: image size {size} and stage1_size {low} must be powers of 2 with "
                                  f"8 <= stage1_size < image size (e.g. --set stage1_size=16 for 32 px)")
        if not 0 < (config.stage1_fraction or 0) < 1:
            raise GenmetricsError(f"stage1_fraction {config.stage1_fraction}: the share of the steps that trains "
                                  f"Stage I must be between 0 and 1 (0.5: half, then Stage II)")
        if (config.kl_lambda or 0) < 0 or (config.condition_dim or 0) < 1:
            raise GenmetricsError("kl_lambda must be >= 0 and condition_dim >= 1")
        if config.n_critic != 1 or config.pack != 1 or config.g_ema or config.native_size:
            raise GenmetricsError("stackgan alternates one D and one G update on the same fakes at the image size: "
                                  "use n_critic=1, pack=1, g_ema=0, native_size=0")
        if config.batch_size < 2:
            raise GenmetricsError("stackgan: batch_size must be at least 2 (a wrong caption is another row's)")

    def build_generator(self, config):
        net = StackGenerator(config.z_dim, len(VOCABULARY), config.condition_dim, config.g_width,
                             config.stage1_size, config.image_size, config.channels, config.g_blocks or 2)
        return init_stackgan(net, config.init_std)

    def build_discriminator(self, config):
        net = StackDiscriminator(config.channels, config.stage1_size, config.image_size, config.d_width,
                                 len(VOCABULARY), config.condition_dim)
        return init_stackgan(net, config.init_std)

    def initial_state(self, config) -> dict:
        return {"stage1_steps": int(round(config.stage1_fraction * config.steps))}

    def before_step(self, run) -> None:
        """Modes, the stage buffer and the stage's learning rate (lr_decay over the stage's own steps)."""
        cfg, stage = run.config, stage_at(run)
        run.G.train(), run.D.train()
        if stage == 2:
            run.G.stage.fill_(2)
            run.G.stage1.eval()
        first = run.family_state["stage1_steps"]
        start, length = (0, first) if stage == 1 else (first, cfg.steps - first)
        progress = (run.step - start) / max(length, 1)
        scale = {"none": 1.0, "linear": 1.0 - progress, "half-linear": min(1.0, 2.0 - 2.0 * progress)}[cfg.lr_decay]
        for opt, lr in ((run.opt_g, cfg.lr_g), (run.opt_d, cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * scale

    def _embeddings(self, run, labels):
        if getattr(run, "_caption_table", None) is None:
            run._caption_table = embedding_table()
        return embed_labels(labels, run._caption_table).to(run.device)

    def _generate(self, run, embedding, gen):
        noise = torch.randn(len(embedding), run.G.z_dim, generator=gen).to(run.device)
        if stage_at(run) == 1:
            return run.G.stage_one(noise, embedding)
        with torch.no_grad():
            low = run.G.stage_one(noise, embedding)[0]
        return run.G.stage_two(noise, embedding, low)

    def discriminator_loss(self, run, real, labels, gen):
        cfg, stage = run.config, stage_at(run)
        embedding = self._embeddings(run, labels)
        fake, mu, logvar = self._generate(run, embedding, gen)
        run._stack_fakes = (fake, mu, logvar, embedding)  # the generator's update uses the same fakes
        if stage == 1:
            real = F.avg_pool2d(real, cfg.image_size // cfg.stage1_size)
        d = run.D.stage1 if stage == 1 else run.D.stage2
        return discriminator_terms(d, real, fake.detach(), embedding)

    def generator_loss(self, run, real, labels, gen):
        fake, mu, logvar, embedding = run._stack_fakes
        run._stack_fakes = None
        d = run.D.stage1 if stage_at(run) == 1 else run.D.stage2
        features = d(fake)
        adversarial = bce(d.conditional(features, embedding), 1.0)
        if d.uncond is not None:
            adversarial = adversarial + bce(d.unconditional(features), 1.0)
        kl = kl_to_standard_normal(mu, logvar)
        return adversarial + run.config.kl_lambda * kl, {"loss_g": adversarial.item(), "kl": kl.item(),
                                                          "stage": stage_at(run)}

    def sample_grid(self, run):
        """Row d: the caption of digit d, thick when d is odd, inverted when d mod 4 >= 2 (template 0); eight
        fixed noise draws per row. During Stage I the Stage-I images are shown, enlarged (nearest)."""
        from torchvision.utils import make_grid

        from ..data.writers import to_uint8_nhwc

        rows = torch.tensor([(d, d % 2, (d // 2) % 2, 0) for d in range(len(DIGIT_WORDS))])
        labels = rows.repeat_interleave(GRID_COLUMNS, dim=0)
        noise = torch.randn(len(labels), run.G.z_dim, generator=derive_generator(run.config.seed, FIXED))
        run.G.eval()
        try:
            with torch.no_grad():
                images = run.G(noise.to(run.device), self._embeddings(run, labels))  # the stage trained so far
        finally:
            run.G.train()
        grid = make_grid(images.cpu(), nrow=GRID_COLUMNS, padding=2, pad_value=1.0)
        return to_uint8_nhwc(grid[None])[0][..., :run.config.channels]

    def measure(self, run, final):
        if not final:
            return {}
        from .caption_scores import score_generator

        return score_generator(run.G, run.config, device=run.device)
