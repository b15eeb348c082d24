"""Importance-sampled NLL on a VAE set up as probabilistic PCA, whose exact log p(x) and posterior are known.

p(z) = N(0, I), p(x|z) = N(Wz + b, σ²I) with W = Q·diag(s): the exact posterior is the diagonal Gaussian
N(M⁻¹Wᵀ(x−b), σ²M⁻¹), M = WᵀW + σ²I, and p(x) = N(b, WWᵀ + σ²I) (tests/ppca.py). Shifting the encoder's
mean and log-variance biases gives a wrong posterior, so the IS estimate must work to reach −log p(x).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import losses, models, modules
from vae_jax.methods import iwae
from vae_jax.evaluation import likelihood

import helpers
from ppca import P, ppca_vae

SHIFTS = {"mean_shift": 0.6, "logvar_shift": 0.8}  # a poor posterior: ELBO gap ≈ 5 nats, ESS ≈ 7% of K
MILD = {"mean_shift": 0.2, "logvar_shift": 0.2}  # ELBO gap ≈ 0.46 nats, ESS ≈ 50% of K: K = 5000 gets within 0.05


def _reference_log_weights(model, params, images, key, num_samples):
  """``[K, N]`` log-weights from the library's one-shot ``iwae_log_weights``, with the documented key layout."""

  def one_image(i, x):
    image_key = jax.random.fold_in(key, i)
    keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(image_key, jnp.arange(num_samples))
    return jax.vmap(lambda k: iwae.log_weights(model, params, x[None], k, num_samples=1)[:, 0])(keys)

  n = images.shape[0]
  return jax.jit(jax.vmap(one_image, out_axes=1))(jnp.arange(n), jnp.asarray(images))[:, :, 0]


def test_streaming_combiner_matches_one_shot_bound():
  rng = np.random.default_rng(1)
  k, b, chunk = 37, 5, 8  # 5 chunks, the last one 3/8 full (masked)
  # Far from 0 and widely spread: a naive exp() would under/overflow.
  log_w = (rng.normal(size=(k, b)) * np.array([0.1, 1.0, 10.0, 50.0, 1.0]) + np.array([-1e3, 0.0, 300.0, -50.0, 90.0]))
  log_w = log_w.astype(np.float32)
  padded = np.concatenate([log_w, np.full((5 * chunk - k, b), np.nan, np.float32)])  # masked rows are ignored

  @jax.jit
  def stream(lw):
    state = likelihood._stream_init(b)
    for c in range(5):
      ids = c * chunk + jnp.arange(chunk)
      state = likelihood._stream_update(state, lw[c * chunk:(c + 1) * chunk], ids < k)
    return likelihood._stream_result(state, k)

  out = stream(padded)
  np.testing.assert_allclose(out["log_mean_w"], losses.iwae_bound(log_w), rtol=1e-6, atol=1e-4)
  np.testing.assert_allclose(out["mean_log_w"], log_w.astype(np.float64).mean(0), rtol=1e-6, atol=1e-4)
  w = np.exp(log_w.astype(np.float64) - log_w.max(0))
  np.testing.assert_allclose(out["ess"], w.sum(0)**2 / (w**2).sum(0), rtol=1e-4)


