"""evaluation.norm_profile and different_class_pairs: where interpolation paths go relative to the prior."""

import jax
import numpy as np
import pytest

from vae_jax import evaluation, latent


def test_linear_midpoints_shrink_and_slerp_keeps_the_norm():
  z = jax.random.normal(jax.random.key(0), (2, 500, 64))
  linear = evaluation.norm_profile(latent.interpolate(z[0], z[1], num_steps=11, method="linear"))
  slerp = evaluation.norm_profile(latent.interpolate(z[0], z[1], num_steps=11, method="slerp"))
  assert linear["midpoint_norm_ratio"] == pytest.approx(1 / np.sqrt(2), abs=0.03)
  assert linear["midpoint_prior_percentile"] < 0.01 and linear["min_norm_ratio"] < 0.8
  assert slerp["midpoint_norm_ratio"] == pytest.approx(1.0, abs=1e-4)
  assert slerp["midpoint_prior_percentile"] == pytest.approx(0.5, abs=0.1)
  assert slerp["endpoint_norm"] == pytest.approx(np.sqrt(64), rel=0.05)
  with pytest.raises(ValueError, match="steps >= 2, pairs, latent"):
    evaluation.norm_profile(np.zeros((5, 3)))


def test_pairs_differ_in_class():
  labels = np.arange(100) % 3
  a, b = evaluation.different_class_pairs(jax.random.key(0), labels, 200)
  assert 100 < len(a) == len(b) < 200 and np.all(labels[a] != labels[b])
