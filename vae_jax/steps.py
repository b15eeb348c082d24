"""Jitted train and eval steps, the scan-fused multi-step function, and data-parallel sharding helpers.

One update lives in one jit: gradient, optax update and metrics. The per-step key is
``fold_in(train_key, state.step)``, split into a data key (dynamic binarization, procedural data) and the
objective's key — so nothing random is checkpointed and a resumed run equals an uninterrupted one bit for bit.

Speed: inside the jitted functions a default (threefry) key is re-typed to :data:`UNROLLED_THREEFRY`, the same
Threefry-2x32 hash, counters and key derivation written as straight-line ``jnp`` code. Every random bit is
identical to ``jax.random``'s (checked in ``tests/test_benchmarks_smoke.py``), but XLA:CPU fuses the hash into
its consumer (e.g. the Bernoulli comparison of dynamic binarization) instead of running JAX's CPU lowering, a
5-iteration while loop that materialises the counter arrays each iteration: 3–4× less time per random draw on
CPU and fewer tiny loop kernels per step. Other key types pass through unchanged.

Multi-device: the same jitted functions, with the batch on ``NamedSharding(mesh, P('data'))`` and the state
replicated; XLA inserts the gradient all-reduce. :func:`make_pmap_train_step` is a thin compatibility path for
users with ``pmap`` code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import functools
import math

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from jax.extend import random as jex_random
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from vae_jax.methods import Extra, LossFn

DATA_AXIS = "data"


class TrainState(flax.struct.PyTreeNode):
  """Everything a checkpoint needs: the step, the parameters, the optimizer state and the method's own state
  (``extra``: e.g. FactorVAE's discriminator and its optimizer; ``{}`` for most methods). No PRNG state."""

  step: jax.Array
  params: Any
  opt_state: Any
  extra: Any = flax.struct.field(default_factory=dict)


# --- keys -----------------------------------------------------------------------------------------------------------

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


# --- state and steps -------------------------------------------------------------------------------------------------


def create_train_state(model, tx: optax.GradientTransformation, key: jax.Array, sample_images: jax.Array, *,
                       extra: Extra | None = None) -> TrainState:
  """Initialises parameters from ``key`` with a sample batch ``[b, H, W, C]`` and the optimizer state.

  ``extra``: the method's own state and update (:func:`vae_jax.factory.make_extra`); then ``key`` is split into
  the model's and the extra state's init keys (without, the model's init uses ``key`` itself).
  """
  extra_state = {}
  if extra is not None:
    key, k_extra = jax.random.split(key)
    extra_state = extra.init(k_extra)
  params = model.init(key, sample_images)["params"]
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params), extra=extra_state)


def _apply_optimizer(tx: optax.GradientTransformation, state: TrainState, grads, metrics):
  # optax mixes Python floats with its int32 step count; run it under standard promotion so that callers (and our
  # tests) can keep jax_numpy_dtype_promotion='strict' for their own code.
  with jax.numpy_dtype_promotion("standard"):
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = {**metrics, "grad_norm": optax.tree.norm(grads)}
  return state.replace(step=state.step + 1, params=params, opt_state=opt_state), metrics


def _loss_kwargs(state: TrainState, extra: Extra | None) -> dict:
  return {} if extra is None else {"extra": state.extra}


def _update(loss_fn: LossFn, tx: optax.GradientTransformation, state: TrainState, batch, key: jax.Array,
            extra: Extra | None = None):
  """One update: the model's gradient step, then (for a method with ``extra``) the method's own update from the
  pre-update parameters, with its key split from the step's objective key."""
  if extra is not None:
    key, k_extra = jax.random.split(key)
  (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, key, state.step,
                                                                  **_loss_kwargs(state, extra))
  new_state, metrics = _apply_optimizer(tx, state, grads, metrics)
  if extra is not None:
    extra_state, extra_metrics = extra.update(state.extra, state.params, batch, k_extra, state.step)
    new_state, metrics = new_state.replace(extra=extra_state), {**metrics, **extra_metrics}
  return new_state, metrics


