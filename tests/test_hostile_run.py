"""Hostile run faults (issue #13): reruns of finished runs, diverged states, corrupt checkpoints, full disks,
locked workdirs, bad evaluation settings. One tiny trained run (module fixture) is copied for the in-process cases;
the lock case uses a real second process; the disk cases a real tmpfs (skipped where it cannot be mounted)."""

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from vae_jax import checkpoints, factory, train

from helpers import ENV, ROOT
from helpers import tiny as tiny_on_8_devices


def tiny(**kw):
  """tiny.py on one device: these faults are the loop's, not its sharding's (conftest's 8 fake devices made this
  file's runs ≈ 1.5× longer); the settings checked against the device count use ``tiny_on_8_devices``."""
  return tiny_on_8_devices(**{"num_devices": 1, **kw})

# Orbax restores on an event loop that it closes when a read fails; the other reads of a truncated checkpoint finish
# later on tensorstore's threads, find that loop closed, and Python reports "Exception ignored … Event loop is
# closed" (or "coroutine … was never awaited") in whichever test is running then. Nothing of ours is lost or leaks
# (the tests below check the checkpoints and the runs); the noise (≈ 30 such reports) is filtered so that other
# warnings stand out in CI's output.
pytestmark = [pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
              pytest.mark.filterwarnings("ignore:coroutine '_read_array_index_and_device_put' was never awaited")]


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def _snapshot(workdir):
  """Every file's bytes and mtime, by relative path (the lock file aside: it records the last holder's PID)."""
  out = {}
  for dirpath, _, files in os.walk(workdir):
    for name in files:
      path = os.path.join(dirpath, name)
      if name == checkpoints.LOCK_FILE:
        continue
      with open(path, "rb") as f:
        out[os.path.relpath(path, workdir)] = (hashlib.sha256(f.read()).hexdigest(), os.stat(path).st_mtime_ns)
  return out


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  """A finished tiny run (8 steps, checkpoints at 4 and 8, figures on): (workdir, results)."""
  workdir = str(tmp_path_factory.mktemp("finished") / "run")
  res = train.train_and_evaluate(tiny(figures=True), workdir)
  return workdir, res


@pytest.fixture
def copy_of(finished, tmp_path):
  dst = str(tmp_path / "run")
  shutil.copytree(finished[0], dst)
  return dst


# --- a finished run is never rewritten ------------------------------------------------------------------------------


@pytest.mark.parametrize("num_steps", [8, 4], ids=["same-command", "smaller-num_steps"])
def test_rerun_of_a_finished_run_changes_no_file(copy_of, finished, num_steps, caplog):
  before = _snapshot(copy_of)
  time.sleep(0.01)
  with caplog.at_level(logging.INFO):
    res = train.train_and_evaluate(tiny(figures=True, num_steps=num_steps), copy_of)
  assert "Run complete at step 8" in caplog.text
  assert _snapshot(copy_of) == before
  assert res["eval"] == finished[1]["eval"] and res["eval"] and res["train"] == finished[1]["train"]


def test_rerun_after_preemption_past_the_last_checkpoint_writes_the_same_numbers(copy_of, finished):
  os.remove(os.path.join(copy_of, "results.json"))  # killed after the last checkpoint, before its results
  res = train.train_and_evaluate(tiny(figures=True), copy_of)
  saved = json.loads(open(os.path.join(copy_of, "results.json")).read())
  assert saved["final_step"] == 8 and saved["eval"] == finished[1]["eval"] != {}
  assert saved["train"] == finished[1]["train"]
  for a, b in zip(_leaves(res["state"].params), _leaves(finished[1]["state"].params), strict=True):
    np.testing.assert_array_equal(a, b)


def test_outputs_are_written_atomically_leaving_no_temporary_files(finished):
  names = os.listdir(finished[0])
  assert not [n for n in names if ".tmp" in n], names
  for name in ("results.json", "config.json", "reconstructions.png", "samples.png", "curves.png"):
    assert name in names


# --- a killed run's history ------------------------------------------------------------------------------------------


TIMES = ("train/seconds", "train/images_per_sec")


def _history(workdir):
  return [{k: v for k, v in r.items() if k not in TIMES} for r in train.run_dir.read_history(workdir)]


