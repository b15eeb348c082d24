"""Test-wide JAX settings: 8 fake CPU devices, strict dtype promotion, no silent rank promotion, float32 matmuls.

XLA_FLAGS must be set before jax initialises its backends, so it is set at import time here.
"""
import os

import pytest

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# tests/helpers.py holds shared checks: let pytest explain their failed asserts as it does in test files.
pytest.register_assert_rewrite("helpers")

import jax  # noqa: E402

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
# The exactness tests (IS-NLL == a PPCA model's exact log p(x) to 5e-4 nats) check the maths, not the hardware: on a
# GPU, JAX's default matmul precision is TF32 and they miss by up to 2e-3 (measured on an H200); on a CPU this is a
# no-op. The library itself keeps JAX's default (see README, "On a GPU").
jax.config.update("jax_default_matmul_precision", "highest")
