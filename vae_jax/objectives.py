"""Training objectives: each composes a model, the noise functions and the losses into one loss function.

Every objective returns ``loss_fn(params, batch, key, step) -> (loss, metrics)`` where ``batch["image"]`` is
``[batch, H, W, C]``, ``key`` is the step's PRNG key and ``step`` an int32 scalar (for schedules, computed inside
jit). The one key is split into the corruption key and the reparameterization key, always in that order. ``loss``
is the batch mean in nats per example; ``metrics`` is a flat dict of scalar arrays.

The family:
  * :func:`autoencoder` — reconstruction only; with a ``corruption`` it is the **denoising** AE
    (corrupt the input, reconstruct the clean one).
  * :func:`variational` — reconstruction + a regularizer of the posterior. The VAE, β-VAE, capacity-annealed
    β-VAE and β-TCVAE differ **only** in the regularizer: :func:`kl_regularizer`,
    :func:`capacity_regularizer`, :func:`tc_regularizer`.
  * :func:`iwae` — the importance-weighted bound with K samples.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from vae_jax import likelihoods, losses, noise

Params = Any
Metrics = dict[str, jax.Array]
LossFn = Callable[[Params, dict, jax.Array, jax.Array], tuple[jax.Array, Metrics]]
Corruption = Callable[[jax.Array, jax.Array], jax.Array]
Schedule = float | Callable[[jax.Array], jax.Array]
# (mean, logvar, z, step) -> (scalar penalty, metrics)
Regularizer = Callable[[jax.Array, jax.Array, jax.Array, jax.Array], tuple[jax.Array, Metrics]]

CORRUPTIONS = {
    "gaussian": lambda level: functools.partial(noise.gaussian_noise, stddev=level),
    "masking": lambda level: functools.partial(noise.masking_noise, rate=level),
    "salt_and_pepper": lambda level: functools.partial(noise.salt_and_pepper, rate=level),
}


def make_corruption(kind: str | None, level: float) -> Corruption | None:
  """The denoising AE's corruption ``(key, x) -> x̃``: ``"gaussian"`` (σ = level), ``"masking"`` or
  ``"salt_and_pepper"`` (rate = level); ``None``/``"none"`` for a plain AE."""
  if kind in (None, "none"):
    return None
  if kind not in CORRUPTIONS:
    raise ValueError(f"Unknown corruption {kind!r}; choose one of {['none', *CORRUPTIONS]}.")
  return CORRUPTIONS[kind](level)


def _schedule_value(value: Schedule, step: jax.Array) -> jax.Array:
  return jnp.asarray(value(step) if callable(value) else value, jnp.float32)


def _mean(x: jax.Array) -> jax.Array:
  return jnp.mean(x)


def _apply(model: nn.Module, params: Params, *args, method: str | None = None, **kwargs):
  return model.apply({"params": params}, *args, method=method, **kwargs)


def _inputs(batch: dict, key: jax.Array, corruption: Corruption | None) -> tuple[jax.Array, jax.Array]:
  """Returns (clean targets, encoder input)."""
  x = batch["image"]
  return x, (x if corruption is None else corruption(key, x))


def autoencoder(model: nn.Module, *, corruption: Corruption | None = None) -> LossFn:
  """Plain (or, with ``corruption``, denoising) autoencoder: E[recon NLL of the clean x given the code].

  References:
    Vincent et al., "Stacked Denoising Autoencoders", JMLR 2010, Sec. 3.
  """
  lik = likelihoods.get(model.likelihood)

  def loss_fn(params, batch, key, step):
    del step
    k_noise, _ = jax.random.split(key)
    x, x_in = _inputs(batch, k_noise, corruption)
    out = _apply(model, params, x_in)
    recon = lik.nll(out.outputs, x, out.log_scale)
    loss = _mean(recon)
    return loss, {"loss": loss, "recon": loss}

  return loss_fn


def kl_regularizer(*, beta: Schedule = 1.0) -> Regularizer:
  """β·KL(q(z|x) ‖ N(0, I)) — β = 1 is the VAE (Kingma & Welling 2014), β > 1 the β-VAE (Higgins et al. 2017).

  ``beta`` may be a function of the step (annealing), evaluated inside jit.
  """

  def reg(mean, logvar, z, step):
    del z
    b = _schedule_value(beta, step)
    kl = _mean(losses.kl_standard_normal(mean, logvar))
    return b * kl, {"beta": b}

  return reg


def capacity_regularizer(*, gamma: float, capacity_max: float, num_steps: int) -> Regularizer:
  """γ·|KL − C(step)| on the batch-mean KL, C rising linearly 0 → ``capacity_max`` over ``num_steps``.

  References:
    Burgess et al., "Understanding disentangling in β-VAE", 2018, Eq. (8).
  """

  def reg(mean, logvar, z, step):
    del z
    c = losses.linear_capacity(step, capacity_max=capacity_max, num_steps=num_steps)
    kl = _mean(losses.kl_standard_normal(mean, logvar))
    return jnp.float32(gamma) * jnp.abs(kl - c), {"capacity": c, "gamma": jnp.float32(gamma)}

  return reg


def tc_regularizer(*, dataset_size: int, alpha: float = 1.0, beta: Schedule = 6.0, gamma: float = 1.0) -> Regularizer:
  """α·MI + β·TC + γ·DWKL with minibatch-weighted-sampling estimates (β-TCVAE, Chen et al. 2018, Eq. 4)."""

  def reg(mean, logvar, z, step):
    parts = losses.tc_decomposition(z, mean, logvar, dataset_size=dataset_size)
    b = _schedule_value(beta, step)
    mi, tc, dwkl = _mean(parts["mi"]), _mean(parts["tc"]), _mean(parts["dwkl"])
    penalty = jnp.float32(alpha) * mi + b * tc + jnp.float32(gamma) * dwkl
    return penalty, {"mi": mi, "tc": tc, "dwkl": dwkl, "beta": b}

  return reg


def variational(model: nn.Module, *, regularizer: Regularizer, corruption: Corruption | None = None) -> LossFn:
  """Reconstruction NLL (one reparameterized sample) + ``regularizer``: the whole VAE family.

  Metrics always include the analytic ``kl`` and the ``elbo`` (−recon − KL), whatever the regularizer, so runs
  with different regularizers are comparable.
  """
  lik = likelihoods.get(model.likelihood)

  def loss_fn(params, batch, key, step):
    k_noise, k_z = jax.random.split(key)
    x, x_in = _inputs(batch, k_noise, corruption)
    out = _apply(model, params, x_in, key=k_z)
    recon = _mean(lik.nll(out.outputs, x, out.log_scale))
    penalty, metrics = regularizer(out.mean, out.logvar, out.z, step)
    kl = _mean(losses.kl_standard_normal(out.mean, out.logvar))
    loss = recon + penalty
    return loss, {"loss": loss, "recon": recon, "kl": kl, "elbo": -(recon + kl), **metrics}

  return loss_fn


def vae(model: nn.Module, *, corruption: Corruption | None = None) -> LossFn:
  """The VAE's negative ELBO (Kingma & Welling 2014, Eq. 3)."""
  return variational(model, regularizer=kl_regularizer(beta=1.0), corruption=corruption)


