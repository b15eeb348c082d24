"""SAP against independent references: squared Pearson correlations (np.corrcoef) and codes whose answer is known."""

import numpy as np
import pytest

from vae_jax.evaluation.sap import sap, score_matrix

RNG = np.random.default_rng(0)
N = 4000
FACTORS = RNG.integers(0, 8, size=(N, 3))
# A Householder reflection mixing every factor into every dimension.
MIX = np.eye(3) - 2.0 / 3.0 * np.ones((3, 3))


def _std(f):
  return (f - f.mean(0)) / f.std(0)


def test_continuous_scores_are_squared_correlations():
  codes = _std(FACTORS) @ MIX + 0.3 * RNG.normal(size=(N, 3))
  scores = score_matrix(codes, FACTORS, continuous_factors=True)
  reference = np.corrcoef(codes.T, FACTORS.T)[:3, 3:] ** 2
  np.testing.assert_allclose(scores, reference, rtol=1e-10, atol=1e-12)


def test_continuous_disentangled_code_scores_near_one_and_mixed_code_low():
  clean = sap(_std(FACTORS) + 0.01 * RNG.normal(size=(N, 3)), FACTORS, continuous_factors=True)
  assert clean["sap"] > 0.99
  mixed = sap(_std(FACTORS) @ MIX, FACTORS, continuous_factors=True)
  # Each factor is in every dimension with weights (1/3)² vs (2/3)²: gap (4/9 − 4/9) = 0.
  assert mixed["sap"] < 0.05
  np.testing.assert_allclose(np.sort(mixed["score_matrix"], axis=0)[-1], 4 / 9, atol=0.05)


def test_constant_dimension_scores_zero():
  codes = np.concatenate([_std(FACTORS), np.zeros((N, 1))], axis=1)
  scores = score_matrix(codes, FACTORS, continuous_factors=True)
  assert np.all(scores[3] == 0.0)


def test_discrete_binary_factors_known_answer():
  """Two binary factors, one code dimension each plus a noise dimension: accuracy 1 vs chance 0.5 → SAP 0.5."""
  f = RNG.integers(0, 2, size=(2 * N, 2))
  codes = np.stack([f[:, 0] + 0.05 * RNG.normal(size=2 * N), f[:, 1] + 0.05 * RNG.normal(size=2 * N),
                    RNG.normal(size=2 * N)], axis=1)
  out = sap(codes[:N], f[:N], codes[N:], f[N:])
  np.testing.assert_allclose(out["score_matrix"][[0, 1], [0, 1]], 1.0, atol=0.01)
  np.testing.assert_allclose(out["score_matrix"][2], 0.5, atol=0.05)
  np.testing.assert_allclose(out["sap"], 0.5, atol=0.05)


@pytest.mark.parametrize("codes, factors, match", [
    (np.zeros((10, 2)), np.zeros((9, 2)), "same N"),
    (np.zeros((10,)), np.zeros((10, 2)), r"codes \[N, D\]"),
    (np.full((10, 2), np.nan), np.zeros((10, 2)), "non-finite"),
])
def test_bad_inputs(codes, factors, match):
  with pytest.raises(ValueError, match=match):
    sap(codes, factors, continuous_factors=True)


def test_discrete_needs_test_set():
  with pytest.raises(ValueError, match="test_codes"):
    sap(np.zeros((10, 2)), np.zeros((10, 2), np.int64))
