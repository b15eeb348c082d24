"""Models on tiny shapes: output shapes, parameter counts, deterministic path, bad input."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import models, modules

SHAPE = (8, 8, 1)


def _count(params):
  return sum(int(np.prod(p.shape)) for p in jax.tree_util.tree_leaves(params))


def _vae(**kw):
  return models.VAE(modules.MLPEncoder((16,)), modules.MLPDecoder((16,), SHAPE), latent_dim=2, image_shape=SHAPE,
                    **kw)


def test_vae_shapes_and_deterministic_path():
  model = _vae()
  x = jnp.zeros((2, *SHAPE))
  params = model.init(jax.random.key(0), x)["params"]
  out = model.apply({"params": params}, x)
  assert out.outputs.shape == (2, *SHAPE) and out.mean.shape == (2, 2) and out.logvar.shape == (2, 2)
  np.testing.assert_array_equal(out.z, out.mean)  # no key → posterior mean
  sampled = model.apply({"params": params}, x, key=jax.random.key(1))
  assert not np.array_equal(sampled.z, sampled.mean)
  samples = model.apply({"params": params}, 3, key=jax.random.key(2), method="sample")
  assert samples.shape == (3, *SHAPE) and float(samples.min()) >= 0 and float(samples.max()) <= 1
  recon = model.apply({"params": params}, x, method="reconstruct")
  assert recon.shape == (2, *SHAPE)
  assert model.apply({"params": params}, jnp.zeros((4, 5, 2)), method="decode").shape == (4, 5, *SHAPE)


def test_flax_example_mlp_vae_parameter_count():
  model = models.VAE(modules.MLPEncoder((500,)), modules.MLPDecoder((500,), (28, 28, 1)), latent_dim=20,
                     image_shape=(28, 28, 1))
  params = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 28, 28, 1)))["params"]
  want = (784 * 500 + 500) + 2 * (500 * 20 + 20) + (20 * 500 + 500) + (500 * 784 + 784)
  assert _count(params) == want == 815_824


def test_higgins_mlp_expressible():
  model = models.VAE(modules.MLPEncoder((1200, 1200)), modules.MLPDecoder((1200, 1200, 1200), (64, 64, 1),
                                                                        activation=nn.tanh),
                     latent_dim=10, image_shape=(64, 64, 1))
  params = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 64, 64, 1)))["params"]
  enc = 4096 * 1200 + 1200 + 1200 * 1200 + 1200 + 2 * (1200 * 10 + 10)
  dec = 10 * 1200 + 1200 + 2 * (1200 * 1200 + 1200) + 1200 * 4096 + 4096
  assert _count(params) == enc + dec


def test_higgins_conv_vae_shapes():
  model = models.VAE(modules.ConvEncoder(), modules.ConvDecoder((64, 64, 1)), latent_dim=10, image_shape=(64, 64, 1))
  x = jnp.zeros((2, 64, 64, 1))
  params = model.init(jax.random.key(0), x)["params"]
  out = model.apply({"params": params}, x)
  assert out.outputs.shape == (2, 64, 64, 1)
  shapes = jax.tree_util.tree_map(jnp.shape, params)
  assert shapes["encoder"]["conv_0"]["kernel"] == (4, 4, 1, 32)
  assert shapes["encoder"]["conv_3"]["kernel"] == (4, 4, 64, 64)
  assert shapes["encoder"]["dense_0"]["kernel"] == (4 * 4 * 64, 256)
  assert shapes["decoder"]["to_grid"]["kernel"] == (256, 4 * 4 * 64)


def test_conv_decoder_crops_odd_sizes():
  model = models.AutoEncoder(modules.ConvEncoder(channels=(8, 8)), modules.ConvDecoder((28, 28, 1), channels=(8,)),
                             latent_dim=2, image_shape=(28, 28, 1))
  x = jnp.zeros((2, 28, 28, 1))
  out = model.apply(model.init(jax.random.key(0), x), x)
  assert out.outputs.shape == (2, 28, 28, 1) and out.z.shape == (2, 2)


def test_learned_scales():
  for mode, shape in (("scalar", ()), ("per_pixel", SHAPE)):
    model = _vae(likelihood="gaussian", scale_mode=mode, log_scale_init=-1.0)
    x = jnp.zeros((2, *SHAPE))
    params = model.init(jax.random.key(0), x)["params"]
    assert params["obs_scale"]["log_scale"].shape == shape
    np.testing.assert_allclose(model.apply({"params": params}, x).log_scale, -1.0)


def test_wrong_image_shape_is_a_clear_error():
  model = _vae()
  with pytest.raises(ValueError, match=r"expected images of shape \[batch, 8, 8, 1\], got \[2, 7, 8, 1\]"):
    model.init(jax.random.key(0), jnp.zeros((2, 7, 8, 1)))


def test_stacked_autoencoder_structure():
  model = models.StackedAutoEncoder(sizes=(64, 16, 8, 2), image_shape=SHAPE)
  x = jnp.zeros((2, *SHAPE))
  params = model.init(jax.random.key(0), x)["params"]
  assert sorted(params) == ["dec_0", "dec_1", "dec_2", "enc_0", "enc_1", "enc_2"]
  assert params["enc_1"]["kernel"].shape == (16, 8) and params["dec_1"]["kernel"].shape == (8, 16)
  out = model.apply({"params": params}, x)
  assert out.outputs.shape == (2, *SHAPE) and out.z.shape == (2, 2)
  assert model.apply({"params": params}, x, depth=1, method="encode").mean.shape == (2, 16)


def test_config_activation_names_match_the_module_table():
  from vae_jax import configs

  assert set(configs.ACTIVATIONS) == set(modules.ACTIVATIONS)
