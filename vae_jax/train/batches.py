"""Batch sources: how each step gets its batch on device, and the training data as the loop holds it.

A source builds the batch of global step ``t`` inside the jitted step from ``(data, rows, data_key)``:
:class:`ArrayBatches` slices a device-resident dataset (uint8 when the images are 8-bit, labels or factors beside
them) along an epoch-wise shuffle; :class:`GeneratedBatches` draws each batch on device (procedural sprites). A
``preprocess(key, batch)`` such as :func:`binarize_batch` runs on the batch with the step's data key.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh

from vae_jax.train import shuffle
from vae_jax.train.prng import fast_key
from vae_jax.train.sharding import replicate
from vae_jax.train.step import Preprocess

__all__ = [
  "SPRITES_DATASET_SIZE",
  "ArrayBatches",
  "GeneratedBatches",
  "binarize_batch",
  "device_images",
  "make_source",
  "sprite_batches",
]

SPRITES_DATASET_SIZE = 737_280  # dSprites' size: the dataset size a method sees for procedural sprites


def binarize_batch(key: jax.Array, batch: dict) -> dict:
  """``batch`` with its images drawn afresh as Bernoulli(intensity) (:func:`vae_jax.data.binarize_dynamic`)."""
  from vae_jax import data  # deferred: keeps `import vae_jax.train` light

  return {**batch, "image": data.binarize_dynamic(key, batch["image"])}


def device_images(images: np.ndarray) -> np.ndarray:
  """uint8 when the images are exactly k/255 (8-bit sources: 4× less memory), else float32.

  :meth:`ArrayBatches.batch` turns uint8 rows back into float32 as ``u / 255`` on the device, which XLA:CPU computes
  within one ulp of the source's values (for 126 of the 256 levels it rounds the other way from NumPy's division),
  the same way in every run.
  """
  as_u8 = np.round(images * 255.0).astype(np.uint8)
  if np.array_equal(as_u8.astype(np.float32) / np.float32(255.0), images):
    return as_u8
  return images.astype(np.float32, copy=False)


def _rows(a: jax.Array, rows: jax.Array) -> jax.Array:
  """``a[rows]``, gathered as whole flattened rows: XLA:CPU gathers an image array ``[N, 28, 28, 1]`` element by
  element (with the uint8 → float32 conversion fused in) but rows of ``[N, 784]`` as contiguous slices; the values
  are the same. Measured: ``benchmarks/README.md`` ("Batches gathered as whole rows")."""
  flat = a.reshape(a.shape[0], -1) if a.ndim > 2 else a
  return flat[rows].reshape(rows.shape + a.shape[1:])


@jax.jit
def _epoch_key(shuffle_key: jax.Array, epoch: jax.Array) -> jax.Array:
  """The key of ``epoch``'s shuffle — :meth:`ArrayBatches.permutation`'s in the program and the host-sorted one's
  alike — in one program: run eagerly, the unrolled hash of :func:`fast_key`'s keys is ≈ 60 separately dispatched
  operations per epoch (measured: ``benchmarks/README.md``, "The real loop on an AMD EPYC VM")."""
  return jax.random.fold_in(fast_key(shuffle_key), epoch)


def _epoch_permutation(shuffle_key: jax.Array, epoch: int, num_examples: int) -> np.ndarray:
  """:meth:`ArrayBatches.permutation` of ``epoch``, sorted on the host (:mod:`vae_jax.train.shuffle`)."""
  return shuffle.permutation(_epoch_key(shuffle_key, np.int32(epoch)), num_examples)


class ArrayBatches(flax.struct.PyTreeNode):
  """Batches drawn from a device-resident dataset, reshuffled each epoch from the data key.

  Step ``t`` (global) reads rows ``perm_e[p·B:(p+1)·B]`` with ``e = t // S``, ``p = t % S``, ``S`` the steps per
  epoch and ``perm_e = permutation(fold_in(shuffle_key, e), N)``: a pure function of ``t``, so any chunking of the
  steps (and any resume point) sees the same batches. The last ``N mod B`` examples of each shuffled epoch are
  skipped.

  A shuffle is a sort of N random keys, slow on CPU; :meth:`with_permutations` attaches the shuffles of the
  epochs a window of steps touches, computed once per epoch across calls (the same permutation sorted on the host,
  :mod:`vae_jax.train.shuffle`), instead of once per call inside it.
  """

  shuffle_key: jax.Array
  num_examples: int = flax.struct.field(pytree_node=False)
  batch_size: int = flax.struct.field(pytree_node=False)
  preprocess: Preprocess | None = flax.struct.field(pytree_node=False, default=None)
  permutations: jax.Array | None = None  # [span, N]: perm of epoch first_epoch + j (zeros where not touched)
  first_epoch: jax.Array | None = None

  @property
  def steps_per_epoch(self) -> int:
    return self.num_examples // self.batch_size

  def span(self, num_steps: int) -> int:
    """How many epochs a window of ``num_steps`` steps can touch."""
    return -(-num_steps // self.steps_per_epoch) + 1

  def permutation(self, epoch: jax.Array) -> jax.Array:
    """``[N]`` row order of ``epoch``."""
    return jax.random.permutation(_epoch_key(self.shuffle_key, epoch), self.num_examples)

  def indices(self, start: jax.Array, num_steps: int) -> jax.Array:
    """``[num_steps, batch]`` example indices for global steps ``start … start+num_steps−1``."""
    spe = self.steps_per_epoch
    if self.permutations is not None:
      perms, first = self.permutations, self.first_epoch
    else:
      first, last = start // spe, (start + num_steps - 1) // spe

      def unused(epoch):
        return jnp.zeros_like(self.permutation(epoch))

      # Only the epochs the window touches are shuffled: usually one.
      perms = jnp.stack([self.permutation(first)] + [lax.cond(first + j <= last, self.permutation, unused, first + j)
                                                     for j in range(1, self.span(num_steps))])
    t = start + jnp.arange(num_steps)
    epoch, pos = t // spe - first, t % spe
    cols = pos[:, None] * self.batch_size + jnp.arange(self.batch_size)[None, :]
    return perms[epoch[:, None], cols]

  def host_permutations(self, start: int, num_steps: int, cache: dict) -> np.ndarray:
    """``[span, N]`` host ints: the shuffles of the epochs steps ``start … start+num_steps−1`` touch, epoch
    ``start // S + j`` in row ``j`` (zeros where not touched), as :meth:`indices` reads them.

    ``cache`` (epoch → permutation) is kept by the caller across calls, so each epoch is shuffled once; epochs
    before the window are dropped from it. The rows are the same as :meth:`permutation`'s (same function of the
    same key). A sweep stacks its members' on the host (``vae_jax.sweep.run``).
    """
    spe = self.steps_per_epoch
    first, last = start // spe, (start + num_steps - 1) // spe
    for epoch in [e for e in cache if e < first]:
      del cache[epoch]
    for epoch in range(first, last + 1):
      if epoch not in cache:
        cache[epoch] = _epoch_permutation(self.shuffle_key, epoch, self.num_examples)
    return np.stack([cache[first + j] if first + j <= last else np.zeros_like(cache[first])
                     for j in range(self.span(num_steps))])

  def with_permutations(self, start: int, num_steps: int, cache: dict, mesh: Mesh | None = None) -> ArrayBatches:
    """A copy carrying :meth:`host_permutations` for steps ``start … start+num_steps−1``, for the next call.

    Stacked on the host and placed in one transfer (no eager device operations between two chunks' dispatches).
    ``mesh``: replicate the permutations on it, like the dataset.
    """
    host = (self.host_permutations(start, num_steps, cache), np.int32(start // self.steps_per_epoch))
    perms, first_epoch = replicate(host, mesh) if mesh is not None else jax.device_put(host)
    return self.replace(permutations=perms, first_epoch=first_epoch)

  def batch(self, data: dict, rows: jax.Array, key: jax.Array) -> dict:
    batch = jax.tree_util.tree_map(functools.partial(_rows, rows=rows), data)
    if "image" in batch and batch["image"].dtype == jnp.uint8:
      batch["image"] = batch["image"].astype(jnp.float32) / 255.0
    return batch if self.preprocess is None else self.preprocess(key, batch)


class GeneratedBatches(flax.struct.PyTreeNode):
  """Batches generated on device from the step's data key: ``generate(key) -> batch`` (e.g. sprites)."""

  generate: Callable[[jax.Array], dict] = flax.struct.field(pytree_node=False)

  def indices(self, start: jax.Array, num_steps: int) -> jax.Array:
    return start + jnp.arange(num_steps)

  def with_permutations(self, start: int, num_steps: int, cache: dict, mesh: Mesh | None = None) -> GeneratedBatches:
    """Itself: generated batches need no shuffle (the same interface as :meth:`ArrayBatches.with_permutations`)."""
    del start, num_steps, cache, mesh
    return self

  def batch(self, data, rows, key):
    del data, rows
    return self.generate(key)


def _sprite_batch(batch_size: int, resolution: int, key: jax.Array) -> dict:
  from vae_jax.data import sprites

  images, factors = sprites.sample(key, batch_size, resolution=resolution)
  return {"image": images, "factors": factors}


@functools.lru_cache(maxsize=32)
def sprite_batches(batch_size: int, resolution: int) -> GeneratedBatches:
  """The source of procedural sprites rendered in the step: ``{"image": [batch_size, resolution, resolution, 1],
  "factors": [batch_size, 5]}`` drawn from the step's data key. Cached, so equal settings give the same object
  (its ``generate`` is a static field: a new one would compile the jitted steps that take it again)."""
  return GeneratedBatches(generate=functools.partial(_sprite_batch, batch_size, resolution))


def make_source(config, train_images: np.ndarray | None, data_key: jax.Array, mesh: Mesh | None):
  """``(source, data, dataset_size)`` of a run: the batch source of ``config``, the dataset it reads (replicated
  on ``mesh``; ``{}`` for generated data) and the training set's size as the method sees it.

  ``train_images``: ``[N, H, W, C]`` in [0, 1] (host), or None for procedural sprites (generated in the step).
  """
  if train_images is None:
    return sprite_batches(config.batch_size, config.data.resolution), {}, SPRITES_DATASET_SIZE
  n = len(train_images)
  if n < config.batch_size:
    raise ValueError(f"The training split has {n} examples, fewer than config.batch_size={config.batch_size}.")
  preprocess = binarize_batch if config.data.binarize == "dynamic" else None
  source = ArrayBatches(shuffle_key=data_key, num_examples=n, batch_size=config.batch_size, preprocess=preprocess)
  data = {"image": device_images(train_images)}
  return source, (data if mesh is None else replicate(data, mesh)), n
