"""A softmax classifier on top of an encoder, for fine-tuning pre-trained autoencoders and judging generated images.

``Classifier(backbone, num_classes)`` computes ``logits = Dense(num_classes)(features(x))``. The features are the
mean of ``backbone.encode(x)``, the :class:`~vae_jax.models.Posterior` every autoencoder returns (the VAE's posterior
mean, the AE's code). A plain network on pixels (:class:`~vae_jax.modules.MLPEncoder`,
:class:`~vae_jax.modules.ConvEncoder`) becomes such an encoder as a :class:`Trunk` (done for those two on
construction; wrap any other trunk yourself). A pre-trained autoencoder's parameters drop into the backbone with
:func:`with_pretrained` (its decoder is simply not used).

Training is the library's: the classifier's state is :class:`vae_jax.train.TrainState`, its loss
(:func:`cross_entropy_loss`) has the methods' form ``loss_fn(params, batch, key, step) -> (loss, metrics)``, and
:func:`fit` runs :func:`vae_jax.train.make_multi_step` over an :class:`vae_jax.train.ArrayBatches` source of the
labelled set (the batch of step ``t`` a pure function of ``(key, t)``), checking each chunk with
:func:`vae_jax.train.check_finite`::

    model = Classifier(backbone, num_classes=10)
    params = with_pretrained(init_params(model, init_key, images[:2]), autoencoder_params)
    params, history = fit(train_key, model, params, images, labels, tx=optax.adam(1e-3), num_steps=500,
                          batch_size=128)
    acc = accuracy(model, params, test_images, test_labels)
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from vae_jax import inference, modules, train
from vae_jax.dense import Dense
from vae_jax.methods import LossFn
from vae_jax.models import Posterior

__all__ = ["Classifier", "Trunk", "accuracy", "cross_entropy_loss", "fit", "init_params", "predict",
           "with_pretrained"]

PIXEL_TRUNKS = (modules.MLPEncoder, modules.ConvEncoder)  # wrapped as a Trunk by Classifier


class Trunk(nn.Module):
  """A plain feature network on pixels as an encoder: ``encode(x) = Posterior(mean=network(x))``, deterministic.

  Attributes:
    network: ``network(x [batch, H, W, C]) -> [batch, features]``. Its parameters live under ``"network"``.
  """

  network: nn.Module

  def encode(self, x: jax.Array) -> Posterior:
    return Posterior(self.network(x))


class Classifier(nn.Module):
  """Features from ``backbone``, then a linear softmax head named ``head``.

  Attributes:
    backbone: an encoder whose ``encode(x)`` returns a :class:`~vae_jax.models.Posterior` (``AutoEncoder``,
      ``VAE``, ``StackedAutoEncoder``, a :class:`Trunk`); a ``modules.MLPEncoder`` or ``modules.ConvEncoder`` is
      wrapped as a :class:`Trunk`. Its parameters live under ``"backbone"``.
    num_classes: number of classes.
  """

  backbone: nn.Module
  num_classes: int

  def __post_init__(self):
    if isinstance(self.backbone, PIXEL_TRUNKS):  # a network on pixels: its output is the code
      self.backbone = Trunk(self.backbone)
    super().__post_init__()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    """Logits ``[batch, num_classes]`` for images ``[batch, H, W, C]``: the head on the posterior mean."""
    return Dense(self.num_classes, name="head")(self.backbone.encode(x).mean)


def cross_entropy_loss(model: Classifier) -> LossFn:
  """``loss_fn(params, batch, key, step) -> (loss, metrics)``: softmax cross-entropy of ``batch["image"]``
  ``[b, H, W, C]`` against the integer ``batch["label"]`` ``[b]``, per example (nats), averaged over the batch.

  ``metrics``: ``loss`` and the batch ``accuracy``. No randomness: ``key`` and ``step`` are unused.
  """

  def loss_fn(params, batch, key, step):
    del key, step
    logits = model.apply({"params": params}, batch["image"])
    per_example = optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"])
    loss = jnp.mean(per_example)
    acc = jnp.mean((jnp.argmax(logits, axis=-1) == batch["label"]).astype(jnp.float32))
    return loss, {"loss": loss, "accuracy": acc}

  return loss_fn


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


@functools.lru_cache(maxsize=32)
def _multi_step(model: Classifier, tx: optax.GradientTransformation, num_steps: int):
  # Compiling the fused steps costs seconds on a CPU; equal (model, tx, chunk) reuse one function.
  return train.make_multi_step(cross_entropy_loss(model), tx, num_steps=num_steps, loop="auto")


def fit(key: jax.Array, model: Classifier, params: Any, images: ArrayLike, labels: ArrayLike, *,
        tx: optax.GradientTransformation, num_steps: int, batch_size: int,
        log_every: int | None = None) -> tuple[Any, list[dict[str, float]]]:
  """Trains the classifier with softmax cross-entropy; returns ``(params, history)``.

  Step ``t`` trains on rows ``perm_e[p·B:(p+1)·B]`` of the labelled set, ``e = t // S``, ``p = t % S``,
  ``S = N // B``, ``perm_e = permutation(fold_in(key, e), N)`` (:class:`vae_jax.train.ArrayBatches`): any chunking
  of the steps sees the same batches.

  Args:
    key: the key that orders the batches (the only randomness).
    model: the :class:`Classifier`.
    params: initial parameters (fresh, or :func:`with_pretrained`); not modified.
    images: ``[N, H, W, C]`` labelled images (put on device once).
    labels: ``[N]`` integer labels.
    tx: the optimizer.
    num_steps: updates to run.
    batch_size: examples per update; reduced to ``N`` when the labelled set is smaller.
    log_every: steps fused per call between host syncs (default: all in one call). The compiled steps are
      cached per ``(model, tx, chunk)``: pass the same ``tx`` object to reuse them across calls.

  Returns:
    The trained parameters and one record per call: ``step`` and the mean ``loss``, ``accuracy`` (training batch)
    and ``grad_norm`` over those steps.

  Raises:
    ValueError: for images and labels of different lengths, or ``num_steps`` / ``batch_size`` below 1.
    FloatingPointError: a non-finite loss (the step is named).
  """
  images = jnp.asarray(images, jnp.float32)
  labels = jnp.asarray(labels, jnp.int32)
  if images.ndim < 2 or labels.shape != images.shape[:1]:
    raise ValueError(f"fit: expected images [N, ...] and labels [N], got {list(images.shape)} and "
                     f"{list(labels.shape)}.")
  if num_steps < 1 or batch_size < 1:
    raise ValueError(f"fit: num_steps and batch_size must be >= 1, got {num_steps} and {batch_size}.")
  source = train.ArrayBatches(shuffle_key=key, num_examples=images.shape[0],
                              batch_size=min(batch_size, images.shape[0]))
  data = {"image": images, "label": labels}
  chunk = num_steps if not log_every else min(log_every, num_steps)
  state = train.TrainState.fresh(jax.tree_util.tree_map(jnp.array, params), tx)  # a copy: donation spares params
  history = []
  done = 0
  while done < num_steps:
    n = min(chunk, num_steps - done)
    state, metrics = _multi_step(model, tx, n)(state, data, source, key)
    metrics = jax.device_get(metrics)
    train.check_finite(metrics, done, stopped=lambda: "fit stopped", remedy="Lower the learning rate.")
    done += n
    history.append({"step": done, **{k: float(np.mean(v)) for k, v in metrics.items()}})
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
