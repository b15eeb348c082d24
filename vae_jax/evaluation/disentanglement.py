"""Every disentanglement score of one trained model, at stated sample sizes.

:func:`evaluate_disentanglement` runs the β-VAE metric, the FactorVAE metric, MIG, DCI and SAP (each its own module
here) on the posterior mean of a model, plus the KL of each latent, so that an experiment scores each model the same
way.
:class:`MetricSizes` holds the sample sizes; ``MetricSizes()`` is disentanglement_lib's (Locatello et al. 2019):
β-VAE and FactorVAE metrics 10,000 train / 5,000 eval points of batch 64 (FactorVAE's variances from 10,000
codes), MIG on 10,000 codes with 20 bins, DCI with sklearn's default gradient-boosted trees (100 stages) on
10,000 train / 5,000 test codes, SAP on 10,000 / 5,000. Smaller sizes are a documented speed-up; a study that
uses them should show that they do not move the scores by more than their seed spread.
"""

from __future__ import annotations

import dataclasses
import time

import jax
import numpy as np

from vae_jax import inference
from vae_jax.evaluation import _sampling
from vae_jax.evaluation.beta_vae_metric import beta_vae_metric
from vae_jax.evaluation.dci import dci
from vae_jax.evaluation.factor_vae_metric import factor_vae_metric
from vae_jax.evaluation.mig import mig
from vae_jax.evaluation.sap import sap

ACTIVE_KL = 0.05
"""Nats: a latent whose average KL to the prior is below this is counted as collapsed (inactive)."""


@dataclasses.dataclass(frozen=True)
class MetricSizes:
  """Sample sizes of :func:`evaluate_disentanglement`; the defaults are disentanglement_lib's.

  ``bvae_*``: β-VAE metric (pairs averaged per point, train / eval points); ``fvae_*``: FactorVAE metric (batch,
  train / eval votes, codes for the variance estimate); ``num_codes``: codes for the KL per latent, MIG and DCI's
  training set (its first ``dci_train``); ``dci_test``: held-out DCI codes; ``dci_estimators``: boosting stages;
  ``sap_train``/``sap_test``: SAP's codes (0 skips SAP; its training codes are the first of ``num_codes``).
  """

  bvae_batch: int = 64
  bvae_train: int = 10_000
  bvae_eval: int = 5_000
  fvae_batch: int = 64
  fvae_train: int = 10_000
  fvae_eval: int = 5_000
  fvae_var: int = 10_000
  num_codes: int = 10_000
  dci_train: int = 10_000
  dci_test: int = 5_000
  dci_estimators: int = 100
  sap_train: int = 10_000
  sap_test: int = 5_000

  def __post_init__(self):
    for f in dataclasses.fields(self):
      v = getattr(self, f.name)
      if not isinstance(v, int) or isinstance(v, bool) or v < (0 if f.name.startswith("sap") else 1):
        raise ValueError(f"MetricSizes.{f.name} must be a positive int, got {v!r}.")
    for f in ("dci_train", "sap_train"):
      if getattr(self, f) > self.num_codes:
        raise ValueError(f"MetricSizes.{f}={getattr(self, f)} exceeds num_codes={self.num_codes} (its codes are "
                         "the first of those).")
    if (self.sap_train == 0) != (self.sap_test == 0):
      raise ValueError("MetricSizes: set both sap_train and sap_test, or both to 0 to skip SAP.")


def kl_per_dim(mean: np.ndarray, logvar: np.ndarray) -> np.ndarray:
  """Average KL(q(z_d|x) ‖ N(0, 1)) of each latent over the codes, nats: ``[D]``."""
  mean, logvar = np.asarray(mean, np.float64), np.asarray(logvar, np.float64)
  return np.mean(0.5 * (np.exp(logvar) + mean**2 - 1.0 - logvar), axis=0)


def default_chunk_size(backend: str | None = None) -> int:
  """Images rendered and encoded per call by :func:`evaluate_disentanglement` on ``backend`` (default: JAX's).

  On the CPU 256: larger chunks were slower there (the conv encoder's activations at 64×64 outgrow the caches). On
  an accelerator 4,096: each call has a fixed cost (the factors' transfer and range check, two dispatches, the codes'
  way back) that at 256 images per call made the β-VAE and FactorVAE metrics take most of a model's scoring time on
  the H200 (``experiments/results/gpu/README.md``, third lease).
  """
  return 256 if (backend or jax.default_backend()) == "cpu" else 4096


def _keys_and_chunk(key: jax.Array, sizes: MetricSizes, chunk_size: int | None) -> tuple[tuple, int]:
  """The keys of :func:`evaluate_disentanglement`'s estimators (β-VAE metric, FactorVAE metric, codes, test codes)
  and its images per call."""
  return tuple(jax.random.split(key, 4)), max(sizes.bvae_batch * 2, chunk_size or default_chunk_size())


def beta_vae_score(key: jax.Array, model, params, sampler: _sampling.GroundTruthSampler,
                   sizes: MetricSizes = MetricSizes(), *, chunk_size: int | None = None) -> dict:
  """The β-VAE metric exactly as :func:`evaluate_disentanglement` computes it from ``key`` (the same factor draws),
  with everything :func:`beta_vae_metric` returns — its confusion matrix too, which that function does not keep."""
  (k_bvae, *_), chunk = _keys_and_chunk(key, sizes, chunk_size)
  return _beta_vae(k_bvae, inference.code_fn(model, params), sampler, sizes, chunk)


