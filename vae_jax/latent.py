"""Latent-space tools: interpolation paths, factor swaps, and attribute (class-mean difference) vectors.

Pure functions on codes ``[..., latent]`` (posterior means or AE codes); decoding is the caller's business
(``model.apply({"params": params}, z, method="decode")``). Everything is jit-able except :func:`factor_latents`,
which returns Python indices, and the concrete-value checks that only run outside ``jit``.

Typical use, transferring one ground-truth factor from a target image into a source image::

    importance = evaluation.dci(...)["importance_matrix"]          # [latent, factors]
    dims = latent.factor_latents(importance, top_k=1)[factor]      # the code dims that carry `factor`
    z_edit = latent.swap_factors(z_source, z_target, dims)         # [batch, latent]
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

__all__ = ["INTERPOLATION_METHODS", "apply_attribute", "attribute_vector", "factor_latents", "interpolate",
           "swap_factors"]

INTERPOLATION_METHODS = ("linear", "slerp")

# Below this |sin(angle)| two directions count as (anti)parallel and slerp falls back to the linear path.
_PARALLEL_EPS = 1e-6


def _as_codes(name: str, who: str, z: ArrayLike) -> jax.Array:
  z = jnp.asarray(z)
  if z.ndim < 1 or z.shape[-1] < 1:
    raise ValueError(f"{who}: {name} must be codes [..., latent] with latent >= 1, got shape {list(z.shape)}.")
  if not jnp.issubdtype(z.dtype, jnp.floating):
    z = z.astype(jnp.float32)
  return z


def _lead(x: jax.Array, ndim: int) -> jax.Array:
  """``x`` ``[n]`` reshaped to ``[n, 1, …, 1]`` with ``ndim`` trailing unit axes (explicit, no rank promotion)."""
  return x.reshape(x.shape[0], *([1] * ndim))


def interpolate(z0: ArrayLike, z1: ArrayLike, *, num_steps: int, method: str = "linear") -> jax.Array:
  """Evenly spaced points on a path from ``z0`` to ``z1`` (both endpoints included, exactly).

  ``linear``: ``(1 − t)·z0 + t·z1``. ``slerp``: the direction moves along the great circle between ``z0/‖z0‖`` and
  ``z1/‖z1‖`` at constant angular speed while the norm moves linearly from ``‖z0‖`` to ``‖z1‖``::

      ω = arccos(û0·û1),  z(t) = ((1 − t)‖z0‖ + t‖z1‖) · (sin((1 − t)ω)·û0 + sin(tω)·û1) / sin ω

  so a path between two codes of typical norm (≈√latent under a N(0, I) prior) never crosses the low-norm region
  near the origin that the linear path's midpoint falls into. Where the directions are parallel or antiparallel
  (``|sin ω| < 1e-6``, the great circle is not unique) or either code is zero, slerp returns the linear path.

  Args:
    z0: start codes ``[..., latent]``.
    z1: end codes, the same shape as ``z0``.
    num_steps: number of points on the path, ``>= 2`` (static).
    method: ``"linear"`` or ``"slerp"``.

  Returns:
    ``[num_steps, ..., latent]``: ``out[0] == z0``, ``out[-1] == z1``.

  Raises:
    ValueError: on mismatched or non-code shapes, ``num_steps < 2`` or an unknown ``method``.

  References:
    Shoemake, "Animating rotation with quaternion curves", SIGGRAPH 1985 (slerp); White, "Sampling Generative
    Networks", arXiv:1609.04468, 2016 (slerp between latent codes of generative models).
  """
  z0 = _as_codes("z0", "interpolate", z0)
  z1 = _as_codes("z1", "interpolate", z1)
  if z0.shape != z1.shape:
    raise ValueError(f"interpolate: z0 and z1 must have the same shape [..., latent], got {list(z0.shape)} and "
                     f"{list(z1.shape)}.")
  if not isinstance(num_steps, (int, np.integer)) or num_steps < 2:
    raise ValueError(f"interpolate: num_steps must be an int >= 2, got {num_steps!r}.")
  if method not in INTERPOLATION_METHODS:
    raise ValueError(f"interpolate: method={method!r} is not valid; choose one of {list(INTERPOLATION_METHODS)}.")
  dtype = jnp.result_type(z0, z1)
  z0, z1 = z0.astype(dtype), z1.astype(dtype)
  t = _lead(jnp.linspace(0.0, 1.0, int(num_steps), dtype=dtype), z0.ndim)  # [S, 1, …, 1]
  a, b = z0[None], z1[None]  # [1, ..., latent]
  linear = (1 - t) * a + t * b
  if method == "linear":
    path = linear
  else:
    n0 = jnp.linalg.norm(z0, axis=-1, keepdims=True)  # [..., 1]
    n1 = jnp.linalg.norm(z1, axis=-1, keepdims=True)
    tiny = jnp.finfo(dtype).tiny
    u0 = z0 / jnp.maximum(n0, tiny)
    u1 = z1 / jnp.maximum(n1, tiny)
    cos = jnp.clip(jnp.sum(u0 * u1, axis=-1, keepdims=True), -1, 1)  # [..., 1]
    sin = jnp.linalg.norm(u1 - cos * u0, axis=-1, keepdims=True)  # accurate for small angles, unlike sin(arccos)
    omega = jnp.arctan2(sin, cos)
    degenerate = (sin < _PARALLEL_EPS) | (n0 <= tiny) | (n1 <= tiny)
    safe_sin = jnp.where(degenerate, 1, sin)[None]
    direction = (jnp.sin((1 - t) * omega[None]) * u0[None] + jnp.sin(t * omega[None]) * u1[None]) / safe_sin
    norm = (1 - t) * n0[None] + t * n1[None]
    path = jnp.where(degenerate[None], linear, norm * direction)
  # Exact endpoints, whatever the rounding in between.
  return path.at[0].set(z0).at[-1].set(z1)


def _check_dims(who: str, dims: Sequence[int], latent: int) -> list[int]:
  arr = np.asarray(dims)
  if arr.ndim > 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
    raise ValueError(f"{who}: dims must be a sequence of integer latent indices, got {dims!r}.")
  dims = [int(d) for d in arr.reshape(-1)]
  bad = [d for d in dims if not 0 <= d < latent]
  if bad:
    raise ValueError(f"{who}: dims {bad} are out of range for codes with latent={latent} (valid: 0..{latent - 1}).")
  return dims


def swap_factors(z_source: ArrayLike, z_target: ArrayLike, dims: Sequence[int]) -> jax.Array:
  """Copies the latent dimensions ``dims`` from ``z_target`` into ``z_source``.

  With ``dims`` the code dimensions that carry one ground-truth factor (see :func:`factor_latents`), decoding the
  result should show the source image with that factor taken from the target image.

  Args:
    z_source: codes ``[..., latent]`` to edit.
    z_target: codes of the same shape to take the dimensions from.
    dims: concrete latent indices in ``[0, latent)`` (repeats are harmless; empty returns ``z_source``).

  Returns:
    ``[..., latent]``: ``out[..., d] = z_target[..., d]`` for ``d`` in ``dims``, ``z_source[..., d]`` elsewhere.

  Raises:
    ValueError: on mismatched shapes or out-of-range ``dims``.
  """
  z_source = _as_codes("z_source", "swap_factors", z_source)
  z_target = _as_codes("z_target", "swap_factors", z_target)
  if z_source.shape != z_target.shape:
    raise ValueError(f"swap_factors: z_source and z_target must have the same shape [..., latent], got "
                     f"{list(z_source.shape)} and {list(z_target.shape)}.")
  latent = z_source.shape[-1]
  mask = np.zeros((latent,), dtype=bool)
  mask[_check_dims("swap_factors", dims, latent)] = True
  mask = mask.reshape(*([1] * (z_source.ndim - 1)), latent)
  dtype = jnp.result_type(z_source, z_target)
  return jnp.where(mask, z_target.astype(dtype), z_source.astype(dtype))


def factor_latents(importance_matrix: ArrayLike, *, threshold: float | None = None,
                   top_k: int | None = None) -> list[tuple[int, ...]]:
  """For each ground-truth factor, the latent dimensions that carry it, most important first.

  Give exactly one rule. ``top_k``: the ``k`` dimensions with the largest importance for the factor (dimensions
  of zero importance are never chosen). ``threshold``: every dimension holding at least that fraction of the
  factor's total importance (the column normalised to sum 1); a factor with no importance at all gets ``()``.
  A dimension may be chosen for several factors when the code is entangled.

  Args:
    importance_matrix: ``[latent, factors]`` non-negative importances, e.g. DCI's ``importance_matrix``
      (:func:`vae_jax.evaluation.dci`); concrete values.
    threshold: fraction in ``(0, 1]``.
    top_k: count in ``[1, latent]``.

  Returns:
    A list of ``factors`` tuples of latent indices (Python ints).

  Raises:
    ValueError: if the matrix is not 2-D, has negative or non-finite entries, or the rule is missing, doubled or
      out of range.

  References:
    Eastwood & Williams, "A Framework for the Quantitative Evaluation of Disentangled Representations", ICLR 2018.
  """
  r = np.asarray(importance_matrix, dtype=np.float64)
  if r.ndim != 2 or min(r.shape) < 1:
    raise ValueError(f"factor_latents: expected importance_matrix [latent, factors], got shape {list(r.shape)}.")
  if not np.all(np.isfinite(r)) or np.any(r < 0):
    raise ValueError("factor_latents: importance_matrix must hold finite, non-negative values.")
  if (threshold is None) == (top_k is None):
    raise ValueError(f"factor_latents: give exactly one of threshold or top_k, got threshold={threshold!r}, "
                     f"top_k={top_k!r}.")
  latent = r.shape[0]
  out = []
  if top_k is not None:
    if not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= latent:
      raise ValueError(f"factor_latents: top_k must be an int in [1, {latent}], got {top_k!r}.")
    for column in r.T:
      order = np.argsort(-column, kind="stable")[:top_k]
      out.append(tuple(int(d) for d in order if column[d] > 0))
    return out
  if not 0 < threshold <= 1:
    raise ValueError(f"factor_latents: threshold is a fraction of a factor's importance in (0, 1], got {threshold!r}.")
  for column in r.T:
    total = column.sum()
    if total <= 0:
      out.append(())
      continue
    share = column / total
    order = np.argsort(-share, kind="stable")
    out.append(tuple(int(d) for d in order if share[d] >= threshold))
  return out


def attribute_vector(codes: ArrayLike, labels: ArrayLike, *, source: int, target: int) -> jax.Array:
  """The class-mean difference ``mean(codes | target) − mean(codes | source)``.

  Adding it to the code of a ``source``-class image (:func:`apply_attribute`) moves the code to where the
  ``target`` class lies on average: the "attribute vector" arithmetic of latent-variable models.

  Args:
    codes: ``[N, latent]`` codes (e.g. posterior means of a labelled set).
    labels: ``[N]`` integer labels.
    source: the class to move away from.
    target: the class to move towards.

  Returns:
    ``[latent]`` the difference of the two class means. Under ``jit`` an absent class gives NaN; outside it,
    a ``ValueError``.

  Raises:
    ValueError: on bad shapes or, with concrete labels, when ``source`` or ``target`` has no examples.

  References:
    Larsen et al., "Autoencoding beyond pixels using a learned similarity metric", ICML 2016 (§5, visual attribute
    vectors); White, "Sampling Generative Networks", 2016 (attribute vectors).
  """
  codes = _as_codes("codes", "attribute_vector", codes)
  labels = jnp.asarray(labels)
  if codes.ndim != 2 or labels.shape != codes.shape[:1] or not jnp.issubdtype(labels.dtype, jnp.integer):
    raise ValueError(f"attribute_vector: expected codes [N, latent] and integer labels [N], got codes"
                     f"{list(codes.shape)} and labels{list(labels.shape)} of dtype {labels.dtype}.")
  if not isinstance(labels, jax.core.Tracer):
    present = set(np.unique(np.asarray(labels)).tolist())
    missing = [c for c in (source, target) if c not in present]
    if missing:
      raise ValueError(f"attribute_vector: class(es) {missing} have no examples among the labels.")

  def class_mean(c):
    w = (labels == c).astype(codes.dtype)  # [N]
    return jnp.sum(w[:, None] * codes, axis=0) / jnp.sum(w)

  return class_mean(target) - class_mean(source)


def apply_attribute(codes: ArrayLike, vector: ArrayLike, *, alpha: ArrayLike = 1.0) -> jax.Array:
  """Moves codes along an attribute vector: ``codes + alpha · vector``.

  Args:
    codes: ``[..., latent]`` codes.
    vector: ``[latent]`` direction (e.g. from :func:`attribute_vector`).
    alpha: step size, a scalar (``1`` moves a class mean exactly onto the other).

  Returns:
    ``[..., latent]`` edited codes, in the codes' dtype.

  Raises:
    ValueError: if ``vector`` is not ``[latent]`` or ``alpha`` is not a scalar.
  """
  codes = _as_codes("codes", "apply_attribute", codes)
  vector = jnp.asarray(vector)
  if vector.shape != codes.shape[-1:]:
    raise ValueError(f"apply_attribute: vector must be [latent={codes.shape[-1]}], got {list(vector.shape)}.")
  alpha = jnp.asarray(alpha, dtype=codes.dtype)
  if alpha.ndim != 0:
    raise ValueError(f"apply_attribute: alpha must be a scalar, got shape {list(alpha.shape)}.")
  return codes + alpha * vector.astype(codes.dtype).reshape(*([1] * (codes.ndim - 1)), -1)
