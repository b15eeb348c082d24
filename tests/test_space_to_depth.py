"""vae_jax.space_to_depth against lax.conv_general_dilated (and its vjp) and nn.Conv: values and gradients."""

import flax.linen as nn
import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import modules, space_to_depth

DN = ("NHWC", "HWIO", "NHWC")


def _reference(x, kernel, stride):
  return jax.lax.conv_general_dilated(x, kernel, (stride, stride), "SAME", dimension_numbers=DN,
                                      precision="highest")


def _data(h, w, k, s):
  rng = np.random.default_rng(h * 100 + w * 10 + k + s)
  x = jnp.asarray(rng.normal(size=(2, h, w, 3)), jnp.float32)
  kernel = jnp.asarray(rng.normal(size=(k, k, 3, 5)), jnp.float32)
  return rng, x, kernel


CASES = [(7, 5, 4, 2), (8, 8, 3, 2), (4, 6, 3, 3), (4, 4, 1, 2), (5, 5, 3, 1)]


@pytest.mark.parametrize("h,w,k,s", CASES)
def test_conv_equals_lax_and_its_gradients(h, w, k, s):
  rng, x, kernel = _data(h, w, k, s)
  got = jax.jit(space_to_depth.conv, static_argnums=2)(x, kernel, s)
  np.testing.assert_allclose(got, _reference(x, kernel, s), atol=2e-5)
  cot = jnp.asarray(rng.normal(size=got.shape), jnp.float32)

  def grads(f):
    return jax.jit(jax.grad(lambda x, kern: jnp.sum(f(x, kern, s) * cot), argnums=(0, 1)))(x, kernel)

  for g_new, g_ref in zip(grads(space_to_depth.conv), grads(_reference), strict=True):
    np.testing.assert_allclose(g_new, g_ref, atol=1e-4)


@pytest.mark.parametrize("h,w,k,s", CASES)
def test_conv_adjoint_equals_the_vjp_of_lax_and_its_gradients(h, w, k, s):
  rng, x, kernel = _data(h, w, k, s)
  y = jnp.asarray(rng.normal(size=_reference(x, kernel, s).shape), jnp.float32)

  def reference(y, kern):
    return jax.vjp(lambda u: _reference(u, kern, s), x)[1](y)[0]

  def ours(y, kern):
    return space_to_depth.conv_adjoint(y, kern, s, x.shape)

  np.testing.assert_allclose(jax.jit(ours)(y, kernel), reference(y, kernel), atol=2e-5)
  cot = jnp.asarray(rng.normal(size=x.shape), jnp.float32)

  def grads(f):
    return jax.jit(jax.grad(lambda y, kern: jnp.sum(f(y, kern) * cot), argnums=(0, 1)))(y, kernel)

  for g_new, g_ref in zip(grads(ours), grads(reference), strict=True):
    np.testing.assert_allclose(g_new, g_ref, atol=1e-4)


