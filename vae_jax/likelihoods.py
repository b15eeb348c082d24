"""Observation models: how a decoder's raw output becomes a reconstruction loss and an image.

A model names its likelihood by a string (a hashable linen attribute); this table is the one place that maps the
name to the loss from :mod:`vae_jax.losses` and to the image-space mean.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax

from vae_jax import losses


class Likelihood(NamedTuple):
  """``nll(outputs, targets, log_scale) -> [batch]`` nats, and ``mean(outputs) -> image`` in [0, 1] space."""

  nll: Callable[[jax.Array, jax.Array, jax.Array], jax.Array]
  mean: Callable[[jax.Array], jax.Array]


def _bernoulli(outputs, targets, log_scale):
  del log_scale
  return losses.bernoulli_nll(outputs, targets)


def _gaussian(outputs, targets, log_scale):
  return losses.gaussian_nll(outputs, targets, log_scale=log_scale)


def _squared_error(outputs, targets, log_scale):
  del log_scale
  return losses.squared_error(jax.nn.sigmoid(outputs), targets)


LIKELIHOODS: dict[str, Likelihood] = {
    # decoder emits logits; the image is sigmoid(logits)
    "bernoulli": Likelihood(_bernoulli, jax.nn.sigmoid),
    # decoder emits the mean; log-scale fixed or learned (see modules.ObservationScale)
    "gaussian": Likelihood(_gaussian, lambda outputs: outputs),
    # plain autoencoder loss: squared error of sigmoid(outputs) against the input (not a normalised likelihood)
    "squared_error": Likelihood(_squared_error, jax.nn.sigmoid),
}


def get(name: str) -> Likelihood:
  """Returns the observation model called ``name``; a clear error lists the known ones."""
  try:
    return LIKELIHOODS[name]
  except KeyError:
    raise ValueError(f"Unknown likelihood {name!r}; choose one of {sorted(LIKELIHOODS)}.") from None