def test_chunked_estimate_equals_one_shot_iwae_bound_on_the_same_samples():
  model, params, x, _ = ppca_vae(**SHIFTS)
  x, key, k = x[:5], jax.random.key(3), 60
  got = likelihood.importance_sampled_nll(key, model, params, x, num_samples=k, batch_size=2, sample_chunk=16)
  lw = _reference_log_weights(model, params, x, key, k)
  np.testing.assert_allclose(got["nll"], -losses.iwae_bound(lw), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(got["elbo"], jnp.mean(lw, axis=0), rtol=1e-5, atol=1e-5)
  w = np.exp(np.asarray(lw, np.float64) - np.asarray(lw).max(0))
  np.testing.assert_allclose(got["ess"], w.sum(0)**2 / (w**2).sum(0), rtol=1e-4)
  assert np.all(got["elbo"] <= -got["nll"] + 1e-5)  # Jensen, sample by sample
  assert got["nll_mean"] == pytest.approx(float(np.mean(got["nll"])), rel=1e-6)


@pytest.mark.parametrize("batch_size, sample_chunk", [(1, 1), (4, 7), (32, 64)])
def test_invariant_to_batch_size_and_sample_chunk(batch_size, sample_chunk):
  model, params, x, _ = ppca_vae(**SHIFTS, num_images=12)
  key, k = jax.random.key(4), 100
  base = likelihood.importance_sampled_nll(key, model, params, x, num_samples=k, batch_size=12, sample_chunk=25)
  got = likelihood.importance_sampled_nll(key, model, params, x, num_samples=k, batch_size=batch_size,
                                          sample_chunk=sample_chunk)
  for name in ("nll", "elbo", "ess", "bits_per_dim"):
    np.testing.assert_allclose(got[name], base[name], rtol=2e-5, atol=2e-5, err_msg=name)
  other = likelihood.importance_sampled_nll(jax.random.key(5), model, params, x, num_samples=k, batch_size=batch_size,
                                            sample_chunk=sample_chunk)
  assert np.all(other["nll"] != base["nll"])  # ... but it does depend on the key


def test_padded_last_batch_is_trimmed_and_compiles_once(monkeypatch):
  model, params, x, _ = ppca_vae(**SHIFTS, num_images=7)
  traces = helpers.count_calls(monkeypatch, iwae, "log_weights")
  likelihood._is_batch.clear_cache()  # count this test's traces only
  key = jax.random.key(6)
  got = likelihood.importance_sampled_nll(key, model, params, x, num_samples=13, batch_size=3, sample_chunk=5,
                                          progress=True)  # batches of 3, 3, 1 (+2 padding)
  assert len(traces) == 1  # one trace serves all three batches
  assert got["nll"].shape == got["elbo"].shape == got["ess"].shape == got["bits_per_dim"].shape == (7,)
  alone = likelihood.importance_sampled_nll(key, model, params, x, num_samples=13, batch_size=7, sample_chunk=5)
  np.testing.assert_allclose(got["nll"], alone["nll"], rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("k", [1, 3, 50])
def test_exact_posterior_gives_log_px_for_any_k(k):
  model, params, x, log_px = ppca_vae(num_images=8)
  got = likelihood.importance_sampled_nll(jax.random.key(7), model, params, x, num_samples=k, batch_size=8,
                                          sample_chunk=16)
  np.testing.assert_allclose(got["nll"], -log_px, atol=5e-4)
  np.testing.assert_allclose(got["elbo"], log_px, atol=5e-4)
  np.testing.assert_allclose(got["ess"], k, rtol=1e-2)  # equal weights: every sample counts


def test_estimate_tightens_towards_log_px_as_k_grows():
  model, params, x, log_px = ppca_vae(**MILD)
  key = jax.random.key(8)
  nll = {k: likelihood.importance_sampled_nll(key, model, params, x, num_samples=k, batch_size=32,
                                              sample_chunk=500)["nll"] for k in (1, 10, 100, 5000)}
  gaps = [float(np.mean(nll[k] + log_px)) for k in sorted(nll)]  # mean over 32 images of nll + log p(x)
  assert gaps[0] > 0.3, gaps  # the one-sample estimate is visibly loose
  # The expected gap falls with K; these are single estimates, so allow for their noise (≈ 0.003 at K = 100).
  assert all(b <= a + 0.01 for a, b in zip(gaps, gaps[1:])), gaps
  assert gaps[1] < gaps[0] / 3 and gaps[2] < gaps[1] / 3, gaps
  assert abs(gaps[-1]) < 0.01, gaps
  np.testing.assert_array_less(np.abs(nll[5000][:8] + log_px[:8]), 0.05)  # per image, on a few images


def test_elbo_matches_the_mean_log_weight_and_ignores_batch_size():
  model, params, x, _ = ppca_vae(**MILD, num_images=8)
  key = jax.random.key(9)
  is_elbo = likelihood.importance_sampled_nll(key, model, params, x, num_samples=2000, batch_size=8,
                                              sample_chunk=500)["elbo"]
  reps = 250  # each copy of an image gets its own key: averaging the copies averages independent draws
  tiled = np.tile(x, (reps, 1, 1, 1))
  one_sample = likelihood.elbo(key, model, params, tiled, batch_size=512)
  assert one_sample.shape == (8 * reps,)
  per_image = one_sample.reshape(reps, 8)
  # Two unbiased estimates of the same ELBO: agree within 4 standard errors of the noisier one.
  np.testing.assert_allclose(per_image.mean(0), is_elbo, atol=4 * float(per_image.std(0).max()) / math.sqrt(reps))
  np.testing.assert_allclose(likelihood.elbo(key, model, params, tiled[:40], batch_size=7), one_sample[:40],
                             rtol=1e-5, atol=1e-5)


def test_bernoulli_mlp_vae_runs_and_is_bounded():
  model = models.VAE(modules.MLPEncoder((16,)), modules.MLPDecoder((16,), (4, 4, 1)), latent_dim=2,
                     image_shape=(4, 4, 1))
  params = model.init(jax.random.key(0), jnp.zeros((1, 4, 4, 1)))["params"]
  x = (np.random.default_rng(2).random((5, 4, 4, 1)) > 0.5).astype(np.float32)
  got = likelihood.importance_sampled_nll(jax.random.key(1), model, params, x, num_samples=64, sample_chunk=16)
  assert np.all(np.isfinite(got["nll"])) and np.all(got["nll"] > 0)  # binary data: p(x) < 1
  assert np.all(got["elbo"] <= -got["nll"] + 1e-5)
  assert np.all((got["ess"] >= 1.0 - 1e-4) & (got["ess"] <= 64.0 + 1e-3))


def test_bits_per_dim_by_hand():
  np.testing.assert_allclose(likelihood.bits_per_dim(jnp.array([100.0, 79.0]), 784),
                             [100.0 / (784 * math.log(2)), 79.0 / (784 * math.log(2))], rtol=1e-6)
  np.testing.assert_allclose(jax.jit(likelihood.bits_per_dim, static_argnums=1)(math.log(2) * 6, 6), 1.0, rtol=1e-6)
  model, params, x, _ = ppca_vae(**SHIFTS, num_images=3)
  got = likelihood.importance_sampled_nll(jax.random.key(0), model, params, x, num_samples=8)
  np.testing.assert_allclose(got["bits_per_dim"], got["nll"] / (P * math.log(2)), rtol=1e-6)
  assert got["bits_per_dim_mean"] == pytest.approx(float(np.mean(got["nll"])) / (P * math.log(2)), rel=1e-5)
  with pytest.raises(ValueError, match="num_dims"):
    likelihood.bits_per_dim(1.0, 0)


def test_input_errors():
  model, params, x, _ = ppca_vae(num_images=4)
  key = jax.random.key(0)
  bad = x.copy()
  bad[2, 3, 0, 0] = np.nan
  with pytest.raises(ValueError, match="NaN"):
    likelihood.importance_sampled_nll(key, model, params, bad, num_samples=4)
  bad[2, 3, 0, 0] = np.inf
  with pytest.raises(ValueError, match="infinite"):
    likelihood.importance_sampled_nll(key, model, params, bad, num_samples=4)
  with pytest.raises(ValueError, match="NaN"):
    likelihood.elbo(key, model, params, np.full_like(x, np.nan))
  with pytest.raises(ValueError, match=r"\[4, 6, 1\]"):
    likelihood.importance_sampled_nll(key, model, params, x.reshape(4, 6, 1), num_samples=4)
  with pytest.raises(ValueError, match="image_shape"):
    likelihood.importance_sampled_nll(key, model, params, np.zeros((4, 3, 2, 1), np.float32), num_samples=4)
  with pytest.raises(ValueError, match="floating point"):
    likelihood.importance_sampled_nll(key, model, params, x.astype(np.int32), num_samples=4)
  with pytest.raises(ValueError, match="num_samples"):
    likelihood.importance_sampled_nll(key, model, params, x, num_samples=0)
  with pytest.raises(ValueError, match="sample_chunk"):
    likelihood.importance_sampled_nll(key, model, params, x, num_samples=4, sample_chunk=0)
  with pytest.raises(ValueError, match="no images"):
    likelihood.importance_sampled_nll(key, model, params, x[:0], num_samples=4)
