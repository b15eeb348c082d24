"""Greedy layer-wise pre-training of a stacked AE: each stage learns, the stack starts from the stages exactly,
fine-tuning helps, the procedure is seeded and resumable, and the experiment script runs."""

import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import configs, factory, stacked, train
from vae_jax.configs import Config, DataConfig, ModelConfig, OptimizerConfig, StackedConfig
from vae_jax.methods import ae

# A denoising stack 784-32-8: two greedy stages of 20 updates, then 20 updates of fine-tuning. On one device: nothing
# here is about sharding (the one loop's 8-device runs are tests/test_train.py's), and conftest's 8 fake devices
# made this file's runs ≈ 1.7× longer.
CONFIG = Config(
    model=ModelConfig(kind="stacked_ae", stacked_sizes=(32, 8)),
    method=ae.Config(corruption="masking", noise_level=0.2),
    data=DataConfig(name="fashion_mnist", num_train=256, num_test=64),
    stacked=StackedConfig(stage_steps=(20,)),
    batch_size=32, num_steps=60, log_every=20, eval_every=20, checkpoint_every=20, eval_batch_size=64,
    optimizer=OptimizerConfig(learning_rate=3e-3), figures=False, tensorboard=False, progress=False, num_devices=1)


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def _assert_bitwise_equal(a, b):
  assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
  for x, y in zip(_leaves(a), _leaves(b), strict=True):
    np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def splits():
  return train.load_splits(CONFIG, train.run_keys(CONFIG.seed).eval)


@pytest.fixture(scope="module")
def run(tmp_path_factory, splits):
  workdir = str(tmp_path_factory.mktemp("greedy"))
  return workdir, stacked.greedy_pretrain(CONFIG, workdir, splits=splits)


def _loss(config, model, params, images):
  """The config's method's loss on ``images``, with a fixed key (the same corruption for every params)."""
  loss_fn = factory.make_loss(config.method, model, dataset_size=len(images))
  loss, _ = jax.jit(loss_fn)(params, {"image": jnp.asarray(images)}, jax.random.key(7), jnp.int32(0))
  return float(loss)


def test_config_validation():
  with pytest.raises(ValueError, match="add up to 40 updates, more than config.num_steps=30"):
    dataclasses.replace(CONFIG, num_steps=30)
  with pytest.raises(ValueError, match="one value or one per stage"):
    dataclasses.replace(CONFIG, stacked=StackedConfig(stage_steps=(1, 2, 3)))
  with pytest.raises(ValueError, match="must be positive"):
    StackedConfig(stage_steps=(0,))
  with pytest.raises(ValueError, match="stacked.stage_steps is for model.kind='stacked_ae'"):
    dataclasses.replace(CONFIG, model=ModelConfig(kind="ae"))
  with pytest.raises(ValueError, match="needs model.likelihood='gaussian'"):
    ModelConfig(kind="stacked_ae", stacked_activate_output=True)
  with pytest.raises(ValueError, match="are for model.kind='stacked_ae'"):
    ModelConfig(kind="ae", stacked_activate_code=True)
  with pytest.raises(ValueError, match="needs model.kind='stacked_ae' and config.stacked.stage_steps"):
    stacked.greedy_pretrain(dataclasses.replace(CONFIG, stacked=StackedConfig()), "/nonexistent")
  overridden = configs.override(CONFIG, "stacked.stage_steps", "10,30")
  assert stacked.stage_steps(overridden) == (10, 30) and stacked.finetune_steps(overridden) == 20


def test_stage_configs_and_seeds():
  s0, s1 = stacked.stage_config(CONFIG, 0), stacked.stage_config(CONFIG, 1)
  assert (s0.model.stacked_sizes, s0.model.likelihood, s0.model.stacked_activate_code,
          s0.model.stacked_activate_output) == ((32,), "bernoulli", True, False)
  assert (s1.model.stacked_sizes, s1.model.likelihood, s1.model.stacked_activate_code,
          s1.model.stacked_activate_output) == ((8,), "gaussian", False, True)
  assert s0.num_steps == s1.num_steps == 20 and s0.method == s1.method == CONFIG.method
  assert stacked.finetune_config(CONFIG).num_steps == 20 and stacked.finetune_config(CONFIG).seed == CONFIG.seed
  seeds = {stacked.stage_seed(seed, k) for seed in (0, 1) for k in (0, 1)}
  assert len(seeds) == 4 and stacked.stage_seed(0, 1) == stacked.stage_seed(0, 1) == s1.seed


