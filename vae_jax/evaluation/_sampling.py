"""Ground-truth sampling for the disentanglement metrics: factors, interventions, and codes of rendered factors.

A ground-truth model is two plain things: the number of values of each discrete factor, and a function that
renders factors into observations. Factors are drawn independently and uniformly, which is what the
intervention-based metrics (β-VAE, FactorVAE) assume. For the project's procedural dSprites::

  sampler = GroundTruthSampler(factor_sizes=sprites.FACTOR_SIZES,
                               observe=functools.partial(sprites.render, resolution=64))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import inference

RepresentationFn = Callable[[Any], Any]
"""``representation_fn(observations [n, ...]) -> codes [n, D]``, e.g. a trained encoder's posterior mean."""


@dataclasses.dataclass(frozen=True)
class GroundTruthSampler:
  """A ground-truth generative model with independent, uniform, discrete factors.

  Attributes:
    factor_sizes: number of values of each of the ``K`` factors; factor ``k`` takes values
      ``0 .. factor_sizes[k] - 1``.
    observe: ``observe(factors [n, K] int32) -> observations [n, ...]``, deterministic.
  """

  factor_sizes: tuple[int, ...]
  observe: Callable[[jax.Array], Any]

  def __post_init__(self):
    sizes = tuple(int(s) for s in self.factor_sizes)
    if not sizes or min(sizes) < 1:
      raise ValueError(f"GroundTruthSampler: factor_sizes must be positive, got {self.factor_sizes}.")
    object.__setattr__(self, "factor_sizes", sizes)

  @property
  def num_factors(self) -> int:
    return len(self.factor_sizes)

  def sample_factors(self, key: jax.Array, shape: int | tuple[int, ...]) -> jax.Array:
    """Returns ``[*shape, K]`` int32 factors, each uniform over its values, all independent."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    full = (*shape, self.num_factors)
    maxval = jnp.broadcast_to(jnp.asarray(self.factor_sizes, jnp.int32), full)
    return jax.random.randint(key, full, 0, maxval, dtype=jnp.int32)


def represent(representation_fn: RepresentationFn, sampler: GroundTruthSampler, factors: Any, *,
              chunk_size: int = 1024) -> np.ndarray:
  """Renders factors and encodes them, ``chunk_size`` at a time.

  Every ``representation_fn`` call sees exactly ``chunk_size`` rows (:func:`vae_jax.inference.map_batches`: the
  last chunk is padded by repetition, then trimmed), so a jitted ``representation_fn`` compiles once.

  Args:
    representation_fn: ``observations [chunk_size, ...] -> codes [chunk_size, D]`` (or a pytree of such arrays,
      e.g. a :class:`vae_jax.models.Posterior` from :func:`vae_jax.inference.posterior_fn`).
    sampler: supplies ``observe`` and the number of factors.
    factors: ``[n, K]`` integer factors.
    chunk_size: rows per call.

  Returns:
    ``[n, D]`` float32 codes (or the same pytree of them), in the order of ``factors``.
  """
  factors = np.asarray(factors, dtype=np.int32)
  if factors.ndim != 2 or factors.shape[1] != sampler.num_factors:
    raise ValueError(f"represent: expected factors [n, {sampler.num_factors}], got {list(factors.shape)}.")

  def chunk_codes(chunk):
    codes = representation_fn(sampler.observe(jnp.asarray(chunk)))
    shapes = [list(np.shape(c)) for c in jax.tree_util.tree_leaves(codes)]
    if not shapes or any(len(s) != 2 or s[0] != chunk_size for s in shapes):
      raise ValueError(f"represent: representation_fn must map {chunk_size} observations to "
                       f"[{chunk_size}, D] codes, got {shapes}.")
    return codes

  codes = inference.map_batches(chunk_codes, factors, batch_size=chunk_size)
  return jax.tree_util.tree_map(lambda c: c.astype(np.float32), codes)


def sample_codes(key: jax.Array, representation_fn: RepresentationFn, sampler: GroundTruthSampler, num: int, *,
                 chunk_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
  """Draws ``num`` uniform factor vectors, renders and encodes them: the inputs of ``mig`` and ``dci``.

  Args:
    key: JAX key for the factors.
    representation_fn: ``observations [n, ...] -> codes [n, D]``.
    sampler: the ground-truth model.
    num: number of samples (disentanglement_lib uses 10000 for MIG and DCI training, 5000 for DCI test).
    chunk_size: rows per ``representation_fn`` call.

  Returns:
    ``(codes [num, D] float32, factors [num, K] int32)``.
  """
  factors = np.asarray(sampler.sample_factors(key, num))
  return represent(representation_fn, sampler, factors, chunk_size=chunk_size), factors


def sample_fixed_factor_groups(key: jax.Array, sampler: GroundTruthSampler, *, num_points: int, num_groups: int,
                               group_size: int) -> tuple[np.ndarray, np.ndarray]:
  """Draws factors in which one factor per point is held fixed within groups.

  For each of ``num_points`` points a factor index ``k`` is drawn uniformly; the point has ``num_groups``
  groups of ``group_size`` factor vectors, all independent except that the members of a group share the
  value of factor ``k``. The β-VAE metric uses groups of 2 (pairs), FactorVAE one group of a whole batch.

  Args:
    key: JAX key.
    sampler: the ground-truth model.
    num_points: number of (fixed factor, batch) draws.
    num_groups: groups per point.
    group_size: factor vectors per group.

  Returns:
    ``(index [num_points] int64, factors [num_points, num_groups, group_size, K] int32)``.
  """
  index_key, group_key, member_key = jax.random.split(key, 3)
  index = np.asarray(jax.random.randint(index_key, (num_points,), 0, sampler.num_factors), dtype=np.int64)
  shared = np.asarray(sampler.sample_factors(group_key, (num_points, num_groups, 1)))
  factors = np.asarray(sampler.sample_factors(member_key, (num_points, num_groups, group_size)))
  fixed = np.arange(sampler.num_factors)[None, None, None, :] == index[:, None, None, None]
  return index, np.where(fixed, shared, factors)
