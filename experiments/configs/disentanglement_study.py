"""The disentanglement study (issue #17): Locatello et al. 2019's methods and grids on procedural sprites.

Every setting is trained as a sweep (``vae_jax.sweep``): one program per (method, fixed hyperparameters), its
members the swept value × the seeds. ``experiments/disentanglement_study.py`` runs it; this module only says what
is trained.

Sizes:
  * ``gpu`` — the literature's setup: 64×64 sprites, Locatello et al.'s conv encoder/decoder (4 conv layers
    32-32-64-64, 4×4 stride 2, dense 256, 10 latents, Bernoulli), Adam 1e-4, batch 64, 300,000 updates, the full
    grids of :data:`GRIDS`, 5 seeds. For an accelerator (``scripts/gpu_check.sh study``).
  * ``cpu`` — what the 2-core CPU affords in under an hour (shared with other work): 32×32 sprites, the MLP VAE 1024-512-256-10 (the
    report's sprites model), Adam 5e-4, batch 64, ``CPU_STEPS`` updates, 5 seeds, the grid subset
    :data:`CPU_GRIDS`. At 32×32, ``β_norm = β·10/1024``: the same β weighs 4× more per pixel than at 64×64.
  * ``smoke`` — seconds (CI): 16×16, a 32-unit MLP, a few updates, 2 seeds, two values per method.
"""

from __future__ import annotations

import dataclasses

from vae_jax.configs import Config, DataConfig, ModelConfig, OptimizerConfig
from vae_jax.methods import annealed_vae, beta_tcvae, beta_vae, dip_vae_i, dip_vae_ii, factor_vae

LATENT_DIM = 10
CPU_STEPS = 10_000

# Locatello et al. 2019, Table 2 (the regularisation strength of each method; 50 seeds per value there).
GRIDS: dict[str, tuple[str, tuple[float, ...]]] = {
    "beta_vae": ("beta", (1.0, 2.0, 4.0, 6.0, 8.0, 16.0)),
    "annealed_vae": ("c_max", (5.0, 10.0, 25.0, 50.0, 75.0, 100.0)),
    "factor_vae": ("gamma", (10.0, 20.0, 30.0, 40.0, 50.0, 100.0)),
    "dip_vae_i": ("lambda_od", (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)),
    "dip_vae_ii": ("lambda_od", (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)),
    "beta_tcvae": ("beta", (1.0, 2.0, 4.0, 6.0, 8.0, 10.0)),
}
# The CPU subset (what fits ≈ 1 h of a 2-core CPU at CPU_STEPS): β = 1 (the plain VAE, the reference every setting
# is paired against), β-VAE at β = 4 (the best of β ∈ {2, 4, 8, 16} in the report's 32×32 runs, where larger β
# only lowered the scores), β-TCVAE at Chen et al.'s β = 6.
# FactorVAE (its 6×1000 discriminator costs ~4× the VAE's step here) and DIP-VAE run in the smoke size only.
CPU_GRIDS: dict[str, tuple[str, tuple[float, ...]]] = {
    "beta_vae": ("beta", (1.0, 4.0)),
    "beta_tcvae": ("beta", (6.0,)),
}
SMOKE_GRIDS: dict[str, tuple[str, tuple[float, ...]]] = {
    "beta_vae": ("beta", (1.0, 4.0)),
    "beta_tcvae": ("beta", (6.0,)),
    "factor_vae": ("gamma", (20.0,)),
    "dip_vae_i": ("lambda_od", (5.0,)),
}

SIZES = {
    "gpu": dict(resolution=64, architecture="conv", hidden=(), batch_size=64, num_steps=300_000, learning_rate=1e-4,
                seeds=5, log_every=1000, grids=GRIDS, num_test=2048),
    "cpu": dict(resolution=32, architecture="mlp", hidden=(512, 256), batch_size=64, num_steps=CPU_STEPS,
                learning_rate=5e-4, seeds=5, log_every=500, grids=CPU_GRIDS, num_test=2048),
    "smoke": dict(resolution=16, architecture="mlp", hidden=(32,), batch_size=16, num_steps=10, learning_rate=5e-4,
                  seeds=2, log_every=2, grids=SMOKE_GRIDS, num_test=64),
}
NUM_CURVE_POINTS = 5  # checkpoints kept for the metric-vs-updates curve


