"""Checkpoints across code versions: a state saved before ``TrainState.extra`` existed restores; a checkpoint of a
different state structure is refused without moving anything (it is not corrupt)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest

from vae_jax import checkpoints, train


def _state(extra=None):
  params = {"w": jnp.arange(6.0, dtype=jnp.float32).reshape(2, 3)}
  tx = optax.adam(1e-3)
  return train.TrainState(step=jnp.int32(5), params=params, opt_state=tx.init(params),
                          extra={} if extra is None else extra)


def test_a_state_saved_without_extra_restores_with_empty_extra(tmp_path):
  mgr = checkpoints.manager(str(tmp_path))
  old = _state()
  old_layout = {"step": old.step, "params": old.params, "opt_state": old.opt_state}
  mgr.save(5, args=ocp.args.StandardSave(old_layout))
  mgr.wait_until_finished()
  restored, step = checkpoints.restore_newest_good(mgr, jax.eval_shape(_state), str(tmp_path))
  assert step == 5 and restored.extra == {}
  np.testing.assert_array_equal(restored.params["w"], old.params["w"])
  assert int(restored.step) == 5


def test_a_checkpoint_of_another_structure_is_refused_and_left_in_place(tmp_path):
  mgr = checkpoints.manager(str(tmp_path))
  checkpoints.save(mgr, 5, _state())
  checkpoints.wait(mgr)
  other = jax.eval_shape(lambda: _state(extra={"d": jnp.zeros(3)}))
  with pytest.raises(checkpoints.CheckpointError, match="different state structure.*nothing was moved"):
    checkpoints.restore_newest_good(mgr, other, str(tmp_path))
  assert (tmp_path / "checkpoints" / "5").is_dir()
  assert not (tmp_path / checkpoints.UNREADABLE_DIR).exists()
