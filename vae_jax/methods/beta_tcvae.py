"""β-TCVAE: recon + α·MI + β·TC + γ·DWKL, the KL split by minibatch-weighted sampling.

With α = γ = 1 (the defaults) only the total correlation is re-weighted, as in disentanglement_lib. ``estimator``
picks how q(z) is estimated from the minibatch (:func:`vae_jax.losses.tc_decomposition`): ``"mws"`` (weighted
sampling, disentanglement_lib's, the default) or ``"mss"`` (stratified sampling, less biased at small batches).

References:
  Chen, Li, Grosse & Duvenaud, "Isolating Sources of Disentanglement in VAEs", NeurIPS 2018, Eq. (4), App. C.2.
  Locatello et al., ICML 2019, Table 2: β ∈ {1, 2, 4, 6, 8, 10}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax.numpy as jnp

from vae_jax import losses
from vae_jax.methods import _common

NAME = "beta_tcvae"
TITLE = "β-TCVAE"  # the name in tables and figures


@dataclass(frozen=True)
class Config:
  """``alpha``, ``beta``, ``gamma``: weights of the index-code MI, the total correlation and the dimension-wise
  KL; ``beta_warmup_steps`` > 0 anneals β linearly from 0; ``estimator``: ``"mws"`` or ``"mss"`` (not sweepable)."""

  name: str = NAME
  alpha: float = 1.0
  beta: float = 6.0
  gamma: float = 1.0
  beta_warmup_steps: int = 0
  estimator: str = "mws"

  SWEEPABLE: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma")

  def __post_init__(self):
    _common.check_name(self, NAME)
    _common.check_nonnegative(self, "alpha", "beta", "gamma", "beta_warmup_steps")
    _common.check_choice("estimator", self.estimator, losses.TC_ESTIMATORS)


def make_loss(model, config: Config, *, dataset_size: int) -> _common.LossFn:
  """``loss_fn(params, batch, key, step) -> (loss, {loss, recon, kl, elbo, mi, tc, dwkl, beta})``."""

  def reg(mean, logvar, z, step):
    parts = losses.tc_decomposition(z, mean, logvar, dataset_size=dataset_size, estimator=config.estimator)
    b = _common.linear_warmup(config.beta, step, config.beta_warmup_steps)
    mi, tc, dwkl = jnp.mean(parts["mi"]), jnp.mean(parts["tc"]), jnp.mean(parts["dwkl"])
    penalty = _common.f32(config.alpha) * mi + b * tc + _common.f32(config.gamma) * dwkl
    return penalty, {"mi": mi, "tc": tc, "dwkl": dwkl, "beta": b}

  return _common.variational(model, regularizer=reg)
