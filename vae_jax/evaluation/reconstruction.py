"""Per-image reconstruction and denoising quality: BCE, MSE, PSNR and SSIM.

Images are ``[N, H, W, C]`` with intensities in ``[0, max_val]`` (``[0, 1]`` by default). Every function
returns one value per image (no batch reduction) except :func:`denoising_report`, which averages; all are pure
and jit/vmap-safe, compute in float32, and check shapes at trace time (``ValueError`` naming the shapes).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from vae_jax import losses


def _as_images(name: str, pred: ArrayLike, target: ArrayLike) -> tuple[jax.Array, jax.Array]:
  pred = jnp.asarray(pred, dtype=jnp.float32)
  target = jnp.asarray(target, dtype=jnp.float32)
  if pred.shape != target.shape or pred.ndim != 4:
    raise ValueError(f"{name}: expected two [N, H, W, C] arrays of the same shape, "
                     f"got pred{list(pred.shape)} and target{list(target.shape)}.")
  return pred, target


def per_image_bce(predictions: ArrayLike, targets: ArrayLike, *, from_logits: bool) -> jax.Array:
  """Binary cross-entropy of targets under independent Bernoulli pixels, summed per image.

  Args:
    predictions: ``[N, H, W, C]`` logits (``from_logits=True``) or probabilities in ``[0, 1]``.
    targets: ``[N, H, W, C]`` values in ``[0, 1]``.
    from_logits: whether ``predictions`` are logits (exact, via softplus) or probabilities (clipped to
      ``[1e-6, 1 - 1e-6]`` before the logarithm). Required, so a sigmoid is never applied twice by accident.

  Returns:
    ``[N]`` nats per image (summed over pixels and channels).
  """
  predictions, targets = _as_images("per_image_bce", predictions, targets)
  if from_logits:
    return losses.bernoulli_nll(predictions, targets)
  p = jnp.clip(predictions, 1e-6, 1.0 - 1e-6)
  bce = -(targets * jnp.log(p) + (1.0 - targets) * jnp.log1p(-p))
  return jnp.sum(bce, axis=(1, 2, 3))


def per_image_mse(pred: ArrayLike, target: ArrayLike) -> jax.Array:
  """Mean squared error per image, averaged (not summed) over pixels and channels.

  Args:
    pred: ``[N, H, W, C]`` reconstructions.
    target: ``[N, H, W, C]`` references.

  Returns:
    ``[N]`` mean squared error per image, in squared intensity units.
  """
  pred, target = _as_images("per_image_mse", pred, target)
  return jnp.mean(jnp.square(pred - target), axis=(1, 2, 3))


def psnr(pred: ArrayLike, target: ArrayLike, *, max_val: float = 1.0) -> jax.Array:
  """Peak signal-to-noise ratio per image, ``10·log10(max_val² / MSE)``.

  Args:
    pred: ``[N, H, W, C]`` reconstructions.
    target: ``[N, H, W, C]`` references.
    max_val: the largest possible intensity (1.0 for ``[0, 1]`` images, 255 for 8-bit).

  Returns:
    ``[N]`` decibels; ``+inf`` for a perfect reconstruction.
  """
  mse = per_image_mse(pred, target)
  return 10.0 * jnp.log10(max_val**2 / mse)


def _gaussian_band(size: int, filter_size: int, sigma: float) -> jax.Array:
  """``[size - filter_size + 1, size]`` matrix applying a normalised 1-D Gaussian window ("valid" positions)."""
  taps = jnp.arange(filter_size, dtype=jnp.float32) - (filter_size - 1) / 2.0
  window = jnp.exp(-0.5 * jnp.square(taps / sigma))
  window = window / jnp.sum(window)
  out = size - filter_size + 1
  offsets = jnp.arange(size)[None, :] - jnp.arange(out)[:, None]
  in_window = (offsets >= 0) & (offsets < filter_size)
  return jnp.where(in_window, window[jnp.clip(offsets, 0, filter_size - 1)], 0.0)


@functools.partial(jax.jit, static_argnames=("filter_size",))
def ssim(pred: ArrayLike, target: ArrayLike, *, max_val: float = 1.0, filter_size: int = 11,
         filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> jax.Array:
  """Structural similarity per image with a Gaussian window, averaged over positions and channels.

  Local means, variances and covariance are Gaussian-weighted over each ``filter_size²`` window that fits
  inside the image ("valid" positions, as in ``tf.image.ssim`` and ``dm_pix.ssim``); each channel is treated
  independently and the SSIM map is averaged over positions and channels.

  Args:
    pred: ``[N, H, W, C]`` images, ``H, W >= filter_size``.
    target: ``[N, H, W, C]`` reference images.
    max_val: dynamic range ``L`` of the intensities.
    filter_size: side of the Gaussian window.
    filter_sigma: standard deviation of the Gaussian window, in pixels.
    k1: stabiliser, ``c1 = (k1·L)²``.
    k2: stabiliser, ``c2 = (k2·L)²``.

  Returns:
    ``[N]`` SSIM in ``[-1, 1]``; exactly 1 when ``pred == target``.

  References:
    Wang, Bovik, Sheikh & Simoncelli, "Image Quality Assessment: From Error Visibility to Structural
    Similarity", IEEE TIP 2004, Eq. 13 with the Gaussian window of Sec. III-C.
  """
  pred, target = _as_images("ssim", pred, target)
  _, height, width, _ = pred.shape
  if height < filter_size or width < filter_size:
    raise ValueError(f"ssim: images{list(pred.shape)} are smaller than the {filter_size}x{filter_size} window; "
                     f"pass a smaller filter_size.")
  rows = _gaussian_band(height, filter_size, filter_sigma)
  cols = _gaussian_band(width, filter_size, filter_sigma)

  def blur(x):
    return jnp.einsum("ih,nhwc,jw->nijc", rows, x, cols, precision=jax.lax.Precision.HIGHEST)

  c1 = (k1 * max_val)**2
  c2 = (k2 * max_val)**2
  mu_x, mu_y = blur(pred), blur(target)
  var_x = blur(pred * pred) - mu_x * mu_x
  var_y = blur(target * target) - mu_y * mu_y
  cov = blur(pred * target) - mu_x * mu_y
  numerator = (2.0 * mu_x * mu_y + c1) * (2.0 * cov + c2)
  denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
  return jnp.mean(numerator / denominator, axis=(1, 2, 3))


def denoising_report(clean: ArrayLike, noisy: ArrayLike, denoised: ArrayLike, *,
                     max_val: float = 1.0) -> dict[str, jax.Array]:
  """PSNR and SSIM against the clean images, of the noisy input (the baseline) and of the denoised output.

  Args:
    clean: ``[N, H, W, C]`` uncorrupted images.
    noisy: ``[N, H, W, C]`` corrupted inputs given to the denoiser.
    denoised: ``[N, H, W, C]`` the denoiser's reconstructions of ``clean`` from ``noisy``.
    max_val: dynamic range of the intensities.

  Returns:
    Scalars averaged over the ``N`` images: ``psnr_noisy``, ``psnr_denoised``, ``psnr_gain`` (dB, denoised
    minus noisy), ``ssim_noisy``, ``ssim_denoised``, ``ssim_gain``. A pixel-identical noisy input gives an
    infinite PSNR; mask such images first if that can happen.
  """
  psnr_noisy = jnp.mean(psnr(noisy, clean, max_val=max_val))
  psnr_denoised = jnp.mean(psnr(denoised, clean, max_val=max_val))
  ssim_noisy = jnp.mean(ssim(noisy, clean, max_val=max_val))
  ssim_denoised = jnp.mean(ssim(denoised, clean, max_val=max_val))
  return {
      "psnr_noisy": psnr_noisy,
      "psnr_denoised": psnr_denoised,
      "psnr_gain": psnr_denoised - psnr_noisy,
      "ssim_noisy": ssim_noisy,
      "ssim_denoised": ssim_denoised,
      "ssim_gain": ssim_denoised - ssim_noisy,
  }
