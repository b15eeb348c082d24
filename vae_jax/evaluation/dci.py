"""Disentanglement, Completeness and Informativeness (Eastwood & Williams 2018), as in disentanglement_lib.

One gradient-boosted-trees classifier per factor predicts the factor from the whole code; its feature
importances give the ``[D, K]`` importance matrix ``R``. Disentanglement: each code dimension should matter for
one factor only. Completeness: each factor should be captured by one dimension only. Informativeness: how well
the factors can be predicted at all (classification accuracy).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor

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
        seed: int = 0, n_estimators: int = 100, workers: int | None = None) -> dict[str, np.ndarray | float]:
  """DCI scores from one ``GradientBoostingClassifier`` per factor.

  disentanglement_lib fits sklearn's default ``GradientBoostingClassifier()`` (``n_estimators=100``, depth 3) on
  10000 training and 5000 test samples. That costs ``K × n_estimators × (values per factor)`` trees, minutes on
  dSprites; fewer samples (a few thousand) or fewer estimators are a reasonable, documented speed-up. The K
  classifiers are independent, so they are fitted in threads (sklearn builds its trees without holding the GIL):
  the same scores, bit for bit, in a fraction of the time on a machine with several cores.

  Args:
    train_codes: ``[N, D]`` representations, ``D >= 2``.
    train_factors: ``[N, K]`` integer factors, ``K >= 2``; each factor must take at least two values.
    test_codes: ``[M, D]`` held-out representations.
    test_factors: ``[M, K]`` held-out factors.
    seed: ``random_state`` of the classifiers (it only breaks ties between equally good splits).
    n_estimators: boosting stages per classifier.
    workers: classifiers fitted at once, in threads; default one per factor, at most one per CPU this process may
      use. The scores do not depend on it.

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
  if workers is not None and workers < 1:
    raise ValueError(f"dci: workers must be a positive number of threads (or None: one per factor), got {workers}.")
  num_factors = train_factors.shape[1]

  def fit(k: int) -> tuple[np.ndarray, float, float]:
    logger.info("dci: fitting gradient-boosted trees for factor %d/%d.", k + 1, num_factors)
    model = GradientBoostingClassifier(n_estimators=n_estimators, random_state=seed)
    model.fit(train_codes, train_factors[:, k])
    return (np.abs(model.feature_importances_), np.mean(model.predict(train_codes) == train_factors[:, k]),
            np.mean(model.predict(test_codes) == test_factors[:, k]))

  threads = min(num_factors, workers) if workers else default_workers(num_factors)
  if threads > 1:
    with ThreadPoolExecutor(threads, thread_name_prefix="dci") as pool:
      fits = list(pool.map(fit, range(num_factors)))
  else:
    fits = [fit(k) for k in range(num_factors)]
  importance = np.stack([f[0] for f in fits], axis=1)
  return {
      **disentanglement_completeness(importance),
      "informativeness_train": float(np.mean([f[1] for f in fits])),
      "informativeness_test": float(np.mean([f[2] for f in fits])),
      "importance_matrix": importance,
  }


def default_workers(num_factors: int) -> int:
  """The threads :func:`dci` uses without ``workers``: one per factor, at most one per CPU this process may use."""
  return min(num_factors, usable_cpus())


def usable_cpus() -> int:
  """The CPUs this process may run on (its affinity where the OS says, else all of them)."""
  try:
    return len(os.sched_getaffinity(0))
  except AttributeError:  # not Linux
    return os.cpu_count() or 1
