"""Few-label evaluation of an encoder: a class-balanced labelled subset, and the test accuracy of the encoder with a
softmax head fine-tuned on it (against the same network from a random initialisation).

Semi-supervised learning with a pre-trained autoencoder: the unlabelled images train the encoder, a few labels
train the classifier built on it (:mod:`vae_jax.classifier`). The linear probe on the frozen code is
:func:`vae_jax.evaluation.linear_probe`.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
import optax
from jax.typing import ArrayLike

from vae_jax import classifier


def balanced_subset(key: jax.Array, labels: ArrayLike, count: int, *, num_classes: int = 10) -> np.ndarray:
  """Sorted row indices of ``count`` examples, ``count // num_classes`` per class, uniformly at random.

  ``count == 0`` or ``count >= len(labels)`` means every row. Each class takes its first rows in one random order of
  all rows (``jax.random.permutation(key, len(labels))``).
  """
  labels = np.asarray(labels)
  if count < 0:
    raise ValueError(f"balanced_subset: count must be >= 0 (0 = all), got {count}")
  if count == 0 or count >= len(labels):
    return np.arange(len(labels))
  order = np.asarray(jax.random.permutation(key, len(labels)))
  rows = [order[labels[order] == c][:count // num_classes] for c in range(num_classes)]
  return np.sort(np.concatenate(rows))


def fine_tuned_accuracy(init_key: jax.Array, key: jax.Array, backbone, pretrained: Any | None, images: ArrayLike,
                        labels: ArrayLike, test_images: ArrayLike, test_labels: ArrayLike, *,
                        tx: optax.GradientTransformation, num_steps: int, batch_size: int = 128,
                        num_classes: int = 10) -> float:
  """Test accuracy of ``backbone`` + a softmax head, every weight trained on ``(images, labels)``.

  Args:
    init_key: initialises the classifier (the head, and the backbone when ``pretrained`` is None).
    key: orders the training batches.
    backbone: the encoder's model (:class:`vae_jax.classifier.Classifier` uses its ``encode``).
    pretrained: its trained parameters, or None for the random-initialisation baseline.
    images, labels: ``[N, H, W, C]`` and ``[N]``, the labelled training set.
    test_images, test_labels: the test set.
    tx: the optimizer; pass the same object to reuse the compiled steps across calls.
    num_steps, batch_size: updates, and examples per update (at most ``N``).
  """
  model = classifier.Classifier(backbone, num_classes)
  params = classifier.init_params(model, init_key, np.asarray(test_images[:2]))
  if pretrained is not None:
    params = classifier.with_pretrained(params, pretrained)
  params, _ = classifier.fit(key, model, params, images, labels, tx=tx, num_steps=num_steps, batch_size=batch_size)
  return classifier.accuracy(model, params, test_images, test_labels)
