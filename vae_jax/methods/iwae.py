"""The importance-weighted autoencoder: the negative IWAE bound −L_K with K samples (K = 1 is the VAE).

References:
  Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016, Eq. (8).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp

from vae_jax import likelihoods, losses, noise
from vae_jax.methods import _common

NAME = "iwae"
TITLE = "IWAE"  # the name in tables and figures


@dataclass(frozen=True)
class Config:
  """``num_samples``: K, the importance samples per example (static: it sets shapes)."""

  name: str = NAME
  num_samples: int = 5

  SWEEPABLE: ClassVar[tuple[str, ...]] = ()

  def __post_init__(self):
    _common.check_name(self, NAME)
    _common.check_positive(self, "num_samples")


def log_weights(model, params, x: jax.Array, key: jax.Array, *, num_samples: int) -> jax.Array:
  """log w_k = log p(x|z_k) + log p(z_k) − log q(z_k|x), z_k ~ q(z|x): ``[num_samples, batch]`` nats.

  Feed to :func:`vae_jax.losses.iwae_bound`; also the core of the importance-sampled NLL evaluation.
  """
  lik = likelihoods.get(model.likelihood)
  mean, logvar = _common.apply(model, params, x, method="encode")
  z = noise.reparameterize(key, mean, logvar, num_samples=num_samples)  # [K, B, D]
  outputs = _common.apply(model, params, z, method="decode")  # [K, B, H, W, C]
  log_scale = _common.apply(model, params, method="observation_log_scale")
  k, b = z.shape[:2]
  targets = jnp.broadcast_to(x[None], (k, *x.shape)).reshape(k * b, *x.shape[1:])
  log_px_z = -lik.nll(outputs.reshape(k * b, *x.shape[1:]), targets, log_scale).reshape(k, b)
  log_pz = losses.gaussian_log_density(z, jnp.zeros_like(z), jnp.zeros_like(z))
  log_qz_x = losses.gaussian_log_density(z, mean[None], logvar[None])
  return log_px_z + log_pz - log_qz_x


def make_loss(model, config: Config, *, dataset_size: int) -> _common.LossFn:
  """``loss_fn(params, batch, key, step) -> (loss, {loss, iwae_bound})``."""
  del dataset_size
  num_samples = config.num_samples

  def loss_fn(params, batch, key, step):
    del step
    _, k_z = jax.random.split(key)
    bound = jnp.mean(losses.iwae_bound(log_weights(model, params, batch["image"], k_z, num_samples=num_samples)))
    return -bound, {"loss": -bound, "iwae_bound": bound}

  return loss_fn
