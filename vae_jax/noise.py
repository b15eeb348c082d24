"""Pure random functions: the reparameterization trick and the denoising autoencoder's corruptions.

Every function takes an explicit PRNG ``key`` as its first argument and nothing else random: the same key gives the
same output, bit for bit, on any backend. Library code never creates keys.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike


def _check_level(name: str, arg: str, value, *, upper: float | None) -> None:
  """Checks a noise level given as a number or a concrete array (traced values, inside jit, are not checked)."""
  if isinstance(value, jax.core.Tracer):
    return
  if jnp.iscomplexobj(value) or not jnp.issubdtype(jnp.result_type(value), jnp.number):
    raise TypeError(f"{name}: {arg} must be a real number or array, got dtype {jnp.result_type(value)}.")
  v = np.asarray(value, dtype=np.float64)
  bad = ~np.isfinite(v) | (v < 0) | (v > upper if upper is not None else False)
  if np.any(bad):
    where = f"{value}" if v.ndim == 0 else f"shape {list(v.shape)}, {int(bad.sum())} bad values, e.g. {v[bad][0]}"
    rng = f"in [0, {upper:g}]" if upper is not None else ">= 0"
    raise ValueError(f"{name}: {arg} must be finite and {rng}, got {where}.")


def _check_fraction(name: str, arg: str, value) -> None:
  _check_level(name, arg, value, upper=1.0)


def reparameterize(key: jax.Array, mean: ArrayLike, logvar: ArrayLike, *, num_samples: int | None = None) -> jax.Array:
  """Draws z = mean + exp(½·logvar)·ε with ε ~ N(0, I): a sample of q(z|x) differentiable in (mean, logvar).

  Args:
    key: a PRNG key.
    mean: ``[batch, latent]``.
    logvar: ``[batch, latent]``.
    num_samples: None for one sample per example (``[batch, latent]``), or K for ``[K, batch, latent]``.

  Returns:
    ``[batch, latent]`` or ``[num_samples, batch, latent]``.

  References:
    Kingma & Welling 2014, Sec. 2.4.
  """
  mean = jnp.asarray(mean)
  logvar = jnp.asarray(logvar, mean.dtype)
  if mean.shape != logvar.shape:
    raise ValueError(f"reparameterize: mean{list(mean.shape)} and logvar{list(logvar.shape)} must match.")
  if num_samples is None:
    eps = jax.random.normal(key, mean.shape, mean.dtype)
    return mean + jnp.exp(0.5 * logvar) * eps
  if num_samples < 1:
    raise ValueError(f"reparameterize: num_samples must be >= 1, got {num_samples}.")
  eps = jax.random.normal(key, (num_samples, *mean.shape), mean.dtype)
  return mean[None] + jnp.exp(0.5 * logvar)[None] * eps


def gaussian_noise(key: jax.Array, x: ArrayLike, *, stddev: ArrayLike) -> jax.Array:
  """Additive isotropic Gaussian corruption x̃ = x + stddev·ε (no clipping).

  Args:
    key: a PRNG key.
    x: ``[batch, ...]`` clean input.
    stddev: noise standard deviation σ ≥ 0.

  Returns:
    ``x``-shaped corrupted input.

  References:
    Vincent et al., "Stacked Denoising Autoencoders", JMLR 2010, Sec. 4.1.
  """
  x = jnp.asarray(x)
  _check_level("gaussian_noise", "stddev", stddev, upper=None)
  return x + jnp.asarray(stddev, x.dtype) * jax.random.normal(key, x.shape, x.dtype)


def masking_noise(key: jax.Array, x: ArrayLike, *, rate: ArrayLike) -> jax.Array:
  """Dropout-style masking: each input unit is set to 0 independently with probability ``rate``.

  Unlike dropout, the kept units are *not* rescaled: the network must reconstruct the clean input.

  Args:
    key: a PRNG key.
    x: ``[batch, ...]`` clean input.
    rate: fraction of units zeroed, in [0, 1].

  Returns:
    ``x``-shaped corrupted input.

  References:
    Vincent et al. 2010, Sec. 4.1 ("masking noise").
  """
  x = jnp.asarray(x)
  _check_fraction("masking_noise", "rate", rate)
  keep = jax.random.bernoulli(key, 1.0 - jnp.asarray(rate, jnp.float32), x.shape)
  return jnp.where(keep, x, jnp.zeros_like(x))


def salt_and_pepper(key: jax.Array, x: ArrayLike, *, rate: ArrayLike) -> jax.Array:
  """Salt-and-pepper noise: a fraction ``rate`` of units is set to 0 or 1 (each with probability ½).

  Args:
    key: a PRNG key.
    x: ``[batch, ...]`` clean input in [0, 1].
    rate: fraction of units corrupted, in [0, 1].

  Returns:
    ``x``-shaped corrupted input.

  References:
    Vincent et al. 2010, Sec. 4.1.
  """
  x = jnp.asarray(x)
  _check_fraction("salt_and_pepper", "rate", rate)
  k_hit, k_val = jax.random.split(key)
  hit = jax.random.bernoulli(k_hit, jnp.asarray(rate, jnp.float32), x.shape)
  salt = jax.random.bernoulli(k_val, 0.5, x.shape).astype(x.dtype)
  return jnp.where(hit, salt, x)


def uniform_replacement(key: jax.Array, x: ArrayLike, *, rate: ArrayLike) -> jax.Array:
  """A fraction ``rate`` of units replaced by uniform 8-bit grey levels ``k/255``, ``k ∈ {0, …, 255}``.

  The perturbation of Ren et al.'s background model: it keeps the population statistics of the inputs and
  destroys their semantics.

  Args:
    key: a PRNG key.
    x: ``[batch, ...]`` clean input in [0, 1].
    rate: fraction of units replaced, in [0, 1].

  Returns:
    ``x``-shaped float32 perturbed input.

  References:
    Ren et al., "Likelihood Ratios for Out-of-Distribution Detection", NeurIPS 2019, Sec. 3.
  """
  x = jnp.asarray(x)
  _check_fraction("uniform_replacement", "rate", rate)
  k_hit, k_val = jax.random.split(key)
  hit = jax.random.bernoulli(k_hit, rate, x.shape)
  values = jax.random.randint(k_val, x.shape, 0, 256).astype(jnp.float32) / 255.0
  return jnp.where(hit, values, x)
