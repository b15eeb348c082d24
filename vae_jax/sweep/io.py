"""A sweep's files: ``sweep.json``, stacked checkpoints, and members exported as ordinary single-run workdirs.

Layout of a sweep workdir::

    sweep.json            the SweepConfig (base config, grid, seeds, data_parallel)
    checkpoints/<step>/   the whole SweepState (every real member stacked, no padding rows), Orbax
    metrics.jsonl         train and eval rows, each tagged with member, name, seed and hyperparameters
    results.json          a record per member (as a single run's results) + a summary over seeds
    members/<name>/       each member as a single-run workdir: config.json, checkpoints/, metrics.jsonl,
                          results.json — ``train.load_run(members/<name>)`` works unchanged
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import checkpoints, train
from vae_jax.train import run_dir
from vae_jax.sweep import grid as grid_lib
from vae_jax.sweep.engine import SweepState

SWEEP_FILE = "sweep.json"
MEMBERS_DIR = "members"


def write_sweep(workdir: str, sweep: grid_lib.SweepConfig) -> None:
  """Stores the sweep; refuses a workdir whose checkpoints came from a different sweep."""
  path = os.path.join(workdir, SWEEP_FILE)
  new = sweep.to_dict()
  if os.path.exists(path):
    old = grid_lib.read(path).to_dict()
    diff = sorted(k for k in new if old.get(k) != new[k])
    base_diff = sorted(k for k in new["base"] if k not in checkpoints.RESUMABLE_FIELDS
                       and old["base"].get(k) != new["base"][k])
    ckpt = os.path.join(workdir, "checkpoints")
    if (set(diff) - {"base"} or base_diff) and os.path.isdir(ckpt) and os.listdir(ckpt):
      raise ValueError(f"{workdir} holds checkpoints of a different sweep (differs in {diff + base_diff}); use a new "
                       "--workdir, or the same sweep to resume.")
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(new, f, indent=2)
  os.replace(tmp, path)


def read_sweep(workdir: str) -> grid_lib.SweepConfig:
  path = os.path.join(workdir, SWEEP_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(f"{workdir} is not a sweep directory (no {SWEEP_FILE}).")
  return grid_lib.read(path)


def abstract_state(sweep: grid_lib.SweepConfig, num_members: int, sharding=None) -> SweepState:
  """Shapes and dtypes of a sweep's state with ``num_members`` rows, for restoring (checkpoints hold the real
  members only, no padding: they restore onto any mesh)."""
  _, test = train.load_splits(sweep.base, train.run_keys(sweep.base.seed).eval)
  one = run_dir.abstract_state(sweep.base, test.images)  # one member's, as for a single run
  stacked = jax.tree_util.tree_map(lambda s: jax.ShapeDtypeStruct((num_members, *s.shape), s.dtype), one)
  state = SweepState(stacked, jax.ShapeDtypeStruct((num_members,), jnp.bool_),
                     jax.ShapeDtypeStruct((num_members,), jnp.int32))
  sharding = sharding or jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  return jax.tree_util.tree_map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding), state)


def kept_steps(workdir: str) -> list[int]:
  """The steps of the checkpoints ``workdir`` keeps, ascending (none: ``[]``)."""
  return checkpoints.steps_on_disk(os.path.join(workdir, "checkpoints"))


def load_sweep(workdir: str, step: int | None = None) -> tuple[grid_lib.SweepConfig, SweepState]:
  """The whole sweep: its config and the stacked state (host arrays; padding rows dropped) at checkpoint ``step``
  (default: the latest)."""
  sweep = read_sweep(workdir)
  mgr = checkpoints.manager(workdir, keep=sweep.base.keep_checkpoints)
  if step is not None and step not in (kept := kept_steps(workdir)):
    raise FileNotFoundError(f"No checkpoint at step {step} in {workdir}/checkpoints; it keeps {kept}.")
  step = mgr.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f"No checkpoint found in {workdir}/checkpoints.")
  state = checkpoints.restore(mgr, abstract_state(sweep, len(sweep.members())), step)
  return sweep, jax.tree_util.tree_map(np.asarray, state)


def member_state(state: SweepState, i: int) -> train.TrainState:
  """Member ``i`` of a (host) stacked state, as a single run's TrainState."""
  return jax.tree_util.tree_map(lambda a: np.asarray(a)[i], state.members)


def load_member(workdir: str, i: int, step: int | None = None):
  """``(member config, TrainState)`` of member ``i``, to evaluate, plot or continue it alone."""
  sweep, state = load_sweep(workdir, step)
  return sweep.members()[i].config, member_state(state, i)


def export_member(member: grid_lib.Member, state: train.TrainState, dest: str, *, metrics_rows=(),
                  results: dict[str, Any] | None = None) -> str:
  """Writes ``state`` of ``member`` as a single-run workdir ``dest`` (all processes call it; Orbax saves are
  collective). ``train.load_run(dest)`` then gives what it gives for a single run; ``train.train_and_evaluate``
  on ``dest`` with a larger ``num_steps`` continues that member alone."""
  os.makedirs(dest, exist_ok=True)
  is_main = jax.process_index() == 0
  if is_main:
    checkpoints.write_config(dest, member.config)
  mgr = checkpoints.manager(dest, keep=member.config.keep_checkpoints)
  step = int(state.step)
  if mgr.latest_step() != step:
    checkpoints.save(mgr, step, state)
  mgr.wait_until_finished()
  if is_main:
    with open(os.path.join(dest, "metrics.jsonl"), "w") as f:
      for row in metrics_rows:
        f.write(json.dumps(row) + "\n")
    if results is not None:
      with open(os.path.join(dest, "results.json"), "w") as f:
        json.dump(results, f, indent=2, default=train.results.json_default)
  return dest


def export_from_workdir(workdir: str, i: int, dest: str, step: int | None = None) -> str:
  """Member ``i`` of the sweep in ``workdir`` (checkpoint ``step``, default latest) as a single-run workdir."""
  sweep, state = load_sweep(workdir, step)
  return export_member(sweep.members()[i], member_state(state, i), dest)
