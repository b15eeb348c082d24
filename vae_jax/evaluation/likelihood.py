"""Importance-sampled log-likelihood of a VAE: an estimate of −log p(x) per image, streamed over K samples.

For an image ``x`` and ``K`` samples ``z_k ~ q(z|x)`` the log-weights ``log w_k = log p(x|z_k) + log p(z_k) −
log q(z_k|x)`` come from :func:`vae_jax.methods.iwae.log_weights` (the same code as the IWAE method's loss), and

  * ``nll = −log (1/K) Σ_k w_k`` — the negated IWAE bound ``−L_K``; ``L_K ≤ log p(x)`` and it rises to ``log p(x)``
    as ``K`` grows, so ``nll`` is an upper bound (in expectation) on −log p(x) that tightens with ``K``;
  * ``elbo = (1/K) Σ_k log w_k`` — an unbiased estimate of the ELBO from the same samples (a lower bound on
    log p(x); with ``K`` samples it has far less variance than the usual one-sample estimate);
  * ``ess = (Σ_k w_k)² / Σ_k w_k²`` — the effective sample size, a diagnostic of the proposal: much less than
    ``K`` means a few samples dominate and ``nll`` may still be far from −log p(x).

Computation. Images go through in batches of ``batch_size`` (:func:`vae_jax.inference.map_batches`: a Python loop,
the last batch padded to the same shape and trimmed, so one compilation serves every batch); inside one ``jax.jit``
a ``lax.scan`` runs over the samples in chunks of ``sample_chunk``, folding each chunk's ``[sample_chunk, batch]``
log-weights into a running log-sum-exp. Memory is O(batch_size · sample_chunk) whatever ``K`` is. When
``sample_chunk`` does not divide ``K`` the last chunk is masked (its surplus samples are computed and discarded).

Randomness and invariance. Sample ``k`` of image ``i`` (``i`` its row in ``images``) uses the key
``fold_in(fold_in(key, i), k)``. Each estimate therefore depends only on ``key``, ``i``, the image, the model and
``K`` — **not** on ``batch_size``, ``sample_chunk``, the padding of the last batch or ``progress``; changing those
changes results only by float rounding (matmul shapes and the grouping of the log-sum-exp), ~1e-7 relative. The
key layout deliberately does not follow image batches or sample chunks (``fold_in(key, batch_index)`` would tie
the samples of an image to ``batch_size``). Per-sample keys cost about what one key per chunk does: drawing them is
small next to the decoder pass of the same samples (the CPU measurement: ``benchmarks/README.md``, "Figures moved
from docstrings").

Cost. One log-weight is one decoder pass: for the Flax example's MLP VAE (784-500-20, decoder 20-500-784) about
2·(20·500 + 500·784) ≈ 0.8 MFLOP, so 10,000 images × K = 5,000 is ≈ 4·10¹³ FLOP; the encoder (≈ 0.8 MFLOP per
image per chunk) adds ~1/sample_chunk. See ``tools/bench_likelihood.py`` for measured throughput.

References:
  Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016, Sec. 5 (test log-likelihood
  with k = 5000). Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, App. D (marginal likelihood
  estimation). Owen, "Monte Carlo theory, methods and examples", 2013, Ch. 9 (effective sample size).
"""

from __future__ import annotations

import functools
import logging
import math
import numbers
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from vae_jax import inference
from vae_jax.methods import iwae

Params = Any

DEFAULT_BATCH_SIZE = 100
DEFAULT_SAMPLE_CHUNK = 50


def bits_per_dim(nll_nats: ArrayLike, num_dims: int) -> jax.Array:
  """Converts a negative log-likelihood in nats per example to bits per dimension: ``nll / (num_dims · ln 2)``.

  A plain change of units. For a continuous density on 8-bit data scaled to [0, 1], the discrete-data convention
  also adds the ``num_dims · log 256`` Jacobian of the scaling (and needs dequantised data); that is not done here.

  Args:
    nll_nats: ``[...]`` nats per example.
    num_dims: dimensions per example, ``H·W·C`` for images.

  Returns:
    ``[...]`` bits per dimension.
  """
  if int(num_dims) != num_dims or num_dims < 1:
    raise ValueError(f"bits_per_dim: num_dims must be a positive integer, got {num_dims}.")
  nll_nats = jnp.asarray(nll_nats, dtype=jnp.float32)
  return nll_nats / jnp.float32(num_dims * math.log(2.0))


