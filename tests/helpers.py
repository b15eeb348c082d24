"""Helpers shared by several test files: the tiny config, the interrupt-then-rerun runner, the two-process launcher,
the jaxpr walker.

Test files import it as ``import helpers`` (pytest puts ``tests/`` on ``sys.path``, as ``test_sweep_multihost.py``
relies on when it imports ``test_sweep_train``). One copy of each, so a fix to one (a longer wait on a loaded
machine, say) reaches every test that uses it.
"""

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time

import jax

from experiments import main as cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "experiments", "configs", "tiny.py")
ENV = {**os.environ, "PYTHONPATH": ROOT}


def tiny(**kw):
  """``experiments/configs/tiny.py`` (a VAE on 256 Fashion-MNIST images, 8 steps) with fields replaced."""
  return dataclasses.replace(cli.load_config_file(TINY), **kw)


def tiny_cli(*overrides: str):
  """The config ``python -m experiments.main --config tiny.py <overrides>`` would train: its command line parsed
  and its overrides applied as ``experiments.main`` does, nothing run."""
  args, parsed = cli.parse(["--config", TINY, "--workdir", os.devnull, *overrides])
  return cli.build_config(args.config, parsed)


def count_calls(monkeypatch, module, name: str) -> list:
  """Wraps ``module.name`` so that each call appends to the returned list: called inside a jitted function, it
  counts that function's traces."""
  calls, inner = [], getattr(module, name)

  def counting(*args, **kwargs):
    calls.append(1)
    return inner(*args, **kwargs)

  monkeypatch.setattr(module, name, counting)
  return calls


def checkpoint_steps(workdir) -> list[int]:
  """The steps of the checkpoints in ``<workdir>/checkpoints`` (none yet: [])."""
  ckpt = os.path.join(workdir, "checkpoints")
  return sorted(int(n) for n in os.listdir(ckpt) if n.isdigit()) if os.path.isdir(ckpt) else []


def kill_after_first_checkpoint_then_rerun(cmd, workdir, *, sig=signal.SIGKILL, timeout=300) -> int:
  """Starts ``cmd`` (a training command writing into ``workdir``), sends it ``sig`` once its first checkpoint is
  on disk, then reruns the same command to completion. Returns the last checkpoint step the killed run left.

  Why: the resumed run must equal an uninterrupted one bit for bit; the caller compares. The wait polls the
  checkpoint folder rather than sleeping, so the kill lands mid-run however loaded the machine is.
  """
  proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + timeout
  while not checkpoint_steps(workdir):
    assert proc.poll() is None, "the run ended before it could be killed"
    assert time.time() < deadline, "no checkpoint appeared"
    time.sleep(0.05)
  assert proc.poll() is None, "the run ended before it could be killed"
  proc.send_signal(sig)
  proc.wait()
  killed_at = max(checkpoint_steps(workdir))
  subprocess.run(cmd, cwd=ROOT, env=ENV, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                 timeout=timeout)
  return killed_at


def sigkilled_cli_run(workdir, overrides: list[str], steps_total: int) -> dict:
  """Trains ``tiny.py`` with ``overrides`` through ``python -m experiments.main`` in ``workdir``, SIGKILLs it after its
  first checkpoint, reruns it to the end, checks that the rerun resumed mid-run, and returns its ``results.json``
  (``configs.from_dict(results["config"])`` is the config to train uninterrupted for the comparison)."""
  cmd = [sys.executable, "-m", "experiments.main", "--config", TINY, "--workdir", str(workdir),
         "--config.num_steps", str(steps_total), *overrides]
  killed_at = kill_after_first_checkpoint_then_rerun(cmd, workdir)
  assert killed_at < steps_total
  with open(os.path.join(workdir, "results.json")) as f:
    resumed = json.load(f)
  assert resumed["final_step"] == steps_total and resumed["resumed_from"] >= killed_at
  return resumed


def datasets_available(*names: str) -> bool:
  """Whether every dataset in ``names`` loads here (the offline IDX files), for ``pytest.mark.skipif``."""
  from vae_jax import data

  try:
    for name in names:
      data.load(name, split="test", num_examples=1)
  except data.DatasetNotFoundError:
    return False
  return True


def free_port() -> int:
  """A TCP port free on localhost right now (for the jax.distributed coordinator)."""
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def xla_flags(devices: int) -> str:
  """This session's XLA_FLAGS (conftest's, or the caller's) with ``devices`` fake CPU devices instead: a subprocess
  that needs another device count still compiles as the test process does."""
  from benchmarks import driver  # noqa: PLC0415

  return driver.with_device_count(os.environ.get("XLA_FLAGS", ""), devices)


