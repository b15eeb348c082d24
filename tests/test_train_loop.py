"""vae_jax.train.loop: Ctrl-C mid-run becomes RunInterrupted, naming the step reached and where a rerun resumes."""

import pytest

from vae_jax import checkpoints, train
from vae_jax.train import loop

from helpers import tiny


def test_keyboard_interrupt_mid_run_says_where_to_resume(tmp_path, monkeypatch):
  save = checkpoints.save

  def save_then_interrupt(mgr, step, state):
    save(mgr, step, state)
    if step == 4:
      raise KeyboardInterrupt

  monkeypatch.setattr(loop.checkpoints, "save", save_then_interrupt)
  with pytest.raises(train.RunInterrupted, match=r"^interrupted at step 4; rerun the same command to resume from "
                                                 r"step 4\.$"):
    train.train_and_evaluate(tiny(log_every=2, checkpoint_every=4, eval_every=4), str(tmp_path))