# ---------------------------------------------------------------------------------------------------------------
# Streaming log-mean-exp over chunks of log-weights.


class _Stream(NamedTuple):
  """Running statistics of the log-weights seen so far, per image (each ``[batch]``)."""

  shift: jax.Array  # running max of log w (−inf before the first sample)
  sum_w: jax.Array  # Σ exp(log w − shift)
  sum_w2: jax.Array  # Σ exp(2·(log w − shift))
  sum_log_w: jax.Array  # Σ log w


def _stream_init(batch: int) -> _Stream:
  zeros = jnp.zeros((batch,), jnp.float32)
  return _Stream(jnp.full((batch,), -jnp.inf, jnp.float32), zeros, zeros, zeros)


def _stream_update(state: _Stream, log_w: jax.Array, valid: jax.Array) -> _Stream:
  """Folds a chunk ``log_w [chunk, batch]`` into ``state``; rows where ``valid [chunk]`` is False are ignored."""
  mask = jnp.broadcast_to(valid[:, None], log_w.shape)
  log_w = jnp.where(mask, log_w, -jnp.inf)
  new_shift = jnp.maximum(state.shift, jnp.max(log_w, axis=0))
  # All weights so far zero (log w = −inf): keep the sums at 0 instead of exp(−inf − (−inf)) = nan.
  safe = jnp.where(jnp.isfinite(new_shift), new_shift, jnp.zeros_like(new_shift))
  rescale = jnp.exp(state.shift - safe)
  centred = log_w - safe[None, :]
  return _Stream(
      shift=new_shift,
      sum_w=state.sum_w * rescale + jnp.sum(jnp.exp(centred), axis=0),
      sum_w2=state.sum_w2 * jnp.square(rescale) + jnp.sum(jnp.exp(2.0 * centred), axis=0),
      sum_log_w=state.sum_log_w + jnp.sum(jnp.where(mask, log_w, jnp.zeros_like(log_w)), axis=0),
  )


def _stream_result(state: _Stream, num_samples: int) -> dict[str, jax.Array]:
  """``log_mean_w`` (= L_K), ``mean_log_w`` (= the ELBO estimate) and ``ess``, each ``[batch]``."""
  k = jnp.float32(num_samples)
  safe = jnp.where(jnp.isfinite(state.shift), state.shift, jnp.zeros_like(state.shift))
  return {
      "log_mean_w": jnp.log(state.sum_w) + safe - jnp.log(k),
      "mean_log_w": state.sum_log_w / k,
      "ess": jnp.square(state.sum_w) / state.sum_w2,
  }


# ---------------------------------------------------------------------------------------------------------------
# Jitted per-batch computations.


def _image_keys(key: jax.Array, image_ids: jax.Array) -> jax.Array:
  return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, image_ids)


def _chunk_log_weights(model: nn.Module, params: Params, images: jax.Array, image_keys: jax.Array,
                       sample_ids: jax.Array) -> jax.Array:
  """``[chunk, batch]`` log-weights; sample ``k`` of image ``b`` drawn with ``fold_in(image_keys[b], k)``.

  ``iwae_log_weights`` of one image and one sample, vmapped over samples (only the key varies, so the encoder
  runs once per image and chunk, not per sample) and over images (one matmul per layer for the whole
  ``[batch · chunk]`` block).
  """

  def one_image(image_key, x):
    def one_sample(sample_id):
      k = jax.random.fold_in(image_key, sample_id)
      return iwae.log_weights(model, params, x[None], k, num_samples=1)[0, 0]

    return jax.vmap(one_sample)(sample_ids)

  return jax.vmap(one_image, out_axes=1)(image_keys, images)


