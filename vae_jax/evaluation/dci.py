"""Disentanglement, Completeness and Informativeness (Eastwood & Williams 2018), as in disentanglement_lib.

One gradient-boosted-trees classifier per factor predicts the factor from the whole code; its feature
importances give the ``[D, K]`` importance matrix ``R``. Disentanglement: each code dimension should matter for
one factor only. Completeness: each factor should be captured by one dimension only. Informativeness: how well
the factors can be predicted at all (classification accuracy).
"""

from __future__ import annotations

import logging

import numpy as np
from jax.typing import ArrayLike
from sklearn.ensemble import GradientBoostingClassifier

logger = logging.getLogger(__name__)


def _one_minus_entropy(probs: np.ndarray) -> np.ndarray:
  """``1 − H(p)`` along axis 0 with ``log base = len(p)``, after normalising; an all-zero column gives 0."""
  p = probs + 1e-11
  p = p / p.sum(axis=0, keepdims=True)
  return 1.0 + np.sum(p * np.log(p), axis=0) / np.log(p.shape[0])


def disentanglement_completeness(importance_matrix: ArrayLike) -> dict[str, np.ndarray | float]:
  """Disentanglement and completeness scores of an importance matrix.

  ``D_i = 1 − H_K(P_i·)`` with ``P_ij = R_ij / Σ_k R_ik``, averaged with weights ``ρ_i = Σ_j R_ij / Σ R``;
  ``C_j = 1 − H_D(P̃_·j)`` with ``P̃_ij = R_ij / Σ_d R_dj``, averaged with weights ``Σ_i R_ij / Σ R``. Entropies
  use log base ``K`` (resp. ``D``), so each score lies in ``[0, 1]``. An all-zero matrix gets uniform weights.

  Args:
    importance_matrix: ``[D, K]`` non-negative importance of code dimension ``i`` for factor ``j``; ``D, K >= 2``.

  Returns:
    ``disentanglement``, ``completeness`` (floats), ``per_code_disentanglement`` ``[D]`` and
    ``per_factor_completeness`` ``[K]``.

  References:
    Eastwood & Williams, "A Framework for the Quantitative Evaluation of Disentangled Representations",
    ICLR 2018.
  """
  r = np.abs(np.asarray(importance_matrix, dtype=np.float64))
  if r.ndim != 2 or min(r.shape) < 2:
    raise ValueError(f"disentanglement_completeness: expected importance_matrix [D, K] with D, K >= 2, "
                     f"got {list(r.shape)}.")
  per_code = _one_minus_entropy(r.T)
  per_factor = _one_minus_entropy(r)
  weights = r if r.sum() > 0 else np.ones_like(r)
  code_weight = weights.sum(axis=1) / weights.sum()
  factor_weight = weights.sum(axis=0) / weights.sum()
  return {
      "disentanglement": float(np.sum(per_code * code_weight)),
      "completeness": float(np.sum(per_factor * factor_weight)),
      "per_code_disentanglement": per_code,
      "per_factor_completeness": per_factor,
  }


def dci(train_codes: ArrayLike, train_factors: ArrayLike, test_codes: ArrayLike, test_factors: ArrayLike, *,
        seed: int = 0, n_estimators: int = 100) -> dict[str, np.ndarray | float]:
  """DCI scores from one ``GradientBoostingClassifier`` per factor.

  disentanglement_lib fits sklearn's default ``GradientBoostingClassifier()`` (``n_estimators=100``, depth 3) on
  10000 training and 5000 test samples. That costs ``K × n_estimators × (values per factor)`` trees, minutes on
  dSprites; fewer samples (a few thousand) or fewer estimators are a reasonable, documented speed-up.

  Args:
    train_codes: ``[N, D]`` representations, ``D >= 2``.
    train_factors: ``[N, K]`` integer factors, ``K >= 2``; each factor must take at least two values.
    test_codes: ``[M, D]`` held-out representations.
    test_factors: ``[M, K]`` held-out factors.
    seed: ``random_state`` of the classifiers (it only breaks ties between equally good splits).
    n_estimators: boosting stages per classifier.

  Returns:
    ``disentanglement``, ``completeness``, ``informativeness_train``, ``informativeness_test`` (mean
    accuracy over factors, as disentanglement_lib reports it despite the paper's error-based definition),
    ``importance_matrix`` ``[D, K]``, ``per_code_disentanglement`` ``[D]``, ``per_factor_completeness`` ``[K]``.

  References:
    Eastwood & Williams, ICLR 2018; Locatello et al., ICML 2019 (disentanglement_lib: the estimator followed).
  """
  arrays = [np.asarray(a) for a in (train_codes, train_factors, test_codes, test_factors)]
  train_codes, train_factors, test_codes, test_factors = arrays
  if (any(a.ndim != 2 for a in arrays) or train_codes.shape[0] != train_factors.shape[0]
      or test_codes.shape[0] != test_factors.shape[0] or train_codes.shape[1] != test_codes.shape[1]
      or train_factors.shape[1] != test_factors.shape[1]):
    raise ValueError(f"dci: expected codes [N, D] and factors [N, K] for train and test, got "
                     f"train_codes{list(train_codes.shape)}, train_factors{list(train_factors.shape)}, "
                     f"test_codes{list(test_codes.shape)}, test_factors{list(test_factors.shape)}.")
  num_factors = train_factors.shape[1]
  importance = np.zeros((train_codes.shape[1], num_factors))
  train_accuracy, test_accuracy = [], []
  for k in range(num_factors):
    logger.info("dci: fitting gradient-boosted trees for factor %d/%d.", k + 1, num_factors)
    model = GradientBoostingClassifier(n_estimators=n_estimators, random_state=seed)
    model.fit(train_codes, train_factors[:, k])
    importance[:, k] = np.abs(model.feature_importances_)
    train_accuracy.append(np.mean(model.predict(train_codes) == train_factors[:, k]))
    test_accuracy.append(np.mean(model.predict(test_codes) == test_factors[:, k]))
  return {
      **disentanglement_completeness(importance),
      "informativeness_train": float(np.mean(train_accuracy)),
      "informativeness_test": float(np.mean(test_accuracy)),
      "importance_matrix": importance,
  }
