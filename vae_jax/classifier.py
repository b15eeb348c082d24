"""A softmax classifier on top of an encoder, for fine-tuning pre-trained autoencoders and judging generated images.

``Classifier(backbone, num_classes)`` computes ``logits = Dense(num_classes)(features(x))``, where the features are
``backbone.encode(x)`` for an autoencoder model (the posterior mean for a :class:`~vae_jax.models.VAE`) or
``backbone(x)`` for a plain trunk such as :class:`~vae_jax.modules.MLPEncoder`. A pre-trained autoencoder's
parameters drop into the backbone with :func:`with_pretrained` (its decoder is simply not used).

Training follows the library's step conventions: the optimizer update is inside one ``jax.jit`` with the state
donated, ``lax.scan`` fuses many steps into one call over a device-resident labelled set, and the batch of step
``t`` is a pure function of ``(key, t)`` (an epoch-wise permutation from ``fold_in(key, epoch)``)::

    model = Classifier(backbone, num_classes=10)
    params = with_pretrained(init_params(model, init_key, images[:2]), autoencoder_params)
    params, history = fit(train_key, model, params, images, labels, tx=optax.adam(1e-3), num_steps=500,
                          batch_size=128)
    acc = accuracy(model, params, test_images, test_labels)
"""

from __future__ import annotations

import functools
from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from vae_jax import inference

__all__ = ["Classifier", "ClassifierState", "accuracy", "create_state", "fit", "init_params", "make_fit",
           "make_train_step", "predict", "with_pretrained"]


class Classifier(nn.Module):
  """Features from ``backbone``, then a linear softmax head named ``head``.

  Attributes:
    backbone: a module with ``encode(x)`` (``AutoEncoder``, ``VAE`` — its posterior mean —, ``StackedAutoEncoder``)
      or a trunk called as ``backbone(x) -> [batch, features]``. Its parameters live under ``"backbone"``.
    num_classes: number of classes.
  """

  backbone: nn.Module
  num_classes: int

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    """Logits ``[batch, num_classes]`` for images ``[batch, H, W, C]``."""
    # An autoencoder's code: the mean of its Posterior (the VAE's posterior mean, the AE's code).
    features = self.backbone.encode(x).mean if hasattr(self.backbone, "encode") else self.backbone(x)
    return nn.Dense(self.num_classes, name="head")(features)


class ClassifierState(flax.struct.PyTreeNode):
  step: jax.Array
  params: Any
  opt_state: Any


@functools.lru_cache(maxsize=32)
def _jitted_init(model: Classifier):
  return jax.jit(model.init)  # one compile per (equal) model, instead of one per operation when run eagerly


def init_params(model: Classifier, key: jax.Array, sample_images: ArrayLike) -> Any:
  """Fresh parameters from ``key`` (``sample_images`` ``[b, H, W, C]`` fixes the shapes)."""
  return _jitted_init(model)(key, jnp.asarray(sample_images, jnp.float32))["params"]


def with_pretrained(params: Any, pretrained: Any) -> Any:
  """Replaces the backbone parameters with those of a trained autoencoder.

  Every entry of ``params["backbone"]`` is taken from ``pretrained`` (the autoencoder's ``params``); entries the
  classifier does not use (the decoder) are ignored. The head keeps its fresh initialisation.

  Raises:
    ValueError: if an entry is missing from ``pretrained`` or its shapes differ.
  """
  backbone = params["backbone"]
  missing = sorted(set(backbone) - set(pretrained))
  if missing:
    raise ValueError(f"with_pretrained: the pre-trained parameters lack {missing} (they have {sorted(pretrained)}).")
  chosen = {k: pretrained[k] for k in backbone}
  want = jax.tree_util.tree_map(jnp.shape, backbone)
  got = jax.tree_util.tree_map(jnp.shape, chosen)
  if jax.tree_util.tree_structure(want) != jax.tree_util.tree_structure(got) or want != got:
    raise ValueError(f"with_pretrained: parameter shapes differ: classifier backbone {want} vs pre-trained {got}.")
  return {**params, "backbone": chosen}


def create_state(params: Any, tx: optax.GradientTransformation) -> ClassifierState:
  return ClassifierState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))


def _loss(model: Classifier, params, images, labels):
  logits = model.apply({"params": params}, images)
  loss = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))
  acc = jnp.mean((jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32))
  return loss, {"loss": loss, "accuracy": acc}


def _update(model, tx, state: ClassifierState, images, labels):
  grads, metrics = jax.grad(functools.partial(_loss, model), has_aux=True)(state.params, images, labels)
  # optax mixes Python floats with int32 counts; keep strict promotion for our own code (see steps.py).
  with jax.numpy_dtype_promotion("standard"):
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
  metrics = {**metrics, "grad_norm": optax.tree.norm(grads)}
  return ClassifierState(state.step + 1, params, opt_state), metrics


def make_train_step(model: Classifier, tx: optax.GradientTransformation):
  """``step(state, images [b, H, W, C], labels [b]) -> (state, metrics)``: one update, jitted, state donated."""

  def step(state, images, labels):
    return _update(model, tx, state, images, labels)

  return jax.jit(step, donate_argnums=0)


