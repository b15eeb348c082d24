"""A run's keys and its data splits: ``run_keys(seed)`` and ``load_splits(config, eval_key)``."""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from vae_jax.configs import Config

__all__ = ["RunKeys", "Split", "load_splits", "run_keys"]


class Split(NamedTuple):
  """A dataset split as the loop needs it: images ``[N, H, W, C]`` in [0, 1] (host) and optional labels."""

  images: np.ndarray
  labels: np.ndarray | None = None
  factors: np.ndarray | None = None


class RunKeys(NamedTuple):
  init: jax.Array
  data: jax.Array
  train: jax.Array
  eval: jax.Array


def run_keys(seed: int) -> RunKeys:
  """The run's keys, split once from ``jax.random.key(seed)``."""
  return RunKeys(*jax.random.split(jax.random.key(seed), 4))


def _subset(split: Split, n: int) -> Split:
  if n <= 0 or n >= len(split.images):
    return split
  return Split(*(None if a is None else a[:n] for a in split))


def load_splits(config: Config, eval_key: jax.Array) -> tuple[Split | None, Split]:
  """(train, test) for ``config.data``; train is None for procedural sprites (generated in the step)."""
  from vae_jax import data as data_lib  # deferred: keeps `import vae_jax.train` light

  d = config.data
  if d.name == "sprites":
    from vae_jax.data import sprites

    n_test = d.num_test or 4096
    images, factors = sprites.sample(jax.random.fold_in(eval_key, 1), n_test, resolution=d.resolution)
    return None, Split(np.asarray(images), None, np.asarray(factors))
  static = "static" if d.binarize == "static" else "none"
  if d.name == "dsprites":  # one split only: hold a fixed random 10% out for evaluation
    ds = data_lib.load(d.name, split="train", data_dir=d.data_dir, binarize=static)
    perm = np.asarray(jax.random.permutation(jax.random.fold_in(eval_key, 4), len(ds.images)))
    n_test = d.num_test or len(perm) // 10
    test_rows, train_rows = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    both = [Split(ds.images[r], None, ds.factors[r]) for r in (train_rows, test_rows)]
    return _subset(both[0], d.num_train), both[1]
  out = []
  for split_name, n in (("train", d.num_train), ("test", d.num_test)):
    ds = data_lib.load(d.name, split=split_name, data_dir=d.data_dir, binarize=static)
    split = Split(ds.images, ds.labels, ds.factors)
    if d.exclude_label >= 0 and split_name == "train":
      if split.labels is None:
        raise ValueError(f"data.exclude_label={d.exclude_label} needs a labelled dataset; {d.name} has no labels.")
      if not np.any(split.labels == d.exclude_label):
        raise ValueError(f"data.exclude_label={d.exclude_label} is not a label of {d.name} (its labels are "
                         f"{sorted(set(np.unique(split.labels).tolist()))}); it would exclude nothing.")
      keep = split.labels != d.exclude_label
      split = Split(*(None if a is None else a[keep] for a in split))
    out.append(_subset(split, n))
  train, test = out
  if d.binarize == "dynamic":  # the test set is binarized once, from the eval key: a fixed sample
    test = test._replace(images=np.asarray(data_lib.binarize_dynamic(jax.random.fold_in(eval_key, 2), test.images)))
  return train, test
