"""vae_jax.dense: the same layer as flax's nn.Dense (parameters, outputs, gradients), whose vmapped gradient keeps the
kernel's layout (no kernel-sized transposes in a one-member sweep's update on CPU)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from vae_jax import dense


@pytest.mark.parametrize("shape", [(8, 7), (4, 5, 7)])
@pytest.mark.parametrize("precision", [None, lax.Precision.HIGHEST])
def test_same_parameters_outputs_and_gradients_as_nn_dense(shape, precision):
  x = jax.random.normal(jax.random.key(0), shape)
  ours, flax_dense = dense.Dense(3, precision=precision), nn.Dense(3, precision=precision)
  params = flax_dense.init(jax.random.key(1), x)
  assert jax.tree_util.tree_map(jnp.shape, ours.init(jax.random.key(1), x)) == \
      jax.tree_util.tree_map(jnp.shape, params)
  np.testing.assert_array_equal(ours.apply(params, x), flax_dense.apply(params, x))
  loss = lambda m: lambda p, x: jnp.sum(jnp.sin(m.apply(p, x)) ** 2)  # noqa: E731
  got, want = jax.grad(loss(ours), (0, 1))(params, x), jax.grad(loss(flax_dense), (0, 1))(params, x)
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6), got, want)
  # and against the closed form: d/dW Σ sin²(xW + b) = xᵀ (sin 2y), d/dx = sin 2y Wᵀ
  x2 = x.reshape(-1, shape[-1])
  w, b = params["params"]["kernel"], params["params"]["bias"]
  g = np.sin(2 * (np.asarray(x2, np.float64) @ np.asarray(w, np.float64) + np.asarray(b, np.float64)))
  np.testing.assert_allclose(got[0]["params"]["kernel"], np.asarray(x2, np.float64).T @ g, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(got[1].reshape(-1, shape[-1]), g @ np.asarray(w, np.float64).T, rtol=1e-4, atol=1e-5)


def _kernel_sized_transposes(layer) -> int:
  """Transposes/copies of kernel-sized arrays in the compiled, vmapped (one member) gradient + Adam update."""
  x = jnp.ones((1, 64, 512))
  params = jax.vmap(layer.init)(jax.random.split(jax.random.key(0), 1), x)
  tree = jax.tree_util.tree_map

  def update(params, moments, x):  # Adam's elementwise work, without its step counter
    grads = jax.grad(lambda p: jnp.sum(jnp.tanh(layer.apply(p, x))))(params)
    mu, nu = tree(lambda m, g: 0.9 * m + 0.1 * g, moments[0], grads), \
        tree(lambda v, g: 0.999 * v + 0.001 * g * g, moments[1], grads)
    return tree(lambda p, m, v: p - 1e-3 * m / (jnp.sqrt(v) + 1e-8), params, mu, nu), (mu, nu)

  step = jax.jit(jax.vmap(update), donate_argnums=(0, 1))
  moments = (tree(jnp.zeros_like, params), tree(jnp.zeros_like, params))
  hlo = step.lower(params, moments, x).compile().as_text()
  return sum(1 for line in hlo.splitlines() if " transpose(" in line and "f32[1,384,512]" in line
             or " transpose(" in line and "f32[1,512,384]" in line)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the layout effect measured is XLA:CPU's")
def test_one_member_update_transposes_no_kernel():
  # nn.Dense's vmapped kernel cotangent is transpose(dot(g, x)): XLA:CPU then kept kernel, gradient and Adam moments
  # transposed and transposed them back every step (the Higgins β-VAE's one-member sweep at 0.46× a single run).
  assert _kernel_sized_transposes(dense.Dense(384)) == 0


def test_other_contractions_are_refused_and_forward_mode_raises():
  x, k = jnp.ones((4, 3)), jnp.ones((3, 2))
  with pytest.raises(ValueError, match="dense layer's product only"):
    dense.dot_general(x, k.T, (((1,), (1,)), ((), ())))
  with pytest.raises(TypeError):  # a custom_vjp: reverse mode only, never a silently wrong jvp
    jax.jvp(lambda u: dense.dot_general(u, k, (((1,), (0,)), ((), ()))), (x,), (x,))