def beta_vae(model: nn.Module, *, beta: Schedule, corruption: Corruption | None = None) -> LossFn:
  """recon + β·KL (Higgins et al. 2017, Eq. 4)."""
  return variational(model, regularizer=kl_regularizer(beta=beta), corruption=corruption)


def capacity_vae(model: nn.Module, *, gamma: float, capacity_max: float, num_steps: int) -> LossFn:
  """recon + γ·|KL − C(step)| (Burgess et al. 2018)."""
  return variational(model, regularizer=capacity_regularizer(gamma=gamma, capacity_max=capacity_max,
                                                             num_steps=num_steps))


def beta_tcvae(model: nn.Module, *, dataset_size: int, alpha: float = 1.0, beta: Schedule = 6.0,
               gamma: float = 1.0) -> LossFn:
  """recon + α·MI + β·TC + γ·DWKL (Chen et al. 2018)."""
  return variational(model, regularizer=tc_regularizer(dataset_size=dataset_size, alpha=alpha, beta=beta,
                                                       gamma=gamma))


def iwae_log_weights(model: nn.Module, params: Params, x: jax.Array, key: jax.Array, *,
                     num_samples: int) -> jax.Array:
  """log w_k = log p(x|z_k) + log p(z_k) − log q(z_k|x), z_k ~ q(z|x): ``[num_samples, batch]`` nats.

  Feed to :func:`vae_jax.losses.iwae_bound`; also the core of the importance-sampled NLL evaluation.
  """
  lik = likelihoods.get(model.likelihood)
  mean, logvar = _apply(model, params, x, method="encode")
  z = noise.reparameterize(key, mean, logvar, num_samples=num_samples)  # [K, B, D]
  outputs = _apply(model, params, z, method="decode")  # [K, B, H, W, C]
  log_scale = _apply(model, params, method="observation_log_scale")
  k, b = z.shape[:2]
  targets = jnp.broadcast_to(x[None], (k, *x.shape)).reshape(k * b, *x.shape[1:])
  log_px_z = -lik.nll(outputs.reshape(k * b, *x.shape[1:]), targets, log_scale).reshape(k, b)
  log_pz = losses.gaussian_log_density(z, jnp.zeros_like(z), jnp.zeros_like(z))
  log_qz_x = losses.gaussian_log_density(z, mean[None], logvar[None])
  return log_px_z + log_pz - log_qz_x


def iwae(model: nn.Module, *, num_samples: int) -> LossFn:
  """The negative IWAE bound −L_K (Burda et al. 2016, Eq. 8); K = 1 is the VAE."""
  if num_samples < 1:
    raise ValueError(f"iwae: num_samples must be >= 1, got {num_samples}.")

  def loss_fn(params, batch, key, step):
    del step
    _, k_z = jax.random.split(key)
    log_w = iwae_log_weights(model, params, batch["image"], k_z, num_samples=num_samples)
    bound = _mean(losses.iwae_bound(log_w))
    return -bound, {"loss": -bound, "iwae_bound": bound}

  return loss_fn
