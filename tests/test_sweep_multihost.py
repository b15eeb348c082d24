"""Sweeps through the command line: 2 processes (gloo) equal one process, and SIGKILL + rerun is bit-identical."""

import json
import os
import sys

import jax
import numpy as np
import pytest

from vae_jax import sweep

from helpers import TINY, kill_after_first_checkpoint_then_rerun, run_two_processes
from test_sweep_train import assert_bitwise, assert_close, four

SWEEP_FLAGS = ["--config.method.name", "beta_vae", "--sweep.method.beta", "1,4", "--sweep.seeds", "0-1"]


def test_two_processes_match_one_process(tmp_path):
  workdir = tmp_path / "two"
  run_two_processes("experiments.train_sweep", ["--config", TINY, "--workdir", str(workdir), *SWEEP_FLAGS,
                                                "--sweep.data_parallel", "2"])
  two = json.loads((workdir / "results.json").read_text())
  assert two["environment"]["process_count"] == 2 and two["mesh"] == {"member": 4, "data": 2}
  one = sweep.train_sweep(four(data_parallel=2), str(tmp_path / "one"))
  _, state = sweep.load_sweep(str(workdir))
  assert_close(jax.device_get(one["state"]).members.params, state.members.params, rtol=1e-4)
  for a, b in zip(one["members"], two["members"], strict=True):
    np.testing.assert_allclose(a["eval"]["eval/loss"], b["eval"]["eval/loss"], rtol=1e-5)
    assert os.path.exists(os.path.join(b["workdir"], "checkpoints", "8"))


# 46 s on the 2-core VM (two CLI processes and an uninterrupted 300-update sweep): the slow tier. CI keeps a sweep's
# resume (tests/test_sweep_train.py: a killed sweep's records, resume bit for bit, a diverged member) and a real
# SIGKILL of the one training loop (tests/test_train.py).
@pytest.mark.slow
def test_sigkill_mid_sweep_then_rerun_is_bit_identical(tmp_path):
  total = 300
  flags = [*SWEEP_FLAGS, "--config.num_devices", "1", "--config.num_steps", str(total),
           "--config.checkpoint_every", "20", "--config.eval_every", "300"]
  workdir = tmp_path / "killed"
  cmd = [sys.executable, "-m", "experiments.train_sweep", "--config", TINY, "--workdir", str(workdir), *flags]
  killed_at = kill_after_first_checkpoint_then_rerun(cmd, workdir, timeout=400)
  assert killed_at < total
  resumed = json.loads((workdir / "results.json").read_text())
  assert resumed["final_step"] == total and resumed["resumed_from"] >= killed_at
  full = sweep.train_sweep(four(num_devices=1, num_steps=total, checkpoint_every=20, eval_every=300),
                           str(tmp_path / "full"))
  _, state = sweep.load_sweep(str(workdir))
  assert_bitwise(jax.device_get(full["state"]), state)
  rows = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
  steps = [r["step"] for r in rows if r["member"] == 0 and "train/loss" in r]
  assert steps == sorted(set(steps))  # the rows past the restored checkpoint were dropped, none duplicated