def _killed_after_step_4(workdir, *, torn=True, strip_seconds=False):
  """The workdir as a kill after step 8's metrics but before its checkpoint left it: checkpoint 4, records up to 8
  (and a torn last line); ``strip_seconds``: records as a run from before ``train/seconds`` was logged wrote them."""
  shutil.rmtree(os.path.join(workdir, "checkpoints", "8"))
  os.remove(os.path.join(workdir, "results.json"))
  path = os.path.join(workdir, "metrics.jsonl")
  records = [json.loads(line) for line in open(path)]
  with open(path, "w") as f:
    f.writelines(json.dumps({k: v for k, v in r.items() if not (strip_seconds and k == "train/seconds")}) + "\n"
                 for r in records)
    if torn:
      f.write('{"step": 10, "train/lo')


def test_a_resumed_run_keeps_each_step_once_and_times_every_invocation(copy_of, finished):
  _killed_after_step_4(copy_of)
  res = train.train_and_evaluate(tiny(figures=True), copy_of)
  assert res["resumed_from"] == 4
  assert _history(copy_of) == _history(finished[0])  # the lost steps' records and the torn line are gone
  seconds = [r["train/seconds"] for r in train.run_dir.read_history(copy_of) if "train/seconds" in r]
  assert len(seconds) == 4 and res["train_time_from_step"] == 0
  np.testing.assert_allclose(res["train_time_s"], sum(seconds), rtol=1e-12)
  np.testing.assert_allclose(res["train_time_this_run_s"], sum(seconds[2:]), rtol=1e-12)
  assert json.loads(open(os.path.join(copy_of, "results.json")).read())["train_time_s"] == res["train_time_s"]


def test_a_run_from_before_seconds_were_logged_says_where_its_time_begins(copy_of, finished):
  _killed_after_step_4(copy_of, torn=False, strip_seconds=True)
  res = train.train_and_evaluate(tiny(figures=True), copy_of)
  assert res["train_time_from_step"] == 4 and res["train_time_s"] == res["train_time_this_run_s"] > 0
  assert _history(copy_of) == _history(finished[0])


def test_a_damaged_history_is_a_clear_error_not_a_silent_loss(copy_of):
  _killed_after_step_4(copy_of, torn=False)
  path = os.path.join(copy_of, "metrics.jsonl")
  lines = open(path).readlines()
  lines[1] = "garbage\n"
  open(path, "w").writelines(lines)
  with pytest.raises(ValueError, match=r"metrics.jsonl, line 2: not a metrics record .*delete it"):
    train.train_and_evaluate(tiny(figures=True), copy_of)
  assert open(path).readlines() == lines  # left as it was


def test_a_fresh_start_drops_the_records_of_a_run_killed_before_its_first_checkpoint(tmp_path, finished):
  with open(tmp_path / "metrics.jsonl", "w") as f:
    f.write(json.dumps({"step": 2, "train/loss": 1e9}) + "\n" + '{"step": 4, "tr')
  train.train_and_evaluate(tiny(figures=True), str(tmp_path))
  assert _history(tmp_path) == _history(finished[0])


# --- corrupt checkpoints ----------------------------------------------------------------------------------------------


