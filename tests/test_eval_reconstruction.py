"""Tests for vae_jax.evaluation.reconstruction: closed forms, an independent NumPy SSIM, behaviour under noise."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax.evaluation import reconstruction as rec


def _images(seed, shape=(3, 16, 16, 1)):
  return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


def _numpy_ssim(x, y, *, max_val=1.0, size=11, sigma=1.5, k1=0.01, k2=0.03):
  """Reference SSIM of one [H, W, C] pair: explicit 2-D Gaussian window slid over every valid position."""
  taps = np.arange(size) - (size - 1) / 2
  g = np.exp(-0.5 * (taps / sigma)**2)
  w = np.outer(g, g) / np.outer(g, g).sum()
  c1, c2 = (k1 * max_val)**2, (k2 * max_val)**2
  x, y = x.astype(np.float64), y.astype(np.float64)
  values = []
  for c in range(x.shape[2]):
    for i in range(x.shape[0] - size + 1):
      for j in range(x.shape[1] - size + 1):
        a, b = x[i:i + size, j:j + size, c], y[i:i + size, j:j + size, c]
        mu_a, mu_b = (w * a).sum(), (w * b).sum()
        var_a = (w * (a - mu_a)**2).sum()
        var_b = (w * (b - mu_b)**2).sum()
        cov = (w * (a - mu_a) * (b - mu_b)).sum()
        values.append((2 * mu_a * mu_b + c1) * (2 * cov + c2) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)))
  return np.mean(values)


def test_mse_and_psnr_closed_form():
  target = np.full((2, 4, 4, 1), 0.5, np.float32)
  pred = target + np.array([0.1, 0.01], np.float32)[:, None, None, None]
  mse = jax.jit(rec.per_image_mse)(pred, target)
  np.testing.assert_allclose(mse, [0.01, 1e-4], rtol=1e-4)
  np.testing.assert_allclose(jax.jit(rec.psnr)(pred, target), [20.0, 40.0], rtol=1e-4)
  np.testing.assert_allclose(rec.psnr(255 * pred, 255 * target, max_val=255.0), [20.0, 40.0], rtol=1e-4)
  assert rec.psnr(target, target)[0] == np.inf


def test_bce_logits_and_probabilities_agree_with_numpy():
  logits = np.random.default_rng(0).normal(size=(2, 3, 3, 2)).astype(np.float32)
  targets = _images(1, (2, 3, 3, 2))
  p = 1 / (1 + np.exp(-logits.astype(np.float64)))
  expected = -(targets * np.log(p) + (1 - targets) * np.log(1 - p)).sum(axis=(1, 2, 3))
  np.testing.assert_allclose(rec.per_image_bce(logits, targets, from_logits=True), expected, rtol=1e-5)
  np.testing.assert_allclose(rec.per_image_bce(p, targets, from_logits=False), expected, rtol=1e-4)


def test_ssim_of_identical_images_is_one():
  x = _images(0, (2, 16, 16, 3))
  np.testing.assert_allclose(jax.jit(rec.ssim)(x, x), [1.0, 1.0], atol=1e-5)


def test_ssim_matches_independent_numpy_implementation():
  x = _images(0, (2, 14, 13, 2))
  y = np.clip(x + np.random.default_rng(1).normal(scale=0.2, size=x.shape), 0, 1).astype(np.float32)
  got = rec.ssim(x, y)
  want = [_numpy_ssim(x[i], y[i]) for i in range(2)]
  np.testing.assert_allclose(got, want, atol=1e-5)
  got7 = rec.ssim(x, y, filter_size=7, filter_sigma=1.0, max_val=2.0)
  want7 = [_numpy_ssim(x[i], y[i], size=7, sigma=1.0, max_val=2.0) for i in range(2)]
  np.testing.assert_allclose(got7, want7, atol=1e-5)


def test_ssim_and_psnr_decrease_with_noise():
  # A smooth image (a blob) so that structure, not just luminance, is compared.
  yy, xx = np.mgrid[:24, :24]
  clean = np.exp(-((yy - 12)**2 + (xx - 10)**2) / 40.0)[None, :, :, None].astype(np.float32)
  rng = np.random.default_rng(0)
  scores_ssim, scores_psnr = [], []
  for sd in (0.01, 0.05, 0.1, 0.3):
    noisy = (clean + rng.normal(scale=sd, size=clean.shape)).astype(np.float32)
    scores_ssim.append(float(rec.ssim(noisy, clean)[0]))
    scores_psnr.append(float(rec.psnr(noisy, clean)[0]))
  assert np.all(np.diff(scores_ssim) < 0), scores_ssim
  assert np.all(np.diff(scores_psnr) < 0), scores_psnr
  assert scores_ssim[0] > 0.9 and scores_ssim[-1] < 0.5


def test_denoising_report():
  clean = _images(0, (4, 16, 16, 1))
  rng = np.random.default_rng(1)
  noisy = (clean + rng.normal(scale=0.3, size=clean.shape)).astype(np.float32)
  denoised = (clean + rng.normal(scale=0.03, size=clean.shape)).astype(np.float32)
  report = jax.jit(rec.denoising_report)(clean, noisy, denoised)
  np.testing.assert_allclose(report["psnr_noisy"], 10 * math.log10(1 / 0.09), atol=0.3)
  np.testing.assert_allclose(report["psnr_gain"], 20.0, atol=0.5)
  assert report["ssim_denoised"] > report["ssim_noisy"]
  assert report["ssim_gain"] > 0


@pytest.mark.parametrize("fn", [rec.per_image_mse, rec.psnr, rec.ssim,
                                functools.partial(rec.per_image_bce, from_logits=True)])
def test_shape_errors(fn):
  with pytest.raises(ValueError, match=r"\[2, 16, 16, 1\]"):
    fn(jnp.zeros((2, 16, 16, 1)), jnp.zeros((2, 16, 16, 3)))
  with pytest.raises(ValueError, match="N, H, W, C"):
    fn(jnp.zeros((16, 16)), jnp.zeros((16, 16)))


def test_ssim_rejects_images_smaller_than_window():
  with pytest.raises(ValueError, match="smaller than"):
    rec.ssim(jnp.zeros((1, 8, 8, 1)), jnp.zeros((1, 8, 8, 1)))
  assert rec.ssim(jnp.zeros((1, 8, 8, 1)), jnp.zeros((1, 8, 8, 1)), filter_size=5).shape == (1,)
