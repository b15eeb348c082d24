"""β-VAE family on procedural sprites (dSprites factors), sized for a shared 2-core CPU.

The base config is the β-VAE with β = 4; :func:`variants` gives the seven models of
``experiments/beta_vae_sprites.py`` (β ∈ {1, 2, 4, 8, 16}, the capacity-annealed β-VAE and β-TCVAE), which differ
only in ``config.method``. One model alone::

    python -m experiments.main --config experiments/configs/beta_vae_sprites.py --workdir runs/bvae_sprites

Setup (full) and why: 32×32 sprites drawn fresh on device every step (``data.name='sprites'``), an MLP VAE
1024-512-256-10 (decoder mirrored), Bernoulli likelihood, latent 10, Adam 5e-4, batch 64 (Higgins et al. 2017's
dSprites optimiser, latent size and batch). Higgins et al.'s 64×64 conv net for ~300k steps is out of reach here:
on a 2-core CPU a 32×32 conv VAE and the 1200-1200 MLP were each many times slower per step than this 512-256 MLP
(the step rates that decided it: ``experiments/NOTES.md``, β-VAE on sprites). At 32×32 the same β weighs about 4×
more per pixel than at 64×64: ``β_norm = β·latent/pixels`` is 0.0098·β here.
Expected result: a model trains in minutes on a CPU, and the KL falls as β rises; the measured KL per β is in
``experiments/results/beta_vae_sprites.json`` (section 4 of ``experiments/REPORT.md``).
"""

from __future__ import annotations

import dataclasses
import math

from vae_jax.configs import Config, DataConfig, ModelConfig, OptimizerConfig
from vae_jax.methods import annealed_vae, beta_tcvae, beta_vae, vae

# Per size: image side, MLP widths, batch, updates, fused updates per host sync, eval-set size.
SIZES = {
    "full": dict(resolution=32, hidden=(512, 256), batch_size=64, num_steps=5000, log_every=250, num_test=2048),
    "quick": dict(resolution=32, hidden=(512, 256), batch_size=64, num_steps=1000, log_every=250, num_test=1024),
    "smoke": dict(resolution=16, hidden=(32,), batch_size=16, num_steps=2, log_every=2, num_test=64),
    # For an accelerator: Higgins et al. 2017's dSprites MLP (64×64 input, 1200-1200, latent 10, batch 64, Adam
    # 5e-4) — their 1.5·10⁵+ updates are cut to what a short GPU lease allows (``--steps`` sets the number).
    "higgins": dict(resolution=64, hidden=(1200, 1200), batch_size=64, num_steps=30_000, log_every=1000,
                    num_test=2048),
}

LATENT_DIM = 10
BETAS = (1.0, 2.0, 4.0, 8.0, 16.0)
TCVAE_BETA = 6.0  # Chen et al. 2018's dSprites setting (alpha = gamma = 1)
CAPACITY_GAMMA = 1000.0  # Burgess et al. 2018
# Burgess et al. 2018 use 25 nats on 64×64 dSprites; here a plain VAE settles at ≈ 14 nats (32×32, 5000 updates), so
# C = 25 would force *more* information than the VAE takes. 10 nats sits between β = 2 (≈ 9.7) and β = 1.
CAPACITY_MAX = 10.0
CAPACITY_FRACTION = 0.75  # C rises 0 → CAPACITY_MAX over this fraction of training (theirs: 100k steps)


def get_config(size: str = "full", num_steps: int | None = None) -> Config:
  """The β-VAE (β = 4) on sprites at ``size`` (a key of ``SIZES``); ``num_steps`` overrides the size's updates."""
  s = dict(SIZES[size])
  if num_steps is not None:
    if num_steps < 1:
      raise ValueError(f"num_steps must be ≥ 1, got {num_steps}")
    # Host syncs must divide the run (evaluation and checkpoint come at its end).
    s.update(num_steps=num_steps, log_every=math.gcd(s["log_every"], num_steps))
  return Config(
      model=ModelConfig(kind="vae", architecture="mlp", hidden=s["hidden"], latent_dim=LATENT_DIM,
                        likelihood="bernoulli"),
      method=beta_vae.Config(beta=4.0),
      optimizer=OptimizerConfig(name="adam", learning_rate=5e-4),
      data=DataConfig(name="sprites", resolution=s["resolution"], num_test=s["num_test"]),
      batch_size=s["batch_size"], num_steps=s["num_steps"], log_every=s["log_every"],
      eval_every=s["num_steps"], checkpoint_every=s["num_steps"], keep_checkpoints=1,
      eval_batch_size=min(1024, s["num_test"]), figures=False, tensorboard=False, progress=False,
      num_devices=1 if size == "smoke" else 0,  # smoke: one device compiles fastest (CI runs 8 fake ones)
  )


def variants(size: str = "full", num_steps: int | None = None) -> dict[str, Config]:
  """The seven models, by name; only ``method`` differs."""
  base = get_config(size, num_steps)

  def with_method(method) -> Config:
    return dataclasses.replace(base, method=method)

  out = {"beta1": with_method(vae.Config())}
  out.update({f"beta{b:g}": with_method(beta_vae.Config(beta=b)) for b in BETAS[1:]})
  threshold = max(1, int(CAPACITY_FRACTION * base.num_steps))
  out["annealed"] = with_method(annealed_vae.Config(gamma=CAPACITY_GAMMA, c_max=CAPACITY_MAX,
                                                    iteration_threshold=threshold))
  out["tcvae"] = with_method(beta_tcvae.Config(alpha=1.0, beta=TCVAE_BETA, gamma=1.0))
  return out
