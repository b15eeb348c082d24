"""The sweep's jitted programs: every member's update, vmapped over a leading member axis and sharded on a mesh.

A member's update is the single run's, by construction: the same :func:`vae_jax.train.step.step_keys`,
``source.batch`` (shuffle, dynamic binarization or on-device sprites) and :func:`vae_jax.train.step.update`, called
with the member's own state, seed-derived keys and hyperparameters; :func:`jax.vmap` stacks the members.
Hyperparameters are traced ``[M]`` float32 arrays, so a grid compiles once.

Mesh: axes ``('member', 'data')``. Stacked states and per-member inputs are sharded ``P('member')``; inside the
vmap each member's batch is constrained to ``P('data')``, which ``spmd_axis_name='member'`` turns into
``P('member', 'data')``: members spread over devices (and processes), each member's batch split over ``data``.

Faults: with ``mask=True``, after each update a member whose loss, parameters or optimizer state is non-finite
keeps its previous state (``jnp.where`` per member) and is marked dead from then on, with the step of the bad
update in ``failed_at``; the other members are untouched (members never exchange values). The loop runs the
cheaper ``mask=False`` program while every member is alive (see :func:`make_sweep_multi_step`).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from vae_jax import factory, train
from vae_jax.configs import Config
from vae_jax.train import multi_step
from vae_jax.train import step as step_lib

MEMBER_AXIS = "member"
DATA_AXIS = train.DATA_AXIS


class SweepState(flax.struct.PyTreeNode):
  """Everything a sweep checkpoint holds: the members' stacked :class:`~vae_jax.train.TrainState` (every leaf
  ``[M, …]``; an ``extra`` field a method adds is stacked like the rest), who is still training, and the step
  at which each dead member's update went non-finite (−1: never)."""

  members: train.TrainState
  alive: jax.Array  # [M] bool
  failed_at: jax.Array  # [M] int32


# --- the one place a member's method and optimizer are built ---------------------------------------------------


def _traced_config(config: Config, hparams: dict[str, Any]) -> Config:
  """``config`` with the dotted fields of ``hparams`` set to (possibly traced) values, skipping validation.

  The dataclasses validate Python numbers in ``__post_init__``, which a tracer cannot pass; the values were
  validated as floats when the sweep was built (every member's :class:`Config` is constructed there).
  """
  groups: dict[str, Any] = {}
  for dotted, value in hparams.items():
    group, field = dotted.split(".")
    sub = groups.setdefault(group, copy.copy(getattr(config, group)))
    object.__setattr__(sub, field, value)
  out = copy.copy(config)
  for group, sub in groups.items():
    object.__setattr__(out, group, sub)
  return out


def member_method(config: Config, hparams: dict[str, jax.Array], model, dataset_size: int):
  """Member's ``(loss_fn, extra)``: the method's loss (``loss_fn(params, batch, key, step)``) and its own state and
  update, if any (FactorVAE's discriminator), built from the method config with the member's traced
  hyperparameters (a method reads its ``SWEEPABLE`` fields only through ``jnp`` arithmetic)."""
  cfg = _traced_config(config, {k: v for k, v in hparams.items() if k.startswith("method.")})
  return (factory.make_loss(cfg.method, model, dataset_size=dataset_size), factory.make_extra(cfg.method, model))


def member_optimizer(config: Config, hparams: dict[str, jax.Array]):
  """The member's optax transformation (a traced ``learning_rate`` if swept; the state layout is unchanged)."""
  cfg = _traced_config(config, {k: v for k, v in hparams.items() if k.startswith("optimizer.")})
  return factory.make_optimizer(cfg.optimizer)


# --- mesh and placement ---------------------------------------------------------------------------------------------


