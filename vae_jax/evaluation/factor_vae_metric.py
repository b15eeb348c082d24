"""The FactorVAE disentanglement metric (Kim & Mnih 2018), as defined in disentanglement_lib.

Codes are rescaled by their standard deviation over the data, and dimensions whose standard deviation is below
``prune_threshold`` (collapsed to the prior) are ignored. For each point: pick a factor ``k``, draw a batch with
factor ``k`` fixed to one value, and find the active dimension with the smallest rescaled variance. A
majority-vote classifier maps each dimension to the factor it is most often the argmin for; its accuracy is the
score. Unlike the β-VAE metric, a code with ``K − 1`` disentangled factors cannot reach 1.
"""

from __future__ import annotations

import logging

import jax
import numpy as np

from vae_jax.evaluation._sampling import (GroundTruthSampler, RepresentationFn, represent, sample_codes,
                                          sample_fixed_factor_groups)

logger = logging.getLogger(__name__)


def _votes(key: jax.Array, representation_fn: RepresentationFn, sampler: GroundTruthSampler, *, num_points: int,
           batch_size: int, global_variances: np.ndarray, active: np.ndarray, chunk_size: int) -> np.ndarray:
  """Returns ``[K, D]`` counts of (fixed factor, argmin dimension) over ``num_points`` batches."""
  index, factors = sample_fixed_factor_groups(key, sampler, num_points=num_points, num_groups=1,
                                              group_size=batch_size)
  codes = represent(representation_fn, sampler, factors.reshape(-1, sampler.num_factors), chunk_size=chunk_size)
  codes = codes.reshape(num_points, batch_size, -1)
  ratio = np.var(codes, axis=1, ddof=1) / np.where(active, global_variances, 1.0)[None, :]
  argmin = np.argmin(np.where(active[None, :], ratio, np.inf), axis=1)
  votes = np.zeros((sampler.num_factors, codes.shape[-1]), dtype=np.int64)
  np.add.at(votes, (index, argmin), 1)
  return votes


def factor_vae_metric(key: jax.Array, representation_fn: RepresentationFn, sampler: GroundTruthSampler, *,
                      batch_size: int = 64, num_train: int = 10000, num_eval: int = 5000,
                      num_variance_estimate: int = 10000, prune_threshold: float = 0.05,
                      chunk_size: int = 1024) -> dict[str, float | int]:
  """Accuracy of the majority-vote classifier from least-variance code dimension to fixed factor.

  Defaults are disentanglement_lib's (``unsupervised_study_v1``), including ``prune_dims.threshold = 0.05``,
  an absolute threshold on each dimension's standard deviation (not relative to the largest one).

  Args:
    key: JAX key for all sampling (split into variance estimate, train and eval).
    representation_fn: ``observations [n, ...] -> codes [n, D]``, e.g. the posterior mean.
    sampler: the ground-truth model; its factors must be uniform and independent.
    batch_size: size of each fixed-factor batch (``L`` in the paper); at least 2.
    num_train: votes used to build the classifier.
    num_eval: held-out votes.
    num_variance_estimate: samples used to estimate each dimension's global variance.
    prune_threshold: dimensions with global standard deviation below this are ignored.
    chunk_size: observations rendered and encoded per ``representation_fn`` call.

  Returns:
    ``train_accuracy``, ``eval_accuracy`` in ``[0, 1]`` (both 0 when no dimension is active) and
    ``num_active_dims``, the number of dimensions kept.

  References:
    Kim & Mnih, "Disentangling by Factorising", ICML 2018; Locatello et al., ICML 2019
    (disentanglement_lib: the definition and defaults followed).
  """
  if batch_size < 2 or min(num_train, num_eval) < 1 or num_variance_estimate < 2:
    raise ValueError(f"factor_vae_metric: need batch_size >= 2, num_train, num_eval >= 1 and "
                     f"num_variance_estimate >= 2, got {batch_size}, {num_train}, {num_eval}, "
                     f"{num_variance_estimate}.")
  variance_key, train_key, eval_key = jax.random.split(key, 3)
  codes, _ = sample_codes(variance_key, representation_fn, sampler, num_variance_estimate, chunk_size=chunk_size)
  global_variances = np.var(codes, axis=0, ddof=1)
  active = np.sqrt(global_variances) >= prune_threshold
  if not active.any():
    return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}

  logger.info("factor_vae_metric: %d active dimensions; encoding %d observations.", active.sum(),
              batch_size * (num_train + num_eval))
  options = dict(batch_size=batch_size, global_variances=global_variances, active=active, chunk_size=chunk_size)
  train_votes = _votes(train_key, representation_fn, sampler, num_points=num_train, **options)
  eval_votes = _votes(eval_key, representation_fn, sampler, num_points=num_eval, **options)
  classifier = np.argmax(train_votes, axis=0)  # [D]: the factor each dimension votes for most often
  dims = np.arange(train_votes.shape[1])
  return {
      "train_accuracy": float(train_votes[classifier, dims].sum() / train_votes.sum()),
      "eval_accuracy": float(eval_votes[classifier, dims].sum() / eval_votes.sum()),
      "num_active_dims": int(active.sum()),
  }
