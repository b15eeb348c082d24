"""Test-wide JAX settings: 8 fake CPU devices, LLVM at -O0 (quicker compiles), strict dtype promotion, no silent rank
promotion, float32 matmuls, and one persistent compilation cache per test session.

XLA_FLAGS must be set before jax initialises its backends, so it is set at import time here.
"""
import atexit
import os
import shutil
import tempfile

import pytest

# LLVM's optimizations off for the suite's XLA:CPU programs: tests run tiny models, so compiling is most of their
# time, and at -O0 it is ≈ 30 % shorter (tests/test_sweep_train.py + test_steps.py: 132 s → 91 s, 2-core VM). The
# semantics are XLA's either way; the numbers can differ from the default level's in the last bits (instruction
# selection, FMA contraction), and every comparison in the suite is between programs compiled alike — subprocesses
# inherit these flags, and `helpers.xla_flags` keeps them when it changes the device count.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8 --xla_backend_optimization_level=0")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# Compilation is most of the suite's time, and much of it compiles the same tiny programs again: the tiny config's
# step in dozens of tests, and again in every `python -m experiments.main` subprocess. One on-disk cache for the
# session (every compile kept, however quick) lets each program compile once. The directory is made by the first
# process to load this file (pytest itself, or the xdist controller) and travels in the environment to the xdist
# workers and to every subprocess a test starts; it is fresh for each session and removed at its end, so a run
# never depends on an earlier one. A cache hit loads the very executable a compile would give: results are the
# same bit for bit. A caller's own JAX_COMPILATION_CACHE_DIR is used as given.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
  _cache_dir = tempfile.mkdtemp(prefix="vae_jax-tests-xla-cache-")
  os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache_dir
  atexit.register(shutil.rmtree, _cache_dir, ignore_errors=True)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

# tests/helpers.py holds shared checks: let pytest explain their failed asserts as it does in test files.
pytest.register_assert_rewrite("helpers")

import jax  # noqa: E402

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
# The exactness tests (IS-NLL == a PPCA model's exact log p(x) to 5e-4 nats) check the maths, not the hardware: on a
# GPU, JAX's default matmul precision is TF32 and they miss by up to 2e-3 (measured on an H200); on a CPU this is a
# no-op. The library itself keeps JAX's default (see README, "On a GPU").
jax.config.update("jax_default_matmul_precision", "highest")


@pytest.fixture(scope="session")
def sprite_judge():
  """The sprites judge of a small budget (400 steps of 128 fresh sprites at 32×32, MLP 1024-128-64: a few seconds on
  a CPU), trained once per worker for tests/test_eval_sprite_judge.py and tests/test_eval_factor_edits.py, which both
  read it and neither changes it. It is a pure function of its key (test_the_judge_is_a_pure_function_of_its_key)."""
  from vae_jax import evaluation  # noqa: PLC0415

  return evaluation.train_sprite_judge(jax.random.key(0), resolution=32, hidden=(128, 64), batch_size=128,
                                       num_steps=400, log_every=100)
