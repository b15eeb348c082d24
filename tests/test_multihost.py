"""Two processes on localhost (CPU collectives over gloo, 4 devices each) train like one process with 8 devices."""

import dataclasses
import os
import socket
import subprocess
import sys

import jax
import numpy as np

from experiments import main as cli
from vae_jax import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "experiments", "configs", "tiny.py")


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_two_processes_match_one_process(tmp_path):
  workdir = tmp_path / "two"
  port = _free_port()
  env = {**os.environ, "PYTHONPATH": ROOT, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
         "JAX_PLATFORMS": "cpu"}
  procs = [
      subprocess.Popen([sys.executable, "-m", "experiments.main", "--config", TINY, "--workdir", str(workdir),
                        "--coordinator", f"127.0.0.1:{port}", "--num_processes", "2", "--process_id", str(i),
                        "--cpu_collectives", "gloo"],
                       cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
      for i in range(2)
  ]
  outs = [p.communicate(timeout=300)[0] for p in procs]
  for p, out in zip(procs, outs):
    assert p.returncode == 0, out[-3000:]
  one = train.train_and_evaluate(dataclasses.replace(cli.load_config_file(TINY)), str(tmp_path / "one"))
  assert jax.device_count() == 8
  _, _, params, _ = train.load_run(str(workdir))
  for a, b in zip(jax.tree_util.tree_leaves(one["state"].params), jax.tree_util.tree_leaves(params), strict=True):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
  import json

  two = json.loads((workdir / "results.json").read_text())
  assert two["environment"]["process_count"] == 2 and two["environment"]["device_count"] == 8
  np.testing.assert_allclose(two["eval"]["eval/loss"], one["eval"]["eval/loss"], rtol=1e-5)
