"""Pure, per-example losses and bounds for autoencoders and VAEs.

Conventions (the same as optax's losses):
  * every function is pure and jit/vmap/grad-safe;
  * values are **per example**: summed over every non-batch axis (event axes), never reduced over the batch —
    the caller chooses the reduction;
  * units are nats per example unless stated otherwise;
  * hyperparameters are keyword-only;
  * shapes are checked at trace time (``chex`` shape assertions, raising ``ValueError``) and a mismatch names the
    function, the arguments and their shapes.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

_LOG_2PI = math.log(2.0 * math.pi)


def _check_same_shape(name: str, **arrays: jax.Array) -> None:
  """``chex.assert_equal_shape`` at trace time, as a ``ValueError`` naming the function and its arguments."""
  desc = ", ".join(f"{k}{list(v.shape)}" for k, v in arrays.items())
  chex.assert_equal_shape(list(arrays.values()), custom_message=f"{name}: shapes must match, got {desc}",
                          exception_type=ValueError)


def _check_rank(name: str, arg: str, x: jax.Array, rank: int, axes: str) -> None:
  """``chex.assert_rank`` at trace time, as a ``ValueError`` naming the expected axes."""
  chex.assert_rank(x, rank, custom_message=f"{name}: {arg} must be {axes}, got {list(x.shape)}",
                   exception_type=ValueError)


def _check_batched(name: str, x: jax.Array, arg: str) -> None:
  if x.ndim < 1:
    raise ValueError(f"{name}: {arg} must have a leading batch axis, got a scalar of shape {list(x.shape)}.")
  if x.shape[0] == 0:
    raise ValueError(f"{name}: {arg} is an empty batch (shape {list(x.shape)}); pass at least one example.")


def _real(name: str, arg: str, x: ArrayLike, dtype=None) -> jax.Array:
  """``jnp.asarray(x, dtype)``, refusing complex input (a cast would silently drop the imaginary part)."""
  if jnp.iscomplexobj(x):
    raise TypeError(f"{name}: {arg} must be real, got complex dtype {jnp.result_type(x)} (shape "
                    f"{list(jnp.shape(x))}); pass jnp.real(x) or jnp.abs(x) explicitly.")
  return jnp.asarray(x, dtype=dtype)


def _concrete(x: jax.Array) -> bool:
  """Whether ``x`` has values now (not traced under jit): value checks run only then, at no cost inside jit."""
  return not isinstance(x, jax.core.Tracer)


def _sum_event(x: jax.Array) -> jax.Array:
  """Sums over every axis but the first (the batch axis)."""
  return jnp.sum(_flat(x), axis=-1)


def _flat(x: jax.Array) -> jax.Array:
  """``[batch, ...] -> [batch, D]``. :func:`bernoulli_nll` flattens its inputs *before* the elementwise work: XLA:CPU
  ran ``softplus(l) − x·l`` summed over ``[H, W, C]`` slower than over one flat axis under ``vmap`` with broadcast
  targets (the importance-sampled NLL's samples of one image); the measured effect on the IS-NLL and the training
  steps is in ``benchmarks/README.md``. When it was introduced, 12-step trainings of the MLP VAE, IWAE, conv β-VAE,
  β-TCVAE and AE, single runs and 4-member sweeps, gave the same parameters bit for bit as before; the IS-NLL's
  per-image sums are grouped differently (float rounding, ~1e-8 relative)."""
  return x.reshape(x.shape[0], -1)


def bernoulli_nll(logits: ArrayLike, targets: ArrayLike) -> jax.Array:
  """Negative log-likelihood of targets under independent Bernoulli(sigmoid(logits)).

  Computed as ``softplus(logits) - targets * logits``, which is exact and finite for any finite logit
  (no ``log(sigmoid)``). ``targets`` may be continuous in ``[0, 1]`` (the usual "continuous Bernoulli-free"
  cross-entropy used for grey-level images); then the value is a cross-entropy, not a normalised likelihood.

  Args:
    logits: ``[batch, ...]`` decoder logits.
    targets: ``[batch, ...]`` same shape as ``logits``, values in ``[0, 1]``.

  Returns:
    ``[batch]`` nats per example (summed over all non-batch axes).

  References:
    Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, App. C.1 (Bernoulli MLP decoder).
  """
  logits = _real("bernoulli_nll", "logits", logits)
  targets = _real("bernoulli_nll", "targets", targets, dtype=logits.dtype)
  _check_batched("bernoulli_nll", logits, "logits")
  _check_same_shape("bernoulli_nll", logits=logits, targets=targets)
  # On the host, in NumPy: a constant closed over by a jitted caller is concrete too, but jnp ops on it would trace.
  t = np.asarray(targets) if _concrete(targets) else None
  if t is not None and t.size and (t.min() < 0 or t.max() > 1):
    raise ValueError(f"bernoulli_nll: targets must be in [0, 1] (pixel intensities or binary), got values in "
                     f"[{float(t.min())}, {float(t.max())}] (shape {list(targets.shape)}); "
                     "rescale them, or use gaussian_nll for unbounded data.")
  logits, targets = _flat(logits), _flat(targets)
  return _sum_event(jax.nn.softplus(logits) - targets * logits)


def gaussian_nll(mean: ArrayLike, targets: ArrayLike, *, log_scale: ArrayLike = 0.0) -> jax.Array:
  """Negative log-likelihood of targets under a diagonal Gaussian N(mean, exp(log_scale)²).

  Includes the ``½·log 2π`` constant, so the value is a proper density (nats, continuous data).

  Args:
    mean: ``[batch, ...]`` predicted means.
    targets: ``[batch, ...]`` same shape as ``mean``.
    log_scale: log standard deviation: a scalar (fixed or learned), a per-pixel array of shape
      ``mean.shape[1:]``, or a full ``[batch, ...]`` array.

  Returns:
    ``[batch]`` nats per example.

  References:
    Kingma & Welling 2014, App. C.2 (Gaussian MLP decoder).
  """
  mean = _real("gaussian_nll", "mean", mean)
  targets = _real("gaussian_nll", "targets", targets, dtype=mean.dtype)
  log_scale = _real("gaussian_nll", "log_scale", log_scale, dtype=mean.dtype)
  _check_batched("gaussian_nll", mean, "mean")
  _check_same_shape("gaussian_nll", mean=mean, targets=targets)
  if log_scale.shape not in ((), mean.shape[1:], mean.shape):
    raise ValueError(
        f"gaussian_nll: log_scale must be a scalar, per-pixel {list(mean.shape[1:])} or full "
        f"{list(mean.shape)}, got {list(log_scale.shape)}.")
  if log_scale.shape == mean.shape[1:] and log_scale.ndim:
    log_scale = log_scale[None]
  z = (targets - mean) * jnp.exp(-log_scale)
  return _sum_event(0.5 * _LOG_2PI + log_scale + 0.5 * jnp.square(z))


def squared_error(predictions: ArrayLike, targets: ArrayLike) -> jax.Array:
  """Sum of squared errors per example (the plain autoencoder's loss; not halved).

  Args:
    predictions: ``[batch, ...]``.
    targets: ``[batch, ...]`` same shape.

  Returns:
    ``[batch]`` sum over all non-batch axes of ``(predictions - targets)²``.
  """
  predictions = _real("squared_error", "predictions", predictions)
  targets = _real("squared_error", "targets", targets, dtype=predictions.dtype)
  _check_batched("squared_error", predictions, "predictions")
  _check_same_shape("squared_error", predictions=predictions, targets=targets)
  return _sum_event(jnp.square(predictions - targets))


def kl_standard_normal(mean: ArrayLike, logvar: ArrayLike) -> jax.Array:
  """Analytic KL( N(mean, diag exp(logvar)) ‖ N(0, I) ), summed over the last axis.

  Args:
    mean: ``[..., latent]``.
    logvar: ``[..., latent]`` log-variances, same shape.

  Returns:
    ``[...]`` nats.

  References:
    Kingma & Welling 2014, App. B: −KL = ½ Σ (1 + log σ² − μ² − σ²).
  """
  mean = _real("kl_standard_normal", "mean", mean)
  logvar = _real("kl_standard_normal", "logvar", logvar, dtype=mean.dtype)
  _check_same_shape("kl_standard_normal", mean=mean, logvar=logvar)
  return 0.5 * jnp.sum(jnp.exp(logvar) + jnp.square(mean) - 1.0 - logvar, axis=-1)


def kl_diag_gaussians(mean_q: ArrayLike, logvar_q: ArrayLike, mean_p: ArrayLike,
                      logvar_p: ArrayLike) -> jax.Array:
  """Analytic KL( N(mean_q, diag exp(logvar_q)) ‖ N(mean_p, diag exp(logvar_p)) ), summed over the last axis.

  Args:
    mean_q, logvar_q: ``[..., latent]`` parameters of q.
    mean_p, logvar_p: ``[..., latent]`` parameters of p (same shape as q's).

  Returns:
    ``[...]`` nats.
  """
  mean_q = jnp.asarray(mean_q)
  dt = mean_q.dtype
  logvar_q, mean_p, logvar_p = (jnp.asarray(a, dtype=dt) for a in (logvar_q, mean_p, logvar_p))
  _check_same_shape("kl_diag_gaussians", mean_q=mean_q, logvar_q=logvar_q, mean_p=mean_p, logvar_p=logvar_p)
  ratio = jnp.exp(logvar_q - logvar_p)
  return 0.5 * jnp.sum(ratio + jnp.square(mean_q - mean_p) * jnp.exp(-logvar_p) - 1.0 - (logvar_q - logvar_p),
                       axis=-1)


def gaussian_log_density(z: ArrayLike, mean: ArrayLike, logvar: ArrayLike, *, sum_last: bool = True) -> jax.Array:
  """log N(z; mean, diag exp(logvar)), summed over the last axis.

  The three arrays must have the same rank and broadcast against each other (e.g. ``[batch, 1, latent]`` with
  ``[1, batch, latent]`` for the pairwise densities of β-TCVAE); rank promotion is refused.

  Args:
    z: ``[..., latent]`` points.
    mean: ``[..., latent]`` means.
    logvar: ``[..., latent]`` log-variances.
    sum_last: if False, return the per-dimension log-densities (no sum).

  Returns:
    ``[...]`` nats (or ``[..., latent]`` when ``sum_last=False``).
  """
  z = jnp.asarray(z)
  dt = z.dtype
  mean, logvar = jnp.asarray(mean, dtype=dt), jnp.asarray(logvar, dtype=dt)
  if not (z.ndim == mean.ndim == logvar.ndim):
    raise ValueError(f"gaussian_log_density: z{list(z.shape)}, mean{list(mean.shape)} and "
                     f"logvar{list(logvar.shape)} must have the same rank.")
  try:
    jnp.broadcast_shapes(z.shape, mean.shape, logvar.shape)
  except ValueError as e:
    raise ValueError(f"gaussian_log_density: z{list(z.shape)}, mean{list(mean.shape)} and "
                     f"logvar{list(logvar.shape)} do not broadcast.") from e
  per_dim = -0.5 * (_LOG_2PI + logvar + jnp.square(z - mean) * jnp.exp(-logvar))
  return jnp.sum(per_dim, axis=-1) if sum_last else per_dim


def iwae_bound(log_weights: ArrayLike) -> jax.Array:
  """Importance-weighted bound log (1/K) Σ_k w_k from log-weights, stably (log-sum-exp).

  With ``log w_k = log p(x, z_k) − log q(z_k | x)``, ``z_k ~ q(z | x)``, this is the IWAE bound ``L_K``:
  ``ELBO = L_1 ≤ L_K ≤ L_{K+1} ≤ log p(x)``.

  Args:
    log_weights: ``[num_samples, batch]``.

  Returns:
    ``[batch]`` nats (a lower bound on log p(x); negate it for an NLL estimate).

  References:
    Burda, Grosse & Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016, Eq. (8).
  """
  log_weights = _real("iwae_bound", "log_weights", log_weights)
  _check_rank("iwae_bound", "log_weights", log_weights, 2, "[num_samples, batch]")
  if log_weights.shape[0] == 0:
    raise ValueError(f"iwae_bound: log_weights{list(log_weights.shape)} holds no samples (K = 0); the bound needs "
                     "K >= 1 importance samples per example.")
  k = log_weights.shape[0]
  return jax.nn.logsumexp(log_weights, axis=0) - jnp.log(jnp.asarray(k, dtype=log_weights.dtype))


def linear_capacity(step: ArrayLike, *, capacity_max: float, num_steps: int) -> jax.Array:
  """C(step) rising linearly from 0 to ``capacity_max`` nats over ``num_steps``, then constant.

  Computed from ``step`` inside jit (no recompiles as it changes).
  """
  frac = jnp.clip(jnp.asarray(step, dtype=jnp.float32) / float(max(num_steps, 1)), 0.0, 1.0)
  return frac * jnp.float32(capacity_max)


TC_ESTIMATORS = ("mws", "mss")


def tc_decomposition(z: ArrayLike, mean: ArrayLike, logvar: ArrayLike, *, dataset_size: int,
                     estimator: str = "mws") -> dict[str, jax.Array]:
  """The β-TCVAE decomposition of the KL term, q(z) estimated from the minibatch (weighted or stratified sampling).

  For each example ``i`` with sample ``z_i ~ q(z|x_i)``, using the other examples of the batch to estimate the
  aggregate posterior ``q(z)``::

    log q(z_i)      ≈ logsumexp_j log q(z_i | x_j)            − log(N·M)
    log Π_d q(z_id) ≈ Σ_d [logsumexp_j log q(z_id | x_j)       − log(N·M)]
    mi   = log q(z_i|x_i) − log q(z_i)                 (index-code mutual information)
    tc   = log q(z_i) − Σ_d log q(z_id)                (total correlation)
    dwkl = Σ_d log q(z_id) − log p(z_i)                (dimension-wise KL)

  That is minibatch weighted sampling (``estimator="mws"``, the default, as disentanglement_lib). It gives x_i's own
  posterior the weight 1/M where q(z) gives it 1/N: while the code is informative the own term dominates, so the TC
  comes out too high and its gradient barely sees the correlation of the code, most at small batches
  (``tests/test_tc_estimator.py``). ``estimator="mss"`` (minibatch stratified sampling) weighs the own term 1/N and
  the batch's M − 1 others (N − 1)/(N·(M − 1)) each — an unbiased estimate of q(z_i) (and of each q(z_id)) inside the
  log, so it underestimates the TC instead, and its slope in the code's correlation overshoots the true one
  rather than being a fraction of it. (Chen et al.'s code
  weighs the others 1/(M − 1) and one of them (N − M + 1)/(N·(M − 1)): the same weights up to O(M/N).)

  ``mi + tc + dwkl = log q(z_i|x_i) − log p(z_i)`` exactly (either estimator), whose expectation under q is
  KL(q(z|x) ‖ p(z)).

  Args:
    z: ``[batch, latent]`` one sample per example from q(z|x).
    mean: ``[batch, latent]`` posterior means.
    logvar: ``[batch, latent]`` posterior log-variances.
    dataset_size: N, the number of training examples.
    estimator: ``"mws"`` (minibatch weighted sampling) or ``"mss"`` (minibatch stratified sampling; batch ≥ 2).

  Returns:
    Dict of ``[batch]`` arrays: ``mi``, ``tc``, ``dwkl``, ``log_qz_x``, ``log_qz``, ``log_prod_qzd``, ``log_pz``.

  References:
    Chen, Li, Grosse & Duvenaud, "Isolating Sources of Disentanglement in VAEs", NeurIPS 2018, Eq. (2) and
    Sec. 4.1 (minibatch weighted sampling) and App. C.2 (minibatch stratified sampling).
  """
  z = jnp.asarray(z)
  mean, logvar = jnp.asarray(mean, z.dtype), jnp.asarray(logvar, z.dtype)
  _check_same_shape("tc_decomposition", z=z, mean=mean, logvar=logvar)
  _check_rank("tc_decomposition", "z", z, 2, "[batch, latent]")
  m = z.shape[0]
  if dataset_size < m:
    raise ValueError(f"tc_decomposition: dataset_size={dataset_size} is smaller than the batch ({m}).")
  if estimator not in TC_ESTIMATORS:
    raise ValueError(f"tc_decomposition: estimator={estimator!r} is not one of {list(TC_ESTIMATORS)}.")
  if estimator == "mss" and m < 2:
    raise ValueError("tc_decomposition: estimator='mss' needs a batch of at least 2 (it estimates q(z) from the "
                     "other examples); use 'mws' or a larger batch.")
  n = float(dataset_size)
  if estimator == "mws":  # every j weighted 1/(N·M)
    log_w_own = log_w_other = -np.log(n * m)
  else:  # own 1/N, the others (N − 1)/(N·(M − 1))
    log_w_own, log_w_other = -np.log(n), np.log((n - 1.0) / (n * (m - 1)))
  log_qz, log_prod_qzd = _minibatch_log_q(z, mean, logvar, float(log_w_own), float(log_w_other))
  log_qz_x = gaussian_log_density(z, mean, logvar)
  log_pz = gaussian_log_density(z, jnp.zeros_like(z), jnp.zeros_like(z))
  return {
      "mi": log_qz_x - log_qz,
      "tc": log_qz - log_prod_qzd,
      "dwkl": log_prod_qzd - log_pz,
      "log_qz_x": log_qz_x,
      "log_qz": log_qz,
      "log_prod_qzd": log_prod_qzd,
      "log_pz": log_pz,
  }


_TC_ROWS = 32  # rows i of the [latent, rows, batch] pair block per scan step: a block of 32 × 1,024 fits in cache


def _minibatch_log_q(z: jax.Array, mean: jax.Array, logvar: jax.Array, log_w_own: float,
                     log_w_other: float) -> tuple[jax.Array, jax.Array]:
  """``log q(z_i)`` and ``Σ_d log q(z_id)`` from the batch's mixture, ``[batch]`` each (:func:`tc_decomposition`).

  ``logsumexp_j [log q(z_i | x_j) + log w_ij]`` (and per dimension), ``w_ij`` = ``exp(log_w_own)`` for j = i, else
  ``exp(log_w_other)``. The ``[batch, batch, latent]`` tensor of pairwise densities is never built whole: rows of i
  are taken ``_TC_ROWS`` at a time (``lax.map``), each block laid out ``[latent, rows, j]`` so the sums over j run
  along the contiguous axis, and recomputed in the backward pass (``jax.checkpoint``) instead of being stored — at
  batch 1,024 the whole tensor is 42 MB per model, and reading it back from memory dominated β-TCVAE's step
  (``benchmarks/tc_estimator.py``).
  """
  m, d = z.shape
  rows = max(1, min(_TC_ROWS, m))
  blocks = -(-m // rows)
  pad = blocks * rows - m  # padded rows: never the own term of any j, their results dropped
  z_t, mean_t, logvar_t = z.T, mean.T, logvar.T  # [latent, batch]
  inv_var = jnp.exp(-logvar_t)
  z_blocks = jnp.pad(z_t, ((0, 0), (0, pad))).reshape(d, blocks, rows).transpose(1, 0, 2)  # [blocks, latent, rows]
  i_blocks = jnp.arange(blocks * rows).reshape(blocks, rows)

  @jax.checkpoint
  def block(z_i: jax.Array, i: jax.Array) -> tuple[jax.Array, jax.Array]:
    # [latent, rows, j]: log q(z_id | x_j)
    pair = -0.5 * (_LOG_2PI + logvar_t[:, None, :] + jnp.square(z_i[:, :, None] - mean_t[:, None, :])
                   * inv_var[:, None, :])
    log_w = jnp.where(i[:, None] == jnp.arange(m)[None, :], log_w_own, log_w_other).astype(z.dtype)
    return (jax.nn.logsumexp(jnp.sum(pair, axis=0) + log_w, axis=-1),
            jnp.sum(jax.nn.logsumexp(pair + log_w[None], axis=-1), axis=0))

  log_qz, log_prod_qzd = jax.lax.map(lambda args: block(*args), (z_blocks, i_blocks))
  return log_qz.reshape(-1)[:m], log_prod_qzd.reshape(-1)[:m]
