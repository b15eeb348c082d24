"""Reading a run directory back: its results, its metric history, its train state and :func:`load_run`.

A run directory (``train_and_evaluate``'s workdir, or a sweep member exported by :mod:`vae_jax.sweep.io`) holds
``config.json``, ``checkpoints/``, ``metrics.jsonl`` and ``results.json``. Everything that re-reads one goes through
here, so the abstract state a checkpoint restores onto is built in one place.

``metrics.jsonl`` after a kill: the writer appends whole lines and flushes each, so a kill leaves at most a torn
last line (dropped by :func:`read_history`) and records of steps past the checkpoint the rerun resumes from (dropped
by :func:`truncate_history`, which the loops call before they append). A resumed run's history then holds each step
once, as an uninterrupted run's does, and each train record's ``train/seconds`` (the seconds of the fused call that
ran its steps) adds up, over every invocation, to the training time behind the state (:func:`train_seconds`).
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

__all__ = ["abstract_state", "last_train_record", "load_run", "read_history", "restore_state", "saved_results",
           "train_seconds", "truncate_history"]


def _history_lines(path: str) -> list[tuple[str, dict[str, Any]]]:
  """``(line, record)`` for every record of the file, without a torn last line (a kill mid-write); any other line
  that is not a JSON object is an error naming the file and line."""
  with open(path) as f:
    lines = f.readlines()
  out = []
  for i, line in enumerate(lines):
    if not line.strip():
      continue
    try:
      record = json.loads(line)
      if not isinstance(record, dict) or "step" not in record:
        raise ValueError("not a record with a step")
    except ValueError as e:
      if i == len(lines) - 1 and not line.endswith("\n"):  # the unfinished write of a killed run
        break
      raise ValueError(f"{path}, line {i + 1}: not a metrics record ({e}); the file is damaged: restore it from a "
                       "backup, or delete it to keep the checkpoints without their history.") from None
    out.append((line if line.endswith("\n") else line + "\n", record))
  return out


def read_history(workdir: str) -> list[dict[str, float]]:
  """Every record of ``metrics.jsonl`` (train and eval), in the order written (a torn last line is left out)."""
  return [r for _, r in _history_lines(os.path.join(workdir, "metrics.jsonl"))]


def truncate_history(workdir: str, step: int) -> None:
  """Drops the records of ``metrics.jsonl`` logged after ``step`` and a torn last line, atomically (no file: no-op).

  A run calls it before it trains from ``step`` (its resume point, 0 for a fresh start), so that records of the
  work a kill lost are not kept beside the rerun's (main process only)."""
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return
  kept = [line for line, r in _history_lines(path) if r["step"] <= step]
  checkpoints.write_text_atomic(path, "".join(kept))


def train_seconds(workdir: str, step: int) -> tuple[float, int]:
  """``(seconds, from_step)``: the training time of steps ``from_step … step`` summed from the train records'
  ``train/seconds`` in ``metrics.jsonl`` (per step once: a sweep writes one record per member), and the step it is
  complete from — 0, or the newest train record up to ``step`` without its seconds (a run that began before they
  were logged), or ``step`` itself when no train record ends there (a history missing, damaged or short)."""
  if step == 0:
    return 0.0, 0
  try:
    history = read_history(workdir)
  except (OSError, ValueError):
    return 0.0, step
  seconds, missing, last = {}, [0], 0
  for r in history:
    if r["step"] > step or not any(k.startswith("train/") for k in r):
      continue
    last = max(last, r["step"])
    if "train/seconds" in r:
      seconds[r["step"]] = float(r["train/seconds"])
    else:
      missing.append(r["step"])
  from_step = max(missing) if last == step else step  # no record of the last chunk: nothing before it is known
  return float(sum(v for s, v in seconds.items() if s > from_step)), from_step


def train_time(earlier: tuple[float, int], this_run_s: float) -> dict[str, float]:
  """The results' training-time fields, the same for single runs and sweeps: ``train_time_s`` (every invocation
  behind the final state: ``earlier`` from :func:`train_seconds` plus this one's ``this_run_s``),
  ``train_time_from_step`` (0 unless an invocation before this one did not record its seconds) and
  ``train_time_this_run_s``."""
  return {"train_time_s": earlier[0] + this_run_s, "train_time_from_step": earlier[1],
          "train_time_this_run_s": this_run_s}


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
