"""Tests for vae_jax.latent: closed-form interpolation paths, factor swaps, factor latents and attribute vectors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import latent


def _unit(rng, *shape):
  v = rng.normal(size=shape).astype(np.float32)
  return v / np.linalg.norm(v, axis=-1, keepdims=True)


# --- interpolate -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", latent.INTERPOLATION_METHODS)
def test_interpolate_endpoints_exact_and_shape(method):
  rng = np.random.default_rng(0)
  z0, z1 = rng.normal(size=(2, 3, 5)).astype(np.float32)  # [3, 5] each: a batch of 3 pairs
  path = jax.jit(lambda a, b: latent.interpolate(a, b, num_steps=7, method=method))(z0, z1)
  assert path.shape == (7, 3, 5) and path.dtype == jnp.float32
  np.testing.assert_array_equal(path[0], z0)
  np.testing.assert_array_equal(path[-1], z1)


def test_linear_midpoint_and_even_spacing():
  z0, z1 = np.array([1.0, -2.0, 4.0], np.float32), np.array([3.0, 2.0, 0.0], np.float32)
  path = np.asarray(latent.interpolate(z0, z1, num_steps=5))
  np.testing.assert_allclose(path[2], (z0 + z1) / 2, rtol=1e-6)
  np.testing.assert_allclose(np.diff(path, axis=0), np.broadcast_to((z1 - z0) / 4, (4, 3)), rtol=1e-5, atol=1e-6)


def test_slerp_keeps_unit_norm_between_unit_vectors():
  rng = np.random.default_rng(1)
  z0, z1 = _unit(rng, 16, 8), _unit(rng, 16, 8)
  path = np.asarray(latent.interpolate(z0, z1, num_steps=11, method="slerp"))
  np.testing.assert_allclose(np.linalg.norm(path, axis=-1), 1.0, atol=1e-5)
  # Constant angular speed: equal angles between consecutive points.
  cos = np.sum(path[1:] * path[:-1], axis=-1)
  np.testing.assert_allclose(cos, np.broadcast_to(cos[:1], cos.shape), atol=1e-5)


def test_slerp_midpoint_of_orthogonal_unit_vectors():
  a, b = np.eye(4, dtype=np.float32)[:2]
  path = np.asarray(latent.interpolate(a, b, num_steps=3, method="slerp"))
  np.testing.assert_allclose(path[1], (a + b) / np.sqrt(2.0), rtol=1e-6, atol=1e-7)


def test_slerp_interpolates_the_norm_linearly():
  a = np.array([2.0, 0.0], np.float32)
  b = np.array([0.0, 4.0], np.float32)
  path = np.asarray(latent.interpolate(a, b, num_steps=5, method="slerp"))
  np.testing.assert_allclose(np.linalg.norm(path, axis=-1), [2.0, 2.5, 3.0, 3.5, 4.0], rtol=1e-6)
  angles = np.arctan2(path[:, 1], path[:, 0])
  np.testing.assert_allclose(angles, np.linspace(0, np.pi / 2, 5), atol=1e-6)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_slerp_falls_back_to_linear_for_parallel_vectors(sign):
  a = np.array([1.0, 2.0, -1.0], np.float32)
  b = sign * 3.0 * a
  slerp = np.asarray(latent.interpolate(a, b, num_steps=6, method="slerp"))
  linear = np.asarray(latent.interpolate(a, b, num_steps=6, method="linear"))
  assert np.all(np.isfinite(slerp))
  np.testing.assert_allclose(slerp, linear, rtol=1e-6, atol=1e-6)
  zero = np.zeros(3, np.float32)  # a zero code has no direction: linear too
  np.testing.assert_allclose(latent.interpolate(zero, a, num_steps=3, method="slerp"),
                             latent.interpolate(zero, a, num_steps=3), atol=1e-7)


def test_interpolate_errors():
  z = np.zeros((2, 4), np.float32)
  with pytest.raises(ValueError, match=r"same shape"):
    latent.interpolate(z, np.zeros((2, 5), np.float32), num_steps=3)
  with pytest.raises(ValueError, match="num_steps"):
    latent.interpolate(z, z, num_steps=1)
  with pytest.raises(ValueError, match="method"):
    latent.interpolate(z, z, num_steps=3, method="cubic")
  with pytest.raises(ValueError, match=r"\[\.\.\., latent\]"):
    latent.interpolate(np.float32(1.0), np.float32(2.0), num_steps=3)


# --- swap_factors --------------------------------------------------------------------------------------------------


def test_swap_copies_exactly_the_given_dims():
  rng = np.random.default_rng(2)
  src, tgt = rng.normal(size=(2, 5, 6)).astype(np.float32)
  out = np.asarray(jax.jit(lambda a, b: latent.swap_factors(a, b, (1, 4)))(src, tgt))
  np.testing.assert_array_equal(out[:, [1, 4]], tgt[:, [1, 4]])
  np.testing.assert_array_equal(out[:, [0, 2, 3, 5]], src[:, [0, 2, 3, 5]])
  np.testing.assert_array_equal(latent.swap_factors(src, tgt, ()), src)
  np.testing.assert_array_equal(latent.swap_factors(src, tgt, range(6)), tgt)
  np.testing.assert_array_equal(latent.swap_factors(src[0], tgt[0], [2])[2], tgt[0, 2])  # a single code [latent]


def test_swap_errors():
  z = np.zeros((3, 4), np.float32)
  with pytest.raises(ValueError, match="out of range"):
    latent.swap_factors(z, z, [4])
  with pytest.raises(ValueError, match="same shape"):
    latent.swap_factors(z, z[:2], [0])
  with pytest.raises(ValueError, match="integer latent indices"):
    latent.swap_factors(z, z, [1.5])


# --- factor_latents ------------------------------------------------------------------------------------------------


def test_factor_latents_recovers_a_permutation():
  perm = np.array([3, 0, 4, 1, 2])  # factor k lives in latent perm[k]
  importance = np.zeros((6, 5))  # one extra, unused latent
  importance[perm, np.arange(5)] = np.array([0.9, 0.5, 0.7, 0.3, 0.8])
  assert latent.factor_latents(importance, top_k=1) == [(int(d),) for d in perm]
  assert latent.factor_latents(importance, threshold=0.5) == [(int(d),) for d in perm]
  # Zero-importance dims are never reported, even when top_k asks for more.
  assert latent.factor_latents(importance, top_k=3) == [(int(d),) for d in perm]


def test_factor_latents_threshold_and_top_k_orders():
  importance = np.array([[0.1, 0.0], [0.6, 0.0], [0.3, 0.0]])
  assert latent.factor_latents(importance, threshold=0.25) == [(1, 2), ()]
  assert latent.factor_latents(importance, top_k=2) == [(1, 2), ()]
  assert latent.factor_latents(importance, threshold=0.05) == [(1, 2, 0), ()]


def test_factor_latents_errors():
  r = np.eye(3)
  with pytest.raises(ValueError, match="exactly one"):
    latent.factor_latents(r)
  with pytest.raises(ValueError, match="exactly one"):
    latent.factor_latents(r, threshold=0.5, top_k=1)
  with pytest.raises(ValueError, match="top_k"):
    latent.factor_latents(r, top_k=4)
  with pytest.raises(ValueError, match="threshold"):
    latent.factor_latents(r, threshold=0.0)
  with pytest.raises(ValueError, match="non-negative"):
    latent.factor_latents(-r, top_k=1)
  with pytest.raises(ValueError, match=r"\[latent, factors\]"):
    latent.factor_latents(np.ones(3), top_k=1)


# --- attribute vectors ---------------------------------------------------------------------------------------------


def test_attribute_vector_of_two_blobs_is_the_mean_difference():
  rng = np.random.default_rng(3)
  mu_a, mu_b = np.array([1.0, -2.0, 0.5, 3.0]), np.array([-1.0, 1.0, 2.5, 3.0])
  n = 4000
  codes = np.concatenate([mu_a + 0.3 * rng.normal(size=(n, 4)), mu_b + 0.3 * rng.normal(size=(n, 4)),
                          10 + rng.normal(size=(n, 4))]).astype(np.float32)  # a third class that must be ignored
  labels = np.repeat(np.array([0, 1, 2], np.int32), n)
  perm = rng.permutation(len(labels))
  codes, labels = codes[perm], labels[perm]
  v = latent.attribute_vector(codes, labels, source=0, target=1)
  assert v.shape == (4,) and v.dtype == jnp.float32
  np.testing.assert_allclose(v, mu_b - mu_a, atol=0.03)  # 5 standard errors of the difference
  np.testing.assert_allclose(v, codes[labels == 1].mean(0) - codes[labels == 0].mean(0), rtol=1e-4, atol=1e-5)
  jitted = jax.jit(lambda c, y: latent.attribute_vector(c, y, source=0, target=1))(codes, labels)
  # Under jit the two float32 means (|mean| up to 3, 4,000 values each) may be summed in another order: a few ulp of
  # the means, i.e. ~1e-6 absolute, which is large against the 4th component's difference of means (≈ −0.003). A CI
  # run saw 2.0e-6 there (2026-12-03).
  np.testing.assert_allclose(jitted, v, rtol=1e-5, atol=1e-5)
  # Moving the source class by the vector puts its mean onto the target mean.
  moved = latent.apply_attribute(codes[labels == 0], v, alpha=1.0)
  np.testing.assert_allclose(np.mean(moved, axis=0), codes[labels == 1].mean(0), atol=1e-4)


def test_apply_attribute_shapes_and_alpha():
  codes = np.zeros((2, 3, 4), np.float32)
  v = np.array([1.0, 0.0, -1.0, 2.0], np.float32)
  out = latent.apply_attribute(codes, v, alpha=0.5)
  assert out.shape == (2, 3, 4) and out.dtype == jnp.float32
  np.testing.assert_allclose(out[1, 2], 0.5 * v)
  np.testing.assert_array_equal(latent.apply_attribute(codes, v, alpha=0.0), codes)
  with pytest.raises(ValueError, match="vector"):
    latent.apply_attribute(codes, v[:3], alpha=1.0)
  with pytest.raises(ValueError, match="alpha"):
    latent.apply_attribute(codes, v, alpha=np.ones(2, np.float32))


def test_attribute_vector_errors():
  codes = np.zeros((4, 2), np.float32)
  with pytest.raises(ValueError, match="no examples"):
    latent.attribute_vector(codes, np.array([0, 0, 1, 1], np.int32), source=0, target=2)
  with pytest.raises(ValueError, match="labels"):
    latent.attribute_vector(codes, np.array([0, 1], np.int32), source=0, target=1)
