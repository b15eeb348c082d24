"""The sweep loop: ``train_sweep(sweep, workdir)`` trains every member of a :class:`SweepConfig` in one program.

It follows :func:`vae_jax.train.train_and_evaluate` step by step — setup → restore → fused chunks of
``log_every`` updates → evaluate → checkpoint — with the members stacked on a leading axis:

* Keys and data per member exactly as a single run derives them from its seed (``train.run_keys``,
  ``train.load_splits``, ``train.batches.make_source``): its init key, its epoch shuffles (computed once per seed and
  epoch), its dynamic binarization / sprites from its step keys, its test set and eval keys.
* Mesh ``('member', 'data')`` over every device (every process after ``jax.distributed.initialize``) or the
  first ``config.num_devices``. When the member count M is not a multiple of the ``member`` axis, the stack is
  padded with copies of member 0 that are dead from the start (they compute, their results are discarded, they
  are never written): e.g. 6 members on 8 devices run as 8 rows.
* Checkpoints hold the real members only (no padding), so a sweep resumes on any mesh; a resumed sweep equals an
  uninterrupted one bit for bit (nothing random is checkpointed); a finished sweep rerun returns its stored
  results and writes nothing.
* A member that goes non-finite is frozen (see :mod:`vae_jax.sweep.engine`), logged with its step and
  hyperparameters, and left out of the summary with a note. While every member is alive the loop runs the
  unmasked (faster) program; when a chunk reports a non-finite member, the sweep goes back to its last checkpoint
  (or the start) and replays from there with per-step masks, which it keeps from then on. The choice is a
  function of the steps trained, so a resumed sweep takes the same path as an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tqdm
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from vae_jax import checkpoints, configs, factory, train
from vae_jax.train import batches, run_dir
from vae_jax.sweep import engine, extend, io
from vae_jax.sweep.engine import MEMBER_AXIS, SweepState
from vae_jax.sweep.grid import Member, SweepConfig

logger = logging.getLogger(__name__)

# Seconds between progress lines when no bar is shown (as well as one at each checkpoint): a study's sweep under
# nohup checkpoints every 40-60 min on a 2-core CPU, too long for a log to stay silent.
REPORT_EVERY_S = 300.0


def finished(sweep: SweepConfig, workdir: str) -> dict | None:
  """The results of ``sweep`` if ``workdir`` holds it trained to its last step (what :func:`train_sweep` would
  return without training), else None: a different sweep, an unfinished one, or none."""
  path = os.path.join(workdir, "results.json")
  if not (os.path.exists(path) and os.path.exists(os.path.join(workdir, io.SWEEP_FILE))):
    return None
  if io.read_sweep(workdir).to_dict() != sweep.to_dict():
    return None
  with open(path) as f:
    results = json.load(f)
  if results.get("final_step") != sweep.base.num_steps:
    return None
  return results


def checkpointed(sweep: SweepConfig, workdir: str) -> int | None:
  """The newest checkpoint's step if ``workdir`` holds checkpoints of ``sweep`` itself (finished or not, e.g. one
  still training in another process), else None. Its kept checkpoints can be scored while it trains
  (:func:`vae_jax.sweep.scores.score_checkpoints`)."""
  steps = io.kept_steps(workdir)
  if not steps or not os.path.exists(os.path.join(workdir, io.SWEEP_FILE)):
    return None
  return max(steps) if io.read_sweep(workdir).to_dict() == sweep.to_dict() else None


def _tag(member: Member) -> dict[str, Any]:
  return {"member": member.index, "name": member.name, "seed": member.seed, **member.hparams}


class _Setup:
  """Everything the loop needs, built once: members, mesh, keys, splits, model, sources and the initial state."""

  def __init__(self, sweep: SweepConfig):
    self.sweep, self.config = sweep, sweep.base
    self.members = sweep.members()
    self.m = len(self.members)
    devices = jax.devices()
    if self.config.num_devices:
      if self.config.num_devices > len(devices):
        raise ValueError(f"config.num_devices={self.config.num_devices} but only {len(devices)} devices are visible.")
      devices = devices[:self.config.num_devices]
    self.mesh = engine.sweep_mesh(devices, sweep.data_parallel)
    if self.config.batch_size % sweep.data_parallel:
      raise ValueError(f"config.batch_size={self.config.batch_size} is not divisible by data_parallel="
                       f"{sweep.data_parallel}.")
    width = self.mesh.shape[MEMBER_AXIS]
    self.rows = list(range(self.m)) + [0] * (-self.m % width)  # member of each row; padding copies member 0
    self.seeds = sorted({mb.seed for mb in self.members})
    self.keys = {s: train.run_keys(s) for s in self.seeds}
    # Per seed, only the test split is kept (it can depend on the seed: dynamic binarization, sampled sprites);
    # the training split cannot (checked), so one copy is shared.
    self.tests: dict[int, train.Split] = {}
    train0 = None
    for s in self.seeds:
      train_s, self.tests[s] = train.load_splits(self.config, self.keys[s].eval)
      if s == self.seeds[0]:
        train0 = train_s
      elif train0 is not None and not (train_s.images.shape == train0.images.shape
                                        and np.array_equal(train_s.images, train0.images)):
        raise ValueError(f"sweep: the training split of {self.config.data.name} depends on the seed (dsprites "
                         "holds out a seed-dependent 10%), so members cannot share it; sweep seeds in separate sweeps.")
    test0 = self.tests[self.seeds[0]]
    self.test_shared = all(np.array_equal(self.tests[s].images, test0.images) for s in self.seeds[1:])
    self.model = factory.make_model(self.config.model, tuple(test0.images.shape[1:]))
    self.template, self.data, self.dataset_size = batches.make_source(
        self.config, None if train0 is None else train0.images, self.keys[self.seeds[0]].data, self.mesh)
    self.caches: dict[int, dict] = {s: {} for s in self.seeds}
    self._source_memo: tuple | None = None

  def by_row(self, fn) -> np.ndarray:
    return np.stack([np.asarray(fn(self.members[r])) for r in self.rows])

  def put(self, host):
    return engine.put(host, self.mesh, P(MEMBER_AXIS))

  def initial_state(self) -> SweepState:
    tx = factory.make_optimizer(self.config.optimizer)
    extra = factory.make_extra(self.config.method, self.model)
    init = jax.jit(lambda key, sample: train.create_train_state(self.model, tx, key, sample, extra=extra))
    per_seed = {s: jax.device_get(init(self.keys[s].init, jnp.asarray(self.tests[s].images[:2])))
                for s in self.seeds}
    stacked = jax.tree_util.tree_map(lambda *xs: np.stack(xs), *[per_seed[self.members[r].seed] for r in self.rows])
    alive = np.arange(len(self.rows)) < self.m
    return self.put(SweepState(stacked, alive, np.full(len(self.rows), -1, np.int32)))

  def pad(self, real: SweepState) -> SweepState:
    """A restored (real members only) state padded to the mesh's rows and placed on it."""
    host = engine.to_host(real)
    padded = jax.tree_util.tree_map(lambda a: a[np.asarray(self.rows)], host)
    alive = np.where(np.arange(len(self.rows)) < self.m, padded.alive, False)
    return self.put(padded.replace(alive=alive))

  def hparams(self):
    return self.put({n: self.by_row(lambda mb, n=n: np.float32(mb.hparams[n])) for n in self.sweep.names})

  def key_data(self, which: str):
    return self.put(self.by_row(lambda mb: jax.random.key_data(getattr(self.keys[mb.seed], which))))

  def source(self, step: int, n: int):
    """The members' batch source for steps ``step … step+n−1``: each member's epoch shuffles, stacked."""
    if not isinstance(self.template, train.ArrayBatches):
      return self.template
    spe = self.template.steps_per_epoch
    window = (step // spe, (step + n - 1) // spe, n)
    if self._source_memo is None or self._source_memo[0] != window:
      per_seed = {s: self.template.replace(shuffle_key=self.keys[s].data).host_permutations(step, n, self.caches[s])
                  for s in self.seeds}  # stacked on the host, placed once
      perms = self.by_row(lambda mb: per_seed[mb.seed])
      stacked = self.template.replace(shuffle_key=self.key_data("data"), permutations=self.put(perms),
                                      first_epoch=self.put(np.full(len(self.rows), window[0], np.int32)))
      self._source_memo = (window, stacked)
    return self._source_memo[1]


def _evaluate(setup: _Setup, eval_fn, members, hp, eval_keys, step: int) -> list[dict[str, float]]:
  """Per member, the single run's evaluation: mean over the test batches of the eval metrics."""
  config = setup.config
  tests = [setup.tests[setup.members[r].seed].images for r in setup.rows]
  n = len(tests[0]) if not config.num_eval_examples else min(config.num_eval_examples, len(tests[0]))
  bs = min(config.eval_batch_size, n)  # as the single run: fewer examples than a batch are one smaller batch
  sums: list[dict[str, float]] = [{} for _ in range(setup.m)]
  count = 0
  for i in range(n // bs):
    if setup.test_shared:
      batch = engine.put({"image": tests[0][i * bs:(i + 1) * bs]}, setup.mesh, P(engine.DATA_AXIS))
    else:
      batch = setup.put({"image": np.stack([t[i * bs:(i + 1) * bs] for t in tests])})
    metrics = engine.to_host(eval_fn(members, hp, batch, eval_keys, jnp.int32(i), jnp.int32(step)))
    for r in range(setup.m):
      for k, v in metrics.items():
        sums[r][k] = sums[r].get(k, 0.0) + float(v[r])
    count += 1
  return [{f"eval/{k}": v / max(count, 1) for k, v in s.items()} for s in sums]


def _summary(members: list[Member], records: list[dict]) -> tuple[list[dict], list[str]]:
  """Mean and std over seeds of each combination's eval metrics, frozen members left out (with a note)."""
  groups: dict[tuple, list[dict]] = {}
  notes = []
  for mb, rec in zip(members, records):
    sw = rec["sweep"]
    if sw["status"] != "ok":
      notes.append(f"{mb.name} (seed {mb.seed}, {mb.hparams}) went non-finite at step {sw['failed_at']}; it was "
                   "frozen there and is left out of the summary.")
      continue
    groups.setdefault(tuple(sorted(mb.hparams.items())), []).append(rec)
  rows = []
  for hp, recs in groups.items():
    row: dict[str, Any] = {**dict(hp), "n": len(recs), "seeds": [r["seed"] for r in recs]}
    for k in recs[0]["eval"]:
      vals = np.asarray([r["eval"][k] for r in recs], np.float64)
      row[k] = {"mean": float(vals.mean()), "std": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                "n": len(vals)}
    rows.append(row)
  return rows, notes


def train_sweep(sweep: SweepConfig, workdir: str, *, loop: str = "auto",
                start_from: list[str] | None = None) -> dict[str, Any]:
  """Trains every member of ``sweep`` in ``workdir`` as one jitted, sharded program (resuming if it can).

  Args:
    sweep: the :class:`SweepConfig` (e.g. from :func:`vae_jax.sweep.make_sweep`).
    workdir: the sweep directory (layout in :mod:`vae_jax.sweep.io`).
    loop: ``"scan"``, ``"host"`` or ``"auto"`` (the single run's rule: host-stepped for XLA convolutions on CPU).
    start_from: sweep workdirs whose members (at their last checkpoint) this sweep's members continue, for more
      updates (:mod:`vae_jax.sweep.extend`); its training starts at their step.

  Returns:
    The results dict written to ``workdir/results.json`` (a record per member and a summary over seeds), plus
    ``"state"`` (the stacked :class:`SweepState`, padding rows included) and ``"model"`` when it trained.
  """
  if loop not in train.MULTI_STEP_LOOPS:
    raise ValueError(f"train_sweep: loop must be one of {train.MULTI_STEP_LOOPS}, got {loop!r}.")
  t_start = time.perf_counter()
  done = finished(sweep, workdir)
  if done is not None:
    if start_from:  # the sources need not exist any more; the record must name them
      extend.check_sources(workdir, list(start_from))
    logger.info("Sweep %s is finished (step %d); nothing to do.", workdir, done["final_step"])
    return done
  is_main = jax.process_index() == 0
  # One process trains a sweep folder at a time, held as a single run's workdir is: a second invocation on it — a
  # study started again while the first still runs — stops here, before it writes anything.
  with train.locked_workdir(workdir, is_main):
    return _train_sweep(sweep, workdir, loop=loop, start_from=start_from, is_main=is_main, t_start=t_start)


def _train_sweep(sweep: SweepConfig, workdir: str, *, loop: str, start_from: list[str] | None, is_main: bool,
                 t_start: float) -> dict[str, Any]:
  if start_from:
    extend.start_from(sweep, workdir, list(start_from))
  if is_main:
    io.write_sweep(workdir, sweep)
  setup = _Setup(sweep)
  config, m, mesh = setup.config, setup.m, setup.mesh
  state = setup.initial_state()
  hp, train_kd, eval_kd = setup.hparams(), setup.key_data("train"), setup.key_data("eval")

  everywhere = NamedSharding(mesh, P())
  real_only = jax.jit(lambda s: jax.tree_util.tree_map(lambda a: a[:m], s), out_shardings=everywhere)
  mgr = checkpoints.manager(workdir, keep=config.keep_checkpoints)
  resumed_from = mgr.latest_step()
  if resumed_from is not None:
    state = setup.pad(checkpoints.restore(mgr, real_only(state), resumed_from))
    logger.info("Resumed sweep %s from step %d.", workdir, resumed_from)
  start_step = step = resumed_from or 0
  logger.info("Sweep %s: %d members, steps %d to %d.", workdir, len(setup.members), start_step, config.num_steps)
  if is_main:  # rows of steps a kill lost (past the checkpoint resumed from, or all if none), a torn last line
    run_dir.truncate_history(workdir, start_step)
  earlier = run_dir.train_seconds(workdir, start_step)  # what the invocations before this one recorded

  multi: dict[int, Any] = {}
  eval_fn = engine.make_sweep_eval(config, setup.model, setup.dataset_size, mesh, test_shared=setup.test_shared)
  writer = open(os.path.join(workdir, "metrics.jsonl"), "a") if is_main else None
  last_train: list[dict] = [{} for _ in range(m)]
  last_eval: list[dict] = [{} for _ in range(m)]
  reported: set[int] = set()
  chunk_times: list[tuple[int, float]] = []
  failed = np.full(m, -1)

  def write(rows):
    if writer is not None:
      for row in rows:
        writer.write(json.dumps(row) + "\n")
      writer.flush()

  bar = tqdm.tqdm(total=config.num_steps, initial=start_step, unit="step", desc=f"sweep of {m}", dynamic_ncols=True,
                  disable=not (config.progress and is_main))

  last_report = time.perf_counter()

  def report(step):  # at each checkpoint and, without a bar, every REPORT_EVERY_S: where the sweep stands
    nonlocal last_report
    last_report = time.perf_counter()
    steady = chunk_times[1:] or chunk_times
    rate = sum(n for n, _ in steady) / max(sum(dt for _, dt in steady), 1e-9)  # updates/s after compiling
    logger.info("Sweep %s: step %d/%d (%d members), %.0f images/s, about %.0f min left.", workdir, step,
                config.num_steps, m, rate * m * config.batch_size, (config.num_steps - step) / max(rate, 1e-9) / 60)

  # The fast (unmasked) program while every member is alive; from the first failure on, the masked one.
  masked = bool(np.any(engine.to_host(state.failed_at)[:m] >= 0))
  quiet_until = -1  # a replay recomputes chunks already logged: no rows, evaluations or checkpoints for them
  try:
    while step < config.num_steps:
      n = min(config.log_every, config.num_steps - step)
      if (n, masked) not in multi:
        multi[n, masked] = engine.make_sweep_multi_step(config, setup.model, setup.dataset_size, mesh, num_steps=n,
                                                        data_shared=True, loop=loop, mask=masked)
      t0 = time.perf_counter()
      state, metrics, finite = multi[n, masked](state, hp, setup.data, setup.source(step, n), train_kd,
                                                jnp.int32(step))
      metrics, failed, finite = engine.to_host((metrics, state.failed_at, finite))
      failed = np.asarray(failed)[:m]
      if not masked and (np.any(failed >= 0) or not np.all(np.asarray(finite)[:m])):
        mgr.wait_until_finished()
        replay_from = mgr.latest_step() or 0
        logger.warning("A sweep member went non-finite in steps %d–%d; replaying from step %d with per-step masks "
                       "to freeze it at its last finite state.", step, step + n - 1, replay_from)
        state = (setup.pad(checkpoints.restore(mgr, real_only(state), replay_from)) if replay_from
                 else setup.initial_state())
        masked, quiet_until, step = True, step, replay_from
        continue
      if step + n <= quiet_until:
        step += n
        continue
      chunk_times.append((n, time.perf_counter() - t0))
      rows = []
      for r, mb in enumerate(setup.members):
        valid = np.arange(step, step + n) < failed[r] if failed[r] >= 0 else np.ones(n, bool)
        if failed[r] >= 0 and r not in reported:
          reported.add(r)
          logger.warning("Sweep member %s (seed %d, %s): non-finite at step %d; frozen there, the others continue.",
                         mb.name, mb.seed, mb.hparams, failed[r])
        if valid.any():
          last_train[r] = {f"train/{k}": float(np.mean(np.asarray(v)[valid, r])) for k, v in metrics.items()}
          rows.append({"step": step + n, **_tag(mb), **last_train[r], "train/seconds": chunk_times[-1][1]})
      write(rows)
      step += n
      bar.update(n)
      if step % config.eval_every == 0 or step == config.num_steps:
        last_eval = _evaluate(setup, eval_fn, state.members, hp, eval_kd, step)
        write([{"step": step, **_tag(mb), **last_eval[r]} for r, mb in enumerate(setup.members)])
        logger.info("sweep step %d: eval/loss %s", step, [round(e.get("eval/loss", math.nan), 3) for e in last_eval])
      if step % config.checkpoint_every == 0 or step == config.num_steps:
        checkpoints.save(mgr, step, real_only(state))
        report(step)
      elif bar.disable and time.perf_counter() - last_report >= REPORT_EVERY_S:
        report(step)  # a log with no bar (nohup, progress=False) still hears from a long sweep between checkpoints
    mgr.wait_until_finished()
  finally:
    bar.close()
    if writer is not None:
      writer.close()
  if not chunk_times and resumed_from is not None:  # restored at the end but results.json is missing: evaluate
    last_eval = _evaluate(setup, eval_fn, state.members, hp, eval_kd, step)
    failed = np.asarray(engine.to_host(state.failed_at))[:m]

  train_time = run_dir.train_time(earlier, float(sum(dt for _, dt in chunk_times)))  # as a single run's results
  steady = chunk_times[1:] or chunk_times
  total_ips = (m * config.batch_size * sum(n for n, _ in steady) / sum(dt for _, dt in steady)
               if steady else None)
  env = train.environment()
  host = engine.to_host(real_only(state))
  history = run_dir.read_history(workdir) if is_main else []
  records, started = [], extend.provenance(workdir)
  for r, mb in enumerate(setup.members):
    dest = os.path.join(workdir, io.MEMBERS_DIR, mb.name)
    member = io.member_state(host, r)
    status = "ok" if failed[r] < 0 else "frozen"
    rec = {
        "config": configs.to_dict(mb.config), "seed": mb.seed, "workdir": os.path.abspath(dest),
        **({"started_from": started["members"][mb.name]} if started else {}),
        "environment": env, "start_step": start_step, "final_step": int(member.step), "resumed_from": resumed_from,
        "train": last_train[r], "eval": last_eval[r], "wall_time_s": time.perf_counter() - t_start,
        **train_time,
        "images_per_sec": total_ips / m if total_ips else None,
        "images_seen": int(member.step - start_step) * config.batch_size, "figures": [],
        "sweep": {"workdir": os.path.abspath(workdir), "member": r, "name": mb.name, "hparams": mb.hparams,
                  "status": status, "failed_at": int(failed[r]) if failed[r] >= 0 else None},
    }
    mine = [{k: v for k, v in row.items() if k not in _tag(mb)} for row in history if row.get("member") == r]
    io.export_member(mb, member, dest, metrics_rows=mine, results=rec)
    records.append(rec)
  summary, notes = _summary(setup.members, records)
  results = {
      "sweep": sweep.to_dict(), "workdir": os.path.abspath(workdir), "environment": env,
      "mesh": dict(mesh.shape), "padding_rows": len(setup.rows) - m,
      "loop": next((p.loop for p in multi.values() if getattr(p, "loop", None)), loop),  # "auto": what it chose
      "start_step": start_step, "final_step": step, "resumed_from": resumed_from, "started_from": started,
      "wall_time_s": time.perf_counter() - t_start, **train_time,
      "first_call_s": chunk_times[0][1] if chunk_times else None, "images_per_sec": total_ips,
      "members": records, "summary": summary, "notes": notes,
  }
  if is_main:
    tmp = os.path.join(workdir, "results.json.tmp")
    with open(tmp, "w") as f:
      json.dump(results, f, indent=2, default=train.results.json_default)
    os.replace(tmp, os.path.join(workdir, "results.json"))
  return {**results, "state": state, "model": setup.model}