def make_fit(model: Classifier, tx: optax.GradientTransformation, *, num_steps: int, batch_size: int):
  """``run(state, images [N, …], labels [N], key) -> (state, metrics)``: ``num_steps`` updates in one jit.

  Step ``t`` (global, ``state.step``) trains on rows ``perm_e[p·B:(p+1)·B]`` of the labelled set, with
  ``e = t // S``, ``p = t % S``, ``S = N // B`` and ``perm_e = permutation(fold_in(key, e), N)``: any chunking of
  the steps sees the same batches. ``metrics`` are stacked ``[num_steps]``. Needs ``N >= batch_size``.
  """
  if num_steps < 1 or batch_size < 1:
    raise ValueError(f"make_fit: num_steps and batch_size must be >= 1, got {num_steps} and {batch_size}.")

  def run(state, images, labels, key):
    n = images.shape[0]
    if n < batch_size or labels.shape != (n,):
      raise ValueError(f"make_fit: need images [N, ...] and labels [N] with N >= batch_size={batch_size}, got "
                       f"images{list(images.shape)} and labels{list(labels.shape)}.")
    per_epoch = n // batch_size

    def body(state, _):
      epoch, pos = state.step // per_epoch, state.step % per_epoch
      perm = jax.random.permutation(jax.random.fold_in(key, epoch), n)
      rows = jax.lax.dynamic_slice_in_dim(perm, pos * batch_size, batch_size)
      return _update(model, tx, state, images[rows].astype(jnp.float32), labels[rows])

    return jax.lax.scan(body, state, None, length=num_steps)

  return jax.jit(run, donate_argnums=0)


@functools.lru_cache(maxsize=32)
def _cached_fit(model, tx, num_steps, batch_size):
  # Compiling the fused steps costs seconds on a CPU; equal (model, tx, sizes) reuse one jitted function.
  return make_fit(model, tx, num_steps=num_steps, batch_size=batch_size)


def fit(key: jax.Array, model: Classifier, params: Any, images: ArrayLike, labels: ArrayLike, *,
        tx: optax.GradientTransformation, num_steps: int, batch_size: int,
        log_every: int | None = None) -> tuple[Any, list[dict[str, float]]]:
  """Trains the classifier with softmax cross-entropy; returns ``(params, history)``.

  Args:
    key: the key that orders the batches (the only randomness).
    model: the :class:`Classifier`.
    params: initial parameters (fresh, or :func:`with_pretrained`).
    images: ``[N, H, W, C]`` labelled images (put on device once).
    labels: ``[N]`` integer labels.
    tx: the optimizer.
    num_steps: updates to run.
    batch_size: examples per update; reduced to ``N`` when the labelled set is smaller.
    log_every: steps fused per jit call between host syncs (default: all in one call). The compiled steps are
      cached per ``(model, tx, chunk, batch_size)``: pass the same ``tx`` object to reuse them across calls.

  Returns:
    The trained parameters and one record per call: ``step`` and the mean ``loss``, ``accuracy`` (training batch)
    and ``grad_norm`` over those steps.
  """
  images = jnp.asarray(images)
  labels = jnp.asarray(labels, jnp.int32)
  if images.ndim < 2 or labels.shape != images.shape[:1]:
    raise ValueError(f"fit: expected images [N, ...] and labels [N], got {list(images.shape)} and "
                     f"{list(labels.shape)}.")
  batch_size = min(batch_size, images.shape[0])
  chunk = num_steps if not log_every else min(log_every, num_steps)
  state = create_state(jax.tree_util.tree_map(jnp.array, params), tx)  # a copy: the caller's params survive donation
  history = []
  done = 0
  while done < num_steps:
    n = min(chunk, num_steps - done)
    state, metrics = _cached_fit(model, tx, n, batch_size)(state, images, labels, key)
    done += n
    means = {k: float(np.mean(v)) for k, v in jax.device_get(metrics).items()}
    if not np.isfinite(means["loss"]):
      raise FloatingPointError(f"fit: non-finite loss {means['loss']} by step {done}; lower the learning rate.")
    history.append({"step": done, **means})
  return state.params, history


@functools.partial(jax.jit, static_argnums=0)
def _logits(model, params, images):
  return model.apply({"params": params}, images.astype(jnp.float32))


def predict(model: Classifier, params: Any, images: ArrayLike, *, batch_size: int = 1000) -> np.ndarray:
  """Logits ``[N, num_classes]`` (host array), computed ``batch_size`` images at a time (one compiled shape)."""
  return inference.map_batches(functools.partial(_logits, model, params), np.asarray(images), batch_size=batch_size)


def accuracy(model: Classifier, params: Any, images: ArrayLike, labels: ArrayLike, *,
             batch_size: int = 1000) -> float:
  """Fraction of ``images`` ``[N, H, W, C]`` whose arg-max prediction equals ``labels`` ``[N]``."""
  labels = np.asarray(labels)
  predictions = np.argmax(predict(model, params, images, batch_size=batch_size), axis=-1)
  if predictions.shape != labels.shape:
    raise ValueError(f"accuracy: {len(predictions)} images but labels of shape {list(labels.shape)}.")
  return float(np.mean(predictions == labels))