def _truncate_largest_file(step_dir):
  files = [os.path.join(d, f) for d, _, fs in os.walk(step_dir) for f in fs]
  biggest = max(files, key=os.path.getsize)
  with open(biggest, "r+b") as f:
    f.truncate(os.path.getsize(biggest) // 2)


def test_truncated_latest_checkpoint_is_skipped_and_the_previous_one_resumed(copy_of, finished, caplog):
  _truncate_largest_file(os.path.join(copy_of, "checkpoints", "8"))
  os.remove(os.path.join(copy_of, "results.json"))
  with caplog.at_level(logging.WARNING):
    res = train.train_and_evaluate(tiny(), copy_of)
  assert "Checkpoint step 8" in caplog.text and "cannot be restored" in caplog.text
  assert res["resumed_from"] == 4 and res["final_step"] == 8
  assert os.path.isdir(os.path.join(copy_of, checkpoints.UNREADABLE_DIR, "8"))  # kept aside, not deleted
  for a, b in zip(_leaves(res["state"].params), _leaves(finished[1]["state"].params), strict=True):
    np.testing.assert_array_equal(a, b)  # resumed from 4, bit-identical to the uninterrupted run


def test_no_restorable_checkpoint_fails_saying_how_to_start_fresh(copy_of):
  for step in ("4", "8"):
    _truncate_largest_file(os.path.join(copy_of, "checkpoints", step))
  with pytest.raises(checkpoints.CheckpointError, match=r"step 8 .*step 4 .*To start fresh"):
    train.train_and_evaluate(tiny(), copy_of)


def test_a_diverged_checkpoint_written_by_older_code_is_skipped(copy_of, caplog):
  mgr = checkpoints.manager(copy_of)
  state = checkpoints.restore(mgr, _abstract_state(copy_of), 8)
  nan_state = state.replace(params=jax.tree_util.tree_map(lambda x: x * jnp.nan, state.params))
  shutil.rmtree(os.path.join(copy_of, "checkpoints", "8"))
  mgr.reload()
  mgr.save(8, args=checkpoints.ocp.args.StandardSave(nan_state))
  mgr.wait_until_finished()
  os.remove(os.path.join(copy_of, "results.json"))
  with caplog.at_level(logging.WARNING):
    res = train.train_and_evaluate(tiny(), copy_of)
  assert "step 8" in caplog.text and "not finite" in caplog.text and res["resumed_from"] == 4


def _abstract_state(workdir):
  config = checkpoints.read_config(workdir)
  _, test = train.load_splits(config, train.run_keys(config.seed).eval)
  model = factory.make_model(config.model, tuple(test.images.shape[1:]))
  tx = factory.make_optimizer(config.optimizer)
  return jax.eval_shape(lambda: train.create_train_state(model, tx, train.run_keys(config.seed).init,
                                                         jnp.asarray(test.images[:2])))


# --- diverged states are never saved ---------------------------------------------------------------------------------


def _nan_from_update(k):
  real = factory.make_optimizer

  def make(cfg):
    inner = real(cfg)

    def init(params):
      return inner.init(params), jnp.zeros([], jnp.int32)

    def update(grads, state, params=None):
      updates, inner_state = inner.update(grads, state[0], params)
      bad = state[1] >= k
      updates = jax.tree_util.tree_map(lambda u: jnp.where(bad, jnp.full_like(u, jnp.nan), u), updates)
      return updates, (inner_state, state[1] + 1)

    return optax.GradientTransformation(init, update)

  return make


def test_state_diverging_on_a_chunks_last_update_is_not_saved(tmp_path, monkeypatch):
  # Update 8 (the last of the chunk 6..8) makes the state NaN; every loss (computed before its update) is finite.
  monkeypatch.setattr(factory, "make_optimizer", _nan_from_update(7))
  with pytest.raises(FloatingPointError, match=r"Non-finite parameters or optimizer state after step 8; it was not "
                                               r"saved and the last good checkpoint \(step 4\) is intact"):
    train.train_and_evaluate(tiny(), str(tmp_path))
  assert checkpoints.manager(str(tmp_path)).all_steps() == [4]
  assert all(np.all(np.isfinite(p)) for p in _leaves(train.load_run(str(tmp_path))[2]))


def test_state_diverging_on_the_first_update_writes_no_checkpoint(tmp_path, monkeypatch):
  monkeypatch.setattr(factory, "make_optimizer", _nan_from_update(0))
  with pytest.raises(FloatingPointError, match=r"after step 1; .*no checkpoint was written"):
    train.train_and_evaluate(tiny(log_every=1, checkpoint_every=1, eval_every=4), str(tmp_path))
  assert checkpoints.manager(str(tmp_path)).all_steps() == []


# --- one run per workdir ---------------------------------------------------------------------------------------------

_HOLD_LOCK = """
import sys, time
from vae_jax import checkpoints
with checkpoints.WorkdirLock(sys.argv[1]):
  print("locked", flush=True)
  time.sleep(60)
"""


def test_a_second_run_on_a_locked_workdir_fails_at_once_naming_the_holder(tmp_path):
  workdir = str(tmp_path / "run")
  os.makedirs(workdir)
  holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, workdir], cwd=ROOT, stdout=subprocess.PIPE,
                            env=ENV, text=True)
  try:
    assert holder.stdout.readline().strip() == "locked"
    t0 = time.perf_counter()
    with pytest.raises(checkpoints.WorkdirBusy, match=rf"in use by another run \(PID {holder.pid},"):
      train.train_and_evaluate(tiny(), workdir)
    assert time.perf_counter() - t0 < 5
    assert not os.path.exists(os.path.join(workdir, "config.json"))  # nothing of the holder's run was touched
  finally:
    holder.kill()
    holder.wait()
  # The holder was killed: the kernel dropped its lock, and the stale lock file blocks nothing.
  assert open(os.path.join(workdir, checkpoints.LOCK_FILE)).read().strip() == str(holder.pid)
  res = train.train_and_evaluate(tiny(num_steps=2, eval_every=2, checkpoint_every=2), workdir)
  assert res["final_step"] == 2