def test_each_stage_lowers_its_own_loss(run, splits):
  _, res = run
  x_test = splits[1].images
  for k, stage in enumerate(res["stages"]):
    cfg = stacked.stage_config(CONFIG, k)
    model = factory.make_model(cfg.model, x_test.shape[1:])
    init = jax.jit(model.init)(train.run_keys(cfg.seed).init, jnp.asarray(x_test[:2]))["params"]  # the loop's init
    before, after = _loss(cfg, model, init, x_test), _loss(cfg, model, stage["params"], x_test)
    assert after < 0.9 * before, (k, before, after)
    assert stage["trained"] and stage["steps"] == 20 and stage["seed"] == cfg.seed
    x_test = stacked.encode(model, stage["params"], x_test).reshape(len(x_test), -1, 1, 1)


def test_stack_starts_from_the_trained_stages(run, splits):
  _, res = run
  pre, model = res["pretrained_params"], res["model"]
  for k, stage in enumerate(res["stages"]):
    _assert_bitwise_equal(pre[f"enc_{k}"], stage["params"]["enc_0"])
    _assert_bitwise_equal(pre[f"dec_{k}"], stage["params"]["dec_0"])
  x = jnp.asarray(splits[1].images[:16])
  init = model.init(jax.random.key(0), x)["params"]
  assert jax.tree_util.tree_structure(init) == jax.tree_util.tree_structure(pre)
  # The stack computes what the stages compute: code = stage 1 ∘ stage 0, reconstruction = dec 0 ∘ dec 1.
  stage_models = [factory.make_model(stacked.stage_config(CONFIG, k).model, shape)
                  for k, shape in enumerate([x.shape[1:], (32, 1, 1)])]
  p0, p1 = (s["params"] for s in res["stages"])
  h = stage_models[0].apply({"params": p0}, x, method="encode").mean
  z = stage_models[1].apply({"params": p1}, h.reshape(16, 32, 1, 1), method="encode").mean
  h_rec = stage_models[1].apply({"params": p1}, z, method="decode").reshape(16, 32)
  out = model.apply({"params": pre}, x)
  np.testing.assert_allclose(out.z, z, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(out.outputs, stage_models[0].apply({"params": p0}, h_rec, method="decode"),
                             rtol=1e-5, atol=1e-4)


def test_finetuning_lowers_the_end_to_end_loss(run, splits):
  _, res = run
  x = splits[1].images
  before = _loss(CONFIG, res["model"], res["pretrained_params"], x)
  after = _loss(CONFIG, res["model"], res["params"], x)
  assert res["finetune"]["trained"] and res["finetune"]["steps"] == 20
  assert after < before - 1.0, (before, after)


def test_rerun_skips_finished_stages_and_same_seed_is_bit_identical(run, splits, tmp_path):
  workdir, res = run
  sizes = {p: os.path.getsize(os.path.join(workdir, p, "metrics.jsonl")) for p in ("stage_0", "stage_1", "finetune")}
  again = stacked.greedy_pretrain(CONFIG, workdir, splits=splits)
  assert [s["trained"] for s in again["stages"]] == [False, False] and not again["finetune"]["trained"]
  assert sizes == {p: os.path.getsize(os.path.join(workdir, p, "metrics.jsonl")) for p in sizes}
  _assert_bitwise_equal(again["params"], res["params"])
  assert again["stages"][1]["eval"] == res["stages"][1]["eval"]
  summary = json.loads(open(os.path.join(workdir, "results.json")).read())
  assert [s["seed"] for s in summary["stages"]] == [stacked.stage_seed(0, k) for k in (0, 1)]
  # A fresh workdir with the same seed: the same parameters, bit for bit.
  fresh = stacked.greedy_pretrain(CONFIG, str(tmp_path / "fresh"), splits=splits)
  for a, b in zip(fresh["stages"], res["stages"]):
    _assert_bitwise_equal(a["params"], b["params"])
  _assert_bitwise_equal(fresh["params"], res["params"])
  # Training stage 0 further would leave stage 1 and the fine-tuning trained on stale codes: refused.
  longer = dataclasses.replace(CONFIG, stacked=StackedConfig(stage_steps=(30, 20)))
  with pytest.raises(ValueError, match="trained on its earlier codes"):
    stacked.greedy_pretrain(longer, str(tmp_path / "fresh"), splits=splits)


def test_experiment_smoke(tmp_path):
  from experiments import stacked as experiment

  path = experiment.main(["--size", "smoke", "--runs-root", str(tmp_path)])
  saved = json.loads(open(path).read())
  rows = saved["tables"]["Fashion-MNIST, stacked AE"]["rows"]
  assert [r[0] for r in rows] == ["(a) greedy + fine-tune", "(b) end-to-end", "(c) greedy only",
                                  "greedy, before fine-tuning"]
  assert all(np.isfinite(r[2]["mean"]) and 0.0 <= r[4]["mean"] <= 1.0 for r in rows)