def method_config(name: str, value: float):
  """The method ``name`` with its swept hyperparameter at ``value`` and the rest at Locatello et al.'s values
  (DIP-VAE-I: λ_d = 10 λ_od; DIP-VAE-II: λ_d = λ_od; AnnealedVAE: γ = 1000, C reached at 100,000 updates)."""
  if name == "beta_vae":
    return beta_vae.Config(beta=value)
  if name == "beta_tcvae":
    return beta_tcvae.Config(alpha=1.0, beta=value, gamma=1.0)
  if name == "factor_vae":
    return factor_vae.Config(gamma=value)
  if name == "dip_vae_i":
    return dip_vae_i.Config(lambda_od=value, lambda_d=10.0 * value)
  if name == "dip_vae_ii":
    return dip_vae_ii.Config(lambda_od=value, lambda_d=value)
  if name == "annealed_vae":
    return annealed_vae.Config(gamma=1000.0, c_max=value, iteration_threshold=100_000)
  raise ValueError(f"unknown study method {name!r}; known: {sorted(GRIDS)}")


def tied(name: str) -> bool:
  """Whether the method's swept value sets a second field too (then each value is its own sweep, seeds as members)."""
  return name in ("dip_vae_i", "dip_vae_ii")


def get_config(size: str = "cpu", num_steps: int | None = None) -> Config:
  """The base config of ``size`` (the β-VAE with β = 1; the study replaces ``method``)."""
  if size not in SIZES:
    raise ValueError(f"unknown size {size!r}; one of {sorted(SIZES)}")
  s = SIZES[size]
  steps = s["num_steps"] if num_steps is None else num_steps
  if steps < NUM_CURVE_POINTS or steps % NUM_CURVE_POINTS or (steps // NUM_CURVE_POINTS) % s["log_every"]:
    raise ValueError(f"num_steps={steps}: must be a multiple of {NUM_CURVE_POINTS}·log_every "
                     f"({NUM_CURVE_POINTS * s['log_every']}) so the curve's checkpoints fall on host syncs.")
  every = steps // NUM_CURVE_POINTS
  return Config(
      model=ModelConfig(kind="vae", architecture=s["architecture"], hidden=s["hidden"] or (256,),
                        latent_dim=LATENT_DIM, likelihood="bernoulli"),
      method=beta_vae.Config(beta=1.0),
      optimizer=OptimizerConfig(name="adam", learning_rate=s["learning_rate"]),
      data=DataConfig(name="sprites", resolution=s["resolution"], num_test=s["num_test"]),
      batch_size=s["batch_size"], num_steps=steps, log_every=s["log_every"], eval_every=steps,
      checkpoint_every=every, keep_checkpoints=NUM_CURVE_POINTS, eval_batch_size=min(1024, s["num_test"]),
      figures=False, tensorboard=False, progress=False, num_devices=1 if size != "gpu" else 0,
  )


def sweeps(size: str = "cpu", num_steps: int | None = None) -> list[tuple[str, Config, tuple[str, tuple[float, ...]]]]:
  """``[(sweep name, base config, (swept field, values))]``: every sweep of the study at ``size``; the swept
  field is ``()`` for tied methods (one sweep per value; only the seeds vary)."""
  base = get_config(size, num_steps)
  out = []
  for method, (field, values) in SIZES[size]["grids"].items():
    if tied(method):
      for v in values:
        out.append((f"{method}_{field}{v:g}", dataclasses.replace(base, method=method_config(method, v)), ("", ())))
    else:
      out.append((method, dataclasses.replace(base, method=method_config(method, values[0])),
                  (f"method.{field}", values)))
  return out
