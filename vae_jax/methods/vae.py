"""The variational autoencoder: reconstruction NLL (one reparameterized sample) + KL(q(z|x) ‖ N(0, I)).

References:
  Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, Eq. (3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vae_jax.methods import _common

NAME = "vae"
TITLE = "VAE"  # the name in tables and figures


@dataclass(frozen=True)
class Config:
  """No hyperparameter but an optional input corruption (a denoising VAE)."""

  name: str = NAME
  corruption: str = "none"
  noise_level: float = 0.0

  SWEEPABLE: ClassVar[tuple[str, ...]] = ("noise_level",)

  def __post_init__(self):
    _common.check_name(self, NAME)
    _common.check_corruption(self)


def make_loss(model, config: Config, *, dataset_size: int) -> _common.LossFn:
  """``loss_fn(params, batch, key, step) -> (loss, {loss, recon, kl, elbo, beta})``: the negative ELBO."""
  del dataset_size
  return _common.variational(model, regularizer=_common.kl_regularizer(1.0),
                             corruption=_common.make_corruption(config.corruption, config.noise_level))
