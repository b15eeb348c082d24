"""The one update and the jitted train and eval steps built from it.

One update lives in one jit: gradient, optax update and metrics. The per-step key is
``fold_in(train_key, state.step)``, split into a data key (dynamic binarization, procedural data) and the
objective's key, so nothing random is checkpointed and a resumed run equals an uninterrupted one bit for bit.
Inside the jitted functions the train key goes through :func:`vae_jax.train.prng.fast_key` (same bits).

A loss is ``loss_fn(params, batch, key, step) -> (loss, metrics)`` (:mod:`vae_jax.methods`): ``loss`` the batch mean
of per-example values, ``metrics`` a flat dict of scalars. The classifier's cross-entropy has the same form.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from vae_jax import fused_adam
from vae_jax.methods import Extra, LossFn
from vae_jax.train.prng import fast_key
from vae_jax.train.state import TrainState

__all__ = ["Preprocess", "apply_optimizer", "loss_kwargs", "make_eval_step", "make_train_step", "step_keys",
           "update"]

Preprocess = Callable[[jax.Array, dict], dict]  # (key, batch) -> batch, e.g. dynamic binarization


def grad_norm(grads) -> jax.Array:
  """The global L2 norm of ``grads`` — ``optax.tree.norm``'s value, bit for bit (:func:`vae_jax.fused_adam.squared_norm`
  says how)."""
  return jnp.sqrt(fused_adam.squared_norm(grads))


def apply_optimizer(tx: optax.GradientTransformation, state: TrainState, grads, metrics):
  """``tx``'s update of ``state`` from ``grads``; adds ``grad_norm`` to ``metrics`` and counts the step.

  A ``tx`` from :func:`vae_jax.fused_adam.adam` (the factory's ``"adam"``) is applied in one pass per element by
  :func:`vae_jax.fused_adam.apply` where :func:`vae_jax.fused_adam.enabled`, the gradient norm read in the same pass
  (equal to :func:`grad_norm`'s to float32 rounding); otherwise ``tx.update``, ``optax.apply_updates`` and
  :func:`grad_norm`.
  """
  # optax mixes Python floats with its int32 step count; run it under standard promotion so that callers (and our
  # tests) can keep jax_numpy_dtype_promotion='strict' for their own code.
  with jax.numpy_dtype_promotion("standard"):
    if fused_adam.fusable(tx, state.params) and fused_adam.enabled():
      params, opt_state, squares = fused_adam.apply(tx, grads, state.opt_state, state.params)
    else:
      updates, opt_state = tx.update(grads, state.opt_state, state.params)
      params, squares = optax.apply_updates(state.params, updates), fused_adam.squared_norm(grads)
    metrics = {**metrics, "grad_norm": jnp.sqrt(squares)}
  return state.replace(step=state.step + 1, params=params, opt_state=opt_state), metrics


def loss_kwargs(state: TrainState, extra: Extra | None) -> dict:
  """The keyword arguments of a method's loss beyond ``(params, batch, key, step)``: its ``extra`` state, if any."""
  return {} if extra is None else {"extra": state.extra}


def update(loss_fn: LossFn, tx: optax.GradientTransformation, state: TrainState, batch, key: jax.Array,
           extra: Extra | None = None):
  """One update: the model's gradient step, then (for a method with ``extra``) the method's own update from the
  pre-update parameters, with its key split from the step's objective key."""
  if extra is not None:
    key, k_extra = jax.random.split(key)
  (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, key, state.step,
                                                                  **loss_kwargs(state, extra))
  new_state, metrics = apply_optimizer(tx, state, grads, metrics)
  if extra is not None:
    extra_state, extra_metrics = extra.update(state.extra, state.params, batch, k_extra, state.step)
    new_state, metrics = new_state.replace(extra=extra_state), {**metrics, **extra_metrics}
  return new_state, metrics


def step_keys(train_key: jax.Array, step: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(data key, objective key) for ``step``: ``split(fold_in(train_key, step))``."""
  k_data, k_loss = jax.random.split(jax.random.fold_in(train_key, step))
  return k_data, k_loss


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
    return update(loss_fn, tx, state, batch, k_loss, extra)

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
