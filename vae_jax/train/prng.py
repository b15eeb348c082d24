"""A faster CPU lowering of JAX's default PRNG: the same Threefry-2x32 bits, as straight-line ``jnp`` code.

Inside the jitted steps a default (threefry) key is re-typed to :data:`UNROLLED_THREEFRY`, the same
Threefry-2x32 hash, counters and key derivation written as straight-line ``jnp`` code. Every random bit is
identical to ``jax.random``'s (checked in ``tests/test_benchmarks_smoke.py``), but XLA:CPU fuses the hash into
its consumer (e.g. the Bernoulli comparison of dynamic binarization) instead of running JAX's CPU lowering, a
5-iteration while loop that materialises the counter arrays each iteration (measurements:
``benchmarks/README.md``). Other key types pass through unchanged.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend import random as jex_random

__all__ = ["UNROLLED_THREEFRY", "fast_key"]

_THREEFRY = jex_random.threefry_prng_impl
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _threefry2x32(k1, k2, x1, x2):
  """Threefry-2x32 (20 rounds; Salmon et al., SC 2011) unrolled, as JAX's non-CPU lowering of the same hash."""

  def rotl(x, r):
    return lax.shift_left(x, np.uint32(r)) | lax.shift_right_logical(x, np.uint32(32 - r))

  ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
  x1, x2 = x1 + ks[0], x2 + ks[1]
  for i in range(5):
    for r in _ROTATIONS[i % 2]:
      x1 = x1 + x2
      x2 = rotl(x2, r) ^ x1
    x1 = x1 + ks[(i + 1) % 3]
    x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
  return x1, x2


def _unrolled_applies(shape) -> bool:
  # JAX's partitionable counters (the default): a row-major iota, high word 0 below 2**32 elements.
  return len(shape) > 0 and math.prod(shape) < 2**32 and jax.config.jax_threefry_partitionable


def _counters(shape):
  strides = [math.prod(shape[d + 1:]) for d in range(len(shape))]
  lo = sum(lax.broadcasted_iota(np.uint32, shape, d) * np.uint32(s) for d, s in enumerate(strides))
  return jnp.zeros(shape, np.uint32), lo


def _split(key, shape):
  shape = tuple(shape)
  if not _unrolled_applies(shape):
    return _THREEFRY.split(key, shape)
  b1, b2 = _threefry2x32(key[0], key[1], *_counters(shape))
  return jnp.stack([b1, b2], axis=-1)


def _fold_in(key, data):
  if not jax.config.jax_threefry_partitionable:
    return _THREEFRY.fold_in(key, data)
  count = _THREEFRY.seed(jnp.asarray(data, jnp.uint32))
  b1, b2 = _threefry2x32(key[0], key[1], count[:1], count[1:])
  return jnp.concatenate([b1, b2])


def _random_bits(key, bit_width, shape):
  shape = tuple(shape)
  if not _unrolled_applies(shape):
    return _THREEFRY.random_bits(key, bit_width, shape)
  b1, b2 = _threefry2x32(key[0], key[1], *_counters(shape))
  dtype = jnp.dtype(f"uint{bit_width}")
  if bit_width == 64:
    return lax.shift_left(b1.astype(dtype), dtype.type(32)) | b2.astype(dtype)
  return (b1 ^ b2).astype(dtype)


UNROLLED_THREEFRY = jex_random.define_prng_impl(
    key_shape=(2,), seed=_THREEFRY.seed, split=_split, random_bits=_random_bits, fold_in=_fold_in,
    name="threefry2x32_unrolled", tag="fru")


def fast_key(key: jax.Array) -> jax.Array:
  """``key`` re-typed to :data:`UNROLLED_THREEFRY` if it is a threefry key (same bits, faster on CPU), else as is."""
  if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    return key
  if jax.random.key_impl(key) != _THREEFRY.name:
    return key
  return jax.random.wrap_key_data(jax.random.key_data(key), impl=UNROLLED_THREEFRY)
