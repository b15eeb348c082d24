"""A thin ``jax.pmap`` path for users with pmap code (pmap is in maintenance mode; the library's own loop uses
``jit`` with sharded batches, :mod:`vae_jax.train.sharding`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from vae_jax.methods import LossFn
from vae_jax.train.prng import fast_key
from vae_jax.train.step import Preprocess, apply_optimizer, step_keys

__all__ = ["make_pmap_train_step", "pmap_replicate"]


def pmap_replicate(tree, num_devices: int | None = None):
  """Stacks a pytree along a new leading device axis, the layout ``pmap`` expects for replicated state."""
  n = jax.local_device_count() if num_devices is None else num_devices
  return jax.tree_util.tree_map(lambda a: jnp.broadcast_to(jnp.asarray(a)[None], (n, *jnp.shape(a))), tree)


def make_pmap_train_step(loss_fn: LossFn, tx: optax.GradientTransformation, *, axis_name: str = "batch",
                         preprocess: Preprocess | None = None):
  """A ``jax.pmap`` version of :func:`vae_jax.train.step.make_train_step`.

  State replicated with a leading device axis, batch ``[devices, per_device_batch, ...]``, gradients and metrics
  averaged with ``lax.pmean`` over ``axis_name``. The step key is the same ``fold_in(train_key, step)``, further
  folded with the device index, so each device draws its own noise: for a deterministic objective (AE) the result
  equals ``make_train_step`` on the global batch; for a stochastic one it is an equally valid draw.
  """

  def step(state, batch, train_key):
    k_data, k_loss = step_keys(fast_key(train_key), state.step)
    idx = jax.lax.axis_index(axis_name)
    k_data, k_loss = jax.random.fold_in(k_data, idx), jax.random.fold_in(k_loss, idx)
    if preprocess is not None:
      batch = preprocess(k_data, batch)
    (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, k_loss, state.step)
    grads = jax.lax.pmean(grads, axis_name)
    metrics = jax.lax.pmean(metrics, axis_name)
    return apply_optimizer(tx, state, grads, metrics)

  return jax.pmap(step, axis_name=axis_name, in_axes=(0, 0, None), donate_argnums=0)
