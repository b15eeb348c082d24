"""Checkpoints of a run's workdir: Orbax ``CheckpointManager`` with ``StandardSave``/``StandardRestore``.

Orbax writes each step into a temporary directory and renames it when complete, so a crash or SIGKILL mid-save
never leaves a checkpoint that looks valid but is not; the latest *finished* step is what a restart restores.
The run's config is kept beside the checkpoints (``config.json``) so a trained run can be reloaded by workdir.
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import orbax.checkpoint as ocp

from vae_jax import configs

CONFIG_FILE = "config.json"
# Fields that may change between a run and its resumption without invalidating the checkpoints.
RESUMABLE_FIELDS = {"num_steps", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints", "progress",
                    "figures", "tensorboard", "eval_batch_size", "num_eval_examples", "num_devices"}


def manager(workdir: str, *, keep: int = 3) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
  return ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), "checkpoints"), options=options)


def save(mgr: ocp.CheckpointManager, step: int, state: Any) -> None:
  mgr.save(step, args=ocp.args.StandardSave(state))


def restore(mgr: ocp.CheckpointManager, abstract_state: Any, step: int | None = None) -> Any:
  """Restores ``step`` (default: the latest) with the structure, dtypes and shardings of ``abstract_state``."""
  step = mgr.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f"No checkpoint found in {mgr.directory}.")
  target = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, abstract_state)
  return mgr.restore(step, args=ocp.args.StandardRestore(target))


def write_config(workdir: str, config: configs.Config) -> None:
  """Stores the config; refuses to reuse a workdir whose checkpoints came from an incompatible config."""
  path = os.path.join(workdir, CONFIG_FILE)
  new = configs.to_dict(config)
  if os.path.exists(path):
    with open(path) as f:
      old = json.load(f)
    old_cmp = configs.to_dict(configs.from_dict(old))
    diff = sorted(k for k in new if k not in RESUMABLE_FIELDS and old_cmp.get(k) != new[k])
    if diff and os.path.isdir(os.path.join(workdir, "checkpoints")) and os.listdir(os.path.join(workdir, "checkpoints")):
      raise ValueError(f"{workdir} holds checkpoints of a run with a different config (fields {diff} differ); "
                       "use a new --workdir, or the same config to resume.")
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(new, f, indent=2)
  os.replace(tmp, path)


def read_config(workdir: str) -> configs.Config:
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(f"{workdir} is not a vae_jax run directory (no {CONFIG_FILE}).")
  with open(path) as f:
    return configs.from_dict(json.load(f))
