"""Training finished sweeps for longer: a new sweep whose members start where members of other sweeps stopped.

A finished sweep cannot simply be given more updates: its config (``num_steps``) names its folder and its curve
checkpoints sit at fifths of its ``num_steps``. So "these members, for more updates" is a new sweep in a new folder,
``train_sweep(spec, workdir, start_from=[old workdirs])``, whose first checkpoint is written here from the old
sweeps' last ones:

* Each member of the new sweep is matched to the one member of the sources with its seed and its config up to the
  fields a single run may change when it resumes (``checkpoints.RESUMABLE_FIELDS``: ``num_steps``, logging,
  checkpointing). Those fields do not enter an update — a step's randomness is ``fold_in(key, step)`` of the
  member's seed, the optimizers have no schedule over ``num_steps`` — so a continued member is the member an
  uninterrupted sweep of the new length trains (bit for bit when the new sweep stacks the same members; within a
  few ulp otherwise, as any two stackings: ``tests/test_sweep_extend.py``).
* Members may come from several sources (e.g. β = 1 from one sweep, β = 6 from another), all at the same step.
* The members' history rows up to that step are copied, re-tagged, without ``train/seconds`` (those timed the old
  sweeps, other members beside them), so the new sweep's training time counts from the step it started at.
* ``started_from.json`` records where each member came from, as paths relative to the new sweep's folder (a runs
  folder moved or copied as a whole keeps its continued sweeps resumable and their curves whole); :func:`provenance`
  reads it, the paths made absolute (the curve of :func:`vae_jax.sweep.scores.score_checkpoints` prepends the old
  checkpoints' points).

Nothing in the sources is written to but their score caches (where the curve's earlier points are kept); a workdir
that already holds checkpoints is resumed by ``train_sweep`` as any other (after checking that it was started from
the same sources).
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import numpy as np

from vae_jax import checkpoints, configs
from vae_jax.train import run_dir
from vae_jax.sweep import io
from vae_jax.sweep.engine import SweepState
from vae_jax.sweep.grid import Member, SweepConfig

START_FILE = "started_from.json"


def _trajectory(member: Member) -> dict[str, Any]:
  """The member's config without the fields that do not change its updates."""
  return {k: v for k, v in configs.to_dict(member.config).items() if k not in checkpoints.RESUMABLE_FIELDS}


def _record(workdir: str, step: int, sources: list[str], found: dict[str, tuple[str, Member]], *,
            relative: bool) -> dict[str, Any]:
  """What ``started_from.json`` holds: the source folders relative to ``workdir`` (or absolute)."""
  where = (lambda s: os.path.relpath(os.path.abspath(s), os.path.abspath(workdir))) if relative else os.path.abspath
  return {"step": step, "sources": [where(s) for s in sources],
          "members": {name: {"workdir": where(src), "name": old.name, "index": old.index}
                      for name, (src, old) in found.items()}}


