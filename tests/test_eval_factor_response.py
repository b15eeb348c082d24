"""Factor response curves on codes whose answer is known in closed form: a monotonic code, a radial (U-shaped) one
and a folded one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import evaluation

SIZES = (8, 6, 5)
NAMES = ("pos", "radial", "folded")
SAMPLER = evaluation.GroundTruthSampler(factor_sizes=SIZES, observe=lambda f: f.astype(jnp.float32))


def codes(x):
  """z0 = factor 0 (monotonic); z1 = (factor 1 − 2.5)² (a U: the distance from the centre); z2 = factor 2 mod 3 (a
  fold: 0 1 2 0 1); z3 constant (a dead latent)."""
  return jnp.stack([x[:, 0], (x[:, 1] - 2.5) ** 2, jnp.mod(x[:, 2], 3.0), jnp.zeros_like(x[:, 0])], axis=1)


def test_mean_codes_and_summary_match_the_closed_forms():
  resp = evaluation.factor_response(jax.random.key(0), codes, SAMPLER, num_per_value=400, chunk_size=256)
  assert [r.shape for r in resp] == [(8, 4), (6, 4), (5, 4)]
  np.testing.assert_allclose(resp[0][:, 0], np.arange(8), atol=1e-6)  # the factor's own latent: exact
  np.testing.assert_allclose(resp[1][:, 1], (np.arange(6) - 2.5) ** 2, atol=1e-5)
  np.testing.assert_allclose(resp[2][:, 2], np.arange(5) % 3, atol=1e-6)
  np.testing.assert_array_equal(np.concatenate(resp)[:, 3], 0.0)
  # The other latents average over uniform draws: their expected code, not the fixed factor's.
  np.testing.assert_allclose(resp[0][:, 1], np.mean((np.arange(6) - 2.5) ** 2), atol=0.6)

  summary = evaluation.response_summary(resp, NAMES, ordinal=(True, True, True))
  assert [summary[n]["latent"] for n in NAMES] == [0, 1, 2]
  assert summary["pos"]["rho"] == pytest.approx(1.0) and summary["pos"]["monotonic"] is True
  assert summary["radial"]["rho"] == pytest.approx(0.0, abs=1e-12) and summary["radial"]["monotonic"] is False
  # Spearman of 0 1 2 0 1 against 0..4 by hand: ranks 1.5 3.5 5 1.5 3.5 against 1..5 → 2 / sqrt(10 · 9).
  assert summary["folded"]["rho"] == pytest.approx(2 / np.sqrt(90)) and summary["folded"]["monotonic"] is False
  assert summary["pos"]["share"] > 0.9  # the other latents barely move with factor 0


def test_unordered_and_dead_factors_have_no_rank_order():
  resp = [np.zeros((4, 3)), np.tile(np.arange(3.0), (5, 1))]  # nothing moves with either factor
  summary = evaluation.response_summary(resp, ("a", "b"), ordinal=(False, True))
  assert summary["a"]["monotonic"] is None and np.isnan(summary["a"]["rho"])
  assert np.isnan(summary["b"]["rho"]) and summary["b"]["monotonic"] is False and summary["b"]["share"] == 0.0


def test_bad_arguments_say_what_to_give():
  with pytest.raises(ValueError, match="num_per_value must be >= 1"):
    evaluation.factor_response(jax.random.key(0), codes, SAMPLER, num_per_value=0)
  with pytest.raises(ValueError, match="one of each per factor"):
    evaluation.response_summary([np.zeros((2, 2))], ("a", "b"), ordinal=(True, True))
