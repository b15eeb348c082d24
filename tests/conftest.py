"""Test-wide JAX settings: 8 fake CPU devices, strict dtype promotion, no silent rank promotion.

XLA_FLAGS must be set before jax initialises its backends, so it is set at import time here.
"""
import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
