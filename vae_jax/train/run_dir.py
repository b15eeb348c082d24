"""Reading a run directory back: its results, its metric history, its train state and :func:`load_run`.

A run directory (``train_and_evaluate``'s workdir, or a sweep member exported by :mod:`vae_jax.sweep.io`) holds
``config.json``, ``checkpoints/``, ``metrics.jsonl`` and ``results.json``. Everything that re-reads one goes through
here, so the abstract state a checkpoint restores onto is built in one place.
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import checkpoints, factory
from vae_jax.configs import Config
from vae_jax.train.splits import Split, load_splits, run_keys
from vae_jax.train.state import TrainState, create_train_state

__all__ = ["abstract_state", "last_train_record", "load_run", "read_history", "restore_state", "saved_results"]


def read_history(workdir: str) -> list[dict[str, float]]:
  """Every record of ``metrics.jsonl`` (train and eval), in the order written."""
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f if line.strip()]


def saved_results(workdir: str) -> dict[str, Any] | None:
  """``results.json`` as written, or None when it is missing or unreadable."""
  try:
    with open(os.path.join(workdir, "results.json")) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def last_train_record(workdir: str, step: int) -> dict[str, float]:
  """The train record logged at ``step`` (for results of a run whose loop was already done), or {}."""
  try:
    records = [r for r in read_history(workdir) if r.get("step") == step and "train/loss" in r]
  except (OSError, ValueError):
    return {}
  return records[-1] if records else {}


def abstract_state(config: Config, sample_images: np.ndarray) -> TrainState:
  """Shapes and dtypes of the :class:`TrainState` of ``config`` for images like ``sample_images`` ``[b, H, W, C]``
  (no computation): what a checkpoint of that run restores onto."""
  model = factory.make_model(config.model, tuple(np.shape(sample_images)[1:]))
  tx = factory.make_optimizer(config.optimizer)
  extra = factory.make_extra(config.method, model)
  init_key = run_keys(config.seed).init
  return jax.eval_shape(lambda: create_train_state(model, tx, init_key, jnp.asarray(sample_images[:2]), extra=extra))


def restore_state(workdir: str, config: Config, sample_images: np.ndarray, step: int | None = None) -> TrainState:
  """The run's checkpoint ``step`` (default: the latest) on this process's first device, whatever topology saved
  it."""
  here = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = jax.tree_util.tree_map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=here),
                                    abstract_state(config, sample_images))
  mgr = checkpoints.manager(workdir, keep=config.keep_checkpoints)
  try:
    return checkpoints.restore(mgr, abstract, step)
  finally:
    mgr.close()


def load_run(workdir: str, step: int | None = None) -> tuple[Config, Any, Any, Split]:
  """Reloads a trained run: ``(config, model, params, test_split)``, the params from checkpoint ``step`` (default:
  the latest)."""
  config = checkpoints.read_config(workdir)
  _, test = load_splits(config, run_keys(config.seed).eval)
  model = factory.make_model(config.model, tuple(test.images.shape[1:]))
  return config, model, restore_state(workdir, config, test.images, step).params, test
