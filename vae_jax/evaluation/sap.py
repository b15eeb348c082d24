"""Separated Attribute Predictability (SAP; Kumar, Sattigeri & Balakrishnan 2018), as in disentanglement_lib.

For every pair (code dimension i, factor k) a score says how well dimension i *alone* predicts factor k: the
squared Pearson correlation (continuous factors) or the test accuracy of a one-feature linear classifier (discrete
factors, disentanglement_lib's default). SAP is the mean over factors of the gap between the best and the second
best dimension: high when each factor is predicted by one dimension only.
"""

from __future__ import annotations

import numpy as np
from jax.typing import ArrayLike
from sklearn import svm


def _check(codes: np.ndarray, factors: np.ndarray, who: str) -> None:
  if codes.ndim != 2 or factors.ndim != 2 or codes.shape[0] != factors.shape[0]:
    raise ValueError(f"sap: expected {who} codes [N, D] and factors [N, K] with the same N, got codes"
                     f"{list(codes.shape)} and factors{list(factors.shape)}.")
  if codes.shape[0] < 2:
    raise ValueError(f"sap: {who} needs at least 2 samples, got {codes.shape[0]}.")
  if not np.all(np.isfinite(codes)):
    raise ValueError(f"sap: {who} codes hold non-finite values; evaluate a model whose encoder is finite.")


def score_matrix(codes: ArrayLike, factors: ArrayLike, test_codes: ArrayLike | None = None,
                 test_factors: ArrayLike | None = None, *, continuous_factors: bool = False) -> np.ndarray:
  """``[D, K]`` predictability of factor ``k`` from code dimension ``i`` alone.

  Args:
    codes: ``[N, D]`` training codes (e.g. posterior means).
    factors: ``[N, K]`` their ground-truth factors (integers for ``continuous_factors=False``).
    test_codes, test_factors: held-out ``[M, D]`` / ``[M, K]`` for the classifiers' accuracy (discrete factors
      only; required there).
    continuous_factors: ``True``: squared Pearson correlation ``Cov(z_i, v_k)² / (Var z_i · Var v_k)`` (0 for a
      constant dimension); ``False``: accuracy on the test set of ``LinearSVC(C=0.01, class_weight="balanced")``
      trained on ``z_i`` alone, as disentanglement_lib.
  """
  codes, factors = np.asarray(codes, np.float64), np.asarray(factors)
  _check(codes, factors, "training")
  num_dims, num_factors = codes.shape[1], factors.shape[1]
  scores = np.zeros((num_dims, num_factors))
  if continuous_factors:
    f = factors.astype(np.float64)
    for i in range(num_dims):
      for k in range(num_factors):
        cov = np.cov(codes[:, i], f[:, k], ddof=1)
        if cov[0, 0] > 1e-12 and cov[1, 1] > 0:
          scores[i, k] = cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1])
    return scores
  if test_codes is None or test_factors is None:
    raise ValueError("sap: discrete factors (continuous_factors=False) need test_codes and test_factors for the "
                     "classifiers' held-out accuracy.")
  test_codes, test_factors = np.asarray(test_codes, np.float64), np.asarray(test_factors)
  _check(test_codes, test_factors, "test")
  if test_codes.shape[1] != num_dims or test_factors.shape[1] != num_factors:
    raise ValueError(f"sap: test codes/factors {list(test_codes.shape)}/{list(test_factors.shape)} do not match "
                     f"the training ones {list(codes.shape)}/{list(factors.shape)}.")
  for i in range(num_dims):
    for k in range(num_factors):
      if np.unique(factors[:, k]).size < 2:
        raise ValueError(f"sap: factor {k} is constant in the training sample; it cannot be predicted.")
      clf = svm.LinearSVC(C=0.01, class_weight="balanced")
      clf.fit(codes[:, i:i + 1], factors[:, k])
      scores[i, k] = np.mean(clf.predict(test_codes[:, i:i + 1]) == test_factors[:, k])
  return scores


def sap(codes: ArrayLike, factors: ArrayLike, test_codes: ArrayLike | None = None,
        test_factors: ArrayLike | None = None, *, continuous_factors: bool = False) -> dict[str, np.ndarray | float]:
  """SAP score: mean over factors of (best − second best) single-dimension predictability.

  disentanglement_lib evaluates it on 10,000 training and 5,000 test codes of posterior means with discrete
  factors. A code with a single dimension has no second best: its gap is the best score.

  Returns:
    ``sap`` (float), ``per_factor`` ``[K]`` gaps and ``score_matrix`` ``[D, K]``.

  References:
    Kumar, Sattigeri & Balakrishnan, "Variational Inference of Disentangled Latent Concepts from Unlabeled
    Observations", ICLR 2018, Sec. 3; Locatello et al., ICML 2019 (disentanglement_lib's estimator).
  """
  scores = score_matrix(codes, factors, test_codes, test_factors, continuous_factors=continuous_factors)
  top = -np.sort(-scores, axis=0)
  second = top[1] if scores.shape[0] > 1 else np.zeros(scores.shape[1])
  per_factor = top[0] - second
  return {"sap": float(np.mean(per_factor)), "per_factor": per_factor, "score_matrix": scores}