def sweep_mesh(devices, data_parallel: int = 1) -> Mesh:
  """A ``('member', 'data')`` mesh over ``devices``: ``data_parallel`` devices per member group."""
  n = len(devices)
  if n % data_parallel:
    raise ValueError(f"sweep: data_parallel={data_parallel} does not divide the {n} devices.")
  return Mesh(np.asarray(devices).reshape(n // data_parallel, data_parallel), (MEMBER_AXIS, DATA_AXIS))


def put(host: Any, mesh: Mesh, spec: P) -> Any:
  """Places host (NumPy) arrays on the mesh with ``spec``; every process passes the same values."""
  sharding = NamedSharding(mesh, spec)

  def one(a):
    a = np.asarray(a)
    return jax.make_array_from_callback(a.shape, sharding, lambda idx: a[idx])

  return jax.tree_util.tree_map(one, host)


def to_host(tree: Any) -> Any:
  """NumPy copies of (possibly multi-process sharded) arrays, the same on every process."""
  if jax.process_count() == 1:
    return jax.device_get(tree)
  from jax.experimental import multihost_utils

  return multihost_utils.process_allgather(tree, tiled=True)


# --- one member's update and the vmapped programs -------------------------------------------------------------------


def _all_finite(tree) -> jax.Array:
  ok = jnp.bool_(True)
  for leaf in jax.tree_util.tree_leaves(tree):
    if jnp.issubdtype(leaf.dtype, jnp.inexact):
      ok = ok & jnp.all(jnp.isfinite(leaf))
  return ok


def _member_update(config, model, dataset_size, batch_sharding, mask, state, alive, failed_at, hp, rows_t, data,
                   source, train_key):
  """train.make_multi_step's ``update`` for one member, then (``mask``) the per-step finiteness mask."""
  loss_fn, extra = member_method(config, hp, model, dataset_size)
  tx = member_optimizer(config, hp)
  k_data, k_loss = step_lib.step_keys(train_key, state.step)
  batch = source.batch(data, rows_t, k_data)
  batch = lax.with_sharding_constraint(batch, batch_sharding)
  new, metrics = step_lib.update(loss_fn, tx, state, batch, k_loss, extra)  # the single run's update
  if not mask:  # only flag the first non-finite loss; the loop replays the chunk with masks if any member fails
    bad = alive & (failed_at < 0) & ~jnp.isfinite(metrics["loss"])
    return new, alive, jnp.where(bad, state.step, failed_at), metrics
  ok = alive & jnp.isfinite(metrics["loss"]) & _all_finite(new)
  new = jax.tree_util.tree_map(lambda n, o: jnp.where(ok, n, o), new, state)
  failed_at = jnp.where(alive & ~ok, state.step, failed_at)
  return new, ok, failed_at, metrics


def _train_keys(key_data: jax.Array) -> jax.Array:
  return train.fast_key(jax.random.wrap_key_data(key_data))


def make_sweep_multi_step(config: Config, model, dataset_size: int, mesh: Mesh, *, num_steps: int,
                          data_shared: bool, loop: str = "scan", mask: bool = True):
  """``run(sweep_state, hparams, data, source, train_key_data, start) -> (sweep_state, metrics [n, M], finite [M])``.

  ``mask=True``: after every update a member whose loss or new state is non-finite keeps its old state and is
  marked dead (``failed_at`` = that step). The ``jnp.where`` over the whole state costs about as much as the
  optimizer update itself (it keeps old and new state alive: ~2× the MLP VAE's step time on CPU), so
  ``mask=False`` is the fast path: plain updates, the first non-finite loss flagged in ``failed_at`` (``alive``
  unchanged), and ``finite`` — whether each member's state is finite at the end — for the loop to check; the loop
  uses it while every member is alive and, when one fails, replays from the last checkpoint with ``mask=True``.

  ``source`` is the single run's batch source with every leaf stacked ``[M, …]``; ``data`` is shared
  (``data_shared``) or stacked; ``train_key_data`` ``[M, 2]`` uint32 (``jax.random.key_data`` of each member's
  train key); ``start`` the sweep's global step (each live member's ``state.step``). ``loop``: ``"scan"`` fuses
  the steps into one ``lax.scan``; ``"host"`` calls one jitted vmapped update per step; ``"auto"`` chooses between
  them by the single run's rule on the lowered program (:class:`vae_jax.train.multi_step.AutoLoop`: host-stepped
  where XLA's convolutions on CPU would run inside a while loop, which is slow).
  """
  if loop not in multi_step.MULTI_STEP_LOOPS:
    raise ValueError(f"make_sweep_multi_step: loop must be one of {multi_step.MULTI_STEP_LOOPS}, got {loop!r}.")
  member_spec = NamedSharding(mesh, P(MEMBER_AXIS))
  everywhere = NamedSharding(mesh, P())
  update = functools.partial(_member_update, config, model, dataset_size, NamedSharding(mesh, P(DATA_AXIS)), mask)
  vupdate = jax.vmap(update, in_axes=(0, 0, 0, 0, 0, None if data_shared else 0, 0, 0),
                     spmd_axis_name=MEMBER_AXIS)

  def one(st, hp, rows_t, data, source, keys):
    members, alive, failed_at, metrics = vupdate(st.members, st.alive, st.failed_at, hp, rows_t, data, source, keys)
    return SweepState(members, alive, failed_at), metrics

  def window(source, start, rows):
    if not jax.tree_util.tree_leaves(source):  # generated batches: the rows are the step numbers, for everyone
      return jnp.broadcast_to(source.indices(start, num_steps)[:, None], (num_steps, rows))
    return jnp.swapaxes(jax.vmap(lambda s: s.indices(start, num_steps))(source), 0, 1)  # [n, M, batch]

  def finish(st, metrics):
    finite = lax.with_sharding_constraint(jax.vmap(_all_finite)(st.members), everywhere)
    return lax.with_sharding_constraint(st, member_spec), lax.with_sharding_constraint(metrics, everywhere), finite

  def run_scan(st, hp, data, source, key_data, start):
    keys = _train_keys(key_data)
    rows = window(source, start, key_data.shape[0])
    st, metrics = lax.scan(lambda s, r: one(s, hp, r, data, source, keys), st, rows)
    return finish(st, metrics)

  scanned = jax.jit(run_scan, donate_argnums=0)
  if loop == "scan":
    return scanned
  one_step = jax.jit(lambda st, hp, r, data, source, kd: one(st, hp, r, data, source, _train_keys(kd)),
                     donate_argnums=0)
  finish_jit = jax.jit(finish, donate_argnums=(0, 1))
  rows_of = jax.jit(window, static_argnums=2)

  def stepped(st, hp, data, source, key_data, start):
    rows = rows_of(source, start, key_data.shape[0])
    metrics = []
    for t in range(num_steps):
      st, m = one_step(st, hp, rows[t], data, source, key_data)
      metrics.append(m)
    return finish_jit(st, jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *metrics))

  stepped = multi_step.host_stepped(stepped)
  return stepped if loop == "host" else multi_step.AutoLoop(scanned, stepped)


def make_sweep_eval(config: Config, model, dataset_size: int, mesh: Mesh, *, test_shared: bool):
  """``eval(members, hparams, batch, eval_key_data, i, step) -> metrics [M]``: the single run's eval step per member
  (``members``: the stacked train states; key ``fold_in(eval_key, i)`` for the i-th test batch)."""

  def one(state, hp, batch, key_data, i, step):
    loss_fn, extra = member_method(config, hp, model, dataset_size)
    _, metrics = loss_fn(state.params, batch, jax.random.fold_in(jax.random.wrap_key_data(key_data), i), step,
                         **step_lib.loss_kwargs(state, extra))  # as the single run's eval step
    return metrics

  v = jax.vmap(one, in_axes=(0, 0, None if test_shared else 0, 0, None, None), spmd_axis_name=MEMBER_AXIS)
  everywhere = NamedSharding(mesh, P())
  return jax.jit(lambda *a: lax.with_sharding_constraint(v(*a), everywhere))