def step_keys(train_key: jax.Array, step: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(data key, objective key) for ``step``: ``split(fold_in(train_key, step))``."""
  k_data, k_loss = jax.random.split(jax.random.fold_in(train_key, step))
  return k_data, k_loss


Preprocess = Callable[[jax.Array, dict], dict]  # (key, batch) -> batch, e.g. dynamic binarization


def make_train_step(loss_fn: LossFn, tx: optax.GradientTransformation, *, preprocess: Preprocess | None = None,
                    extra: Extra | None = None):
  """Returns ``step(state, batch, train_key) -> (state, metrics)``, jitted with the state donated.

  ``preprocess(data_key, batch)`` runs inside the step (e.g. dynamic binarization from the step's data key).
  ``extra``: the method's own update (:func:`vae_jax.factory.make_extra`), run in the same step.
  """

  def step(state, batch, train_key):
    k_data, k_loss = step_keys(fast_key(train_key), state.step)
    if preprocess is not None:
      batch = preprocess(k_data, batch)
    return _update(loss_fn, tx, state, batch, k_loss, extra)

  return jax.jit(step, donate_argnums=0)


def make_eval_step(loss_fn: LossFn, *, extra: Extra | None = None):
  """Returns ``eval_step(params, batch, key, step, extra_state=None) -> metrics`` (jitted; no update).

  A method with ``extra`` needs its state: pass ``extra_state=state.extra``.
  """

  def eval_step(params, batch, key, step, extra_state=None):
    if extra is not None and extra_state is None:
      raise ValueError("make_eval_step: this method keeps extra state; call eval_step(..., extra_state=state.extra).")
    _, metrics = loss_fn(params, batch, key, step, **({} if extra is None else {"extra": extra_state}))
    return metrics

  return jax.jit(eval_step)


@functools.partial(jax.jit, static_argnums=2)
def _epoch_permutation(shuffle_key: jax.Array, epoch: jax.Array, num_examples: int) -> jax.Array:
  return jax.random.permutation(jax.random.fold_in(fast_key(shuffle_key), epoch), num_examples)


class ArrayBatches(flax.struct.PyTreeNode):
  """Batches drawn from a device-resident dataset, reshuffled each epoch from the data key.

  Step ``t`` (global) reads rows ``perm_e[p·B:(p+1)·B]`` with ``e = t // S``, ``p = t % S``, ``S`` the steps per
  epoch and ``perm_e = permutation(fold_in(shuffle_key, e), N)``: a pure function of ``t``, so any chunking of the
  steps (and any resume point) sees the same batches. The last ``N mod B`` examples of each shuffled epoch are
  skipped.

  A shuffle is a sort of N random keys, slow on CPU; :meth:`with_permutations` attaches the shuffles of the
  epochs a window of steps touches, computed once per epoch across calls, instead of once per call inside it.
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
    return jax.random.permutation(jax.random.fold_in(fast_key(self.shuffle_key), epoch), self.num_examples)

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

  def with_permutations(self, start: int, num_steps: int, cache: dict, mesh: Mesh | None = None) -> ArrayBatches:
    """A copy carrying the shuffles that steps ``start … start+num_steps−1`` use (host ints), for the next call.

    ``cache`` (epoch → permutation) is kept by the caller across calls, so each epoch is shuffled once; epochs
    before the window are dropped from it. The rows are the same as without (same function of the same key).
    ``mesh``: replicate the permutations on it, like the dataset.
    """
    spe = self.steps_per_epoch
    first, last = start // spe, (start + num_steps - 1) // spe
    for epoch in [e for e in cache if e < first]:
      del cache[epoch]
    for epoch in range(first, last + 1):
      if epoch not in cache:
        cache[epoch] = _epoch_permutation(self.shuffle_key, jnp.int32(epoch), self.num_examples)
    rows = [cache[first + j] if first + j <= last else jnp.zeros_like(cache[first])
            for j in range(self.span(num_steps))]
    perms, first_epoch = jnp.stack(rows), jnp.int32(first)
    if mesh is not None:
      perms, first_epoch = replicate((perms, first_epoch), mesh)
    return self.replace(permutations=perms, first_epoch=first_epoch)

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


MULTI_STEP_LOOPS = ("auto", "scan", "host")


def _has_convolution(fn, *args) -> bool:
  return "conv_general_dilated" in str(jax.make_jaxpr(fn)(*args))


def make_multi_step(loss_fn: LossFn, tx: optax.GradientTransformation, *, num_steps: int,
                    batch_sharding: NamedSharding | None = None, loop: str = "scan", extra: Extra | None = None):
  """Returns ``run(state, data, source, train_key) -> (state, metrics)``: ``num_steps`` updates per call.

  Each step builds its batch on device from ``source`` (:class:`ArrayBatches` or :class:`GeneratedBatches`);
  ``metrics`` are stacked ``[num_steps]``. ``batch_sharding`` (e.g. ``NamedSharding(mesh, P('data'))``)
  constrains each batch to be split across devices. ``extra``: the method's own update, run in each step.

  ``loop``: ``"scan"`` (default) runs the steps as one ``lax.scan`` inside one jit (the host is not involved
  between steps) and returns that jitted function; ``"host"`` returns a plain function that calls one jitted
  update per step from Python (the same update, dispatched asynchronously); ``"auto"`` picks ``"host"`` on CPU
  when the step holds convolutions, else ``"scan"``. Why: XLA:CPU runs the strided and transposed convolutions
  of a conv VAE's gradient on a much slower path inside a while loop than in straight-line code — for the conv
  β-VAE on 64×64 sprites a step in a scan took several times as long as unrolled or stepped from the host, and a
  one-off check with the depth-to-space decoder still found the scan far slower (measurements:
  ``benchmarks/README.md``, "Conv β-VAE") — while for an MLP the scan is the faster.
  """
  if num_steps < 1:
    raise ValueError(f"make_multi_step: num_steps must be >= 1, got {num_steps}.")
  if loop not in MULTI_STEP_LOOPS:
    raise ValueError(f"make_multi_step: loop must be one of {MULTI_STEP_LOOPS}, got {loop!r}.")

  def update(state, rows_t, data, source, train_key):
    k_data, k_loss = step_keys(train_key, state.step)
    batch = source.batch(data, rows_t, k_data)
    if batch_sharding is not None:
      batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
    return _update(loss_fn, tx, state, batch, k_loss, extra)

  def run_scan(state, data, source, train_key):
    train_key = fast_key(train_key)
    rows = source.indices(state.step, num_steps)
    return jax.lax.scan(lambda st, rows_t: update(st, rows_t, data, source, train_key), state, rows)

  scanned = jax.jit(run_scan, donate_argnums=0)
  if loop == "scan":
    return scanned
  one_step = jax.jit(lambda st, rows_t, data, source, key: update(st, rows_t, data, source, fast_key(key)),
                     donate_argnums=0)
  window = jax.jit(lambda source, start: source.indices(start, num_steps))

  def stepped(state, data, source, train_key):
    rows = window(source, state.step)
    metrics = []
    for t in range(num_steps):
      state, m = one_step(state, rows[t], data, source, train_key)
      metrics.append(m)
    return state, jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *metrics)

  if loop == "host":
    return stepped
  chosen = []

  def run(state, data, source, train_key):
    if not chosen:
      on_cpu = jax.default_backend() == "cpu"
      chosen.append(stepped if on_cpu and _has_convolution(run_scan, state, data, source, train_key) else scanned)
    return chosen[0](state, data, source, train_key)

  return run


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
    k_data, k_loss = step_keys(fast_key(train_key), state.step)
    idx = jax.lax.axis_index(axis_name)
    k_data, k_loss = jax.random.fold_in(k_data, idx), jax.random.fold_in(k_loss, idx)
    if preprocess is not None:
      batch = preprocess(k_data, batch)
    (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, k_loss, state.step)
    grads = jax.lax.pmean(grads, axis_name)
    metrics = jax.lax.pmean(metrics, axis_name)
    return _apply_optimizer(tx, state, grads, metrics)

  return jax.pmap(step, axis_name=axis_name, in_axes=(0, 0, None), donate_argnums=0)
