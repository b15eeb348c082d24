"""FactorVAE: the VAE plus γ·TC, the total correlation of q(z) estimated by a discriminator (density-ratio trick).

A discriminator D(z) learns to tell samples of q(z) from samples of Π_d q(z_d), made by permuting each latent
dimension independently across the batch. At its optimum its logit is log q(z) / Π_d q(z_d), so the mean logit
over samples of q(z) estimates TC = KL(q(z) ‖ Π_d q(z_d)). As in Algorithm 1 of the paper, each batch is cut in
two halves: the VAE loss (recon + KL + γ·mean logit) uses the first; the discriminator, updated in the same jitted
step with its own Adam, sees samples of q(z) from the first half and permuted samples from the second. Its
parameters and optimizer state live in ``TrainState.extra``, so they are checkpointed and a resumed run is bit for
bit the uninterrupted one.

References:
  Kim & Mnih, "Disentangling by Factorising", ICML 2018, Eq. (2)-(3), Algorithm 1 and App. (discriminator: 6
  layers of 1000 leaky-ReLU units; Adam, learning rate 1e-4, β1 = 0.5, β2 = 0.9). Locatello et al., ICML 2019,
  Table 2: γ ∈ {10, 20, 30, 40, 50, 100}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from vae_jax import losses, noise
from vae_jax.dense import Dense
from vae_jax.methods import _common

NAME = "factor_vae"
TITLE = "FactorVAE"  # the name in tables and figures


@dataclass(frozen=True)
class Config:
  """``gamma``: the TC weight. ``discriminator_hidden``: the discriminator MLP's widths (static);
  ``discriminator_learning_rate``/``_b1``/``_b2``: its Adam."""

  name: str = NAME
  gamma: float = 10.0
  discriminator_hidden: tuple[int, ...] = (1000,) * 6
  discriminator_learning_rate: float = 1e-4
  discriminator_b1: float = 0.5
  discriminator_b2: float = 0.9

  SWEEPABLE: ClassVar[tuple[str, ...]] = ("gamma",)

  def __post_init__(self):
    _common.check_name(self, NAME)
    _common.check_nonnegative(self, "gamma")
    _common.check_positive(self, "discriminator_learning_rate")
    if not self.discriminator_hidden or any(w <= 0 for w in self.discriminator_hidden):
      raise ValueError(f"method.discriminator_hidden must hold positive widths, got {self.discriminator_hidden}.")
    for f in ("discriminator_b1", "discriminator_b2"):
      v = getattr(self, f)
      if _common.is_number(v) and not 0 <= v < 1:
        raise ValueError(f"method.{f} must be in [0, 1), got {v!r}.")


class Discriminator(nn.Module):
  """MLP ``[batch, latent] -> [batch]`` logits of "drawn from q(z)" (vs from the product of its marginals)."""

  hidden: tuple[int, ...]

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    h = z
    for width in self.hidden:
      h = nn.leaky_relu(Dense(width)(h), negative_slope=0.2)
    return Dense(1)(h)[:, 0]


def permute_dims(key: jax.Array, z: jax.Array) -> jax.Array:
  """Each column of ``z`` ``[batch, latent]`` permuted across the batch, independently per dimension.

  The result is a sample of Π_d q(z_d) when the rows are samples of q(z) (Kim & Mnih, Algorithm 1).
  """
  chex.assert_rank(z, 2, custom_message=f"permute_dims: z must be [batch, latent], got {list(jnp.shape(z))}",
                   exception_type=ValueError)
  keys = jax.random.split(key, z.shape[1])
  rows = jax.vmap(lambda k: jax.random.permutation(k, z.shape[0]))(keys)  # [latent, batch]
  return jnp.take_along_axis(z, rows.T, axis=0)


def make_discriminator(config: Config) -> tuple[Discriminator, optax.GradientTransformation]:
  """The discriminator and its optimizer for ``config``."""
  tx = optax.adam(config.discriminator_learning_rate, b1=config.discriminator_b1, b2=config.discriminator_b2)
  return Discriminator(tuple(config.discriminator_hidden)), tx


def tc_estimate(disc: Discriminator, disc_params, z: jax.Array) -> jax.Array:
  """The density-ratio estimate of TC: mean over ``z`` ``[batch, latent]`` (samples of q(z)) of D's logit, nats."""
  return jnp.mean(disc.apply({"params": disc_params}, z))


def discriminator_update(disc: Discriminator, tx: optax.GradientTransformation, state: dict, z: jax.Array,
                         key: jax.Array) -> tuple[dict, _common.Metrics]:
  """One discriminator step on codes ``z`` ``[batch, latent]`` (no gradient reaches them).

  The first half of the rows are the "q(z)" class; the second half, permuted per dimension, the "Π_d q(z_d)"
  class. Loss: the mean binary cross-entropy of the two halves (``disc_loss``), with its ``disc_accuracy``.
  """
  z = jax.lax.stop_gradient(z)
  half = z.shape[0] // 2
  z_real, z_perm = z[:half], permute_dims(key, z[half:2 * half])

  def loss(params):
    l_real = disc.apply({"params": params}, z_real)
    l_perm = disc.apply({"params": params}, z_perm)
    bce = 0.5 * (jnp.mean(jax.nn.softplus(-l_real)) + jnp.mean(jax.nn.softplus(l_perm)))
    accuracy = 0.5 * (jnp.mean((l_real > 0).astype(jnp.float32)) + jnp.mean((l_perm < 0).astype(jnp.float32)))
    return bce, accuracy

  (bce, accuracy), grads = jax.value_and_grad(loss, has_aux=True)(state["params"])
  with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats with its int32 count
    updates, opt_state = tx.update(grads, state["opt_state"], state["params"])
    params = optax.apply_updates(state["params"], updates)
  return {"params": params, "opt_state": opt_state}, {"disc_loss": bce, "disc_accuracy": accuracy}


def make_extra(model, config: Config) -> _common.Extra:
  """The discriminator's state (``{"params", "opt_state"}``) and its update inside the train step."""
  disc, tx = make_discriminator(config)

  def init(key):
    params = disc.init(key, jnp.zeros((1, model.latent_dim), jnp.float32))["params"]
    return {"params": params, "opt_state": tx.init(params)}

  def update(state, params, batch, key, step):
    del step
    k_z, k_perm = jax.random.split(key)
    mean, logvar = _common.apply(model, params, batch["image"], method="encode")
    z = noise.reparameterize(k_z, mean, logvar)
    return discriminator_update(disc, tx, state, z, k_perm)

  return _common.Extra(init=init, update=update)


def make_loss(model, config: Config, *, dataset_size: int) -> _common.LossFn:
  """``loss_fn(params, batch, key, step, *, extra) -> (loss, {loss, recon, kl, elbo, tc, gamma})`` on the first
  half of the batch; ``extra`` is the discriminator's state (:func:`make_extra`)."""
  del dataset_size
  disc, _ = make_discriminator(config)

  def loss_fn(params, batch, key, step, *, extra):
    disc_params = jax.lax.stop_gradient(extra["params"])

    def reg(mean, logvar, z, step):
      del step
      kl = jnp.mean(losses.kl_standard_normal(mean, logvar))
      tc = tc_estimate(disc, disc_params, z)
      gamma = _common.f32(config.gamma)
      return kl + gamma * tc, {"tc": tc, "gamma": gamma}

    images = batch["image"]
    first_half = {"image": images[:images.shape[0] // 2]}
    return _common.variational(model, regularizer=reg)(params, first_half, key, step)

  return loss_fn
