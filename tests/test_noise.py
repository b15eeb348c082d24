"""Noise: same key → same output, different keys → different, right rates and moments; the reparam gradient."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import noise

X = jnp.full((64, 32, 32, 1), 0.5, jnp.float32)


@pytest.mark.parametrize("fn", [
    lambda k, x: noise.gaussian_noise(k, x, stddev=0.3),
    lambda k, x: noise.masking_noise(k, x, rate=0.3),
    lambda k, x: noise.salt_and_pepper(k, x, rate=0.3),
    lambda k, x: noise.uniform_replacement(k, x, rate=0.3),
    lambda k, x: noise.reparameterize(k, x[:, 0, 0], x[:, 0, 0]),
])
def test_same_key_same_output_different_keys_differ(fn):
  f = jax.jit(fn)
  a, b, c = f(jax.random.key(1), X), f(jax.random.key(1), X), f(jax.random.key(2), X)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)


def test_gaussian_noise_moments():
  y = noise.gaussian_noise(jax.random.key(0), X, stddev=0.2) - X
  assert abs(float(y.mean())) < 0.005
  np.testing.assert_allclose(float(y.std()), 0.2, rtol=0.02)


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_masking_rate(rate):
  x = jnp.ones((64, 32, 32, 1))
  y = noise.masking_noise(jax.random.key(0), x, rate=rate)
  np.testing.assert_allclose(float((y == 0).mean()), rate, atol=0.01)
  assert set(np.unique(np.asarray(y))) <= {0.0, 1.0}  # kept units are not rescaled


def test_salt_and_pepper_rate_and_values():
  y = noise.salt_and_pepper(jax.random.key(0), X, rate=0.4)
  changed = np.asarray(y != X)
  np.testing.assert_allclose(changed.mean(), 0.4, atol=0.01)
  vals = np.asarray(y)[changed]
  assert set(np.unique(vals)) == {0.0, 1.0}
  np.testing.assert_allclose((vals == 1).mean(), 0.5, atol=0.02)


@pytest.mark.parametrize("call", [
    lambda: noise.masking_noise(jax.random.key(0), X, rate=1.5),
    lambda: noise.salt_and_pepper(jax.random.key(0), X, rate=-0.1),
    lambda: noise.gaussian_noise(jax.random.key(0), X, stddev=-1.0),
    lambda: noise.reparameterize(jax.random.key(0), jnp.zeros((2, 3)), jnp.zeros((2, 4))),
    lambda: noise.reparameterize(jax.random.key(0), jnp.zeros((2, 3)), jnp.zeros((2, 3)), num_samples=0),
])
def test_bad_arguments(call):
  with pytest.raises(ValueError):
    call()


def test_reparameterize_shapes_and_moments():
  mean = jnp.array([[1.0, -2.0]])
  logvar = jnp.log(jnp.array([[0.25, 4.0]]))
  z = noise.reparameterize(jax.random.key(3), mean, logvar, num_samples=100_000)
  assert z.shape == (100_000, 1, 2)
  np.testing.assert_allclose(z.mean(0), mean, atol=0.02)
  np.testing.assert_allclose(z.var(0), jnp.exp(logvar), rtol=0.02)
  assert noise.reparameterize(jax.random.key(3), mean, logvar).shape == (1, 2)


def test_reparameterization_gradient_matches_closed_form():
  """d/dμ, d/dlogσ² of E[z²] for z ~ N(μ, σ²): closed form E[z²] = μ² + σ² → (2μ, σ²)."""
  def mc(params, key):
    m, lv = params
    z = noise.reparameterize(key, m, lv, num_samples=200_000)
    return jnp.mean(jnp.sum(jnp.square(z), axis=-1))

  m, lv = jnp.array([[0.7]]), jnp.array([[np.log(0.5)]], jnp.float32)
  gm, glv = jax.jit(jax.grad(mc))((m, lv), jax.random.key(0))
  np.testing.assert_allclose(gm, 2 * m, rtol=0.02)
  np.testing.assert_allclose(glv, jnp.exp(lv), rtol=0.02)


def test_uniform_replacement_replaces_a_fraction_by_8bit_grey_levels():
  x = jnp.full((64, 28, 28, 1), 0.123, jnp.float32)
  y = np.asarray(noise.uniform_replacement(jax.random.key(0), x, rate=0.2))
  hit = y != np.float32(0.123)
  assert abs(hit.mean() - 0.2) < 0.01
  np.testing.assert_allclose(y[hit] * 255.0, np.round(y[hit] * 255.0), atol=1e-3)  # values k/255
  assert abs(y[hit].mean() - 0.5) < 0.01
  with pytest.raises(ValueError, match="uniform_replacement: rate must be finite and in"):
    noise.uniform_replacement(jax.random.key(0), x, rate=1.5)
