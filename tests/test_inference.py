"""vae_jax.inference: batched results equal the unbatched ones, one compile per model and batch size."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import inference, likelihoods, models, modules

SHAPE = (4, 4, 1)
N = 7  # not divisible by the batch size below
BATCH = 3


def _models():
  vae = models.VAE(modules.MLPEncoder((8,)), modules.MLPDecoder((8,), SHAPE), latent_dim=2, image_shape=SHAPE)
  ae = models.AutoEncoder(modules.MLPEncoder((8,)), modules.MLPDecoder((8,), SHAPE), latent_dim=2, image_shape=SHAPE)
  stacked = models.StackedAutoEncoder(sizes=(16, 8, 2), image_shape=SHAPE)
  return {"vae": vae, "ae": ae, "stacked": stacked}


@pytest.fixture(scope="module")
def setup():
  images = np.asarray(jax.random.uniform(jax.random.key(0), (N, *SHAPE)), np.float32)
  out = {}
  for name, model in _models().items():
    out[name] = (model, model.init(jax.random.key(1), images[:2])["params"])
  return images, out


def _apply(model, params, *args, **kw):
  return model.apply({"params": params}, *args, **kw)


def test_posterior_is_one_type_for_every_model(setup):
  images, ms = setup
  for name, (model, params) in ms.items():
    post = _apply(model, params, images, method="encode")
    assert isinstance(post, models.Posterior) and post.mean.shape == (N, 2)
    assert post.deterministic == (name != "vae")
  mean, logvar = _apply(*ms["vae"], images, method="encode")  # a VAE's posterior still unpacks
  assert logvar.shape == mean.shape == (N, 2)
  ae_post = _apply(*ms["ae"], images, method="encode")
  np.testing.assert_array_equal(ae_post.sample(jax.random.key(0)), ae_post.mean)


@pytest.mark.parametrize("name", ["vae", "ae", "stacked"])
def test_encode_decode_reconstruct_match_one_call(setup, name):
  images, ms = setup
  model, params = ms[name]
  post = inference.encode(model, params, images, batch_size=BATCH)
  want = _apply(model, params, images, method="encode")
  np.testing.assert_allclose(post.mean, want.mean, rtol=1e-5, atol=1e-6)
  assert (post.logvar is None) == (want.logvar is None)
  lik = likelihoods.get(model.likelihood)
  z = np.asarray(want.mean)
  np.testing.assert_allclose(inference.decode(model, params, z, batch_size=BATCH),
                             lik.mean(_apply(model, params, z, method="decode")), rtol=1e-5, atol=1e-6)
  paths = np.stack([z, 2 * z])  # any leading axes
  assert inference.decode(model, params, paths, raw=True, batch_size=BATCH).shape == (2, N, *SHAPE)
  np.testing.assert_allclose(inference.reconstruct(model, params, images, batch_size=BATCH),
                             _apply(model, params, images, method="reconstruct"), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(inference.reconstruct(model, params, images, raw=True, batch_size=BATCH),
                             _apply(model, params, images).outputs, rtol=1e-5, atol=1e-6)


def test_sampling_functions_do_not_depend_on_batch_size(setup):
  images, ms = setup
  model, params = ms["vae"]
  key = jax.random.key(3)
  one = inference.elbo_terms(key, model, params, images, batch_size=N)
  many = inference.elbo_terms(key, model, params, images, batch_size=BATCH)
  for k in ("recon", "kl", "kl_per_dim", "elbo"):
    np.testing.assert_allclose(many[k], one[k], rtol=1e-5, atol=1e-5)
  assert one["kl_per_dim"].shape == (N, 2) and one["elbo"].shape == (N,)
  # Row i samples with fold_in(key, i): the same as the model's own sampling path on that image alone.
  i = N - 1
  out = _apply(model, params, images[i:i + 1], key=jax.random.fold_in(key, i))
  recon = likelihoods.get(model.likelihood).nll(out.outputs, images[i:i + 1], out.log_scale)
  np.testing.assert_allclose(one["recon"][i], recon[0], rtol=1e-5)
  s1 = inference.posterior_samples(key, model, params, images, num_samples=4, batch_size=N)
  s2 = inference.posterior_samples(key, model, params, images, num_samples=4, batch_size=BATCH)
  assert s1.shape == (N, 4, 2)
  np.testing.assert_allclose(s1, s2, rtol=1e-5, atol=1e-6)
  r1 = inference.reconstruct(model, params, images, key=key, batch_size=N)
  r2 = inference.reconstruct(model, params, images, key=key, batch_size=BATCH)
  np.testing.assert_allclose(r1, r2, rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="deterministic"):
    inference.elbo_terms(key, *ms["ae"], images, batch_size=BATCH)


def test_one_compile_per_model_and_batch_size(setup):
  images, _ = setup
  # A model no other test uses (equal modules share a cache entry): its compiles are this test's.
  model = models.VAE(modules.MLPEncoder((5,)), modules.MLPDecoder((5,), SHAPE), latent_dim=3, image_shape=SHAPE)
  params = model.init(jax.random.key(1), images[:2])["params"]
  before = inference._encode._cache_size()
  for n in (N, 2 * BATCH, 1, N + 5):  # full batches, a padded last batch, fewer images than one batch
    inference.encode(model, params, images[np.arange(n) % N], batch_size=BATCH)
  assert inference._encode._cache_size() == before + 1
  inference.encode(model, params, images, batch_size=BATCH + 1)
  assert inference._encode._cache_size() == before + 2


def test_inference_over_several_lengths_traces_once_per_batch_size(setup):
  """``chex.assert_max_traces``: any number of images, padded or not, is one trace per batch size."""
  images, ms = setup
  model, params = ms["vae"]
  chex.clear_trace_counter()
  encode = jax.jit(chex.assert_max_traces(lambda x: model.apply({"params": params}, x, method="encode").mean, n=2))
  for batch_size in (BATCH, BATCH + 1):
    for n in (N, 2 * BATCH, 1, N + 5):  # full batches, a padded last batch, fewer images than one batch
      codes = inference.map_batches(encode, images[np.arange(n) % N], batch_size=batch_size)
      assert codes.shape == (n, 2)
  with pytest.raises(AssertionError, match=r"is traced > 2 times"):  # a third batch size is a third trace
    inference.map_batches(encode, images, batch_size=BATCH + 2)


def test_map_batches_pads_and_trims():
  x = np.arange(14 * 3, dtype=np.float32).reshape(14, 3)
  seen = []

  def fn(a, rows):
    seen.append(a.shape[0])
    return {"double": 2.0 * a[:, :2], "rows": rows, "none": None}

  for batch_size in (1, 4, 14, 100):
    seen.clear()
    out = inference.map_batches(fn, x, np.arange(14), batch_size=batch_size)
    np.testing.assert_array_equal(out["double"], 2.0 * x[:, :2])
    np.testing.assert_array_equal(out["rows"], np.arange(14))
    assert out["none"] is None and set(seen) == {batch_size}
  with pytest.raises(ValueError, match="leading axis"):
    inference.map_batches(fn, x, np.arange(13), batch_size=4)
  with pytest.raises(ValueError, match="leading axis"):
    inference.map_batches(fn, x[:0], np.arange(0), batch_size=4)
  with pytest.raises(ValueError, match="batch_size"):
    inference.map_batches(fn, x, np.arange(14), batch_size=0)


def test_map_batches_accepts_device_arrays():
  x = jnp.arange(10.0).reshape(5, 2)
  np.testing.assert_array_equal(inference.map_batches(lambda a: a + 1, x, batch_size=2), np.asarray(x) + 1)
