"""The Fashion-MNIST images the Fashion-MNIST experiments measure on: class names, the first N test images, one per
class, the (train, test) splits a training config sees, and the shared VAE the uses of a VAE start from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import ml_collections
import numpy as np

from experiments import sweeps
from experiments.configs import fashion_pretrain
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


class SharedVAE(NamedTuple):
  """An experiment on the shared Fashion-MNIST VAE, once its flags are parsed: ``setup`` (:class:`sweeps.Setup`),
  the experiment's ``cfg``, the VAE's training ``config`` and its ``runs`` per seed."""

  setup: sweeps.Setup
  cfg: ml_collections.ConfigDict
  config: Config
  runs: dict[int, Any]


def shared_vae(name: str, description: str, argv: Sequence[str] | None) -> SharedVAE:
  """Parses experiment ``name``'s flags and trains (or reuses) its one variant, the VAE ``semi_supervised`` also
  trains, in :data:`fashion_pretrain.RUNS`'s runs folder: whichever experiment runs first trains it."""
  setup = sweeps.begin(sweeps.parser(description, name), name, argv)
  cfg = sweeps.load_config(name, setup.args.size)
  variants = sweeps.variants(name, cfg)
  [(variant, config)] = variants.items()
  runs = sweeps.train_runs(fashion_pretrain.RUNS, variants, setup.seeds, setup.args.runs_root, size=setup.args.size,
                           workers=setup.args.workers)[variant]
  return SharedVAE(setup, cfg, config, runs)
