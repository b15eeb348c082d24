"""Many updates per call: ``num_steps`` steps whose batches are built on device, fused in one ``lax.scan`` or
stepped from the host, and the one rule that chooses between the two."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jax.sharding import NamedSharding

from vae_jax import host_memory
from vae_jax.methods import Extra, LossFn
from vae_jax.train.prng import fast_key
from vae_jax.train.step import step_keys, update

__all__ = ["MULTI_STEP_LOOPS", "AutoLoop", "choose_loop", "host_stepped", "make_multi_step"]

MULTI_STEP_LOOPS = ("auto", "scan", "host")


def choose_loop(has_convolution: bool) -> str:
  """``"host"`` on CPU when the step holds XLA convolutions, else ``"scan"``: the rule of ``loop="auto"``.

  Why: XLA:CPU runs the strided and transposed convolutions of a conv VAE's gradient on a much slower path inside a
  while loop than in straight-line code — for the conv β-VAE on 64×64 sprites a step in a scan took several times
  as long as stepped from the host (``benchmarks/README.md``, "Conv β-VAE") — while for an MLP the scan is faster.
  oneDNN's convolutions (:mod:`vae_jax.onednn_conv`) are custom calls, not XLA convolutions: with them the conv
  β-VAE's scan ran 1.2–1.6× its host-stepped loop (2026-12-04, ``benchmarks/README.md``), so it counts as none;
  since the host-stepped loop keeps its freed buffers mapped (:func:`host_stepped`) the two ran about even.
  """
  return "host" if has_convolution and jax.default_backend() == "cpu" else "scan"


def _has_convolution(jitted, *args) -> bool:
  """Whether ``jitted`` lowered for this backend holds XLA convolutions (``platform_dependent`` lowers one branch)."""
  return "stablehlo.convolution" in jitted.lower(*args).as_text()


def host_stepped(stepped):
  """``stepped`` (a loop that calls one jitted update per step) that first keeps freed host memory mapped on a CPU
  backend: each call's buffers then reuse the last call's pages instead of page-faulting fresh ones
  (:mod:`vae_jax.host_memory` says why and how to turn it off)."""

  def run(*args):
    if jax.default_backend() == "cpu":
      host_memory.keep_freed_memory()
    return stepped(*args)

  return run


class AutoLoop:
  """``loop="auto"``: on the first call, :func:`choose_loop` applied to the lowered ``scanned`` program for these
  arguments; that call and every later one go to ``scanned`` or ``stepped``. ``loop`` is the choice (``None``
  before the first call). The single run's :func:`make_multi_step` and the sweep engine use it alike."""

  def __init__(self, scanned, stepped):
    self.scanned, self.stepped, self.loop = scanned, stepped, None

  def __call__(self, *args):
    if self.loop is None:
      # Tracing the step to look for convolutions matters only where the rule can say "host".
      self.loop = choose_loop(jax.default_backend() == "cpu" and _has_convolution(self.scanned, *args))
    return (self.stepped if self.loop == "host" else self.scanned)(*args)


def make_multi_step(loss_fn: LossFn, tx: optax.GradientTransformation, *, num_steps: int,
                    batch_sharding: NamedSharding | None = None, loop: str = "scan", extra: Extra | None = None):
  """Returns ``run(state, data, source, train_key) -> (state, metrics)``: ``num_steps`` updates per call.

  Each step builds its batch on device from ``source`` (:class:`~vae_jax.train.batches.ArrayBatches` or
  :class:`~vae_jax.train.batches.GeneratedBatches`); ``metrics`` are stacked ``[num_steps]``. ``batch_sharding``
  (e.g. ``NamedSharding(mesh, P('data'))``) constrains each batch to be split across devices. ``extra``: the
  method's own update, run in each step.

  ``loop``: ``"scan"`` (default) runs the steps as one ``lax.scan`` inside one jit (the host is not involved
  between steps) and returns that jitted function; ``"host"`` returns a plain function that calls one jitted
  update per step from Python (the same update, dispatched asynchronously; :func:`host_stepped`); ``"auto"``
  returns an :class:`AutoLoop`, which applies :func:`choose_loop` to the lowered step on its first call.
  """
  if num_steps < 1:
    raise ValueError(f"make_multi_step: num_steps must be >= 1, got {num_steps}.")
  if loop not in MULTI_STEP_LOOPS:
    raise ValueError(f"make_multi_step: loop must be one of {MULTI_STEP_LOOPS}, got {loop!r}.")

  def one(state, rows_t, data, source, train_key):
    k_data, k_loss = step_keys(train_key, state.step)
    batch = source.batch(data, rows_t, k_data)
    if batch_sharding is not None:
      batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
    return update(loss_fn, tx, state, batch, k_loss, extra)

  def run_scan(state, data, source, train_key):
    train_key = fast_key(train_key)
    rows = source.indices(state.step, num_steps)
    return jax.lax.scan(lambda st, rows_t: one(st, rows_t, data, source, train_key), state, rows)

  scanned = jax.jit(run_scan, donate_argnums=0)
  if loop == "scan":
    return scanned
  one_step = jax.jit(lambda st, rows_t, data, source, key: one(st, rows_t, data, source, fast_key(key)),
                     donate_argnums=0)
  window = jax.jit(lambda source, start: source.indices(start, num_steps))

  def stepped(state, data, source, train_key):
    rows = window(source, state.step)
    metrics = []
    for t in range(num_steps):
      state, m = one_step(state, rows[t], data, source, train_key)
      metrics.append(m)
    return state, jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *metrics)

  return host_stepped(stepped) if loop == "host" else AutoLoop(scanned, host_stepped(stepped))
