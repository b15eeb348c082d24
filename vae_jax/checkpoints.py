"""Checkpoints of a run's workdir: Orbax ``CheckpointManager`` with ``StandardSave``/``StandardRestore``.

Orbax writes each step into a temporary directory and renames it when complete, so a crash or SIGKILL mid-save
never leaves a checkpoint that looks valid but is not; the latest *finished* step is what a restart restores.
A checkpoint that is there but cannot be restored (a truncated or edited file) is moved aside to
``checkpoints_unreadable/`` and the next older one is tried (:func:`restore_newest_good`). No non-finite state is
ever saved (:func:`save` checks first). The run's config is kept beside the checkpoints (``config.json``) so a
trained run can be reloaded by workdir, and :class:`WorkdirLock` keeps two runs out of one workdir.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import shutil
import threading
from typing import Any

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp

from vae_jax import configs

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
LOCK_FILE = ".lock"
UNREADABLE_DIR = "checkpoints_unreadable"
# Fields that may change between a run and its resumption without invalidating the checkpoints.
RESUMABLE_FIELDS = {"num_steps", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints", "progress",
                    "figures", "tensorboard", "eval_batch_size", "num_eval_examples", "num_devices"}


class WorkdirBusy(RuntimeError):
  """Another live process holds the workdir's lock."""


class CheckpointError(RuntimeError):
  """No checkpoint of the workdir can be restored, or one cannot be written."""


class NonFiniteState(FloatingPointError):
  """The parameters or optimizer state hold NaN or inf; such a state is never saved."""


def manager(workdir: str, *, keep: int = 3) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
  return ocp.CheckpointManager(os.path.join(os.path.abspath(workdir), "checkpoints"), options=options)


@jax.jit
def _all_finite(tree: Any) -> jax.Array:
  leaves = [x for x in jax.tree_util.tree_leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])) if leaves else jnp.bool_(True)


def all_finite(tree: Any) -> bool:
  """Whether every floating-point leaf of ``tree`` is finite (one fused jitted reduction, one host sync)."""
  return bool(_all_finite(tree))


def _os_error(exc: BaseException) -> OSError | None:
  """The OSError behind ``exc`` (Orbax wraps them, sometimes only in the message), if any."""
  seen = set()
  while exc is not None and id(exc) not in seen:
    seen.add(id(exc))
    if isinstance(exc, OSError) and exc.errno is not None:
      return exc
    exc = exc.__cause__ or exc.__context__
  return None


_DISK_WORDS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
               errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied"}
DISK_ERRNOS = frozenset(_DISK_WORDS)


def steps_on_disk(directory: str) -> list[int]:
  """The finished checkpoint steps in ``directory``, ascending (Orbax renames a step's directory to its number when
  done); ``[]`` for a directory that does not exist."""
  try:
    return sorted(int(n) for n in os.listdir(directory) if n.isdigit())
  except OSError:
    return []


def disk_failure(exc: BaseException, what: str, workdir: str) -> CheckpointError | None:
  """One-line :class:`CheckpointError` for a failed write (full disk, read-only, no permission), else None."""
  err = _os_error(exc)
  if err is not None and err.errno in _DISK_WORDS:
    why = _DISK_WORDS[err.errno]
  elif "No space left on device" in str(exc):  # Orbax/TensorStore report it as a ValueError with this text
    why = _DISK_WORDS[errno.ENOSPC]
  else:
    return None
  good = steps_on_disk(os.path.join(workdir, "checkpoints"))
  kept = f"the last good checkpoint (step {good[-1]}) is intact" if good else "no checkpoint was written before"
  return CheckpointError(f"Cannot write {what}: {why}; {kept}. Free some space (or fix the permissions) and rerun "
                         "the same command to resume.")


def _io_failure(exc: BaseException, what: str, mgr: ocp.CheckpointManager) -> CheckpointError | None:
  return disk_failure(exc, f"{what} in {mgr.directory}", os.path.dirname(str(mgr.directory)))


def _finished_steps(mgr: ocp.CheckpointManager) -> list[int]:
  try:
    mgr.reload()
    return sorted(mgr.all_steps())
  except Exception:  # noqa: BLE001 - only used to word an error message
    return []


_THREAD_SAVES = threading.Lock()