def provenance(workdir: str) -> dict[str, Any] | None:
  """``{"step", "sources", "members": {name: {"workdir", "name", "index"}}}`` of a sweep started from others (None
  for one trained from scratch), its folders absolute: the recorded relative paths resolved against ``workdir`` as
  it is now (files written before paths were recorded relative hold absolute ones, kept as they are)."""
  path = os.path.join(workdir, START_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    record = json.load(f)
  here = os.path.abspath(workdir)

  def resolve(p: str) -> str:
    return os.path.normpath(os.path.join(here, p))  # an absolute p stays p

  record["sources"] = [resolve(s) for s in record["sources"]]
  for m in record["members"].values():
    m["workdir"] = resolve(m["workdir"])
  return record


def check_sources(workdir: str, sources: list[str]) -> None:
  """Raises ValueError unless ``workdir`` was started from exactly ``sources`` (:func:`provenance`)."""
  started = provenance(workdir)
  if started is None or started["sources"] != [os.path.abspath(s) for s in sources]:
    raise ValueError(f"{workdir} was not started from {sources} (its record: "
                     f"{'trained from scratch' if started is None else started['sources']}); use a new workdir.")


def match(sweep: SweepConfig, sources: list[str]) -> tuple[int, dict[str, tuple[str, Member]]]:
  """``(step, {new member name: (source workdir, source member)})``: every member of ``sweep`` matched to the one
  member of ``sources`` with its seed and updates (:func:`_trajectory`), at the sources' common last checkpoint.

  Raises:
    ValueError: a source is not a sweep or has no checkpoint, the sources stop at different steps or at or past
      ``sweep``'s ``num_steps``, or a member matches no source member or several.
  """
  if not sources:
    raise ValueError("start_from: no source sweeps given.")
  steps, candidates = {}, []
  for src in sources:
    if not os.path.exists(os.path.join(src, io.SWEEP_FILE)):
      raise ValueError(f"start_from: {src} is not a sweep directory (no {io.SWEEP_FILE}); give the workdir of a "
                       "trained sweep.")
    old = io.read_sweep(src)
    mgr = checkpoints.manager(src, keep=old.base.keep_checkpoints)
    steps[src] = mgr.latest_step()
    if steps[src] is None:
      raise ValueError(f"start_from: {src} holds no checkpoint; train that sweep first.")
    candidates += [(src, mb) for mb in old.members()]
  if len(set(steps.values())) > 1:
    raise ValueError(f"start_from: the sources stop at different steps ({steps}); continue members from one step.")
  step = next(iter(steps.values()))
  if step >= sweep.base.num_steps:
    raise ValueError(f"start_from: the sources are at step {step}, not before the new sweep's num_steps="
                     f"{sweep.base.num_steps}; give the new sweep more updates.")
  found = {}
  for mb in sweep.members():
    hits = [(src, old) for src, old in candidates if old.seed == mb.seed and _trajectory(old) == _trajectory(mb)]
    if len(hits) != 1:
      raise ValueError(f"start_from: member {mb.name} (seed {mb.seed}, {mb.hparams}) matches {len(hits)} members of "
                       f"{sources} (it needs exactly one with its seed and config up to "
                       f"{sorted(checkpoints.RESUMABLE_FIELDS)}).")
    found[mb.name] = hits[0]
  return step, found


def start_from(sweep: SweepConfig, workdir: str, sources: list[str]) -> int:
  """Writes ``workdir``'s first checkpoint from ``sources`` (:func:`match`) and returns its step; a ``workdir`` that
  already holds checkpoints is left as it is (checked to have been started from the same sources)."""
  step, found = match(sweep, sources)
  if io.kept_steps(workdir):
    if provenance(workdir) != _record(workdir, step, sources, found, relative=False):
      raise ValueError(f"{workdir} holds checkpoints that were not started from {sources} at step {step}; use a new "
                       "workdir.")
    return step
  os.makedirs(workdir, exist_ok=True)
  is_main = jax.process_index() == 0
  states, rows, members = {}, [], {mb.name: mb for mb in sweep.members()}
  for src in dict.fromkeys(src for src, _ in found.values()):
    states[src] = io.load_sweep(src, step)[1]
    history = run_dir.read_history(src) if is_main else []
    for name, (s, old) in found.items():
      if s != src:
        continue
      new = members[name]
      tag = {"member": new.index, "name": new.name, "seed": new.seed, **new.hparams}
      rows += [{**{k: v for k, v in r.items() if k not in ("member", "name", "seed", "train/seconds", *old.hparams)},
                **tag} for r in history if r.get("member") == old.index and r["step"] <= step]
  pick = [(found[name][0], found[name][1].index) for name in members]
  state: SweepState = jax.tree_util.tree_map(lambda *xs: np.stack(xs),
                                             *[jax.tree_util.tree_map(lambda a, i=i: np.asarray(a)[i], states[src])
                                               for src, i in pick])
  if is_main:  # sweep.json: written by train_sweep right after
    rows.sort(key=lambda r: (r["step"], not any(k.startswith("train/") for k in r), r["member"]))  # as a sweep logs
    checkpoints.write_text_atomic(os.path.join(workdir, "metrics.jsonl"), "".join(json.dumps(r) + "\n" for r in rows))
    record = _record(workdir, step, sources, found, relative=True)
    checkpoints.write_text_atomic(os.path.join(workdir, START_FILE), json.dumps(record, indent=2))
  mgr = checkpoints.manager(workdir, keep=sweep.base.keep_checkpoints)
  checkpoints.save(mgr, step, state)  # last: a kill before it leaves no checkpoint, and the next call starts over
  mgr.wait_until_finished()
  return step
