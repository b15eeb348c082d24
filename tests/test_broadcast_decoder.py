"""The spatial broadcast decoder (Watters et al. 2019): against a NumPy per-pixel MLP, its coordinates, its configs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import factory, modules
from vae_jax.configs import ModelConfig


def _relu(x):
  return np.maximum(x, 0.0)


def test_kernel_one_is_a_per_pixel_mlp_of_code_and_coordinates():
  """kernel_size=1: every pixel's logit is an MLP of [z, x, y] — computed here in NumPy from the parameters."""
  dec = modules.BroadcastDecoder((5, 7, 2), channels=(6, 4), kernel_size=1)
  z = jax.random.normal(jax.random.key(0), (3, 4))
  params = dec.init(jax.random.key(1), z)["params"]
  out = np.asarray(dec.apply({"params": params}, z))
  assert out.shape == (3, 5, 7, 2)
  p = jax.tree_util.tree_map(np.asarray, params)
  xs, ys = np.linspace(-1, 1, 7), np.linspace(-1, 1, 5)
  want = np.empty_like(out)
  for b in range(3):
    for i in range(5):
      for j in range(7):
        h = _relu(np.asarray(z[b]) @ p["from_code"]["kernel"] + p["from_code"]["bias"]
                  + np.array([xs[j], ys[i]]) @ p["from_coords"]["kernel"])
        h = _relu(h @ p["conv_0"]["kernel"] + p["conv_0"]["bias"])
        want[b, i, j] = h @ p["out"]["kernel"] + p["out"]["bias"]
  np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


def test_coordinate_grid_x_runs_along_the_width_y_down_the_height():
  g = np.asarray(modules.coordinate_grid(3, 5))
  assert g.shape == (3, 5, 2)
  np.testing.assert_allclose(g[0, :, 0], np.linspace(-1, 1, 5))  # x: left to right, the same on every row
  np.testing.assert_allclose(g[:, 0, 1], np.linspace(-1, 1, 3))  # y: top to bottom, the same on every column
  np.testing.assert_allclose(g[2, :, 0], g[0, :, 0])
  np.testing.assert_allclose(modules.coordinate_grid(1, 1), np.zeros((1, 1, 2)))


def test_kernel_three_is_translation_equivariant_in_its_later_layers():
  """With a 3×3 kernel the first layer still sees [z, x, y] per pixel; the output is a function of the whole 3×3
  neighbourhood, so it differs from the 1×1 decoder with the same first layer, and has the image's shape."""
  dec = modules.BroadcastDecoder((8, 8, 1), channels=(4, 4), kernel_size=3)
  z = jnp.ones((2, 3))
  params = dec.init(jax.random.key(0), z)["params"]
  assert params["conv_0"]["kernel"].shape == (3, 3, 4, 4) and params["out"]["kernel"].shape == (3, 3, 4, 1)
  assert dec.apply({"params": params}, z).shape == (2, 8, 8, 1)


def test_factory_builds_it_for_mlp_and_conv_encoders_and_the_vae_trains_through_it():
  for arch in ("mlp", "conv"):
    cfg = ModelConfig(kind="vae", architecture=arch, hidden=(16,), conv_channels=(4, 4), conv_dense=(8,),
                      latent_dim=3, decoder="broadcast", broadcast_channels=(8,))
    model = factory.make_model(cfg, (8, 8, 1))
    assert isinstance(model.decoder, modules.BroadcastDecoder)
    x = (jax.random.uniform(jax.random.key(0), (4, 8, 8, 1)) > 0.5).astype(jnp.float32)
    # jitted: op by op, the two models' init and gradient took ≈ 10 s (a compile per primitive); the same maths
    params = jax.jit(lambda x, k1, k2: model.init(k1, x, key=k2))(x, jax.random.key(1), jax.random.key(2))["params"]
    loss = lambda p: jnp.mean(model.apply({"params": p}, x, key=jax.random.key(3)).outputs)  # noqa: E731
    grads = jax.jit(jax.grad(loss))(params)
    assert np.isfinite(np.asarray(grads["decoder"]["from_coords"]["kernel"])).all()
    assert np.abs(np.asarray(grads["decoder"]["from_coords"]["kernel"])).sum() > 0


@pytest.mark.parametrize("fields, match", [
    (dict(decoder="spatial"), "model.decoder='spatial' is not valid"),
    (dict(decoder="broadcast", broadcast_channels=()), "at least one width"),
    (dict(decoder="broadcast", broadcast_channels=(8, 0)), "broadcast_channels must hold positive widths"),
    (dict(decoder="broadcast", broadcast_kernel=2), "odd positive int"),
    (dict(decoder="broadcast", kind="stacked_ae"), "for kind 'vae' or 'ae'"),
])
def test_bad_broadcast_configs_say_what_to_set(fields, match):
  with pytest.raises(ValueError, match=match):
    ModelConfig(**fields)


def test_codes_must_be_two_dimensional():
  dec = modules.BroadcastDecoder((4, 4, 1))
  with pytest.raises(ValueError, match=r"codes \[batch, latent\]"):
    dec.init(jax.random.key(0), jnp.ones((2, 3, 1)))
