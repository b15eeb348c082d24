"""The capacity-annealed β-VAE (AnnealedVAE): recon + γ·|KL − C(step)|, C rising linearly 0 → ``c_max``.

The penalty is on the batch-mean KL, as in Burgess et al. and disentanglement_lib.

References:
  Burgess et al., "Understanding disentangling in β-VAE", 2018, Eq. (8). Locatello et al., ICML 2019, Table 2:
  c_max ∈ {5, 10, 25, 50, 75, 100}, γ = 1000, iteration threshold 100,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp

from vae_jax import losses
from vae_jax.methods import _common

NAME = "annealed_vae"
TITLE = "AnnealedVAE"  # the name in tables and figures


@dataclass(frozen=True)
class Config:
  """``gamma``: the weight of |KL − C|; ``c_max``: the final capacity C in nats, reached after
  ``iteration_threshold`` updates."""

  name: str = NAME
  gamma: float = 1000.0
  c_max: float = 25.0
  iteration_threshold: int = 100_000

  SWEEPABLE: ClassVar[tuple[str, ...]] = ("gamma", "c_max")

  def __post_init__(self):
    _common.check_name(self, NAME)
    _common.check_nonnegative(self, "gamma", "c_max")
    _common.check_positive(self, "iteration_threshold")


def make_loss(model, config: Config, *, dataset_size: int) -> _common.LossFn:
  """``loss_fn(params, batch, key, step) -> (loss, {loss, recon, kl, elbo, capacity, gamma})``."""
  del dataset_size

  def reg(mean, logvar, z, step):
    del z
    c = losses.linear_capacity(step, capacity_max=config.c_max, num_steps=config.iteration_threshold)
    kl = jnp.mean(losses.kl_standard_normal(mean, logvar))
    gamma = _common.f32(config.gamma)
    return gamma * jnp.abs(kl - c), {"capacity": c, "gamma": gamma}

  return _common.variational(model, regularizer=reg)