def save(mgr: ocp.CheckpointManager, step: int, state: Any) -> None:
  """Saves ``state`` at ``step`` unless it holds a non-finite value (then raises :class:`NonFiniteState`).

  A failed write (full disk, read-only or unwritable directory) raises :class:`CheckpointError` in one line that
  names the last good checkpoint, which Orbax leaves in place.
  """
  if not all_finite(state):  # every floating-point leaf: parameters, optimizer and any method or sweep state
    last = latest_good_step(mgr)
    kept = f"the last good checkpoint (step {last}) is intact" if last is not None else "no checkpoint was written"
    raise NonFiniteState(f"Non-finite parameters or optimizer state after step {step}; it was not saved and {kept}. "
                         "Lower optimizer.learning_rate, set optimizer.grad_clip_norm, or check the data.")
  try:
    if threading.current_thread() is threading.main_thread():
      mgr.save(step, args=ocp.args.StandardSave(state))  # asynchronous: training goes on while it is written
    else:
      # Runs trained in threads of one process (experiments' --workers): Orbax's asynchronous savers of several
      # managers at once were seen to collide ("File exists: <step>.orbax-checkpoint-tmp") on the loaded 2-core
      # machine, so a worker thread saves synchronously, one save at a time.
      with _THREAD_SAVES:
        mgr.save(step, args=ocp.args.StandardSave(state))
        mgr.wait_until_finished()
  except Exception as e:
    failure = _io_failure(e, f"checkpoint step {step}", mgr)
    if failure is None:
      raise
    raise failure from None


def wait(mgr: ocp.CheckpointManager) -> None:
  """Waits for an asynchronous save; a failed write raises :class:`CheckpointError` (see :func:`save`)."""
  try:
    mgr.wait_until_finished()
  except Exception as e:
    failure = _io_failure(e, "a checkpoint", mgr)
    if failure is None:
      raise
    raise failure from None


def latest_good_step(mgr: ocp.CheckpointManager) -> int | None:
  """The newest finished checkpoint after any save in flight ends (a failed one is not counted)."""
  try:
    mgr.wait_until_finished()
  except Exception:  # noqa: BLE001 - the failed save is reported by whoever called save/wait
    pass
  steps = _finished_steps(mgr)
  return steps[-1] if steps else None


def restore(mgr: ocp.CheckpointManager, abstract_state: Any, step: int | None = None) -> Any:
  """Restores ``step`` (default: the latest) with the structure, dtypes and shardings of ``abstract_state``."""
  step = mgr.latest_step() if step is None else step
  if step is None:
    raise FileNotFoundError(f"No checkpoint found in {mgr.directory}.")
  target = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, abstract_state)
  try:
    return mgr.restore(step, args=ocp.args.StandardRestore(target))
  except ValueError as e:
    # Checkpoints written before TrainState had an ``extra`` field (a method's own state, e.g. FactorVAE's
    # discriminator) lack it; for a method without extra state there is nothing to restore there.
    extra = getattr(abstract_state, "extra", None)
    if extra is None or jax.tree_util.tree_leaves(extra) or "extra" not in str(e):
      raise
    fields = {k: getattr(target, k) for k in ("step", "params", "opt_state")}
    restored = mgr.restore(step, args=ocp.args.StandardRestore(fields))
    return abstract_state.replace(**restored)


def _leaf_paths(tree: Any) -> set[tuple[str, ...]]:
  def name(k):
    for attr in ("key", "idx", "name"):
      if hasattr(k, attr):
        return str(getattr(k, attr))
    return str(k)

  return {tuple(name(k) for k in path) for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]}


def _other_structure(mgr: ocp.CheckpointManager, step: int, abstract_state: Any) -> bool:
  """Whether checkpoint ``step`` has readable metadata naming other arrays than ``abstract_state`` holds: a state of
  another model or code version (the checkpoint is fine), as opposed to a damaged one (unreadable metadata or
  data)."""
  try:
    meta = mgr.item_metadata(step)
    tree = getattr(meta, "tree", meta)
  except Exception:  # noqa: BLE001 - unreadable metadata: damaged
    return False
  return tree is not None and _leaf_paths(tree) != _leaf_paths(abstract_state)


def _one_line(exc: BaseException) -> str:
  text = " ".join(str(exc).split())
  return f"{type(exc).__name__}: {text[:200]}{'…' if len(text) > 200 else ''}"


