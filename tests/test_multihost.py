"""Two processes on localhost (CPU collectives over gloo, 4 devices each) train like one process with 8 devices."""

import dataclasses

import chex
import jax
import numpy as np

from experiments import main as cli
from vae_jax import train

from helpers import TINY, run_two_processes


def test_two_processes_match_one_process(tmp_path):
  workdir = tmp_path / "two"
  run_two_processes("experiments.main", ["--config", TINY, "--workdir", str(workdir)], timeout=300)
  one = train.train_and_evaluate(dataclasses.replace(cli.load_config_file(TINY)), str(tmp_path / "one"))
  assert jax.device_count() == 8
  _, _, params, _ = train.load_run(str(workdir))
  chex.assert_trees_all_close(jax.device_get(one["state"].params), jax.device_get(params), rtol=1e-5, atol=1e-6)
  import json

  two = json.loads((workdir / "results.json").read_text())
  assert two["environment"]["process_count"] == 2 and two["environment"]["device_count"] == 8
  np.testing.assert_allclose(two["eval"]["eval/loss"], one["eval"]["eval/loss"], rtol=1e-5)