def assert_built_in_ci(module) -> None:
  """In CI (``$CI`` set: scripts/setup.sh installs g++ and libdnnl-dev there) the FFI module ``module`` (an
  ``ffi_build.Handler``'s ``available`` / ``why_unavailable``) must have built, so its tests run rather than skip;
  elsewhere the check is skipped."""
  import pytest  # noqa: PLC0415

  if not os.environ.get("CI"):
    pytest.skip("only asserted in CI")
  assert module.available(), module.why_unavailable()


def run_without_compiler(code: str, cache: str, switch: str) -> str:
  """Runs ``python -c code`` on one CPU device with no C++ compiler (``CXX=/nonexistent/c++``), an empty build
  cache and the FFI switch ``switch`` (``VAE_JAX_ONEDNN``, ``VAE_JAX_FUSED_ADAM``) at ``auto``; asserts it exits 0 and
  returns its stdout."""
  env = {**ENV, "CXX": "/nonexistent/c++", "VAE_JAX_CACHE": cache, switch: "auto", "XLA_FLAGS": xla_flags(1),
         "JAX_PLATFORMS": "cpu"}
  out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  return out.stdout


def check_without_compiler(tmp_path, module: str, switch: str, unavailable: str, use: str) -> str:
  """The FFI module ``module`` (``vae_jax.<module>``) in a process with no C++ compiler (:func:`run_without_compiler`):
  it says why it is unavailable and is not enabled at ``auto``; ``use`` (Python, run next) exercises its fallback;
  ``switch=1`` then raises naming ``unavailable`` (the module's words for its handlers) and the missing compiler; and
  nothing is left in the build cache ``tmp_path``. Returns the process's stdout for ``use``'s own prints."""
  code = "\n".join([f"import os, jax, jax.numpy as jnp\nfrom vae_jax import {module}",
                     f"assert not {module}.available()", f"print('WHY', {module}.why_unavailable())",
                     f"assert not {module}.enabled()", use, f"os.environ['{switch}'] = '1'",
                     f"try:\n  {module}.enabled()\nexcept RuntimeError as e:\n  print('ERR', e)"])
  stdout = run_without_compiler(code, str(tmp_path), switch)
  assert "WHY no C++ compiler (CXX=/nonexistent/c++ not found" in stdout
  assert f"ERR {switch}=1 but {unavailable} unavailable: no C++ compiler" in stdout
  assert not list(tmp_path.iterdir())  # nothing half-built left behind
  return stdout


def registrations_from_threads(module, monkeypatch, threads: int = 4) -> list[str]:
  """The FFI targets ``module`` (:mod:`vae_jax.onednn_conv`, :mod:`vae_jax.fused_adam`,
  :mod:`vae_jax.threefry_bernoulli`, :mod:`vae_jax.fusion_barrier`: its ``ffi_build.Handler``) registers when
  ``threads`` threads ask for it at once after it forgot its outcome (its handlers stay registered with XLA
  meanwhile)."""
  import threading  # noqa: PLC0415

  module._HANDLER.forget()
  calls = []
  monkeypatch.setattr(jax.ffi, "register_ffi_target", lambda *a, **k: calls.append(a[0]))
  workers = [threading.Thread(target=module.available) for _ in range(threads)]
  for t in workers:
    t.start()
  for t in workers:
    t.join()
  return calls


def run_two_processes(module: str, args: list[str], *, timeout: float = 400) -> list[str]:
  """Runs ``python -m <module> <args>`` as two jax.distributed processes on localhost (4 fake CPU devices each,
  CPU collectives over gloo, a fresh coordinator port); asserts both exit 0 and returns their outputs."""
  port = free_port()
  env = {**ENV, "XLA_FLAGS": xla_flags(4), "JAX_PLATFORMS": "cpu"}
  procs = [
      subprocess.Popen([sys.executable, "-m", module, *args, "--coordinator", f"127.0.0.1:{port}",
                        "--num_processes", "2", "--process_id", str(i), "--cpu_collectives", "gloo"],
                       cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
      for i in range(2)
  ]
  outs = [p.communicate(timeout=timeout)[0] for p in procs]
  for p, out in zip(procs, outs):
    assert p.returncode == 0, out[-3000:]
  return outs


def jaxpr_eqns(jaxpr):
  """Every equation of a jaxpr, those of its sub-jaxprs (jit, custom_jvp, custom_vjp) included."""
  for eqn in jaxpr.eqns:
    yield eqn
    for sub in jax.extend.core.jaxprs_in_params(eqn.params):
      yield from jaxpr_eqns(sub)
