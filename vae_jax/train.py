"""The one training loop for every model and method: ``train_and_evaluate(config, workdir)``.

* Keys: ``jax.random.key(seed)`` split once into ``init``, ``data``, ``train`` and ``eval`` keys; the step key is
  ``fold_in(train_key, step)`` inside the jitted step, so no PRNG state is checkpointed and a resumed run is bit
  for bit the uninterrupted one.
* Speed: the dataset lives on the device(s) once; ``config.log_every`` updates run fused in one jit call
  (``lax.scan``), shuffling and dynamic binarization included; the host syncs only to log.
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
import functools
import json
import logging
import os
import platform
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from vae_jax import checkpoints, configs, factory, steps
from vae_jax.configs import Config

logger = logging.getLogger(__name__)


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


# --- data ---------------------------------------------------------------------------------------------------------


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


def _device_images(images: np.ndarray) -> np.ndarray:
  """uint8 when the images are exactly k/255 (8-bit sources: 4× less memory), else float32."""
  as_u8 = np.round(images * 255.0).astype(np.uint8)
  if np.array_equal(as_u8.astype(np.float32) / np.float32(255.0), images):
    return as_u8
  return images.astype(np.float32, copy=False)


def _dynamic_binarize(key, batch):
  return {**batch, "image": jax.random.bernoulli(key, batch["image"]).astype(jnp.float32)}


def _sprite_batch(batch_size: int, resolution: int, key: jax.Array) -> dict:
  from vae_jax.data import sprites

  images, factors = sprites.sample(key, batch_size, resolution=resolution)
  return {"image": images, "factors": factors}


def _source_and_data(config: Config, train: Split | None, data_key: jax.Array, mesh):
  if train is None:
    gen = functools.partial(_sprite_batch, config.batch_size, config.data.resolution)
    return steps.GeneratedBatches(generate=gen), {}, 737_280
  n = len(train.images)
  if n < config.batch_size:
    raise ValueError(f"The training split has {n} examples, fewer than config.batch_size={config.batch_size}.")
  preprocess = _dynamic_binarize if config.data.binarize == "dynamic" else None
  source = steps.ArrayBatches(shuffle_key=data_key, num_examples=n, batch_size=config.batch_size,
                              preprocess=preprocess)
  return source, steps.replicate({"image": _device_images(train.images)}, mesh), n


# --- evaluation and outputs -----------------------------------------------------------------------------------------


def _eval_sizes(config: Config, test: Split, mesh) -> tuple[int, int]:
  """(examples evaluated, evaluation batch size); the batch is cut to the examples when they are fewer."""
  n = len(test.images) if not config.num_eval_examples else min(config.num_eval_examples, len(test.images))
  if n == 0:
    raise ValueError("The test split is empty: there is nothing to evaluate (check config.data).")
  bs = min(config.eval_batch_size, n)
  devices = mesh.devices.size
  if bs % devices:
    what = (f"config.eval_batch_size={bs}" if bs == config.eval_batch_size else
            f"The evaluation batch of {bs} (the {n} examples of config.num_eval_examples or the test split, fewer "
            f"than config.eval_batch_size={config.eval_batch_size})")
    raise ValueError(f"{what} is not divisible by the number of devices ({devices}); set config.eval_batch_size "
                     f"and config.num_eval_examples to multiples of {devices}.")
  return n, bs


def _evaluate(eval_step, params, test: Split, config: Config, key, step: int, mesh) -> dict[str, float]:
  n, bs = _eval_sizes(config, test, mesh)
  sums: dict[str, float] = {}
  count = 0
  for i in range(n // bs):
    batch = steps.shard_batch({"image": test.images[i * bs:(i + 1) * bs]}, mesh)
    m = jax.device_get(eval_step(params, batch, jax.random.fold_in(key, i), jnp.int32(step)))
    for k, v in m.items():
      sums[k] = sums.get(k, 0.0) + float(v)
    count += 1
  return {f"eval/{k}": v / max(count, 1) for k, v in sums.items()}


def _atomic_figure(draw, path: str) -> str:
  """Draws a figure to a temporary ``.png`` beside ``path`` and renames it: never a half-written figure."""
  tmp = f"{path[:-4]}.tmp{os.getpid()}.png"
  try:
    draw(tmp)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  return path


def _figures(model, params, test: Split, key, workdir: str, title: str) -> list[str]:
  from vae_jax import inference, plots

  x = jnp.asarray(test.images[:16])
  variables = {"params": jax.device_get(params)}  # host copy: a local computation, also in multi-process runs
  recon = np.asarray(model.apply(variables, x, method="reconstruct"))
  paths = [_atomic_figure(lambda p: plots.reconstruction_grid(np.asarray(test.images[:16]), recon, p, title=title),
                          os.path.join(workdir, "reconstructions.png"))]
  if inference.is_stochastic(model, params, test.images):  # a generative model: samples from the prior
    samples = np.asarray(model.apply(variables, 64, key=key, method="sample"))
    paths.append(_atomic_figure(lambda p: plots.image_grid(samples, p, ncols=8, title=title),
                                os.path.join(workdir, "samples.png")))
  return [str(p) for p in paths]


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


class _Writer:
  """metrics.jsonl (+ TensorBoard) on the main process; flushed at every write so a crash loses nothing."""

  def __init__(self, workdir: str, tensorboard: bool, enabled: bool):
    self.enabled = enabled
    self.jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a") if enabled else None
    self.tb = None
    if enabled and tensorboard:
      try:
        from tensorboardX import SummaryWriter  # noqa: PLC0415
      except ImportError:
        logger.warning("config.tensorboard is on but tensorboardX is not installed (pip install tensorboardX); "
                       "writing metrics.jsonl only.")
      else:
        self.tb = SummaryWriter(os.path.join(workdir, "tb"))

  def write(self, step: int, record: dict[str, float]) -> None:
    if not self.enabled:
      return
    self.jsonl.write(json.dumps({"step": step, **record}) + "\n")
    self.jsonl.flush()
    if self.tb is not None:
      for k, v in record.items():
        self.tb.add_scalar(k, v, step)
      self.tb.flush()

  def close(self):
    if self.jsonl:
      self.jsonl.close()
    if self.tb:
      self.tb.close()


class RunInterrupted(KeyboardInterrupt):
  """Ctrl-C (SIGINT) during training; the message says where the run stopped and where a rerun resumes."""


def _check_finite(metrics: dict[str, np.ndarray], first_step: int, mgr) -> None:
  loss = np.asarray(metrics["loss"])
  bad = ~np.isfinite(loss)
  if bad.any():
    step = first_step + int(np.argmax(bad))
    last = checkpoints.latest_good_step(mgr)
    kept = f"the last good checkpoint (step {last}) is intact" if last is not None else "no checkpoint was written"
    raise FloatingPointError(f"Non-finite loss ({loss[np.argmax(bad)]}) at step {step}; training stopped and {kept}. "
                             "Lower optimizer.learning_rate, set optimizer.grad_clip_norm, or check the data.")


# --- the loop -------------------------------------------------------------------------------------------------------


def _open_workdir(workdir: str) -> None:
  try:
    os.makedirs(workdir, exist_ok=True)
    probe = os.path.join(workdir, f".write_test{os.getpid()}")
    with open(probe, "w"):
      pass
    os.remove(probe)
  except OSError as e:
    raise checkpoints.CheckpointError(f"Cannot write to the workdir {workdir}: {e.strerror or e}; use a writable "
                                      "--workdir.") from None


def _saved_results(workdir: str) -> dict[str, Any] | None:
  try:
    with open(os.path.join(workdir, "results.json")) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def _last_train_record(workdir: str, step: int) -> dict[str, float]:
  """The train record logged at ``step`` (for results of a run whose loop was already done), or {}."""
  try:
    records = [r for r in _read_history(workdir) if r.get("step") == step and "train/loss" in r]
  except (OSError, ValueError):
    return {}
  return records[-1] if records else {}


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
  is_main = jax.process_index() == 0
  _open_workdir(workdir)
  with checkpoints.WorkdirLock(workdir) if is_main else contextlib.nullcontext():
    try:
      return _train_and_evaluate(config, workdir, splits=splits, init_params=init_params, is_main=is_main)
    except OSError as e:  # a full disk or a read-only workdir while writing metrics, config or results
      failure = checkpoints.disk_failure(e, e.filename or f"into {workdir}", workdir)
      if failure is None:
        raise
      raise failure from None


def _train_and_evaluate(config: Config, workdir: str, *, splits, init_params, is_main: bool) -> dict[str, Any]:
  t_start = time.perf_counter()
  checkpoints.check_config(workdir, config)
  keys = run_keys(config.seed)
  devices = jax.devices()
  if config.num_devices:
    if config.num_devices > len(devices):
      raise ValueError(f"config.num_devices={config.num_devices} but only {len(devices)} devices are visible.")
    devices = devices[:config.num_devices]
  mesh = steps.data_mesh(devices)
  steps.check_divisible(config.batch_size, mesh)

  train, test = load_splits(config, keys.eval) if splits is None else splits
  _eval_sizes(config, test, mesh)
  image_shape = tuple(test.images.shape[1:])
  model = factory.make_model(config.model, image_shape)
  source, data, dataset_size = _source_and_data(config, train, keys.data, mesh)
  loss_fn = factory.make_loss(config.method, model, dataset_size=dataset_size)
  extra = factory.make_extra(config.method, model)  # the method's own state and update, if any
  tx = factory.make_optimizer(config.optimizer)

  state = steps.create_train_state(model, tx, keys.init, jnp.asarray(test.images[:2]), extra=extra)
  if init_params is not None:
    state = state.replace(params=init_params, opt_state=tx.init(init_params))
  state = steps.replicate(state, mesh)
  mgr = checkpoints.manager(workdir, keep=config.keep_checkpoints)
  restored, resumed_from = checkpoints.restore_newest_good(mgr, state, workdir)
  if restored is not None:
    state = restored
    logger.info("Resumed %s from step %d.", workdir, resumed_from)
  start_step = int(state.step)

  saved = _saved_results(workdir)  # every process decides alike (the workdir is shared)
  if resumed_from is not None and start_step >= config.num_steps and saved and saved.get("final_step") == start_step:
    logger.info("Run complete at step %d in %s; nothing to do (results.json and every file left as they were).",
                start_step, workdir)
    return {**saved, "state": state, "model": model}
  if is_main:
    checkpoints.write_config(workdir, config)
  if start_step > config.num_steps:
    logger.warning("The newest checkpoint (step %d) is past config.num_steps=%d; evaluating it as it is.",
                   start_step, config.num_steps)

  sharding = steps.batch_sharding(mesh)
  multi = {}  # chunk length -> compiled multi-step (the last chunk may be shorter)
  # XLA:CPU runs a conv VAE's gradient convolutions far slower inside a scan: step those from the host.
  loop = "host" if config.model.architecture == "conv" and jax.default_backend() == "cpu" else "scan"
  eval_step = steps.make_eval_step(loss_fn, extra=extra)
  writer = _Writer(workdir, config.tensorboard, is_main)
  title = factory.describe(config)
  history: list[dict[str, float]] = []
  chunk_times: list[tuple[int, float]] = []  # (steps, seconds) per fused call
  eval_record: dict[str, float] = {}
  step = start_step
  bar = tqdm.tqdm(total=config.num_steps, initial=step, unit="step", desc=title[:40],
                  disable=not (config.progress and is_main), dynamic_ncols=True)
  record: dict[str, float] = {}
  clock = {"last": 0.0, "steady_from": None}  # when the last chunk's metrics arrived; end of the compiling chunk

  def finish(chunk) -> None:
    """Fetches a dispatched chunk's metrics (the chunk's only host sync), checks them and logs them."""
    nonlocal record
    first, n, metrics, t_dispatch = chunk
    metrics = jax.device_get(metrics)
    now = time.perf_counter()
    dt = now - max(t_dispatch, clock["last"])  # chunks run back to back: this one started when the last ended
    clock["last"] = now
    if clock["steady_from"] is None:
      clock["steady_from"] = (now, first + n)
    chunk_times.append((n, dt))
    _check_finite(metrics, first, mgr)
    record = {f"train/{k}": float(np.mean(v)) for k, v in metrics.items()}
    record["train/images_per_sec"] = n * config.batch_size / dt
    history.append({"step": first + n, **record})
    writer.write(first + n, record)
    bar.update(n)
    bar.set_postfix(loss=f"{record['train/loss']:.2f}", img_s=f"{record['train/images_per_sec']:.0f}")

  _, eval_bs = _eval_sizes(config, test, mesh)
  if step < config.num_steps:  # compile the evaluation before the loop, not in the middle of it
    warm = steps.shard_batch({"image": test.images[:eval_bs]}, mesh)
    jax.block_until_ready(eval_step(state.params, warm, keys.eval, jnp.int32(step), extra_state=state.extra))
  pending = None  # the chunk in flight whose metrics are not fetched yet
  shuffles: dict[int, jax.Array] = {}  # epoch -> its permutation of the training set
  try:
    while step < config.num_steps:
      n = min(config.log_every, config.num_steps - step)
      if n not in multi:
        multi[n] = steps.make_multi_step(loss_fn, tx, num_steps=n, batch_sharding=sharding, loop=loop, extra=extra)
      # Dispatch this chunk, then log the previous one while it runs (JAX dispatches asynchronously).
      t0 = time.perf_counter()
      chunk_source = (source.with_permutations(step, n, shuffles, mesh) if isinstance(source, steps.ArrayBatches)
                      else source)  # each epoch's shuffle computed once, not once per chunk
      state, metrics = multi[n](state, data, chunk_source, keys.train)
      chunk = (step, n, metrics, t0)
      if pending is not None:
        finish(pending)
      pending = chunk
      step += n
      evaluate = step % config.eval_every == 0 or step == config.num_steps
      save = step % config.checkpoint_every == 0 or step == config.num_steps
      if evaluate or save:  # needs this chunk's state: sync, and check it is finite before saving it
        finish(pending)
        pending = None
      if evaluate:
        eval_record = _evaluate(functools.partial(eval_step, extra_state=state.extra), state.params, test, config,
                                keys.eval, step, mesh)
        writer.write(step, eval_record)
        logger.info("step %d: %s", step, {k: round(v, 4) for k, v in {**record, **eval_record}.items()})
      if save:
        checkpoints.save(mgr, step, state)  # checks the state is finite first
    checkpoints.wait(mgr)
    if step == start_step and resumed_from is not None:  # stopped after its last checkpoint, before its results
      eval_record = _evaluate(eval_step, state.params, test, config, keys.eval, step, mesh)
      last = _last_train_record(workdir, step)
      history = [last] if last else []
  except KeyboardInterrupt:
    last = checkpoints.latest_good_step(mgr)
    where = f"resume from step {last}" if last is not None else "start again from step 0 (no checkpoint yet)"
    raise RunInterrupted(f"interrupted at step {step}; rerun the same command to {where}.") from None
  finally:
    bar.close()
    writer.close()
  loop_end = time.perf_counter()

  figures = []
  if config.figures and is_main:
    figures = _figures(model, state.params, test, jax.random.fold_in(keys.eval, 3), workdir, title)
    if history:
      from vae_jax import plots

      figures.append(_atomic_figure(lambda p: plots.training_curves(_read_history(workdir), p),
                                    os.path.join(workdir, "curves.png")))
  steady = chunk_times[1:] or chunk_times  # the first call includes compilation
  steps_run = step - start_step
  results = {
      "config": configs.to_dict(config),
      "seed": config.seed,
      "workdir": os.path.abspath(workdir),
      "environment": environment(),
      "start_step": start_step,
      "final_step": step,
      "resumed_from": resumed_from,
      "train": {k: v for k, v in (history[-1].items() if history else [])},
      "eval": eval_record,
      "wall_time_s": time.perf_counter() - t_start,
      "train_time_s": float(sum(dt for _, dt in chunk_times)),
      "first_call_s": chunk_times[0][1] if chunk_times else None,
      "images_per_sec": (config.batch_size * sum(n for n, _ in steady) / sum(dt for _, dt in steady)
                         if chunk_times else None),
      # Wall-clock throughput after the first (compiling) chunk, logging, evaluation and checkpoints included.
      "loop_images_per_sec": (config.batch_size * (step - clock["steady_from"][1])
                              / (loop_end - clock["steady_from"][0])
                              if clock["steady_from"] and step > clock["steady_from"][1] else None),
      "images_seen": steps_run * config.batch_size,
      "figures": figures,
  }
  if is_main:
    checkpoints.write_json_atomic(os.path.join(workdir, "results.json"), results, default=_json_default)
  results["state"] = state
  results["model"] = model
  return results


def _json_default(o):
  if isinstance(o, (np.floating, np.integer)):
    return o.item()
  return str(o)


def _read_history(workdir: str) -> list[dict[str, float]]:
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f if line.strip()]


def load_run(workdir: str, step: int | None = None):
  """Reloads a trained run: ``(config, model, params, test_split)``, the params from the latest checkpoint."""
  config = checkpoints.read_config(workdir)
  keys = run_keys(config.seed)
  _, test = load_splits(config, keys.eval)
  model = factory.make_model(config.model, tuple(test.images.shape[1:]))
  tx = factory.make_optimizer(config.optimizer)
  extra = factory.make_extra(config.method, model)
  abstract = jax.eval_shape(lambda: steps.create_train_state(model, tx, keys.init, jnp.asarray(test.images[:2]),
                                                             extra=extra))
  # Restore onto this process's first device, whatever topology saved the checkpoint.
  here = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = jax.tree_util.tree_map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=here), abstract)
  mgr = checkpoints.manager(workdir, keep=config.keep_checkpoints)
  state = checkpoints.restore(mgr, abstract, step)
  return config, model, state.params, test
