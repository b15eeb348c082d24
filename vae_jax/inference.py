"""A trained model run over many images: encode, decode, reconstruct, per-image ELBO terms, posterior samples.

Every function takes an array of any length ``N`` (NumPy or JAX) and runs one jitted function over batches of
exactly ``batch_size`` rows: the last batch is padded by repeating its last row and the padding is trimmed from
the result. A model therefore compiles once per ``batch_size`` whatever ``N`` is (a set smaller than
``batch_size`` is padded up to it too; pass a smaller ``batch_size`` for a handful of images). Results stay on
the device until the end and come back as NumPy arrays, in the order of the input::

    post = inference.encode(model, params, images)           # Posterior(mean [N, D], logvar [N, D] or None)
    x_hat = inference.reconstruct(model, params, images)      # [N, H, W, C] in [0, 1] (the likelihood's mean)
    terms = inference.elbo_terms(key, model, params, images)  # recon, kl, kl_per_dim, elbo per image

:func:`map_batches` is the loop itself, for any per-batch function (a classifier's logits, the importance-sampled
likelihood's estimator, rendering and encoding ground-truth factors).

Randomness: a function that samples takes ``key`` first, and row ``i`` of the input uses ``fold_in(key, i)``, so
its results do not depend on ``batch_size`` (only on the key, the row index and the row). Without a key,
:func:`reconstruct` decodes the posterior mean.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from vae_jax import likelihoods, noise
from vae_jax.models import Posterior

__all__ = ["DEFAULT_BATCH_SIZE", "code_fn", "decode", "elbo_terms", "encode", "is_stochastic", "map_batches",
           "posterior_fn", "posterior_samples", "reconstruct"]

Params = Any

DEFAULT_BATCH_SIZE = 1000


def map_batches(fn: Callable[..., Any], *inputs: Any, batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = False,
                desc: str | None = None) -> Any:
  """``fn`` on batches of exactly ``batch_size`` rows of ``inputs``; the outputs concatenated on the host.

  Args:
    fn: ``fn(*batch) -> pytree`` of arrays with a leading axis of ``batch_size`` (``None`` leaves are kept).
      Typically a jitted function, which then compiles once.
    *inputs: pytrees of arrays sharing the leading axis ``N >= 1`` (e.g. images, and row indices for keys).
    batch_size: rows per call; the last batch is padded by repeating row ``N - 1``, and the padded rows'
      outputs are dropped.
    progress: show a tqdm bar over the batches (and wait for each one to finish).
    desc: the bar's label.

  Returns:
    ``fn``'s output structure with NumPy leaves ``[N, ...]``.

  Raises:
    ValueError: for no inputs, inputs of different lengths, ``N = 0`` or ``batch_size < 1``.
  """
  leaves = jax.tree_util.tree_leaves(inputs)
  if not leaves:
    raise ValueError("map_batches: no input arrays.")
  n = int(np.shape(leaves[0])[0]) if np.ndim(leaves[0]) else 0
  if n == 0 or any(np.ndim(a) == 0 or np.shape(a)[0] != n for a in leaves):
    raise ValueError(f"map_batches: inputs must share a leading axis N >= 1, got shapes "
                     f"{[list(np.shape(a)) for a in leaves]}.")
  if int(batch_size) != batch_size or batch_size < 1:
    raise ValueError(f"map_batches: batch_size must be an integer >= 1, got {batch_size}.")
  batch_size = int(batch_size)
  outs = []
  for start in tqdm(range(0, n, batch_size), desc=desc, unit="batch", disable=not progress):
    rows = np.minimum(np.arange(start, start + batch_size), n - 1)
    out = fn(*jax.tree_util.tree_map(lambda a: a[rows], inputs))
    if progress:
      jax.block_until_ready(out)
    outs.append(out)
  return jax.tree_util.tree_map(lambda *parts: np.concatenate([np.asarray(p) for p in parts])[:n], *outs)


def _rows(n: int) -> np.ndarray:
  return np.arange(n, dtype=np.int32)


def _row_keys(key: jax.Array, rows: jax.Array) -> jax.Array:
  return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, rows)


def _sample_rows(key: jax.Array, rows: jax.Array, post: Posterior, num_samples: int | None = None) -> jax.Array:
  """``z`` of row ``b`` drawn with ``fold_in(key, rows[b])``: ``[batch, latent]`` or ``[batch, S, latent]``."""
  if post.deterministic:
    raise ValueError("Sampling needs a stochastic posterior (logvar is None: a deterministic encoder).")

  def one(k, mean, logvar):
    z = noise.reparameterize(k, mean[None], logvar[None], num_samples=num_samples)  # [1, D] or [S, 1, D]
    return z[0] if num_samples is None else z[:, 0]

  return jax.vmap(one)(_row_keys(key, rows), post.mean, post.logvar)


def _as_float(x) -> Any:
  """Images or codes as float32 (they usually are; uint8 or float64 would compile another function)."""
  return x if getattr(x, "dtype", None) == np.float32 else np.asarray(x, np.float32)


# ---------------------------------------------------------------------------------------------------------------
# Jitted per-batch functions (the model is static: one compile per model and batch shape).


@functools.partial(jax.jit, static_argnames="model")
def _encode(params: Params, x: jax.Array, *, model) -> Posterior:
  return model.apply({"params": params}, x, method="encode")


@functools.partial(jax.jit, static_argnames=("model", "raw"))
def _decode(params: Params, z: jax.Array, *, model, raw: bool) -> jax.Array:
  outputs = model.apply({"params": params}, z, method="decode")
  return outputs if raw else likelihoods.get(model.likelihood).mean(outputs)


@functools.partial(jax.jit, static_argnames=("model", "raw"))
def _reconstruct(params: Params, x: jax.Array, rows: jax.Array, key: jax.Array | None, *, model,
                 raw: bool) -> jax.Array:
  post = model.apply({"params": params}, x, method="encode")
  z = post.mean if key is None else _sample_rows(key, rows, post)
  return _decode(params, z, model=model, raw=raw)


@functools.partial(jax.jit, static_argnames="model")
def _elbo_terms(params: Params, x: jax.Array, rows: jax.Array, key: jax.Array, *, model) -> dict[str, jax.Array]:
  post = model.apply({"params": params}, x, method="encode")
  z = _sample_rows(key, rows, post)
  outputs = model.apply({"params": params}, z, method="decode")
  log_scale = model.apply({"params": params}, method="observation_log_scale")
  recon = likelihoods.get(model.likelihood).nll(outputs, x, log_scale)
  kl_per_dim = 0.5 * (jnp.exp(post.logvar) + jnp.square(post.mean) - 1.0 - post.logvar)  # as losses.kl_standard_normal
  kl = jnp.sum(kl_per_dim, axis=-1)
  return {"recon": recon, "kl": kl, "kl_per_dim": kl_per_dim, "elbo": -(recon + kl)}


@functools.partial(jax.jit, static_argnames=("model", "num_samples"))
def _posterior_samples(params: Params, x: jax.Array, rows: jax.Array, key: jax.Array, *, model,
                       num_samples: int | None) -> jax.Array:
  return _sample_rows(key, rows, model.apply({"params": params}, x, method="encode"), num_samples)


# ---------------------------------------------------------------------------------------------------------------
# Public functions: host arrays of any length in, NumPy arrays out.


def is_stochastic(model, params: Params, images: Any) -> bool:
  """Whether ``model.encode`` returns a Gaussian posterior (a ``logvar``), read from shapes only (no compute)."""
  x = jax.ShapeDtypeStruct((1, *np.shape(images)[1:]), jnp.float32)
  return not jax.eval_shape(functools.partial(_encode, model=model), params, x).deterministic


def posterior_fn(model, params: Params) -> Callable[[Any], Posterior]:
  """``images [b, H, W, C] -> Posterior`` of one batch, jitted (for callers that batch it themselves)."""
  return lambda x: _encode(params, jnp.asarray(x, jnp.float32), model=model)


def code_fn(model, params: Params) -> Callable[[Any], jax.Array]:
  """``images [b, H, W, C] -> codes [b, latent]`` (the posterior mean), jitted: a ``representation_fn`` for the
  disentanglement metrics, which batch it themselves (:func:`vae_jax.evaluation.represent`)."""
  return lambda x: _encode(params, jnp.asarray(x, jnp.float32), model=model).mean


def encode(model, params: Params, images: Any, *, batch_size: int = DEFAULT_BATCH_SIZE,
           progress: bool = False) -> Posterior:
  """The posterior of every image: ``Posterior(mean [N, latent], logvar [N, latent] or None)``, NumPy.

  ``.mean`` is the code of any model (the posterior mean of a VAE, the code of a deterministic AE); ``logvar`` is
  ``None`` for a deterministic encoder.
  """
  return map_batches(functools.partial(_encode, params, model=model), _as_float(images), batch_size=batch_size,
                     progress=progress, desc="encode")


def decode(model, params: Params, z: Any, *, raw: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
           progress: bool = False) -> np.ndarray:
  """Decodes codes ``[..., latent]`` (any leading axes, e.g. paths ``[P, S, latent]``) → ``[..., H, W, C]``.

  Args:
    raw: return the decoder's raw outputs (logits for a Bernoulli likelihood) instead of images in [0, 1]
      space (the likelihood's mean).
  """
  z = _as_float(z)
  lead = np.shape(z)[:-1]
  flat = z.reshape(-1, np.shape(z)[-1])
  out = map_batches(functools.partial(_decode, params, model=model, raw=raw), flat, batch_size=batch_size,
                    progress=progress, desc="decode")
  return out.reshape(*lead, *out.shape[1:])


def reconstruct(model, params: Params, images: Any, *, key: jax.Array | None = None, raw: bool = False,
                batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = False) -> np.ndarray:
  """Encodes and decodes every image: ``[N, H, W, C]``, in [0, 1] space (or the raw outputs with ``raw``).

  Decodes the posterior mean (the code, for a deterministic AE), or with ``key`` one sample ``z ~ q(z|x)`` per
  image (row ``i`` with ``fold_in(key, i)``; a VAE only).
  """
  images = _as_float(images)
  fn = functools.partial(_reconstruct, params, key=key, model=model, raw=raw)
  return map_batches(fn, images, _rows(len(images)), batch_size=batch_size, progress=progress, desc="reconstruct")


def elbo_terms(key: jax.Array, model, params: Params, images: Any, *, batch_size: int = DEFAULT_BATCH_SIZE,
               progress: bool = False) -> dict[str, np.ndarray]:
  """One-sample ELBO terms of a VAE per image, in nats; row ``i`` samples ``z ~ q(z|x_i)`` with ``fold_in(key, i)``.

  Returns:
    ``recon`` ``[N]`` (−log p(x|z)), ``kl`` ``[N]`` (analytic KL(q(z|x) ‖ N(0, I))), ``kl_per_dim`` ``[N, latent]``
    and ``elbo = −(recon + kl)`` ``[N]``.

  Raises:
    ValueError: for a deterministic encoder (no posterior to sample).

  References:
    Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, Eq. (10).
  """
  images = _as_float(images)
  fn = functools.partial(_elbo_terms, params, key=key, model=model)
  return map_batches(fn, images, _rows(len(images)), batch_size=batch_size, progress=progress, desc="ELBO")


def posterior_samples(key: jax.Array, model, params: Params, images: Any, *, num_samples: int | None = None,
                      batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = False) -> np.ndarray:
  """Samples ``z ~ q(z|x)`` per image: ``[N, latent]``, or ``[N, num_samples, latent]``; row ``i`` uses
  ``fold_in(key, i)``. Raises ``ValueError`` for a deterministic encoder."""
  images = _as_float(images)
  fn = functools.partial(_posterior_samples, params, key=key, model=model, num_samples=num_samples)
  return map_batches(fn, images, _rows(len(images)), batch_size=batch_size, progress=progress,
                     desc="posterior samples")
