"""Benchmark data: Fashion-MNIST train images as uint8 (the real data when installed, else a synthetic stand-in).

The synthetic stand-in (uniform random 8-bit pixels, fixed seed) has the same shape and dtype, so every
contender does the same work on it; results record which one was used.
"""

from __future__ import annotations

import functools

import numpy as np


def fashion_mnist_u8(num: int = 0) -> tuple[np.ndarray, str]:
  """``(images [N, 28, 28, 1] uint8, source)``: the first ``num`` train images (all if 0)."""
  images, source = _load_u8()
  return (images[:num] if num else images), source


@functools.lru_cache(maxsize=1)
def _load_u8() -> tuple[np.ndarray, str]:
  from vae_jax import data as data_lib  # noqa: PLC0415

  try:
    images = data_lib.load("fashion_mnist", split="train").images
    source = "fashion_mnist"
  except data_lib.DatasetNotFoundError:
    images, source = None, "synthetic"
  if images is None:
    return np.random.default_rng(0).integers(0, 256, (60_000, 28, 28, 1), dtype=np.uint8), source
  return np.round(images * 255.0).astype(np.uint8), source


def binarize_static(images_u8: np.ndarray, seed: int = 0) -> np.ndarray:
  """One Bernoulli sample per pixel, on the host: float32 in {0, 1} (the Flax example trains on fixed bits)."""
  rng = np.random.default_rng(seed)
  return (rng.random(images_u8.shape, dtype=np.float32) * 255.0 < images_u8).astype(np.float32)
