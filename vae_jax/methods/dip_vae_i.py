"""DIP-VAE-I: the VAE plus a penalty pushing the covariance of the posterior means towards the identity.

    loss = recon + KL + λ_od·Σ_{i≠j} Cov_ij² + λ_d·Σ_i (Cov_ii − 1)²,   Cov = Cov_batch[μ(x)]

with Cov the (biased, 1/M) covariance over the batch. :mod:`vae_jax.methods.dip_vae_ii` uses the covariance of
q(z) instead.

References:
  Kumar, Sattigeri & Balakrishnan, "Variational Inference of Disentangled Latent Concepts from Unlabeled
  Observations", ICLR 2018, Eq. (6)-(7). Locatello et al., ICML 2019, Table 2: λ_od ∈ {1, 2, 5, 10, 20, 50},
  λ_d = 10·λ_od (DIP-VAE-I) and λ_d = λ_od (DIP-VAE-II).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import chex
import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from vae_jax import losses
from vae_jax.methods import _common

NAME = "dip_vae_i"
TITLE = "DIP-VAE-I"  # the name in tables and figures


@dataclass(frozen=True)
class Config:
  """``lambda_od``: weight of the squared off-diagonal covariances; ``lambda_d``: of the squared deviations of the
  diagonal from 1."""

  name: str = NAME
  lambda_od: float = 10.0
  lambda_d: float = 100.0

  SWEEPABLE: ClassVar[tuple[str, ...]] = ("lambda_od", "lambda_d")

  def __post_init__(self):
    _common.check_name(self, NAME)
    _common.check_nonnegative(self, "lambda_od", "lambda_d")


def covariance(x: ArrayLike) -> jax.Array:
  """The batch covariance E[x xᵀ] − E[x] E[x]ᵀ (divided by M, as disentanglement_lib).

  Args:
    x: ``[batch, latent]``.

  Returns:
    ``[latent, latent]``.
  """
  x = jnp.asarray(x)
  chex.assert_rank(x, 2, custom_message=f"covariance: x must be [batch, latent], got {list(x.shape)}",
                   exception_type=ValueError)
  centred = x - jnp.mean(x, axis=0, keepdims=True)
  return centred.T @ centred / jnp.float32(x.shape[0])


def dip_penalty(cov: ArrayLike, *, lambda_od, lambda_d) -> jax.Array:
  """λ_od·Σ_{i≠j} cov_ij² + λ_d·Σ_i (cov_ii − 1)²: a scalar, 0 for the identity.

  Args:
    cov: ``[latent, latent]``.
    lambda_od, lambda_d: the weights (numbers or traced scalars).
  """
  cov = jnp.asarray(cov)
  square = f"dip_penalty: cov must be square [latent, latent], got {list(cov.shape)}"
  chex.assert_rank(cov, 2, custom_message=square, exception_type=ValueError)
  chex.assert_axis_dimension(cov, 1, cov.shape[0], custom_message=square, exception_type=ValueError)
  diag = jnp.diagonal(cov)
  off = cov - jnp.diag(diag)
  return _common.f32(lambda_od) * jnp.sum(jnp.square(off)) + _common.f32(lambda_d) * jnp.sum(jnp.square(diag - 1.0))


def make_dip_loss(model, config, *, second_order: bool) -> _common.LossFn:
  """The DIP loss on Cov[μ] (``second_order=False``, DIP-VAE-I) or Cov[μ] + E[diag σ²] (True, DIP-VAE-II)."""

  def reg(mean, logvar, z, step):
    del z, step
    cov = covariance(mean)
    if second_order:
      cov = cov + jnp.diag(jnp.mean(jnp.exp(logvar), axis=0))
    dip = dip_penalty(cov, lambda_od=config.lambda_od, lambda_d=config.lambda_d)
    kl = jnp.mean(losses.kl_standard_normal(mean, logvar))
    return kl + dip, {"dip": dip}

  return _common.variational(model, regularizer=reg)


def make_loss(model, config: Config, *, dataset_size: int) -> _common.LossFn:
  """``loss_fn(params, batch, key, step) -> (loss, {loss, recon, kl, elbo, dip})``."""
  del dataset_size
  return make_dip_loss(model, config, second_order=False)