# XLA:CPU option for this function's compilation only (not process-wide XLA_FLAGS): YNNPACK fuses only individual
# dots, not the reductions around them. The default fusion of the log-weights' reductions is slow on CPU (as in
# jax-ml/jax#37465); with this option the IS-NLL ran faster in an interleaved A/B on the CPU (sizes, numbers and
# the results file: ``benchmarks/README.md``, the IS-NLL paragraph of issue #16). An XLA:CPU field: other backends'
# compilers do not read it. Experimental in XLA: check it still exists when jax is upgraded.
CPU_COMPILER_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}


@functools.partial(jax.jit, static_argnames=("model", "num_samples", "sample_chunk"),
                   compiler_options=CPU_COMPILER_OPTIONS)
def _is_batch(params: Params, images: jax.Array, image_ids: jax.Array, *, key: jax.Array, model: nn.Module,
              num_samples: int, sample_chunk: int) -> dict[str, jax.Array]:
  image_keys = _image_keys(key, image_ids)
  num_chunks = -(-num_samples // sample_chunk)

  def body(state, chunk_index):
    sample_ids = chunk_index * sample_chunk + jnp.arange(sample_chunk, dtype=jnp.int32)
    log_w = _chunk_log_weights(model, params, images, image_keys, sample_ids)
    return _stream_update(state, log_w, sample_ids < num_samples), None

  state, _ = lax.scan(body, _stream_init(images.shape[0]), jnp.arange(num_chunks, dtype=jnp.int32))
  return _stream_result(state, num_samples)


# ---------------------------------------------------------------------------------------------------------------
# Host side: checks and the loop over image batches.


def _check_images(name: str, model: nn.Module, images: ArrayLike) -> np.ndarray:
  images = np.asarray(images)
  expected = tuple(model.image_shape)
  if images.ndim != 4 or tuple(images.shape[1:]) != expected:
    raise ValueError(f"{name}: expected images [N, {', '.join(map(str, expected))}] matching the model's "
                     f"image_shape, got {list(images.shape)}.")
  if images.shape[0] == 0:
    raise ValueError(f"{name}: got no images (shape {list(images.shape)}).")
  if not jnp.issubdtype(images.dtype, jnp.floating):
    raise ValueError(f"{name}: images must be floating point (e.g. scaled to [0, 1]), got dtype {images.dtype}.")
  images = images.astype(np.float32)
  bad = ~np.isfinite(images)
  if bad.any():
    nan = np.isnan(images)
    what = "NaN" if nan.any() else "infinite values"
    rows = np.flatnonzero(bad.reshape(images.shape[0], -1).any(axis=1))
    raise ValueError(f"{name}: images contain {what} ({int(bad.sum())} values in {rows.size} images, first at "
                     f"index {int(rows[0])}); the likelihood of a non-finite image is undefined.")
  return images


def _check_positive(name: str, **values: int) -> None:
  for arg, value in values.items():
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
        or int(value) != value or value < 1):
      raise ValueError(f"{name}: {arg} must be an integer >= 1, got {value}.")


