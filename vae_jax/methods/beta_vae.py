"""The β-VAE: recon + β·KL (β > 1 presses towards a factorised code; β = 1 is the VAE).

References:
  Higgins et al., "β-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework", ICLR 2017,
  Eq. (4). Locatello et al., ICML 2019, Table 2: β ∈ {1, 2, 4, 6, 8, 16}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vae_jax.methods import _common

NAME = "beta_vae"
TITLE = "β-VAE"  # the name in tables and figures


@dataclass(frozen=True)
class Config:
  """``beta``: the KL weight; ``beta_warmup_steps`` > 0 anneals it linearly from 0. ``corruption`` and
  ``noise_level`` as for the VAE."""

  name: str = NAME
  beta: float = 4.0
  beta_warmup_steps: int = 0
  corruption: str = "none"
  noise_level: float = 0.0

  SWEEPABLE: ClassVar[tuple[str, ...]] = ("beta", "noise_level")

  def __post_init__(self):
    _common.check_name(self, NAME)
    _common.check_nonnegative(self, "beta", "beta_warmup_steps")
    _common.check_corruption(self)


def make_loss(model, config: Config, *, dataset_size: int) -> _common.LossFn:
  """``loss_fn(params, batch, key, step) -> (loss, {loss, recon, kl, elbo, beta})``."""
  del dataset_size

  def beta(step):
    return _common.linear_warmup(config.beta, step, config.beta_warmup_steps)

  return _common.variational(model, regularizer=_common.kl_regularizer(beta),
                             corruption=_common.make_corruption(config.corruption, config.noise_level))
