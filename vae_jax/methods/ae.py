"""The autoencoder: reconstruction only; with a ``corruption`` it is the denoising autoencoder.

References:
  Vincent et al., "Stacked Denoising Autoencoders", JMLR 2010, Sec. 3 (corrupt the input, reconstruct the clean one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from vae_jax.methods import _common

NAME = "ae"
TITLE = "AE"  # the name in tables and figures


@dataclass(frozen=True)
class Config:
  """``corruption``/``noise_level`` make it denoising: σ for ``gaussian``, the rate for ``masking`` and
  ``salt_and_pepper``."""

  name: str = NAME
  corruption: str = "none"
  noise_level: float = 0.0

  SWEEPABLE: ClassVar[tuple[str, ...]] = ("noise_level",)

  def __post_init__(self):
    _common.check_name(self, NAME)
    _common.check_corruption(self)


def make_loss(model, config: Config, *, dataset_size: int) -> _common.LossFn:
  """``loss_fn(params, batch, key, step) -> (loss, {loss, recon})``: the batch-mean reconstruction NLL."""
  del dataset_size
  return _common.reconstruction(model, corruption=_common.make_corruption(config.corruption, config.noise_level))
