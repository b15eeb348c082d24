"""An epoch's shuffle, ``jax.random.permutation(key, n)`` exactly, with its sort done on the host.

``jax.random.permutation(key, n)`` sorts ``arange(n)`` stably by fresh random 32-bit keys, in
``ceil(3 ln n / ln(2**32 − 1))`` rounds (two from 1,626 to 2,642,245 examples; ``_shuffle`` in
``jax/_src/random/core.py``). XLA:CPU sorts with a comparator called per comparison, several times slower than
a radix sort of the same keys. Here the random keys come from the same jitted JAX draws and the stable sort is an
LSD radix sort in NumPy (two stable passes over 16-bit digits, each a counting sort): the same permutation, bit for
bit (``tests/test_shuffle.py`` checks it against ``jax.random.permutation`` for every key type and many sizes).
Measured with ``python -m benchmarks.shuffle``: ``benchmarks/README.md`` ("Epoch shuffles sorted on the host").
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["num_rounds", "permutation"]


def num_rounds(n: int) -> int:
  """Sort rounds of ``jax.random.permutation`` for ``n`` elements (its ``_shuffle``'s static stop rule)."""
  return int(np.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))


@functools.partial(jax.jit, static_argnums=1)
def _round_keys(key: jax.Array, n: int) -> list[jax.Array]:
  """The ``[n]`` uint32 sort keys of each round, drawn as ``_shuffle`` draws them (split, then 32 bits)."""
  keys = []
  for _ in range(num_rounds(n)):
    key, subkey = jax.random.split(key)
    keys.append(jax.random.bits(subkey, (n,), jnp.uint32))
  return keys


def _stable_argsort_u32(keys: np.ndarray) -> np.ndarray:
  """``np.argsort(keys, kind="stable")`` for uint32, as two stable passes over the 16-bit digits (low first).

  NumPy's stable sort is a radix sort for 16-bit integers and a merge sort for wider ones: two linear passes instead
  of an n log n one."""
  low = (keys & np.uint32(0xFFFF)).astype(np.uint16)
  high = (keys >> np.uint32(16)).astype(np.uint16)
  order = np.argsort(low, kind="stable")
  return order[np.argsort(high[order], kind="stable")]


def permutation(key: jax.Array, n: int) -> np.ndarray:
  """``np.asarray(jax.random.permutation(key, n))`` as int32 (host), sorted on the host.

  Args:
    key: a typed or raw PRNG key, any implementation.
    n: the number of elements, ``n ≥ 0``.
  """
  if n < 0:
    raise ValueError(f"permutation: n={n} must be ≥ 0.")
  order = np.arange(n, dtype=np.int32)
  for sort_keys in _round_keys(key, n):
    order = order[_stable_argsort_u32(np.asarray(sort_keys))]
  return order
