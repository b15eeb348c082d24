"""vae_jax.depth_to_space against lax.conv_transpose / nn.ConvTranspose (a second implementation) and NumPy."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import depth_to_space, modules

DN = ("NHWC", "HWIO", "NHWC")


def _reference(x, kernel, stride):
  return jax.lax.conv_transpose(x, kernel, (stride, stride), "SAME", dimension_numbers=DN, precision="highest")


@pytest.mark.parametrize("h,w,k,s", [(4, 4, 4, 2), (7, 5, 4, 2), (8, 8, 3, 2), (5, 5, 5, 2), (4, 6, 3, 3),
                                     (3, 3, 2, 2), (4, 4, 1, 2), (5, 5, 3, 1)])
def test_equals_lax_conv_transpose_and_its_gradients(h, w, k, s):
  rng = np.random.default_rng(h * 100 + k * 10 + s)
  x = jnp.asarray(rng.normal(size=(2, h, w, 3)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(k, k, 3, 5)), jnp.float32)
  got = jax.jit(depth_to_space.conv_transpose, static_argnums=2)(x, kernel, s)
  assert got.shape == (2, s * h, s * w, 5)
  np.testing.assert_allclose(got, _reference(x, kernel, s), atol=2e-5)
  cot = jnp.asarray(rng.normal(size=got.shape), jnp.float32)

  def grads(f):
    return jax.jit(jax.grad(lambda x, kern: jnp.sum(f(x, kern, s) * cot), argnums=(0, 1)))(x, kernel)

  for g_new, g_ref in zip(grads(depth_to_space.conv_transpose), grads(_reference), strict=True):
    np.testing.assert_allclose(g_new, g_ref, atol=1e-4)


def test_matches_a_numpy_scatter_reference():
  # A transposed convolution scatters each input pixel times the kernel into a stride-spaced output; Flax/lax's
  # SAME version then crops (k - s) // 2 ... from the top-left. Written out in NumPy for k=4, s=2 (the decoders').
  rng = np.random.default_rng(0)
  x = rng.normal(size=(1, 3, 3, 2)).astype(np.float32)
  kernel = rng.normal(size=(4, 4, 2, 1)).astype(np.float32)
  full = np.zeros((1, 3 * 2 + 4 - 2, 3 * 2 + 4 - 2, 1), np.float32)
  flipped = kernel[::-1, ::-1]  # lax.conv_transpose without transpose_kernel correlates, i.e. scatters the flip
  for i in range(3):
    for j in range(3):
      full[0, 2 * i:2 * i + 4, 2 * j:2 * j + 4, :] += np.einsum("c,abco->abo", x[0, i, j], flipped)
  want = full[:, 1:7, 1:7, :]  # SAME: output 6×6; lax pads the dilated input by 2, i.e. crops 1 of the full output
  np.testing.assert_allclose(depth_to_space.conv_transpose(jnp.asarray(x), jnp.asarray(kernel), 2), want, atol=1e-5)


def test_module_has_flax_parameters_and_output():
  x = jnp.asarray(np.random.default_rng(1).normal(size=(2, 8, 8, 3)), jnp.float32)
  ours = depth_to_space.ConvTranspose(6, (4, 4), strides=(2, 2))
  flax_layer = nn.ConvTranspose(6, (4, 4), strides=(2, 2), padding="SAME")
  p_ours, p_flax = jax.jit(ours.init)(jax.random.key(0), x), jax.jit(flax_layer.init)(jax.random.key(0), x)
  assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), p_ours, p_flax))
  np.testing.assert_allclose(jax.jit(ours.apply)(p_flax, x), jax.jit(flax_layer.apply)(p_flax, x), atol=1e-5)


def test_decoder_is_the_same_function_with_and_without_depth_to_space():
  z = jnp.asarray(np.random.default_rng(2).normal(size=(3, 10)), jnp.float32)
  fast = modules.ConvDecoder((64, 64, 1))
  plain = modules.ConvDecoder((64, 64, 1), depth_to_space=False)
  # Jitted, as training runs them: one compile each instead of one per op (op by op, the test took 2x longer).
  params = jax.jit(plain.init)(jax.random.key(0), z)
  assert jax.tree.structure(jax.eval_shape(fast.init, jax.random.key(0), z)) == jax.tree.structure(params)
  np.testing.assert_allclose(jax.jit(fast.apply)(params, z), jax.jit(plain.apply)(params, z), atol=1e-4)


def test_bad_shapes_say_what_is_wrong():
  with pytest.raises(ValueError, match="square kernel"):
    depth_to_space.conv_transpose(jnp.zeros((1, 4, 4, 3)), jnp.zeros((4, 3, 3, 2)), 2)
  with pytest.raises(ValueError, match="strides must be two equal"):
    depth_to_space.ConvTranspose(2, (4, 4), strides=(2, 1)).init(jax.random.key(0), jnp.zeros((1, 4, 4, 3)))
