"""Tests for vae_jax.evaluation.outliers: sklearn agreement, known extremes, the detector, corrected scores."""

import math

import jax
import numpy as np
import pytest
from sklearn import metrics

from vae_jax.evaluation import outliers


def _sklearn(scores_in, scores_out):
  y = np.r_[np.zeros(len(scores_in)), np.ones(len(scores_out))]
  s = np.r_[scores_in, scores_out]
  return metrics.roc_auc_score(y, s), metrics.average_precision_score(y, s)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn_on_random_scores(seed):
  rng = np.random.default_rng(seed)
  scores_in = rng.normal(size=300).astype(np.float32)
  scores_out = rng.normal(loc=0.7, size=50 + 40 * seed).astype(np.float32)
  want_roc, want_ap = _sklearn(scores_in, scores_out)
  np.testing.assert_allclose(jax.jit(outliers.auroc)(scores_in, scores_out), want_roc, atol=1e-5)
  np.testing.assert_allclose(jax.jit(outliers.auprc)(scores_in, scores_out), want_ap, atol=1e-5)


def test_ties_match_sklearn():
  rng = np.random.default_rng(3)
  scores_in = rng.integers(0, 5, size=200).astype(np.float32)  # heavy ties, within and across classes
  scores_out = rng.integers(2, 7, size=70).astype(np.float32)
  want_roc, want_ap = _sklearn(scores_in, scores_out)
  np.testing.assert_allclose(outliers.auroc(scores_in, scores_out), want_roc, atol=1e-5)
  np.testing.assert_allclose(outliers.auprc(scores_in, scores_out), want_ap, atol=1e-5)
  # All scores equal: a single threshold, AUROC 1/2 and AP equal to the positive fraction.
  np.testing.assert_allclose(outliers.auroc(np.zeros(30), np.zeros(10)), 0.5, atol=1e-6)
  np.testing.assert_allclose(outliers.auprc(np.zeros(30), np.zeros(10)), 0.25, atol=1e-6)


def test_perfect_reversed_and_uninformative():
  scores_in, scores_out = np.arange(100.0), 100.0 + np.arange(20.0)
  assert outliers.auroc(scores_in, scores_out) == 1.0
  assert outliers.auprc(scores_in, scores_out) == 1.0
  assert outliers.auroc(scores_out, scores_in) == 0.0
  rng = np.random.default_rng(0)
  same_in, same_out = rng.normal(size=4000), rng.normal(size=4000)
  np.testing.assert_allclose(outliers.auroc(same_in, same_out), 0.5, atol=0.02)
  np.testing.assert_allclose(outliers.auprc(same_in, same_out), 0.5, atol=0.02)


def test_shape_errors():
  with pytest.raises(ValueError, match=r"scores_in\[2, 2\]"):
    outliers.auroc(np.zeros((2, 2)), np.zeros(3))
  with pytest.raises(ValueError, match="non-empty"):
    outliers.auprc(np.zeros(3), np.zeros(0))


def _toy_score(x):
  """Distance from the origin: a stand-in for a trained autoencoder's reconstruction error."""
  return np.linalg.norm(np.asarray(x).reshape(len(x), -1), axis=1)


def test_outlier_detector_threshold_and_predictions():
  rng = np.random.default_rng(0)
  train = rng.normal(size=(1000, 4))
  detector = outliers.OutlierDetector(_toy_score, contamination=0.1).fit(train)
  np.testing.assert_allclose(detector.labels_.mean(), 0.1, atol=0.005)
  np.testing.assert_allclose(detector.threshold_, np.quantile(_toy_score(train), 0.9))
  far = 10.0 + rng.normal(size=(20, 4))
  test = np.concatenate([rng.normal(size=(200, 4)), far])
  flags = detector.predict(test)
  assert flags.dtype == np.int64 and set(np.unique(flags)) <= {0, 1}
  assert flags[-20:].all()
  assert flags[:200].mean() < 0.2
  np.testing.assert_allclose(detector.decision_function(far), _toy_score(far))


