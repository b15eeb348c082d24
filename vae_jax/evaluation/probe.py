"""Linear probe: how linearly decodable class labels are from frozen codes.

Multinomial logistic regression on standardised codes, fitted full-batch with L-BFGS inside one ``jax.jit``.
The objective is strictly convex (``l2 > 0``) and the weights start at zero, so the result is deterministic and
needs no key.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike


def _objective(params: dict[str, jax.Array], codes: jax.Array, onehot: jax.Array, l2: jax.Array) -> jax.Array:
  logits = codes @ params["w"] + params["b"][None, :]
  cross_entropy = jnp.mean(optax.softmax_cross_entropy(logits, onehot))
  return cross_entropy + 0.5 * l2 * jnp.sum(jnp.square(params["w"]))


@functools.partial(jax.jit, static_argnames=("num_classes", "max_steps"))
def _fit(codes: jax.Array, labels: jax.Array, l2: jax.Array, tol: jax.Array, *, num_classes: int,
         max_steps: int) -> tuple[dict[str, jax.Array], jax.Array, jax.Array]:
  """Minimises the penalised mean cross-entropy; returns (params, final objective, steps taken)."""
  onehot = jax.nn.one_hot(labels, num_classes, dtype=codes.dtype)
  params = {"w": jnp.zeros((codes.shape[1], num_classes), codes.dtype), "b": jnp.zeros((num_classes,), codes.dtype)}
  fun = functools.partial(_objective, codes=codes, onehot=onehot, l2=l2)
  solver = optax.lbfgs()
  value_and_grad = optax.value_and_grad_from_state(fun)

  def step(carry):
    params, state = carry
    value, grad = value_and_grad(params, state=state)
    updates, state = solver.update(grad, state, params, value=value, grad=grad, value_fn=fun)
    return optax.apply_updates(params, updates), state

  def not_done(carry):
    _, state = carry
    count = optax.tree.get(state, "count")
    grad_norm = optax.tree.norm(optax.tree.get(state, "grad"))
    return (count == 0) | ((count < max_steps) & (grad_norm >= tol))

  params, state = jax.lax.while_loop(not_done, step, (params, solver.init(params)))
  return params, fun(params), optax.tree.get(state, "count")


def linear_probe(train_codes: ArrayLike, train_labels: ArrayLike, test_codes: ArrayLike, test_labels: ArrayLike, *,
                 num_classes: int | None = None, l2: float = 1e-4, max_steps: int = 200,
                 tol: float = 1e-5) -> dict[str, jax.Array]:
  """Fits a multinomial logistic regression on train codes and reports its accuracy on test codes.

  Features are standardised with the training mean and standard deviation (a constant feature becomes 0).
  The objective is ``mean cross-entropy + ½·l2·‖W‖²`` (bias not penalised) — the same optimum as
  ``sklearn.linear_model.LogisticRegression(C=1 / (l2·n_train))`` on standardised features.

  Args:
    train_codes: ``[n_train, D]`` representations (e.g. posterior means) of the training set.
    train_labels: ``[n_train]`` integer class labels in ``[0, num_classes)``.
    test_codes: ``[n_test, D]`` representations of the held-out set.
    test_labels: ``[n_test]`` integer class labels.
    num_classes: number of classes; by default ``1 + max(train_labels, test_labels)`` (needs concrete labels).
    l2: L2 penalty on the weights, per example (see the objective above); must be positive.
    max_steps: maximum number of L-BFGS iterations.
    tol: stop once the gradient's L2 norm falls below this.

  Returns:
    ``accuracy`` (test), ``train_accuracy``, ``train_objective`` (penalised mean cross-entropy, nats) and
    ``num_steps`` (L-BFGS iterations taken), as scalar arrays.

  References:
    Alain & Bengio, "Understanding intermediate layers using linear classifier probes", ICLR 2017 workshop.
  """
  train_codes = jnp.asarray(train_codes, dtype=jnp.float32)
  test_codes = jnp.asarray(test_codes, dtype=jnp.float32)
  train_labels = jnp.asarray(train_labels, dtype=jnp.int32)
  test_labels = jnp.asarray(test_labels, dtype=jnp.int32)
  if (train_codes.ndim != 2 or test_codes.ndim != 2 or train_codes.shape[1] != test_codes.shape[1]
      or train_labels.shape != train_codes.shape[:1] or test_labels.shape != test_codes.shape[:1]):
    raise ValueError(f"linear_probe: expected codes [n, D] with labels [n], got train_codes{list(train_codes.shape)}, "
                     f"train_labels{list(train_labels.shape)}, test_codes{list(test_codes.shape)}, "
                     f"test_labels{list(test_labels.shape)}.")
  if l2 <= 0:
    raise ValueError(f"linear_probe: l2 must be positive, got {l2}.")
  if num_classes is None:
    num_classes = 1 + int(max(np.max(train_labels), np.max(test_labels)))

  mean = jnp.mean(train_codes, axis=0)
  std = jnp.std(train_codes, axis=0)
  scale = jnp.where(std > 1e-6, std, 1.0)
  train_x = (train_codes - mean[None, :]) / scale[None, :]
  test_x = (test_codes - mean[None, :]) / scale[None, :]

  params, objective, num_steps = _fit(train_x, train_labels, jnp.float32(l2), jnp.float32(tol),
                                      num_classes=num_classes, max_steps=max_steps)

  def accuracy(x, labels):
    predictions = jnp.argmax(x @ params["w"] + params["b"][None, :], axis=-1)
    return jnp.mean((predictions == labels).astype(jnp.float32))

  return {
      "accuracy": accuracy(test_x, test_labels),
      "train_accuracy": accuracy(train_x, train_labels),
      "train_objective": objective,
      "num_steps": num_steps,
  }
