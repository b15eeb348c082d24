"""Sharpness scores against SciPy/NumPy references, and blur must lower them; Fréchet distance vs closed forms."""

import warnings

import numpy as np
import pytest
import scipy.ndimage

from vae_jax.evaluation.sharpness import frechet_distance, gradient_magnitude, laplacian_variance

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(size=(5, 16, 16, 1))


def test_laplacian_variance_matches_scipy():
  ref = np.array([scipy.ndimage.laplace(im[..., 0])[1:-1, 1:-1].var() for im in IMAGES])
  np.testing.assert_allclose(laplacian_variance(IMAGES), ref, rtol=1e-12)


def test_gradient_magnitude_matches_numpy_gradient():
  ref = []
  for im in IMAGES[..., 0]:
    gy, gx = np.gradient(im)
    ref.append(np.sqrt(gx ** 2 + gy ** 2)[1:-1, 1:-1].mean())
  np.testing.assert_allclose(gradient_magnitude(IMAGES), ref, rtol=1e-12)


def test_blur_lowers_both_scores():
  blurred = scipy.ndimage.gaussian_filter(IMAGES, sigma=(0, 1.5, 1.5, 0))
  assert np.all(gradient_magnitude(blurred) < gradient_magnitude(IMAGES))
  assert np.all(laplacian_variance(blurred) < laplacian_variance(IMAGES))
  assert np.all(laplacian_variance(np.full((2, 8, 8, 1), 0.3)) == 0)


def test_frechet_distance_of_identical_sets_is_zero():
  f = RNG.normal(size=(500, 4))
  assert abs(frechet_distance(f, f)) < 1e-8


def test_frechet_distance_matches_the_symmetric_formula():
  a = RNG.normal(size=(400, 3)) @ RNG.normal(size=(3, 3))
  b = RNG.normal(size=(300, 3)) @ RNG.normal(size=(3, 3)) + 1.0
  ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
  w, v = np.linalg.eigh(ca)
  sa = v @ np.diag(np.sqrt(w)) @ v.T
  w2 = np.linalg.eigvalsh(sa @ cb @ sa)
  ref = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca) + np.trace(cb) - 2 * np.sum(np.sqrt(np.clip(w2, 0, None)))
  np.testing.assert_allclose(frechet_distance(a, b), ref, rtol=1e-8)


def test_frechet_distance_population_closed_form():
  """N(0, I) vs N(m, 4I) in 2-D: |m|² + 2·(1 + 4 − 2·2) = |m|² + 2."""
  a = RNG.normal(size=(200_000, 2))
  b = 2.0 * RNG.normal(size=(200_000, 2)) + np.array([1.0, -1.0])
  np.testing.assert_allclose(frechet_distance(a, b), 4.0, rtol=0.02)


def test_frechet_distance_with_dead_features_is_the_distance_without_them_and_quiet():
  """Features constant in both sets (dead units of the judge) make Σa Σb singular; with several of them scipy's
  sqrtm warns that it "might be inaccurate" (the sprites judge's noise images did, in CI). They add nothing to the
  distance: it must equal the live features' distance, with no warning."""
  a2 = RNG.normal(size=(300, 2)) @ RNG.normal(size=(2, 2))
  b2 = RNG.normal(size=(250, 2)) @ RNG.normal(size=(2, 2)) + 1.0
  a, b = (np.concatenate([x, np.full((len(x), 6), 0.7)], axis=1) for x in (a2, b2))
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    got = frechet_distance(a, b)
  np.testing.assert_allclose(got, frechet_distance(a2, b2), rtol=1e-9)


@pytest.mark.parametrize("fn", [gradient_magnitude, laplacian_variance])
def test_bad_images(fn):
  with pytest.raises(ValueError, match=r"\[N, H, W, C\]"):
    fn(np.zeros((4, 4)))
  with pytest.raises(ValueError, match="non-finite"):
    fn(np.full((1, 4, 4, 1), np.nan))


def test_frechet_bad_shapes():
  with pytest.raises(ValueError, match="features"):
    frechet_distance(np.zeros((5, 2)), np.zeros((5, 3)))
