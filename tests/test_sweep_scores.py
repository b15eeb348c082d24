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
