"""Jitted train and eval steps, the scan-fused multi-step function, and data-parallel sharding helpers.

One update lives in one jit: gradient, optax update and metrics. The per-step key is
``fold_in(train_key, state.step)``, split into a data key (dynamic binarization, procedural data) and the
objective's key — so nothing random is checkpointed and a resumed run equals an uninterrupted one bit for bit.

Multi-device: the same jitted functions, with the batch on ``NamedSharding(mesh, P('data'))`` and the state
replicated; XLA inserts the gradient all-reduce. :func:`make_pmap_train_step` is a thin compatibility path for
users with ``pmap`` code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from vae_jax.objectives import LossFn

DATA_AXIS = "data"


class TrainState(flax.struct.PyTreeNode):
  """Everything a checkpoint needs: the step, the parameters and the optimizer state (no PRNG state)."""

  step: jax.Array
  params: Any
  opt_state: Any


def create_train_state(model, tx: optax.GradientTransformation, key: jax.Array, sample_images: jax.Array) -> TrainState:
  """Initialises parameters from ``key`` with a sample batch ``[b, H, W, C]`` and the optimizer state."""
  params = model.init(key, sample_images)["params"]
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))


def _apply_optimizer(tx: optax.GradientTransformation, state: TrainState, grads, metrics):
  # optax mixes Python floats with its int32 step count; run it under standard promotion so that callers (and our
  # tests) can keep jax_numpy_dtype_promotion='strict' for their own code.
  with jax.numpy_dtype_promotion("standard"):
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {**metrics, "grad_norm": optax.tree.norm(grads)}
  return TrainState(step=state.step + 1, params=params, opt_state=opt_state), metrics


def _update(loss_fn: LossFn, tx: optax.GradientTransformation, state: TrainState, batch, key: jax.Array):
  (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, key, state.step)
  return _apply_optimizer(tx, state, grads, metrics)


def step_keys(train_key: jax.Array, step: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(data key, objective key) for ``step``: ``split(fold_in(train_key, step))``."""
  k_data, k_loss = jax.random.split(jax.random.fold_in(train_key, step))
  return k_data, k_loss


Preprocess = Callable[[jax.Array, dict], dict]  # (key, batch) -> batch, e.g. dynamic binarization


def make_train_step(loss_fn: LossFn, tx: optax.GradientTransformation, *, preprocess: Preprocess | None = None):
  """Returns ``step(state, batch, train_key) -> (state, metrics)``, jitted with the state donated.

  ``preprocess(data_key, batch)`` runs inside the step (e.g. dynamic binarization from the step's data key).
  """

  def step(state, batch, train_key):
    k_data, k_loss = step_keys(train_key, state.step)
    if preprocess is not None:
      batch = preprocess(k_data, batch)
    return _update(loss_fn, tx, state, batch, k_loss)

  return jax.jit(step, donate_argnums=0)


def make_eval_step(loss_fn: LossFn):
  """Returns ``eval_step(params, batch, key, step) -> metrics`` (jitted; no update)."""

  def eval_step(params, batch, key, step):
    _, metrics = loss_fn(params, batch, key, step)
    return metrics

  return jax.jit(eval_step)


