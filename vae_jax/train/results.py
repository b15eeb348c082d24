"""A run's ``results.json``: config, seed, package versions and devices, steps, metrics and timings."""

from __future__ import annotations

import os
import platform
from typing import Any

import jax
import numpy as np

from vae_jax import checkpoints, configs
from vae_jax.configs import Config

__all__ = ["environment", "json_default", "run_results", "write_results"]


def environment() -> dict[str, Any]:
  """Package versions and devices, for results files."""
  import flax
  import optax
  import orbax.checkpoint

  devices = jax.devices()
  return {
      "python": platform.python_version(), "jax": jax.__version__, "jaxlib": jax.lib.__version__,
      "flax": flax.__version__, "optax": optax.__version__, "orbax": orbax.checkpoint.__version__,
      "numpy": np.__version__, "platform": devices[0].platform, "device_kind": devices[0].device_kind,
      "device_count": len(devices), "process_count": jax.process_count(), "host": platform.node(),
      "cpu_count": os.cpu_count(),
  }


def json_default(o):
  """``json.dump``'s ``default`` for results: NumPy scalars as numbers, anything else as its string."""
  if isinstance(o, (np.floating, np.integer)):
    return o.item()
  return str(o)


def run_results(config: Config, workdir: str, *, start_step: int, final_step: int, resumed_from: int | None,
                train_record: dict[str, float], eval_record: dict[str, float], wall_time_s: float,
                timing: dict[str, float | None], figures: list[str]) -> dict[str, Any]:
  """The results dict of a run (``timing``: :meth:`vae_jax.train.writers.Progress.timing`)."""
  return {
      "config": configs.to_dict(config),
      "seed": config.seed,
      "workdir": os.path.abspath(workdir),
      "environment": environment(),
      "start_step": start_step,
      "final_step": final_step,
      "resumed_from": resumed_from,
      "train": dict(train_record),
      "eval": eval_record,
      "wall_time_s": wall_time_s,
      **timing,
      "images_seen": (final_step - start_step) * config.batch_size,
      "figures": figures,
  }


def write_results(workdir: str, results: dict[str, Any]) -> None:
  """``workdir/results.json``, replaced atomically."""
  checkpoints.write_json_atomic(os.path.join(workdir, "results.json"), results, default=json_default)
