"""The β-VAE disentanglement metric (Higgins et al. 2017), as defined in disentanglement_lib.

For each training point: pick a factor ``k`` uniformly, draw ``batch_size`` pairs of factor vectors that share
the value of factor ``k`` (all other factors independent), encode both members of each pair and average the
absolute code differences over the pairs. A linear classifier must predict ``k`` from that ``[D]`` vector; its
accuracy is the score. A dimension that encodes factor ``k`` alone has zero difference, so a disentangled code
scores 1; an uninformative one scores chance, ``1 / K``.
"""

from __future__ import annotations

import logging
import warnings

import jax
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from vae_jax.evaluation._sampling import GroundTruthSampler, RepresentationFn, represent, sample_fixed_factor_groups

logger = logging.getLogger(__name__)


def _features(key: jax.Array, representation_fn: RepresentationFn, sampler: GroundTruthSampler, *, num_points: int,
              batch_size: int, chunk_size: int) -> tuple[np.ndarray, np.ndarray]:
  """Returns ``(features [num_points, D], fixed factor index [num_points])``."""
  index, factors = sample_fixed_factor_groups(key, sampler, num_points=num_points, num_groups=batch_size,
                                              group_size=2)
  codes = represent(representation_fn, sampler, factors.reshape(-1, sampler.num_factors), chunk_size=chunk_size)
  codes = codes.reshape(num_points, batch_size, 2, -1)
  return np.mean(np.abs(codes[:, :, 0] - codes[:, :, 1]), axis=1), index


def beta_vae_metric(key: jax.Array, representation_fn: RepresentationFn, sampler: GroundTruthSampler, *,
                    batch_size: int = 64, num_train: int = 10000, num_eval: int = 5000,
                    chunk_size: int = 1024) -> dict[str, float]:
  """Accuracy of a linear classifier predicting which factor was held fixed from mean absolute code differences.

  The classifier is scikit-learn's ``LogisticRegression()`` with its defaults (as in disentanglement_lib's
  ``beta_vae_sklearn``), trained on unstandardised features. The defaults here are disentanglement_lib's.

  Args:
    key: JAX key for all sampling (split into train and eval).
    representation_fn: ``observations [n, ...] -> codes [n, D]``, e.g. the posterior mean.
    sampler: the ground-truth model; its factors must be uniform and independent.
    batch_size: pairs averaged per training point (``L`` in the paper).
    num_train: training points for the classifier.
    num_eval: held-out points.
    chunk_size: observations rendered and encoded per ``representation_fn`` call.

  Returns:
    ``train_accuracy`` and ``eval_accuracy`` in ``[0, 1]``; ``converged``: whether the classifier converged
    within its default iteration limit (on unstandardised features it often does not; the score keeps the
    limit, as disentanglement_lib does, and a log line says so instead of one warning per model); and
    ``eval_confusion``: ``[K][K]`` counts of the held-out points, row = the factor held fixed, column = the one
    predicted — where a score below 1 is lost (its trace over its sum is ``eval_accuracy``).

  References:
    Higgins et al., "β-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework",
    ICLR 2017; Locatello et al., "Challenging Common Assumptions in the Unsupervised Learning of
    Disentangled Representations", ICML 2019 (disentanglement_lib: the definition and defaults followed).
  """
  if min(batch_size, num_train, num_eval) < 1:
    raise ValueError(f"beta_vae_metric: batch_size, num_train, num_eval must be positive, "
                     f"got {batch_size}, {num_train}, {num_eval}.")
  logger.info("beta_vae_metric: encoding %d observations.", 2 * batch_size * (num_train + num_eval))
  train_key, eval_key = jax.random.split(key)
  sizes = dict(batch_size=batch_size, chunk_size=chunk_size)
  train_x, train_y = _features(train_key, representation_fn, sampler, num_points=num_train, **sizes)
  eval_x, eval_y = _features(eval_key, representation_fn, sampler, num_points=num_eval, **sizes)
  if np.unique(train_y).size < 2:
    raise ValueError(f"beta_vae_metric: num_train={num_train} drew a single fixed factor; use more points.")
  with warnings.catch_warnings():  # a log line below instead of sklearn's many-line warning per model
    warnings.simplefilter("ignore", ConvergenceWarning)
    model = LogisticRegression().fit(train_x, train_y)
  converged = bool(np.all(model.n_iter_ < model.max_iter))
  if not converged:
    logger.info("beta_vae_metric: the classifier stopped at its %d-iteration limit (sklearn's default, as in "
                "disentanglement_lib); the score is that classifier's accuracy.", model.max_iter)
  predicted, k = model.predict(eval_x), sampler.num_factors
  confusion = np.bincount(eval_y * k + predicted, minlength=k * k).reshape(k, k)
  return {
      "converged": converged,
      "train_accuracy": float(np.mean(model.predict(train_x) == train_y)),
      "eval_accuracy": float(np.mean(predicted == eval_y)),
      "eval_confusion": confusion.tolist(),
  }
