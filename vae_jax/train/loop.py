"""The one training loop for every model and method: ``train_and_evaluate(config, workdir)``.

* Keys: ``jax.random.key(seed)`` split once into ``init``, ``data``, ``train`` and ``eval`` keys; the step key is
  ``fold_in(train_key, step)`` inside the jitted step, so no PRNG state is checkpointed and a resumed run is bit
  for bit the uninterrupted one.
* Speed: the dataset lives on the device(s) once; ``config.log_every`` updates run fused in one call
  (:func:`~vae_jax.train.multi_step.make_multi_step`), shuffling and dynamic binarization included; the host syncs
  only to log.
* Multi-device / multi-host: the batch is split over a ``'data'`` mesh of every device (every process after
  ``jax.distributed.initialize``), parameters replicated.
* Safety: Orbax checkpoints every ``checkpoint_every`` steps (keep K, resume from the newest one that restores); a
  non-finite loss or state stops the run naming the step, and no non-finite state is ever saved. One run per
  workdir (an OS lock, :class:`vae_jax.checkpoints.WorkdirLock`); a finished run is never rewritten (a rerun
  returns its results); ``results.json``, ``config.json`` and the figures are replaced atomically.
* Output in ``workdir``: ``config.json``, ``checkpoints/``, ``metrics.jsonl`` (train and eval records),
  TensorBoard events in ``tb/``, PNG figures, and ``results.json``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from vae_jax import checkpoints, factory
from vae_jax.configs import Config
from vae_jax.methods import Extra, LossFn
from vae_jax.train import batches, evaluate, results, run_dir, sharding
from vae_jax.train.figures import run_figures
from vae_jax.train.multi_step import make_multi_step
from vae_jax.train.splits import RunKeys, Split, load_splits, run_keys
from vae_jax.train.state import TrainState, create_train_state
from vae_jax.train.step import make_eval_step
from vae_jax.train.writers import Progress

__all__ = ["RunInterrupted", "train_and_evaluate"]

logger = logging.getLogger(__name__)


class RunInterrupted(KeyboardInterrupt):
  """Ctrl-C (SIGINT) during training; the message says where the run stopped and where a rerun resumes."""


def train_and_evaluate(config: Config, workdir: str, *, splits: tuple[Split | None, Split] | None = None,
                       init_params: Any = None) -> dict[str, Any]:
  """Trains ``config`` in ``workdir`` (resuming from its newest good checkpoint), evaluates, and writes results.

  A rerun of a finished run (its newest checkpoint at or past ``config.num_steps`` and its ``results.json`` written
  for that step) changes no file: it logs "run complete" and returns the saved results. If the run was stopped
  after its last checkpoint but before its results, the rerun evaluates the final checkpoint and writes the numbers
  an uninterrupted run writes. The workdir is locked for the life of the call (:class:`checkpoints.WorkdirLock`).

  Args:
    config: a validated :class:`vae_jax.configs.Config`.
    workdir: the run directory (created if needed).
    splits: optional in-memory ``(train, test)`` :class:`Split` s instead of ``config.data`` (e.g. the codes of a
      stacked AE's earlier stages).
    init_params: optional parameters to start from instead of a fresh initialisation (fine-tuning); ignored
      when resuming from a checkpoint.

  Returns:
    The results dict also written to ``workdir/results.json`` (plus the ``state`` and ``model``).

  Raises:
    checkpoints.WorkdirBusy: another live run holds the workdir.
    checkpoints.CheckpointError: checkpoints exist but none restores, or one cannot be written (full disk).
    FloatingPointError: a non-finite loss or state (the last good checkpoint is named and kept).
    RunInterrupted: SIGINT / Ctrl-C; the message says the step to resume from.
  """
  t_start = time.perf_counter()
  is_main = jax.process_index() == 0
  with locked_workdir(workdir, is_main):
    checkpoints.check_config(workdir, config)
    run = _setup(config, workdir, splits, init_params)
    saved = run_dir.saved_results(workdir)  # every process decides alike (the workdir is shared)
    if run.resumed_from is not None and run.start_step >= config.num_steps and saved \
        and saved.get("final_step") == run.start_step:
      logger.info("Run complete at step %d in %s; nothing to do (results.json and every file left as they were).",
                  run.start_step, workdir)
      return {**saved, "state": run.state, "model": run.model}
    if is_main:
      checkpoints.write_config(workdir, config)
      run_dir.truncate_history(workdir, run.start_step)  # records of steps a kill lost, or a torn last line
    earlier = run_dir.train_seconds(workdir, run.start_step)  # what the invocations before this one recorded
    if run.start_step > config.num_steps:
      logger.warning("The newest checkpoint (step %d) is past config.num_steps=%d; evaluating it as it is.",
                     run.start_step, config.num_steps)

    title = factory.describe(config)
    with Progress(workdir, config, title, initial_step=run.start_step, enabled=is_main,
                  stopped=lambda: _stopped(run.mgr)) as progress:
      state, step, eval_record = _train(config, run, progress)
    history = progress.history
    if step == run.start_step and run.resumed_from is not None:  # stopped after its last checkpoint, before results
      history = [r for r in [run_dir.last_train_record(workdir, step)] if r]
    timing = progress.timing(step, time.perf_counter(), earlier)

    figures = []
    if config.figures and is_main:
      figures = run_figures(run.model, state.params, run.test, jax.random.fold_in(run.keys.eval, 3), workdir,
                            title, run_dir.read_history(workdir) if history else None)
    out = results.run_results(config, workdir, start_step=run.start_step, final_step=step,
                              resumed_from=run.resumed_from, train_record=history[-1] if history else {},
                              eval_record=eval_record, wall_time_s=time.perf_counter() - t_start, timing=timing,
                              figures=figures)
    if is_main:
      results.write_results(workdir, out)
    return {**out, "state": state, "model": run.model}


class _Run(NamedTuple):
  """What the loop trains and evaluates, built once from the config (and the workdir's newest good checkpoint)."""

  keys: RunKeys
  mesh: Any
  test: Split
  model: Any
  source: Any
  data: Any
  loss_fn: LossFn
  extra: Extra | None
  tx: Any
  eval_step: Any
  mgr: Any
  state: TrainState
  start_step: int
  resumed_from: int | None


def _setup(config: Config, workdir: str, splits, init_params) -> _Run:
  keys = run_keys(config.seed)
  mesh = sharding.mesh_for(config.num_devices, config.batch_size)
  train, test = load_splits(config, keys.eval) if splits is None else splits
  evaluate.eval_sizes(config, test, mesh)  # a bad evaluation size fails before anything is built
  model = factory.make_model(config.model, tuple(test.images.shape[1:]))
  source, data, dataset_size = batches.make_source(config, None if train is None else train.images, keys.data,
                                                   mesh)
  loss_fn = factory.make_loss(config.method, model, dataset_size=dataset_size)
  extra = factory.make_extra(config.method, model)  # the method's own state and update, if any
  tx = factory.make_optimizer(config.optimizer)
  state = create_train_state(model, tx, keys.init, jnp.asarray(test.images[:2]), extra=extra)
  if init_params is not None:
    state = state.replace(params=init_params, opt_state=tx.init(init_params))
  state = sharding.replicate(state, mesh)
  mgr = checkpoints.manager(workdir, keep=config.keep_checkpoints)
  restored, resumed_from = checkpoints.restore_newest_good(mgr, state, workdir)
  if restored is not None:
    state = restored
    logger.info("Resumed %s from step %d.", workdir, resumed_from)
  return _Run(keys, mesh, test, model, source, data, loss_fn, extra, tx, make_eval_step(loss_fn, extra=extra), mgr,
              state, int(state.step), resumed_from)


def _train(config: Config, run: _Run, progress: Progress) -> tuple[TrainState, int, dict[str, float]]:
  """Runs steps ``run.start_step … config.num_steps`` in chunks of ``config.log_every`` fused steps, evaluating and
  saving on their schedules; returns ``(state, final step, last eval record)``."""
  state, step, eval_record = run.state, run.start_step, {}
  multi = {}  # chunk length -> compiled multi-step (the last chunk may be shorter)
  shuffles: dict[int, jax.Array] = {}  # epoch -> its permutation of the training set
  if step < config.num_steps:  # compiled before the loop, not in the middle of it (and an error shows at once)
    evaluate.warm_up(run.eval_step, state, run.test, config, run.keys.eval, step, run.mesh)
    checkpoints.all_finite(state)  # the check before every save: its compile was ≈ 3 % of a 300-update run
  try:
    while step < config.num_steps:
      n = min(config.log_every, config.num_steps - step)
      if n not in multi:
        multi[n] = make_multi_step(run.loss_fn, run.tx, num_steps=n, batch_sharding=sharding.batch_sharding(run.mesh),
                                   loop="auto", extra=run.extra)
      # Dispatch this chunk, then log the previous one while it runs (JAX dispatches asynchronously).
      t0 = time.perf_counter()
      source = run.source.with_permutations(step, n, shuffles, run.mesh)  # each epoch shuffled once
      state, metrics = multi[n](state, run.data, source, run.keys.train)
      progress.dispatched(step, n, metrics, t0)
      step += n
      evaluating = step % config.eval_every == 0 or step == config.num_steps
      saving = step % config.checkpoint_every == 0 or step == config.num_steps
      if evaluating or saving:  # needs this chunk's state: sync, and check it is finite before saving it
        progress.sync()
      if evaluating:
        eval_record = evaluate.evaluate(run.eval_step, state, run.test, config, run.keys.eval, step, run.mesh)
        progress.write_eval(step, eval_record)
      if saving:
        checkpoints.save(run.mgr, step, state)  # checks the state is finite first
    checkpoints.wait(run.mgr)
    if step == run.start_step and run.resumed_from is not None:  # stopped after its last checkpoint, before results
      eval_record = evaluate.evaluate(run.eval_step, state, run.test, config, run.keys.eval, step, run.mesh)
  except KeyboardInterrupt:
    raise RunInterrupted(f"interrupted at step {step}; rerun the same command to {_resume_point(run.mgr)}.") from None
  return state, step, eval_record


def _resume_point(mgr) -> str:
  last = checkpoints.latest_good_step(mgr)
  return f"resume from step {last}" if last is not None else "start again from step 0 (no checkpoint yet)"


def _stopped(mgr) -> str:
  last = checkpoints.latest_good_step(mgr)
  kept = f"the last good checkpoint (step {last}) is intact" if last is not None else "no checkpoint was written"
  return f"training stopped and {kept}"


@contextlib.contextmanager
def locked_workdir(workdir: str, is_main: bool):
  """Creates ``workdir`` (checking it is writable) and holds its lock (main process); turns an ``OSError`` of a
  full disk or a read-only workdir into a :class:`checkpoints.CheckpointError` that says so. A single run's workdir
  and a sweep's folder (:func:`vae_jax.sweep.train_sweep`) are held this way."""
  try:
    os.makedirs(workdir, exist_ok=True)
    probe = os.path.join(workdir, f".write_test{os.getpid()}")
    with open(probe, "w"):
      pass
    os.remove(probe)
  except OSError as e:
    raise checkpoints.CheckpointError(f"Cannot write to the workdir {workdir}: {e.strerror or e}; use a writable "
                                      "--workdir.") from None
  with checkpoints.WorkdirLock(workdir) if is_main else contextlib.nullcontext():
    try:
      yield
    except OSError as e:  # a full disk or a read-only workdir while writing metrics, config or results
      failure = checkpoints.disk_failure(e, e.filename or f"into {workdir}", workdir)
      if failure is None:
        raise
      raise failure from None
