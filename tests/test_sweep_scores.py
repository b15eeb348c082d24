"""vae_jax.sweep.scores: the per-sweep score cache computes a score once and survives a restart."""

import json

import numpy as np

from vae_jax.evaluation import MetricSizes
from vae_jax.sweep import scores


def test_cache_computes_once_and_reloads(tmp_path):
  calls = []

  def fn():
    calls.append(1)
    return {"mig": 0.5, "kl_per_dim": np.arange(3.0)}

  cache = scores.ScoreCache(str(tmp_path))
  assert cache.get("m0/x", fn)["kl_per_dim"] == [0.0, 1.0, 2.0]  # arrays stored as lists (JSON)
  assert cache.get("m0/x", fn)["mig"] == 0.5 and len(calls) == 1
  again = scores.ScoreCache(str(tmp_path))  # a new process reads the file
  assert again.get("m0/x", fn)["mig"] == 0.5 and len(calls) == 1
  assert json.loads((tmp_path / "study_evals.json").read_text()) == {"m0/x": {"mig": 0.5, "kl_per_dim": [0, 1, 2]}}


def test_tag_fingerprints_sizes():
  assert scores.tag(MetricSizes()) == scores.tag(MetricSizes())
  assert scores.tag(MetricSizes()) != scores.tag(MetricSizes(dci_train=3000, dci_test=1500, dci_estimators=20))


def test_get_many_computes_the_missing_in_threads_keeps_what_finished_and_raises_the_error(tmp_path):
  import threading

  import pytest

  cache = scores.ScoreCache(str(tmp_path))
  cache.get("a", lambda: {"v": 0})
  names, barrier = [], threading.Barrier(2, timeout=10)

  def fn(v):
    def run():
      names.append(threading.current_thread().name)
      barrier.wait()  # both workers run at once, or this times out
      return {"v": v}
    return run

  got = cache.get_many({"a": fn(9), "b": fn(1), "c": fn(2)}, workers=2)
  assert got == {"a": {"v": 0}, "b": {"v": 1}, "c": {"v": 2}} and len(set(names)) == 2  # "a" was cached
  assert json.loads((tmp_path / "study_evals.json").read_text()) == got

  def boom():
    raise RuntimeError("scoring failed")

  with pytest.raises(RuntimeError, match="scoring failed"):
    cache.get_many({"d": lambda: {"v": 3}, "e": boom}, workers=2)
  assert scores.ScoreCache(str(tmp_path)).data["d"] == {"v": 3}  # finished before the error was raised: kept
  import time

  def slow(v):
    return lambda: time.sleep(0.3) or {"v": v}

  with pytest.raises(RuntimeError, match="scoring failed"):  # the queued ones are cancelled; the error is raised
    cache.get_many({"x": boom, "y": slow(1), "z": slow(2), "w": slow(3)}, workers=2)
  assert "w" not in scores.ScoreCache(str(tmp_path)).data  # never started
  with pytest.raises(ValueError, match="workers"):
    cache.get_many({"f": boom}, workers=0)
  assert scores.default_workers("cpu") == 1 and scores.default_workers("gpu") >= 1


def test_members_scored_in_threads_score_the_same_as_one_after_another(tmp_path):
  import functools

  import jax

  from vae_jax import evaluation, factory, methods, sweep
  from vae_jax.configs import Config, DataConfig, ModelConfig
  from vae_jax.data import sprites

  cfg = Config(model=ModelConfig(kind="vae", architecture="mlp", hidden=(16,), latent_dim=3),
               method=methods.get("beta_vae").Config(beta=1.0),
               data=DataConfig(name="sprites", resolution=16, num_test=32), batch_size=8, num_steps=4, log_every=2,
               eval_every=4, checkpoint_every=4, figures=False, tensorboard=False, progress=False, num_devices=1)
  # one device (as cfg says): the scores' threads are what is compared, not the sweep's sharding
  spec = sweep.make_sweep(cfg, {"method.beta": [1.0, 4.0]}, seeds=[0])
  workdir = str(tmp_path / "sweep")
  sweep.train_sweep(spec, workdir)
  model = factory.make_model(cfg.model, (16, 16, 1))
  sampler = evaluation.GroundTruthSampler(sprites.FACTOR_SIZES, functools.partial(sprites.render, resolution=16))
  sizes = MetricSizes(bvae_batch=4, bvae_train=16, bvae_eval=16, fvae_batch=4, fvae_train=16, fvae_eval=16,
                      fvae_var=64, num_codes=64, dci_train=64, dci_test=32, dci_estimators=2, sap_train=64, sap_test=32)
  real = lambda key: np.asarray(sprites.sample(key, 16, resolution=16)[0])  # noqa: E731
  out = {}
  for workers in (1, 2):
    (tmp_path / f"cache{workers}").mkdir()
    cache = scores.ScoreCache(str(tmp_path / f"cache{workers}"))
    rows, _ = scores.disentanglement_scores(spec, workdir, model, sampler, sizes, sizes, real, cache=cache,
                                            workers=workers)
    out[workers] = [{k: v for k, v in ev.items() if not k.startswith("time_") and k != "eval_time_s"}
                    for _, _, ev in rows]
  assert out[1] == out[2]
  assert len(jax.tree_util.tree_leaves(out[1])) > 10
