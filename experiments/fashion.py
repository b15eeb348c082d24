"""The Fashion-MNIST images the Fashion-MNIST experiments measure on: class names, the first N test images, one per
class, and the (train, test) splits a training config sees."""

from __future__ import annotations

import numpy as np

from vae_jax import data, train
from vae_jax.configs import Config

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def test_set(num: int) -> tuple[np.ndarray, np.ndarray]:
  """``(images [N, 28, 28, 1] in [0, 1], labels [N])``: the first ``num`` test images, all 10,000 for ``num = 0``."""
  test = data.load("fashion_mnist", split="test")
  n = num or len(test.images)
  return test.images[:n], test.labels[:n]


def one_per_class(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
  """Index of the first test image of each class present (in class order)."""
  return np.array([int(np.argmax(labels == c)) for c in range(num_classes) if np.any(labels == c)])


def splits(config: Config) -> tuple[train.Split, train.Split]:
  """``(train, test)`` splits (images and labels) exactly as the training loop loads them for ``config``."""
  return train.load_splits(config, train.run_keys(config.seed).eval)
