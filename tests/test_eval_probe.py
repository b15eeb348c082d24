"""Tests for vae_jax.evaluation.probe: separable blobs, random labels, agreement with scikit-learn."""

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from vae_jax.evaluation import probe


def _blobs(seed, n, *, num_classes=4, dim=6, spread=0.3):
  rng = np.random.default_rng(seed)
  centres = 3.0 * np.random.default_rng(100).normal(size=(num_classes, dim))
  labels = rng.integers(0, num_classes, size=n)
  codes = centres[labels] + spread * rng.normal(size=(n, dim))
  return codes.astype(np.float32), labels


def test_separable_blobs_are_decoded_perfectly():
  x_train, y_train = _blobs(0, 400)
  x_test, y_test = _blobs(1, 200)
  out = probe.linear_probe(x_train, y_train, x_test, y_test)
  assert out["accuracy"] >= 0.99 and out["train_accuracy"] >= 0.99
  assert 0 < out["num_steps"] <= 200


def test_random_labels_give_chance():
  rng = np.random.default_rng(0)
  x_train, x_test = rng.normal(size=(400, 6)), rng.normal(size=(2000, 6))
  y_train, y_test = rng.integers(0, 4, size=400), rng.integers(0, 4, size=2000)
  out = probe.linear_probe(x_train, y_train, x_test, y_test, l2=1e-2)
  np.testing.assert_allclose(out["accuracy"], 0.25, atol=0.04)


def test_agrees_with_sklearn_and_is_deterministic():
  x_train, y_train = _blobs(2, 300, spread=3.0)  # overlapping classes, so accuracy is informative
  x_test, y_test = _blobs(3, 1000, spread=3.0)
  l2 = 1e-2
  ours = probe.linear_probe(x_train, y_train, x_test, y_test, l2=l2)
  scaler = StandardScaler().fit(x_train)
  sk = LogisticRegression(C=1.0 / (l2 * len(x_train)), max_iter=1000).fit(scaler.transform(x_train), y_train)
  sk_accuracy = sk.score(scaler.transform(x_test), y_test)
  assert 0.4 < sk_accuracy < 0.95
  np.testing.assert_allclose(ours["accuracy"], sk_accuracy, atol=0.02)
  # Same objective, same optimum: compare the penalised training cross-entropy at sklearn's solution.
  logits = scaler.transform(x_train) @ sk.coef_.T + sk.intercept_
  log_probs = logits - logsumexp(logits, axis=1, keepdims=True)
  sk_objective = -log_probs[np.arange(len(y_train)), y_train].mean() + 0.5 * l2 * np.sum(sk.coef_**2)
  np.testing.assert_allclose(ours["train_objective"], sk_objective, rtol=1e-4)
  again = probe.linear_probe(x_train, y_train, x_test, y_test, l2=l2)
  assert again["accuracy"] == ours["accuracy"] and again["train_objective"] == ours["train_objective"]


def test_constant_feature_and_explicit_num_classes():
  x_train, y_train = _blobs(0, 200, num_classes=2)
  x_train[:, 0] = 5.0
  out = probe.linear_probe(x_train, y_train, x_train, y_train, num_classes=3)
  assert np.isfinite(out["train_objective"]) and out["accuracy"] >= 0.99


def test_shape_errors():
  with pytest.raises(ValueError, match=r"test_codes\[5, 3\]"):
    probe.linear_probe(np.zeros((5, 2)), np.zeros(5, int), np.zeros((5, 3)), np.zeros(5, int))
  with pytest.raises(ValueError, match=r"train_labels\[4\]"):
    probe.linear_probe(np.zeros((5, 2)), np.zeros(4, int), np.zeros((5, 2)), np.zeros(5, int))
  with pytest.raises(ValueError, match="l2"):
    probe.linear_probe(np.zeros((5, 2)), np.zeros(5, int), np.zeros((5, 2)), np.zeros(5, int), l2=0.0)
