"""The sprite renderer's batching rule: a vmapped render (a sweep's members each drawing a batch) is the flat render,
bit for bit, at any nesting, under jit."""

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax.data import sprites


def _draw(key, n, resolution):
  return sprites.sample(key, n, resolution=resolution)[0]


def test_vmapped_render_equals_rendering_each_member():
  keys = jax.random.split(jax.random.key(0), 5)
  batched = jax.jit(jax.vmap(lambda k: _draw(k, 7, 16)))(keys)
  one_by_one = np.stack([np.asarray(_draw(k, 7, 16)) for k in keys])
  assert batched.shape == (5, 7, 16, 16, 1)
  np.testing.assert_array_equal(np.asarray(batched), one_by_one)


def test_nested_vmap_and_unbatched_factors():
  keys = jax.random.split(jax.random.key(1), 6).reshape(2, 3)
  nested = jax.jit(jax.vmap(jax.vmap(lambda k: _draw(k, 4, 12))))(keys)
  expected = np.stack([np.stack([np.asarray(_draw(keys[i, j], 4, 12)) for j in range(3)]) for i in range(2)])
  np.testing.assert_array_equal(np.asarray(nested), expected)
  # A vmap whose factors do not vary along the mapped axis renders them once and broadcasts.
  factors = jnp.asarray([[0, 1, 2, 3, 4], [2, 5, 39, 31, 0]], jnp.int32)
  same = jax.vmap(lambda _: sprites.render(factors, resolution=12))(jnp.arange(3))
  np.testing.assert_array_equal(np.asarray(same), np.broadcast_to(np.asarray(sprites.render(factors, resolution=12)),
                                                                   (3, 2, 12, 12, 1)))


def test_images_of_a_vmapped_render_feed_a_differentiable_loss():
  """The images of a vmapped render feed a differentiable loss (a sweep's step): grads w.r.t. parameters work."""
  keys = jax.random.split(jax.random.key(2), 3)

  def loss(w, key):
    x = _draw(key, 5, 8).reshape(5, -1)
    return jnp.mean((x @ w) ** 2)

  w = jnp.ones((64, 2))
  grads = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0)))(w, keys)
  expected = np.stack([np.asarray(jax.grad(loss)(w, k)) for k in keys])
  np.testing.assert_allclose(np.asarray(grads), expected, rtol=1e-6)
