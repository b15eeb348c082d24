"""What the methods share: config validation, the denoising corruptions and the two loss skeletons.

Not public: each method module (``vae_jax.methods.<name>``) composes these with :mod:`vae_jax.losses` and
:mod:`vae_jax.noise`. Hyperparameters that a sweep may vary (a method's ``SWEEPABLE`` fields) reach the loss only
through ``jnp`` arithmetic, never a Python ``if`` or ``float()``, so a loss built from a config whose ``beta`` is a
traced scalar works inside ``jax.vmap``; validation checks Python numbers only and lets arrays and tracers through.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from typing import Any, NamedTuple

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from vae_jax import likelihoods, losses, noise

Params = Any
Metrics = dict[str, jax.Array]
LossFn = Callable[..., tuple[jax.Array, Metrics]]  # (params, batch, key, step) -> (loss, metrics)
Corruption = Callable[[jax.Array, jax.Array], jax.Array]
# (mean, logvar, z, step) -> (scalar penalty, metrics)
Regularizer = Callable[[jax.Array, jax.Array, jax.Array, jax.Array], tuple[jax.Array, Metrics]]

CORRUPTIONS = ("none", "gaussian", "masking", "salt_and_pepper")
_CORRUPTION_FNS = {
    "gaussian": lambda level: functools.partial(noise.gaussian_noise, stddev=level),
    "masking": lambda level: functools.partial(noise.masking_noise, rate=level),
    "salt_and_pepper": lambda level: functools.partial(noise.salt_and_pepper, rate=level),
}


# --- validation (Python numbers only: a traced hyperparameter passes through) ---------------------------------------


def is_number(value) -> bool:
  return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_name(cfg, expected: str) -> None:
  if cfg.name != expected:
    raise ValueError(f"method.name={cfg.name!r} does not match the config class {type(cfg).__module__}.Config "
                     f"(name {expected!r}); build method configs with vae_jax.methods.config_from_dict.")


def check_choice(field: str, value, allowed) -> None:
  if value not in allowed:
    raise ValueError(f"method.{field}={value!r} is not valid; choose one of {list(allowed)}.")


def check_finite(cfg, field: str, v) -> None:
  """A hyperparameter is a finite Python/NumPy number, or a JAX array (a sweep's traced value)."""
  if not is_number(v) and not isinstance(v, jax.Array):
    raise TypeError(f"method.{field} must be a number, got {v!r} ({type(v).__name__}).")
  if is_number(v) and not math.isfinite(v):
    raise ValueError(f"method.{field} must be a finite number, got {v!r}.")


def check_nonnegative(cfg, *fields: str) -> None:
  for f in fields:
    v = getattr(cfg, f)
    check_finite(cfg, f, v)
    if is_number(v) and v < 0:
      raise ValueError(f"method.{f} must be >= 0, got {v!r}.")


def check_positive(cfg, *fields: str) -> None:
  for f in fields:
    v = getattr(cfg, f)
    check_finite(cfg, f, v)
    if is_number(v) and v <= 0:
      raise ValueError(f"method.{f} must be > 0, got {v!r}.")


def check_corruption(cfg) -> None:
  check_choice("corruption", cfg.corruption, CORRUPTIONS)
  check_nonnegative(cfg, "noise_level")
  if cfg.corruption in ("masking", "salt_and_pepper") and is_number(cfg.noise_level) and cfg.noise_level > 1:
    raise ValueError(f"method.noise_level is a rate for {cfg.corruption!r} and must be in [0, 1], "
                     f"got {cfg.noise_level}.")


def make_corruption(kind: str | None, level) -> Corruption | None:
  """The denoising corruption ``(key, x) -> x̃``: ``"gaussian"`` (σ = level), ``"masking"`` or
  ``"salt_and_pepper"`` (rate = level); ``None``/``"none"`` for none."""
  if kind in (None, "none"):
    return None
  if kind not in _CORRUPTION_FNS:
    raise ValueError(f"Unknown corruption {kind!r}; choose one of {list(CORRUPTIONS)}.")
  return _CORRUPTION_FNS[kind](level)


# --- loss skeletons -------------------------------------------------------------------------------------------------


def f32(x) -> jax.Array:
  """A hyperparameter (Python number or traced scalar) as a float32 array."""
  return jnp.asarray(x, jnp.float32)


def linear_warmup(value, step: jax.Array, warmup_steps: int) -> jax.Array:
  """``value`` scaled by min(step / warmup_steps, 1) (``warmup_steps`` static; 0 = no warm-up)."""
  if warmup_steps <= 0:
    return f32(value)
  return f32(value) * jnp.clip(jnp.asarray(step, jnp.float32) / jnp.float32(warmup_steps), 0.0, 1.0)


def apply(model: nn.Module, params: Params, *args, method: str | None = None, **kwargs):
  return model.apply({"params": params}, *args, method=method, **kwargs)


def inputs(batch: dict, key: jax.Array, corruption: Corruption | None) -> tuple[jax.Array, jax.Array]:
  """Returns (clean targets, encoder input)."""
  x = batch["image"]
  chex.assert_rank(x, 4, custom_message=f"loss_fn: batch['image'] must be [batch, H, W, C], got {list(x.shape)}",
                   exception_type=ValueError)
  return x, (x if corruption is None else corruption(key, x))


def reconstruction(model: nn.Module, *, corruption: Corruption | None = None) -> LossFn:
  """Plain (or, with ``corruption``, denoising) autoencoder: E[recon NLL of the clean x given the code].

  The key is split into (corruption key, unused) as for the variational losses.
  """
  lik = likelihoods.get(model.likelihood)

  def loss_fn(params, batch, key, step):
    del step
    k_noise, _ = jax.random.split(key)
    x, x_in = inputs(batch, k_noise, corruption)
    out = apply(model, params, x_in)
    loss = jnp.mean(lik.nll(out.outputs, x, out.log_scale))
    return loss, {"loss": loss, "recon": loss}

  return loss_fn


def variational(model: nn.Module, *, regularizer: Regularizer, corruption: Corruption | None = None) -> LossFn:
  """Reconstruction NLL (one reparameterized sample) + ``regularizer(mean, logvar, z, step)``: the VAE family.

  The key is split into (corruption key, reparameterization key). ``loss`` is the batch mean in nats per example.
  Metrics always include the analytic ``kl`` and the ``elbo`` (−recon − KL), whatever the regularizer, so runs
  with different regularizers are comparable.
  """
  lik = likelihoods.get(model.likelihood)

  def loss_fn(params, batch, key, step):
    k_noise, k_z = jax.random.split(key)
    x, x_in = inputs(batch, k_noise, corruption)
    out = apply(model, params, x_in, key=k_z)
    recon = jnp.mean(lik.nll(out.outputs, x, out.log_scale))
    penalty, metrics = regularizer(out.mean, out.logvar, out.z, step)
    kl = jnp.mean(losses.kl_standard_normal(out.mean, out.logvar))
    loss = recon + penalty
    return loss, {"loss": loss, "recon": recon, "kl": kl, "elbo": -(recon + kl), **metrics}

  return loss_fn


def kl_regularizer(beta) -> Regularizer:
  """β·KL(q(z|x) ‖ N(0, I)) on the batch mean; ``beta`` a number, a traced scalar or a function of the step."""

  def reg(mean, logvar, z, step):
    del z
    b = f32(beta(step) if callable(beta) else beta)
    kl = jnp.mean(losses.kl_standard_normal(mean, logvar))
    return b * kl, {"beta": b}

  return reg


class Extra(NamedTuple):
  """A method's own state and update beside the model's (FactorVAE's discriminator), run in the same jitted step.

  ``init(key) -> state`` (a pytree, kept in ``TrainState.extra`` and checkpointed with it);
  ``update(state, params, batch, key, step) -> (state, metrics)``, pure, called after the model's gradient with the
  pre-update ``params``. A method with an ``Extra`` gets its state as ``loss_fn(..., extra=state)``.
  """

  init: Callable[[jax.Array], Any]
  update: Callable[..., tuple[Any, Metrics]]