@pytest.mark.parametrize("h,w,k", [(7, 6, 4), (5, 8, 3)])  # k = 3: a zero tap row/column after space-to-depth
@pytest.mark.parametrize("matmul", [True, False])
@pytest.mark.parametrize("patches", [True, False])
def test_every_form_equals_lax(monkeypatch, matmul, patches, h, w, k):
  monkeypatch.setattr(space_to_depth, "_matmul_weight_grad", lambda *_: matmul)
  monkeypatch.setattr(space_to_depth, "_few_channels", lambda *_: patches)
  rng, x, kernel = _data(h, w, k, 2)
  cot = jnp.asarray(rng.normal(size=(2, -(-h // 2), -(-w // 2), 5)), jnp.float32)
  loss = jax.jit(lambda f, x, k: jnp.sum(f(x, k) * cot), static_argnums=0)
  want = jax.grad(loss, argnums=(1, 2))(lambda x, k: _reference(x, k, 2), x, kernel)
  got = jax.grad(loss, argnums=(1, 2))(lambda x, k: space_to_depth.conv(x, k, 2), x, kernel)
  for g, w in zip(got, want, strict=True):
    np.testing.assert_allclose(g, w, atol=1e-4)
  y_cot = jnp.asarray(rng.normal(size=x.shape), jnp.float32)
  adj = jax.jit(jax.grad(lambda y, k: jnp.sum(space_to_depth.conv_adjoint(y, k, 2, x.shape) * y_cot),
                         argnums=(0, 1)))
  adj_ref = jax.jit(jax.grad(lambda y, k: jnp.sum(jax.vjp(lambda u: _reference(u, k, 2), x)[1](y)[0] * y_cot),
                             argnums=(0, 1)))
  np.testing.assert_allclose(jax.jit(lambda y, k: space_to_depth.conv_adjoint(y, k, 2, x.shape))(cot, kernel),
                             jax.jit(lambda y, k: jax.vjp(lambda u: _reference(u, k, 2), x)[1](y)[0])(cot, kernel),
                             atol=2e-5)
  for g, w in zip(adj(cot, kernel), adj_ref(cot, kernel), strict=True):
    np.testing.assert_allclose(g, w, atol=1e-4)


def test_few_channel_adjoint_is_shifted_adds_of_blocks_not_interior_padding():
  # The transposed convolution with one output channel (the conv β-VAE's last layer) is an overlap-add; gathered
  # from space-to-depth blocks it is m² = 4 shifted adds of the blocks, while k² = 16 strided slices of the image
  # made it 16 interior-padded full-resolution copies (what the step's profile showed as that layer's cost).
  y, kernel = jnp.zeros((2, 32, 32, 8), jnp.float32), jnp.zeros((4, 4, 1, 8), jnp.float32)
  jaxpr = jax.make_jaxpr(lambda y, k: space_to_depth.conv_adjoint(y, k, 2, (2, 64, 64, 1)))(y, kernel)
  configs = [e.params["padding_config"] for e in helpers.jaxpr_eqns(jaxpr.jaxpr) if e.primitive.name == "pad"]
  assert configs, "expected the overlap-add's shifted pads"
  assert all(interior == 0 for config in configs for (_, _, interior) in config), configs


def test_second_order_is_refused_not_wrong():
  # custom_vjp functions support one reverse pass; a jvp through them must fail loudly rather than silently.
  _, x, kernel = _data(4, 4, 4, 2)
  with pytest.raises(TypeError):
    jax.jvp(lambda u: space_to_depth.conv(u, kernel, 2), (x,), (x,))


def test_module_has_flax_parameters_and_output():
  x = jnp.asarray(np.random.default_rng(1).normal(size=(2, 8, 8, 3)), jnp.float32)
  ours = space_to_depth.Conv(6, (4, 4), strides=(2, 2))
  flax_layer = nn.Conv(6, (4, 4), strides=(2, 2), padding="SAME")
  p_ours, p_flax = jax.jit(ours.init)(jax.random.key(0), x), jax.jit(flax_layer.init)(jax.random.key(0), x)
  assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), p_ours, p_flax))
  np.testing.assert_allclose(jax.jit(ours.apply)(p_flax, x), jax.jit(flax_layer.apply)(p_flax, x), atol=1e-5)


def test_encoder_is_the_same_function_with_and_without_space_to_depth():
  x = jnp.asarray(np.random.default_rng(2).normal(size=(2, 16, 16, 1)), jnp.float32)
  fast, plain = modules.ConvEncoder((4, 8), (6,)), modules.ConvEncoder((4, 8), (6,), space_to_depth=False)
  # Jitted, as training runs them: one compile each instead of one per op (op by op, the test took 3x longer).
  params = jax.jit(plain.init)(jax.random.key(0), x)
  assert jax.tree.structure(jax.eval_shape(fast.init, jax.random.key(0), x)) == jax.tree.structure(params)
  np.testing.assert_allclose(jax.jit(fast.apply)(params, x), jax.jit(plain.apply)(params, x), atol=1e-5)
  g_fast = jax.jit(jax.grad(lambda p: jnp.sum(fast.apply(p, x) ** 2)))(params)
  g_plain = jax.jit(jax.grad(lambda p: jnp.sum(plain.apply(p, x) ** 2)))(params)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), g_fast, g_plain)


def test_bad_shapes_say_what_is_wrong():
  with pytest.raises(ValueError, match="square kernel"):
    space_to_depth.conv(jnp.zeros((1, 4, 4, 3)), jnp.zeros((4, 3, 3, 2)), 2)
  with pytest.raises(ValueError, match="does not map"):
    space_to_depth.conv_adjoint(jnp.zeros((1, 2, 2, 2)), jnp.zeros((4, 4, 3, 2)), 2, (1, 6, 6, 3))
  with pytest.raises(ValueError, match="strides must be two equal"):
    space_to_depth.Conv(2, (4, 4), strides=(2, 1)).init(jax.random.key(0), jnp.zeros((1, 4, 4, 3)))
