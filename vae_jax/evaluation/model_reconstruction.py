"""How well a trained model reconstructs a set of images: BCE, MSE, PSNR and SSIM of its reconstructions, per image.

The experiments that compare autoencoders by reconstruction (bottleneck sizes, stacked training schedules) all
measure the same four numbers of ``model.reconstruct`` on a test set; this is that measurement, in one place.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from vae_jax import inference
from vae_jax.evaluation import reconstruction


def reconstruction_scores(model, params: Any, images: Any, *,
                          batch_size: int = inference.DEFAULT_BATCH_SIZE) -> dict[str, jax.Array]:
  """Per-image reconstruction quality of a model with a Bernoulli likelihood (decoder logits).

  Decodes the posterior mean (the code, for a deterministic AE) of every image, in fixed batches
  (:func:`vae_jax.inference.reconstruct`).

  Args:
    model: a model with ``likelihood == "bernoulli"`` (its raw outputs are logits).
    params: its parameters.
    images: ``[N, H, W, C]`` in [0, 1].
    batch_size: images per compiled batch.

  Returns:
    ``[N]`` arrays (on device): ``bce`` (cross-entropy of the logits, nats per image, summed over pixels), ``mse`` (per
    pixel), ``psnr`` (dB) and ``ssim`` of the reconstruction ``sigmoid(logits)`` against the image.

  Raises:
    ValueError: for a model whose likelihood is not Bernoulli.
  """
  likelihood = getattr(model, "likelihood", None)
  if likelihood != "bernoulli":
    raise ValueError(f"reconstruction_scores needs a Bernoulli likelihood (logits), got {likelihood!r}")
  images = np.asarray(images, np.float32)
  logits = inference.reconstruct(model, params, images, raw=True, batch_size=batch_size)
  recon = np.asarray(jax.nn.sigmoid(logits))
  return {
      "bce": reconstruction.per_image_bce(logits, images, from_logits=True),
      "mse": reconstruction.per_image_mse(recon, images),
      "psnr": reconstruction.psnr(recon, images),
      "ssim": reconstruction.ssim(recon, images),
  }