class ArrayBatches(flax.struct.PyTreeNode):
  """Batches drawn from a device-resident dataset, reshuffled each epoch from the data key.

  Step ``t`` (global) reads rows ``perm_e[p·B:(p+1)·B]`` with ``e = t // S``, ``p = t % S``, ``S`` the steps per
  epoch and ``perm_e = permutation(fold_in(shuffle_key, e), N)``: a pure function of ``t``, so any chunking of the
  steps (and any resume point) sees the same batches. The last ``N mod B`` examples of each shuffled epoch are
  skipped.
  """

  shuffle_key: jax.Array
  num_examples: int = flax.struct.field(pytree_node=False)
  batch_size: int = flax.struct.field(pytree_node=False)
  preprocess: Preprocess | None = flax.struct.field(pytree_node=False, default=None)

  @property
  def steps_per_epoch(self) -> int:
    return self.num_examples // self.batch_size

  def indices(self, start: jax.Array, num_steps: int) -> jax.Array:
    """``[num_steps, batch]`` example indices for global steps ``start … start+num_steps−1``."""
    spe = self.steps_per_epoch
    first = start // spe
    span = -(-num_steps // spe) + 1  # epochs a window of num_steps can touch
    perms = jnp.stack([jax.random.permutation(jax.random.fold_in(self.shuffle_key, first + j), self.num_examples)
                       for j in range(span)])
    t = start + jnp.arange(num_steps)
    epoch, pos = t // spe - first, t % spe
    cols = pos[:, None] * self.batch_size + jnp.arange(self.batch_size)[None, :]
    return perms[epoch[:, None], cols]

  def batch(self, data: dict, rows: jax.Array, key: jax.Array) -> dict:
    batch = jax.tree_util.tree_map(lambda a: a[rows], data)
    if "image" in batch and batch["image"].dtype == jnp.uint8:
      batch["image"] = batch["image"].astype(jnp.float32) / 255.0
    return batch if self.preprocess is None else self.preprocess(key, batch)


class GeneratedBatches(flax.struct.PyTreeNode):
  """Batches generated on device from the step's data key: ``generate(key) -> batch`` (e.g. sprites)."""

  generate: Callable[[jax.Array], dict] = flax.struct.field(pytree_node=False)

  def indices(self, start: jax.Array, num_steps: int) -> jax.Array:
    return start + jnp.arange(num_steps)

  def batch(self, data, rows, key):
    del data, rows
    return self.generate(key)


def make_multi_step(loss_fn: LossFn, tx: optax.GradientTransformation, *, num_steps: int,
                    batch_sharding: NamedSharding | None = None):
  """Returns ``run(state, data, source, train_key) -> (state, metrics)``: ``num_steps`` updates in one jit.

  ``lax.scan`` over the steps; each step builds its batch on device from ``source`` (:class:`ArrayBatches` or
  :class:`GeneratedBatches`), so the host is not involved between steps. ``metrics`` are stacked ``[num_steps]``.
  ``batch_sharding`` (e.g. ``NamedSharding(mesh, P('data'))``) constrains each batch to be split across devices.
  """
  if num_steps < 1:
    raise ValueError(f"make_multi_step: num_steps must be >= 1, got {num_steps}.")

  def run(state, data, source, train_key):
    rows = source.indices(state.step, num_steps)

    def body(state, rows_t):
      k_data, k_loss = step_keys(train_key, state.step)
      batch = source.batch(data, rows_t, k_data)
      if batch_sharding is not None:
        batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
      return _update(loss_fn, tx, state, batch, k_loss)

    return jax.lax.scan(body, state, rows)

  return jax.jit(run, donate_argnums=0)


def data_mesh(devices=None) -> Mesh:
  """A 1-D mesh over ``devices`` (default: all devices, every process) with the axis ``'data'``."""
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis split over the mesh's ``'data'`` axis."""
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def check_divisible(global_batch: int, mesh: Mesh) -> None:
  n = mesh.devices.size
  if global_batch % n:
    raise ValueError(f"The global batch size {global_batch} is not divisible by the number of devices ({n}); "
                     f"use a multiple of {n} (e.g. {n * max(1, global_batch // n)}) or fewer devices.")


def shard_batch(batch, mesh: Mesh):
  """Places a host batch on the mesh, split along the batch axis (single process)."""
  jax.tree_util.tree_map(lambda a: check_divisible(a.shape[0], mesh), batch)
  return jax.device_put(batch, batch_sharding(mesh))


def replicate(tree, mesh: Mesh):
  """Places a pytree (state, dataset) fully replicated on the mesh's devices.

  Works across processes too: every process must hold the same values.
  """
  sharding = replicated(mesh)
  if jax.process_count() == 1:
    return jax.device_put(tree, sharding)
  return jax.tree_util.tree_map(
      lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)), tree)


# --- pmap compatibility -------------------------------------------------------------------------------------------


def pmap_replicate(tree, num_devices: int | None = None):
  """Stacks a pytree along a new leading device axis, the layout ``pmap`` expects for replicated state."""
  n = jax.local_device_count() if num_devices is None else num_devices
  return jax.tree_util.tree_map(lambda a: jnp.broadcast_to(jnp.asarray(a)[None], (n, *jnp.shape(a))), tree)


def make_pmap_train_step(loss_fn: LossFn, tx: optax.GradientTransformation, *, axis_name: str = "batch",
                         preprocess: Preprocess | None = None):
  """A thin ``jax.pmap`` version of :func:`make_train_step` for users with pmap code (pmap is in maintenance mode).

  State replicated with a leading device axis, batch ``[devices, per_device_batch, ...]``, gradients and metrics
  averaged with ``lax.pmean`` over ``axis_name``. The step key is the same ``fold_in(train_key, step)``, further
  folded with the device index, so each device draws its own noise: for a deterministic objective (AE) the result
  equals :func:`make_train_step` on the global batch; for a stochastic one it is an equally valid draw.
  """

  def step(state, batch, train_key):
    k_data, k_loss = step_keys(train_key, state.step)
    idx = jax.lax.axis_index(axis_name)
    k_data, k_loss = jax.random.fold_in(k_data, idx), jax.random.fold_in(k_loss, idx)
    if preprocess is not None:
      batch = preprocess(k_data, batch)
    (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, k_loss, state.step)
    grads = jax.lax.pmean(grads, axis_name)
    metrics = jax.lax.pmean(metrics, axis_name)
    return _apply_optimizer(tx, state, grads, metrics)

  return jax.pmap(step, axis_name=axis_name, in_axes=(0, 0, None), donate_argnums=0)