def test_outlier_detector_errors():
  with pytest.raises(ValueError, match="contamination"):
    outliers.OutlierDetector(_toy_score, contamination=0.0)
  with pytest.raises(ValueError, match="fit"):
    outliers.OutlierDetector(_toy_score).predict(np.zeros((2, 3)))
  with pytest.raises(ValueError, match=r"\[N\]"):
    outliers.OutlierDetector(lambda x: np.zeros((len(x), 2))).fit(np.zeros((4, 3)))


def test_likelihood_ratio_score_sign():
  nll_model = np.array([10.0, 10.0])
  nll_background = np.array([9.0, 12.0])
  np.testing.assert_allclose(outliers.likelihood_ratio_score(nll_model, nll_background), [1.0, -2.0])
  with pytest.raises(ValueError, match="nll_background"):
    outliers.likelihood_ratio_score(np.zeros(3), np.zeros(4))


def test_png_complexity_orders_simple_below_noisy():
  rng = np.random.default_rng(0)
  constant = np.full((1, 32, 32, 1), 0.5)
  noise = rng.uniform(size=(1, 32, 32, 1))
  colour_noise = rng.uniform(size=(1, 32, 32, 3))
  bits = outliers.png_complexity_bits(np.concatenate([constant, noise]))
  assert bits[0] < 0.2 * bits[1]
  assert bits[1] > 0.9 * 32 * 32 * 8  # incompressible uniform noise costs about 8 bits per pixel
  assert outliers.png_complexity_bits(colour_noise)[0] > 2.5 * bits[1]
  with pytest.raises(ValueError, match="C in"):
    outliers.png_complexity_bits(np.zeros((1, 8, 8, 2)))


def test_complexity_corrected_score():
  rng = np.random.default_rng(0)
  images = np.concatenate([np.zeros((1, 16, 16, 1)), rng.uniform(size=(1, 16, 16, 1))])
  nll_nats = np.array([100.0, 100.0])
  score = outliers.complexity_corrected_score(nll_nats, images)
  np.testing.assert_allclose(score, 100.0 / math.log(2.0) - outliers.png_complexity_bits(images))
  # Same likelihood, but the complex image explains more of it: it is less outlying.
  assert score[1] < score[0]
  with pytest.raises(ValueError, match="nll"):
    outliers.complexity_corrected_score(np.zeros(3), images)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("tpr", [0.95, 0.8, 1.0])
def test_fpr_at_tpr_matches_sklearn_roc_curve(seed, tpr):
  rng = np.random.default_rng(seed)
  scores_in = rng.integers(0, 30, size=300).astype(np.float64)  # ties within and across classes
  scores_out = rng.integers(10, 40, size=60 + 17 * seed).astype(np.float64)
  y = np.r_[np.zeros(len(scores_in)), np.ones(len(scores_out))]
  fpr, tprs, _ = metrics.roc_curve(y, np.r_[scores_in, scores_out], drop_intermediate=False)
  want = fpr[np.argmax(tprs >= tpr - 1e-12)]  # the first (highest) threshold reaching the TPR
  assert outliers.fpr_at_tpr(scores_in, scores_out, tpr=tpr) == pytest.approx(want, abs=1e-12)


def test_fpr_at_tpr_extremes_and_bad_input():
  assert outliers.fpr_at_tpr(np.zeros(10), np.ones(20)) == 0.0  # perfect separation
  assert outliers.fpr_at_tpr(np.ones(10), np.zeros(20)) == 1.0  # inverted: every inlier above every outlier
  # outliers 0.5 … 99.5: the 95th largest is 5.5, and the inliers 6 … 99 lie above it
  assert outliers.fpr_at_tpr(np.arange(100.0), np.arange(100.0) + 0.5) == pytest.approx(0.94)
  with pytest.raises(ValueError, match=r"tpr must be in \(0, 1\]"):
    outliers.fpr_at_tpr(np.zeros(3), np.ones(3), tpr=0.0)
  with pytest.raises(ValueError, match="NaN"):
    outliers.fpr_at_tpr(np.array([np.nan, 1.0]), np.ones(3))
