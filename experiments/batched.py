"""A trained model applied to many host images, a fixed number of them per jitted call."""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import numpy as np


def map_batches(fn: Callable[[np.ndarray], jax.Array], images: np.ndarray, *, batch_size: int) -> np.ndarray:
  """``fn`` on ``batch_size`` rows of ``images`` at a time (the last call gets the rest), concatenated on the host."""
  return np.concatenate([np.asarray(fn(images[i:i + batch_size])) for i in range(0, len(images), batch_size)])


@functools.partial(jax.jit, static_argnames="model")
def _outputs(params, images: jax.Array, *, model) -> jax.Array:
  return model.apply({"params": params}, images).outputs


def reconstruct(model, params, images: np.ndarray, *, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
  """(logits, images in [0, 1]) of a Bernoulli autoencoder's reconstructions, ``batch_size`` images per call."""
  logits = map_batches(functools.partial(_outputs, params, model=model), images, batch_size=batch_size)
  return logits, np.asarray(jax.nn.sigmoid(logits))
