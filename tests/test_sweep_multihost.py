"""Sweeps through the command line: 2 processes (gloo) equal one process, and SIGKILL + rerun is bit-identical."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np

from vae_jax import sweep
from test_sweep_train import assert_bitwise, assert_close, four

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "experiments", "configs", "tiny.py")
SWEEP_FLAGS = ["--config.method.name", "beta_vae", "--sweep.method.beta", "1,4", "--sweep.seeds", "0-1"]


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
      subprocess.Popen([sys.executable, "-m", "experiments.train_sweep", "--config", TINY, "--workdir", str(workdir),
                        *SWEEP_FLAGS, "--sweep.data_parallel", "2", "--coordinator", f"127.0.0.1:{port}",
                        "--num_processes", "2", "--process_id", str(i), "--cpu_collectives", "gloo"],
                       cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
      for i in range(2)
  ]
  outs = [p.communicate(timeout=400)[0] for p in procs]
  for p, out in zip(procs, outs):
    assert p.returncode == 0, out[-3000:]
  two = json.loads((workdir / "results.json").read_text())
  assert two["environment"]["process_count"] == 2 and two["mesh"] == {"member": 4, "data": 2}
  one = sweep.train_sweep(four(data_parallel=2), str(tmp_path / "one"))
  _, state = sweep.load_sweep(str(workdir))
  assert_close(jax.device_get(one["state"]).members.params, state.members.params, rtol=1e-4)
  for a, b in zip(one["members"], two["members"], strict=True):
    np.testing.assert_allclose(a["eval"]["eval/loss"], b["eval"]["eval/loss"], rtol=1e-5)
    assert os.path.exists(os.path.join(b["workdir"], "checkpoints", "8"))


def test_sigkill_mid_sweep_then_rerun_is_bit_identical(tmp_path):
  total = 300
  flags = [*SWEEP_FLAGS, "--config.num_devices", "1", "--config.num_steps", str(total),
           "--config.checkpoint_every", "20", "--config.eval_every", "300"]
  workdir = tmp_path / "killed"
  cmd = [sys.executable, "-m", "experiments.train_sweep", "--config", TINY, "--workdir", str(workdir), *flags]
  env = {**os.environ, "PYTHONPATH": ROOT}
  proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  ckpt = workdir / "checkpoints"
  deadline = time.time() + 300
  while time.time() < deadline:
    if ckpt.exists() and any(p.name.isdigit() for p in ckpt.iterdir()):
      break
    assert proc.poll() is None, "the sweep ended before it could be killed"
    time.sleep(0.05)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  killed_at = max(int(p.name) for p in ckpt.iterdir() if p.name.isdigit())
  assert killed_at < total
  subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                 timeout=400)
  resumed = json.loads((workdir / "results.json").read_text())
  assert resumed["final_step"] == total and resumed["resumed_from"] >= killed_at
  full = sweep.train_sweep(four(num_devices=1, num_steps=total, checkpoint_every=20, eval_every=300),
                           str(tmp_path / "full"))
  _, state = sweep.load_sweep(str(workdir))
  assert_bitwise(jax.device_get(full["state"]), state)
  rows = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
  steps = [r["step"] for r in rows if r["member"] == 0 and "train/loss" in r]
  assert steps == sorted(set(steps))  # the rows past the restored checkpoint were dropped, none duplicated
