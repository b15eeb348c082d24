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


def test_the_loop_traces_nothing_after_its_first_chunk(tmp_path, monkeypatch):
  """Every function the loop calls — its chunks, the evaluation, the finiteness check before a save — is traced before
  or during the first chunk: a trace (and compile) between later chunks would stall the run and count in
  ``loop_images_per_sec`` (the finiteness check's compile was ≈ 3 % of a 300-update benchmark run)."""
  import jax

  events, calls = [], []
  make = loop.make_multi_step

  def watched(*args, **kwargs):
    fn = make(*args, **kwargs)

    def call(*a, **k):
      calls.append(len(events))  # events so far, at each chunk's dispatch
      return fn(*a, **k)

    return call

  monkeypatch.setattr(loop, "make_multi_step", watched)
  listener = lambda name, *_, **__: events.append(name)  # noqa: E731
  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    res = train.train_and_evaluate(tiny(num_steps=8, log_every=2, checkpoint_every=4, eval_every=4), str(tmp_path))
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)
  assert res["final_step"] == 8 and len(calls) == 4
  traced_later = [e for e in events[calls[1]:] if "jaxpr_trace" in e]
  assert not traced_later, events[calls[1]:]