def factor_vae_score(key: jax.Array, model, params, sampler: _sampling.GroundTruthSampler,
                     sizes: MetricSizes = MetricSizes(), *, chunk_size: int | None = None) -> dict:
  """The FactorVAE metric exactly as :func:`evaluate_disentanglement` computes it from ``key`` (the same factor
  draws), with everything :func:`factor_vae_metric` returns."""
  (_, k_fvae, *_), chunk = _keys_and_chunk(key, sizes, chunk_size)
  return _factor_vae(k_fvae, inference.code_fn(model, params), sampler, sizes, chunk)


def _factor_vae(key: jax.Array, represent, sampler: _sampling.GroundTruthSampler, m: MetricSizes, chunk: int) -> dict:
  return factor_vae_metric(key, represent, sampler, batch_size=m.fvae_batch, num_train=m.fvae_train,
                           num_eval=m.fvae_eval, num_variance_estimate=m.fvae_var, chunk_size=chunk)


def _beta_vae(key: jax.Array, represent, sampler: _sampling.GroundTruthSampler, m: MetricSizes, chunk: int) -> dict:
  return beta_vae_metric(key, represent, sampler, batch_size=m.bvae_batch, num_train=m.bvae_train,
                         num_eval=m.bvae_eval, chunk_size=chunk)


def evaluate_disentanglement(key: jax.Array, model, params, sampler: _sampling.GroundTruthSampler,
                             sizes: MetricSizes = MetricSizes(), *, chunk_size: int | None = None) -> dict:
  """All disentanglement scores of a VAE-family model (representation: the posterior mean).

  Args:
    key: a typed key; split into one key per estimator, so two models evaluated with the same key see the same
      factor draws (a paired comparison).
    model, params: the trained model (anything :func:`vae_jax.inference.code_fn` accepts).
    sampler: the ground-truth model (its ``observe`` renders factors to images).
    sizes: the sample sizes.
    chunk_size: images per render-and-encode call (:func:`default_chunk_size` if ``None``); the scores do not
      depend on it beyond float rounding.

  Returns:
    Scalars ``beta_vae``, ``factor_vae`` (eval accuracies), ``mig``, ``dci_d``, ``dci_c``, ``dci_i`` (test
    accuracy), ``sap`` (NaN when skipped), ``kl`` (total nats), ``active`` (latents above :data:`ACTIVE_KL`),
    ``num_active_dims_fvae``, timings ``time_*_s``; arrays ``kl_per_dim`` ``[D]``, ``importance`` ``[D, K]``
    (DCI), ``mi_normalised`` ``[D, K]`` (MIG's mutual information over factor entropy), ``mig_per_factor``.
  """
  m = sizes
  represent = inference.code_fn(model, params)
  (k_bvae, k_fvae, k_codes, k_test), chunk = _keys_and_chunk(key, m, chunk_size)
  out: dict = {}
  t = time.perf_counter()
  out["beta_vae_metric"] = _beta_vae(k_bvae, represent, sampler, m, chunk)["eval_accuracy"]
  fvae = _factor_vae(k_fvae, represent, sampler, m, chunk)
  out["factor_vae_metric"] = fvae["eval_accuracy"]
  out["time_interventions_s"] = time.perf_counter() - t

  t = time.perf_counter()
  factors = np.asarray(sampler.sample_factors(k_codes, m.num_codes))
  mean, logvar = _sampling.represent(inference.posterior_fn(model, params), sampler, factors, chunk_size=chunk)
  kl = kl_per_dim(mean, logvar)
  mig_out = mig(mean, factors)
  num_test = max(m.dci_test, m.sap_test)
  test_codes, test_factors = _sampling.sample_codes(k_test, represent, sampler, num_test, chunk_size=chunk)
  out["time_codes_s"] = time.perf_counter() - t
  t = time.perf_counter()
  n = m.dci_train
  dci_out = dci(mean[:n], factors[:n], test_codes[:m.dci_test], test_factors[:m.dci_test],
                n_estimators=m.dci_estimators)
  out["time_dci_s"] = time.perf_counter() - t
  t = time.perf_counter()
  if m.sap_train:
    out["sap"] = sap(mean[:m.sap_train], factors[:m.sap_train], test_codes[:m.sap_test],
                     test_factors[:m.sap_test])["sap"]
  else:
    out["sap"] = float("nan")
  out["time_sap_s"] = time.perf_counter() - t
  out.update(mig=mig_out["mig"], dci_d=dci_out["disentanglement"], dci_c=dci_out["completeness"],
             dci_i=dci_out["informativeness_test"], kl=float(kl.sum()), active=int(np.sum(kl > ACTIVE_KL)),
             kl_per_dim=kl, importance=dci_out["importance_matrix"],
             mi_normalised=mig_out["mutual_info"] / mig_out["factor_entropy"][None, :],
             mig_per_factor=mig_out["per_factor"], num_active_dims_fvae=fvae["num_active_dims"])
  return out
