"""The training loop end to end on a tiny config: outputs, reproducibility, resume (also after SIGKILL), faults."""

import dataclasses
import json
import shutil
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import checkpoints, configs, factory, train
from vae_jax.methods import beta_vae

from helpers import sigkilled_cli_run, tiny


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def _assert_bitwise_equal(a, b):
  for x, y in zip(_leaves(a), _leaves(b), strict=True):
    np.testing.assert_array_equal(x, y)


def test_end_to_end_outputs(tmp_path):
  res = train.train_and_evaluate(tiny(figures=True, tensorboard=True), str(tmp_path))
  assert res["final_step"] == 8
  for name in ("config.json", "results.json", "metrics.jsonl", "samples.png", "reconstructions.png", "curves.png"):
    assert (tmp_path / name).exists(), name
  assert any(p.name.startswith("events") for p in (tmp_path / "tb").iterdir())
  saved = json.loads((tmp_path / "results.json").read_text())
  assert saved["environment"]["device_count"] == 8 and saved["config"]["seed"] == 0
  assert np.isfinite(saved["eval"]["eval/loss"]) and saved["images_per_sec"] > 0
  records = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in records if "train/loss" in r] == [2, 4, 6, 8]
  assert sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir()) == [4, 8]
  # The run reloads by workdir.
  config, model, params, test = train.load_run(str(tmp_path))
  _assert_bitwise_equal(params, res["state"].params)


def test_same_seed_bit_identical_and_other_seed_differs(tmp_path):
  a = train.train_and_evaluate(tiny(), str(tmp_path / "a"))
  b = train.train_and_evaluate(tiny(), str(tmp_path / "b"))
  c = train.train_and_evaluate(tiny(seed=1), str(tmp_path / "c"))
  _assert_bitwise_equal(a["state"].params, b["state"].params)
  assert a["eval"] == b["eval"] and a["train"]["train/loss"] == b["train"]["train/loss"]
  assert not np.array_equal(_leaves(a["state"].params)[0], _leaves(c["state"].params)[0])


def test_resume_equals_uninterrupted(tmp_path):
  full = train.train_and_evaluate(tiny(), str(tmp_path / "full"))
  train.train_and_evaluate(tiny(num_steps=4), str(tmp_path / "part"))
  # What a kill in the middle of the next save leaves: Orbax's unfinished temporary folder of step 8, half written
  # (here: step 4's files, one of them cut short). The rerun must skip it and write step 8 anew.
  ckpts = tmp_path / "part" / "checkpoints"
  half = ckpts / "8.orbax-checkpoint-tmp-1733600000000000"
  shutil.copytree(ckpts / "4", half)
  cut = max((p for p in half.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
  cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
  resumed = train.train_and_evaluate(tiny(), str(tmp_path / "part"))
  assert resumed["resumed_from"] == 4 and resumed["start_step"] == 4
  _assert_bitwise_equal(full["state"].params, resumed["state"].params)
  _assert_bitwise_equal(full["state"].opt_state, resumed["state"].opt_state)
  _assert_bitwise_equal(full["state"].params, train.load_run(str(tmp_path / "part"))[2])  # step 8, written anew
  assert sorted(p.name for p in ckpts.iterdir() if p.name.isdigit()) == ["4", "8"]


def test_sigkill_mid_training_then_resume_is_bit_identical(tmp_path):
  workdir = tmp_path / "killed"
  # A checkpoint every 100 updates (each save of the state replicated on 8 fake devices costs ≈ 0.3 s here): the kill
  # lands within ≈ 50 ms of the first, with 300 updates (seconds) still to run.
  sigkilled_cli_run(workdir, ["--config.checkpoint_every", "100", "--config.eval_every", "200"], 400)
  # Uninterrupted, it saves only at the end: saving changes no state.
  full = train.train_and_evaluate(tiny(num_steps=400, checkpoint_every=400, eval_every=200), str(tmp_path / "full"))
  _, _, params, _ = train.load_run(str(workdir))
  _assert_bitwise_equal(full["state"].params, params)


def test_non_finite_loss_stops_naming_the_step_and_keeps_last_checkpoint(tmp_path, monkeypatch):
  real = factory.make_loss

  def poisoned(cfg, model, *, dataset_size):
    loss_fn = real(cfg, model, dataset_size=dataset_size)

    def fn(params, batch, key, step):
      loss, metrics = loss_fn(params, batch, key, step)
      bad = jnp.where(step >= 5, jnp.float32(jnp.nan), jnp.float32(1.0))
      return loss * bad, {**metrics, "loss": loss * bad}

    return fn

  monkeypatch.setattr(factory, "make_loss", poisoned)
  with pytest.raises(FloatingPointError, match=r"Non-finite loss .* at step 5; .*last good checkpoint \(step 4\)"):
    train.train_and_evaluate(tiny(), str(tmp_path))
  mgr = checkpoints.manager(str(tmp_path))
  assert mgr.all_steps() == [4]
  _, _, params, _ = train.load_run(str(tmp_path))
  assert all(np.all(np.isfinite(p)) for p in _leaves(params))


def test_refuses_to_resume_an_incompatible_run(tmp_path):
  train.train_and_evaluate(tiny(num_steps=4), str(tmp_path))
  other = tiny(model=dataclasses.replace(tiny().model, latent_dim=5))
  with pytest.raises(ValueError, match=r"different config \(fields \['model'\] differ\)"):
    train.train_and_evaluate(other, str(tmp_path))


def test_sprites_conv_beta_vae_generated_on_device(tmp_path):
  config = configs.Config(
      model=configs.ModelConfig(kind="vae", architecture="conv", conv_channels=(8, 8), conv_dense=(32,),
                                latent_dim=4),
      method=beta_vae.Config(beta=4.0),
      data=configs.DataConfig(name="sprites", resolution=32, num_test=64),
      batch_size=16, num_steps=4, log_every=2, eval_every=4, checkpoint_every=4, eval_batch_size=32,
      figures=False, tensorboard=False, progress=False)  # conftest's 8 devices: the one conv net trained sharded
  res = train.train_and_evaluate(config, str(tmp_path))
  assert res["final_step"] == 4 and np.isfinite(res["eval"]["eval/loss"]) and res["eval"]["eval/beta"] == 4.0


def test_indivisible_batch_for_the_devices(tmp_path):
  with pytest.raises(ValueError, match=r"global batch size 30 is not divisible by the number of devices \(8\)"):
    train.train_and_evaluate(tiny(batch_size=30), str(tmp_path))


def test_tensorboard_without_tensorboardx_warns_and_keeps_the_jsonl(tmp_path, monkeypatch, caplog):
  monkeypatch.setitem(sys.modules, "tensorboardX", None)  # makes `import tensorboardX` raise ImportError
  writer = train.writers.MetricWriter(str(tmp_path), tensorboard=True, enabled=True)
  assert writer.tb is None and "tensorboardX is not installed" in caplog.text
  writer.write(3, {"train/loss": 1.5})
  writer.close()
  with open(tmp_path / "metrics.jsonl") as f:
    assert json.loads(f.readline())["train/loss"] == 1.5