def importance_sampled_nll(key: jax.Array, model: nn.Module, params: Params, images: ArrayLike, *,
                           num_samples: int = 5000, batch_size: int = DEFAULT_BATCH_SIZE,
                           sample_chunk: int = DEFAULT_SAMPLE_CHUNK,
                           progress: bool = False) -> dict[str, np.ndarray | float]:
  """Importance-sampled estimate of −log p(x) for every image, with ``K = num_samples`` samples of q(z|x).

  See the module docstring for the estimator, the key layout and what the result is invariant to.

  Args:
    key: PRNG key; sample ``k`` of image ``i`` uses ``fold_in(fold_in(key, i), k)``.
    model: a :class:`vae_jax.models.VAE` (anything :func:`vae_jax.methods.iwae.log_weights` accepts).
    params: the model's parameters (the ``"params"`` collection).
    images: ``[N, H, W, C]`` floating-point images matching ``model.image_shape``; must be finite.
    num_samples: ``K``, importance samples per image (Burda et al. use 5000).
    batch_size: images per jitted call (clamped to N); affects speed and memory only.
    sample_chunk: samples per ``lax.scan`` step (clamped to K); peak memory is O(batch_size · sample_chunk ·
      decoder width). Affects speed and memory only.
    progress: show a tqdm bar over the image batches (and wait for each batch to finish).

  Returns:
    A dict of NumPy values: ``nll`` ``[N]`` (nats, −L_K), ``bits_per_dim`` ``[N]`` (``nll / (H·W·C · ln 2)``),
    ``elbo`` ``[N]`` (nats, mean log-weight: the ELBO estimated from the same K samples, ≤ −nll),
    ``ess`` ``[N]`` (effective sample size in [1, K]), and the floats ``nll_mean``, ``bits_per_dim_mean``,
    ``elbo_mean`` (means over the N images, accumulated in float64) and the int ``num_samples``.

  Raises:
    ValueError: for images of the wrong shape or dtype, non-finite images, or a count < 1.

  References:
    Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016, Eq. (8) and Sec. 5.
  """
  _check_positive("importance_sampled_nll", num_samples=num_samples, batch_size=batch_size,
                  sample_chunk=sample_chunk)
  images = _check_images("importance_sampled_nll", model, images)
  batch_size = min(int(batch_size), images.shape[0])
  sample_chunk = min(int(sample_chunk), int(num_samples))

  batch_fn = functools.partial(_is_batch, params, key=key, model=model, num_samples=int(num_samples),
                               sample_chunk=sample_chunk)
  out = inference.map_batches(batch_fn, images, np.arange(images.shape[0], dtype=np.int32), batch_size=batch_size,
                              progress=progress, desc=f"IS-NLL (K={num_samples})")
  nll = -out["log_mean_w"]
  bpd = np.asarray(bits_per_dim(nll, math.prod(images.shape[1:])))
  result = {
      "nll": nll,
      "bits_per_dim": bpd,
      "elbo": out["mean_log_w"],
      "ess": out["ess"],
      "nll_mean": float(np.mean(nll, dtype=np.float64)),
      "bits_per_dim_mean": float(np.mean(bpd, dtype=np.float64)),
      "elbo_mean": float(np.mean(out["mean_log_w"], dtype=np.float64)),
      "num_samples": int(num_samples),
  }
  logging.info("importance_sampled_nll: %d images, K=%d: NLL %.4f nats (%.4f bits/dim), ELBO %.4f nats.",
               images.shape[0], num_samples, result["nll_mean"], result["bits_per_dim_mean"],
               result["elbo_mean"])
  return result


def elbo(key: jax.Array, model: nn.Module, params: Params, images: ArrayLike, *,
         batch_size: int = 500, progress: bool = False) -> np.ndarray:
  """One-sample ELBO per image with the analytic KL: ``log p(x|z) − KL(q(z|x) ‖ N(0, I))``, ``z ~ q(z|x)``.

  The quantity the VAE objective reports as ``elbo``, per image. Image ``i`` uses the key ``fold_in(key, i)``,
  so the result does not depend on ``batch_size``.

  Args:
    key: PRNG key.
    model: a :class:`vae_jax.models.VAE`.
    params: its parameters.
    images: ``[N, H, W, C]`` finite floating-point images matching ``model.image_shape``.
    batch_size: images per jitted call (clamped to N).
    progress: show a tqdm bar over the batches.

  Returns:
    ``[N]`` float32 NumPy array, nats (a lower bound on log p(x) in expectation; negate for a loss).

  References:
    Kingma & Welling 2014, Eq. (10).
  """
  _check_positive("elbo", batch_size=batch_size)
  images = _check_images("elbo", model, images)
  batch_size = min(int(batch_size), images.shape[0])

  return inference.elbo_terms(key, model, params, images, batch_size=batch_size, progress=progress)["elbo"]
