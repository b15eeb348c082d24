"""DIP-VAE-II: as DIP-VAE-I, with the covariance of q(z) = Cov[μ(x)] + E[diag σ²(x)] in the penalty.

References:
  Kumar, Sattigeri & Balakrishnan, ICLR 2018, Eq. (8)-(9). Locatello et al., ICML 2019, Table 2: λ_d = λ_od.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vae_jax.methods import _common, dip_vae_i

NAME = "dip_vae_ii"
TITLE = "DIP-VAE-II"  # the name in tables and figures


@dataclass(frozen=True)
class Config:
  """``lambda_od``, ``lambda_d``: as for DIP-VAE-I."""

  name: str = NAME
  lambda_od: float = 10.0
  lambda_d: float = 10.0

  SWEEPABLE: ClassVar[tuple[str, ...]] = ("lambda_od", "lambda_d")

  def __post_init__(self):
    _common.check_name(self, NAME)
    _common.check_nonnegative(self, "lambda_od", "lambda_d")


def make_loss(model, config: Config, *, dataset_size: int) -> _common.LossFn:
  """``loss_fn(params, batch, key, step) -> (loss, {loss, recon, kl, elbo, dip})``."""
  del dataset_size
  return dip_vae_i.make_dip_loss(model, config, second_order=True)