def restore_newest_good(mgr: ocp.CheckpointManager, abstract_state: Any, workdir: str) -> tuple[Any, int | None]:
  """Restores the newest checkpoint that can be restored: ``(state, step)``, or ``(None, None)`` if there is none.

  A checkpoint that fails to restore, or restores to non-finite values, is reported in one warning line (its step
  and why), moved to ``workdir/checkpoints_unreadable/<step>`` (kept, not deleted) and the next older one is tried.
  If checkpoints exist but none can be restored, raises :class:`CheckpointError` saying how to start fresh.
  """
  steps = sorted(mgr.all_steps(), reverse=True)
  bad = []
  for step in steps:
    try:
      state = restore(mgr, abstract_state, step)
      if not all_finite(state):
        raise NonFiniteState("the restored parameters or optimizer state are not finite")
    except Exception as e:  # noqa: BLE001 - any failure to restore makes the checkpoint unusable
      reason = _one_line(e)
      if _other_structure(mgr, step, abstract_state):  # readable, but of another model: not corrupt, move nothing
        raise CheckpointError(f"Checkpoint step {step} in {mgr.directory} holds a different state structure than "
                              f"this config builds ({reason}); nothing was moved. Resume it with the code and "
                              "config that wrote it, or use a new --workdir.") from None
      bad.append(f"step {step} ({reason})")
      logger.warning("Checkpoint step %d in %s cannot be restored (%s); moved to %s/ and trying the previous one.",
                     step, mgr.directory, reason, UNREADABLE_DIR)
      if jax.process_index() == 0:  # one process moves it (the workdir is shared)
        aside = os.path.join(workdir, UNREADABLE_DIR)
        os.makedirs(aside, exist_ok=True)
        target = os.path.join(aside, str(step))
        if os.path.exists(target):  # an earlier damaged copy of this step: keep both
          target = f"{target}.{len(os.listdir(aside))}"
        shutil.move(os.path.join(str(mgr.directory), str(step)), target)
        mgr.reload()
      continue
    return state, step
  if bad:
    raise CheckpointError(f"No checkpoint in {mgr.directory} can be restored: {'; '.join(bad)}. They were moved to "
                          f"{os.path.join(workdir, UNREADABLE_DIR)}. To start fresh, rerun the same command (it "
                          "starts from step 0) or use a new --workdir.")
  return None, None


class WorkdirLock:
  """An OS-level lock on ``workdir/.lock`` (``fcntl.flock``), held for the life of a run.

  The kernel drops the lock when the holder exits, however it exits (SIGKILL included), so a stale lock file never
  blocks the next run; the file holds the holder's PID for the error message.
  """

  def __init__(self, workdir: str):
    self.workdir = workdir
    self.path = os.path.join(workdir, LOCK_FILE)
    self.fd: int | None = None

  def __enter__(self) -> WorkdirLock:
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
      os.close(fd)
      raise WorkdirBusy(f"{self.workdir} is in use by another run (PID {holder}, lock {self.path}); wait for it to "
                        "end, or use another --workdir.") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    self.fd = fd
    return self

  def __exit__(self, *exc) -> None:
    if self.fd is not None:
      fcntl.flock(self.fd, fcntl.LOCK_UN)
      os.close(self.fd)
      self.fd = None


def check_config(workdir: str, config: configs.Config) -> None:
  """Refuses to reuse a workdir whose checkpoints came from an incompatible config."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    return
  new = configs.to_dict(config)
  with open(path) as f:
    old = json.load(f)
  old_cmp = configs.to_dict(configs.from_dict(old))
  diff = sorted(k for k in new if k not in RESUMABLE_FIELDS and old_cmp.get(k) != new[k])
  ckpt = os.path.join(workdir, "checkpoints")
  if diff and os.path.isdir(ckpt) and os.listdir(ckpt):
    raise ValueError(f"{workdir} holds checkpoints of a run with a different config (fields {diff} differ); "
                     "use a new --workdir, or the same config to resume.")


def write_json_atomic(path: str, obj: Any, **kw) -> None:
  """Writes JSON to ``path`` through a temporary file and a rename: a reader sees the old file or the new one."""
  write_text_atomic(path, json.dumps(obj, indent=2, **kw))


def write_text_atomic(path: str, text: str) -> None:
  """Writes ``text`` to ``path`` through a temporary file (flushed to disk) and a rename: a reader, or a kill at any
  moment, sees the old file or the new one."""
  tmp = f"{path}.tmp{os.getpid()}"
  try:
    with open(tmp, "w") as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def write_config(workdir: str, config: configs.Config) -> None:
  """Stores the config; refuses to reuse a workdir whose checkpoints came from an incompatible config."""
  check_config(workdir, config)
  write_json_atomic(os.path.join(workdir, CONFIG_FILE), configs.to_dict(config))


def read_config(workdir: str) -> configs.Config:
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.exists(path):
    raise FileNotFoundError(f"{workdir} is not a vae_jax run directory (no {CONFIG_FILE}).")
  with open(path) as f:
    return configs.from_dict(json.load(f))