def test_the_lock_is_released_when_the_run_fails(tmp_path):
  with pytest.raises(ValueError):
    train.train_and_evaluate(tiny_on_8_devices(eval_batch_size=12), str(tmp_path))
  with checkpoints.WorkdirLock(str(tmp_path)):
    pass


def test_a_different_config_on_an_existing_workdir_keeps_failing_clearly(copy_of):
  with pytest.raises(ValueError, match=r"different config \(fields \['seed'\] differ\)"):
    train.train_and_evaluate(tiny(seed=1), copy_of)


# --- full disk, unwritable workdir -----------------------------------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path):
  mnt = tmp_path / "disk"
  mnt.mkdir()
  r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
  if r.returncode:
    pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or r.returncode}); the full-disk cases need one")
  try:
    yield str(mnt)
  finally:
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(mount, leave_bytes):
  st = os.statvfs(mount)
  free = st.f_bavail * st.f_frsize
  with open(os.path.join(mount, "filler"), "wb") as f:
    try:
      f.write(b"\0" * max(free - leave_bytes, 0))
      f.flush()
    except OSError:
      pass


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # Orbax's writers, after the error
@pytest.mark.parametrize("leave_bytes", [0, 64 * 1024], ids=["no-space-at-all", "no-space-for-a-checkpoint"])
def test_full_disk_gives_one_clear_error_and_keeps_the_last_good_checkpoint(tmpfs, leave_bytes):
  workdir = os.path.join(tmpfs, "run")
  train.train_and_evaluate(tiny(num_steps=4), workdir)
  _fill(tmpfs, leave_bytes)
  with pytest.raises(checkpoints.CheckpointError, match=r"the disk is full; the last good checkpoint \(step 4\) "
                                                        r"is intact") as e:
    train.train_and_evaluate(tiny(), workdir)
  assert "\n" not in str(e.value)
  os.remove(os.path.join(tmpfs, "filler"))
  assert checkpoints.manager(workdir).all_steps() == [4]
  if leave_bytes:  # space back: the same command resumes and finishes (once is enough)
    res = train.train_and_evaluate(tiny(), workdir)
    assert res["resumed_from"] == 4 and res["final_step"] == 8


def test_read_only_workdir_gives_one_clear_error(tmpfs):
  subprocess.run(["mount", "-o", "remount,ro", tmpfs], check=True)
  with pytest.raises(checkpoints.CheckpointError, match=r"Cannot write to the workdir .*Read-only file system"):
    train.train_and_evaluate(tiny(), os.path.join(tmpfs, "run"))


def test_workdir_under_a_file_gives_one_clear_error(tmp_path):
  (tmp_path / "file").write_text("x")
  with pytest.raises(checkpoints.CheckpointError, match=r"Cannot write to the workdir .*Not a directory"):
    train.train_and_evaluate(tiny(), str(tmp_path / "file" / "run"))


# --- evaluation and data settings that used to be silently wrong ------------------------------------------------------


def test_num_eval_examples_below_eval_batch_size_still_evaluates(tmp_path):
  # 8 devices: the passing side of the divisibility checks below (a batch of 16 split over 8)
  config = tiny_on_8_devices(num_steps=2, eval_every=2, checkpoint_every=2, num_eval_examples=16)
  res = train.train_and_evaluate(config, str(tmp_path))
  assert np.isfinite(res["eval"]["eval/loss"])  # evaluated in one batch of 16, not skipped


@pytest.mark.parametrize("kw, match", [
    (dict(eval_batch_size=12), r"config.eval_batch_size=12 is not divisible by the number of devices \(8\)"),
    (dict(num_eval_examples=12), r"evaluation batch of 12 .* is not divisible .*config.num_eval_examples"),
    (dict(data=dataclasses.replace(tiny().data, exclude_label=10)), r"data.exclude_label=10 is not a label of "
                                                                   r"fashion_mnist"),
], ids=["eval_batch_size-vs-devices", "num_eval_examples-vs-devices", "exclude_label-beyond-classes"])
def test_bad_evaluation_or_data_settings_fail_before_training(tmp_path, kw, match):
  with pytest.raises(ValueError, match=match):
    train.train_and_evaluate(tiny_on_8_devices(**kw), str(tmp_path))  # 8: the divisibility checks
  assert not os.path.exists(tmp_path / "checkpoints")
