"""vae_jax.evaluation.likelihood_regret: exact on probabilistic PCA, batch-size invariant, one trace, behaviour.

On probabilistic PCA (tests/test_ppca.py) the exact posterior p(z|x) is a diagonal Gaussian, so the best diagonal
q is p(z|x) itself, ELBO(x; q*) = log p(x), and the regret of an amortised q₀ is exactly KL(q₀ ‖ p(z|x)) — known
in closed form, independently of the code under test.
"""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import helpers
from ppca import SIGMA, ppca, ppca_vae
from vae_jax import models, modules
from vae_jax.evaluation import likelihood_regret as regret_fn, likelihood_regret_terms, outliers
from vae_jax.methods import vae

lr_module = importlib.import_module("vae_jax.evaluation.likelihood_regret")  # the package exports the function


def _exact_posterior():
  w, b, m_diag, x, _ = ppca()
  return (x - b) @ (w / m_diag), np.log(SIGMA**2 / m_diag)  # mean [N, D], logvar [D]


def test_ppca_reaches_the_exact_posterior_and_the_regret_is_the_amortised_kl():
  shift_mean, shift_logvar = 0.6, 0.8
  model, params, x, log_px = ppca_vae(mean_shift=shift_mean, logvar_shift=shift_logvar)
  out = likelihood_regret_terms(jax.random.key(0), model, params, x, num_steps=100, learning_rate=0.1,
                                num_samples=4, eval_samples=1024, batch_size=16)
  mean, logvar = _exact_posterior()
  # The optimised posterior is the exact one, up to where the noisy (4-sample) steps leave it (over six keys the
  # largest errors were 0.11 in the mean, 0.35 in the log-variance, a flatter direction of the ELBO).
  np.testing.assert_allclose(out["mean"], mean, atol=0.2)
  np.testing.assert_allclose(out["logvar"], np.broadcast_to(logvar, out["logvar"].shape), atol=0.5)
  # KL(q₀ ‖ p(z|x)) in closed form: q₀ is the exact posterior shifted by (0.6, 0.8) in (mean, log-variance).
  var = np.exp(logvar)
  kl0 = 0.5 * np.sum(np.exp(shift_logvar) + shift_mean**2 / var - 1.0 - shift_logvar)  # the same for every image
  assert kl0 > 1.0  # a visibly suboptimal amortised posterior
  # Per image, up to the Monte-Carlo error of the 1024-sample estimates and what 100 noisy steps miss (largest
  # deviations over six keys: 0.36 per image, 0.045 for the mean of 32 images).
  np.testing.assert_allclose(out["regret"], kl0, atol=0.5)
  np.testing.assert_allclose(out["regret"].mean(), kl0, atol=0.08)
  np.testing.assert_allclose(out["elbo_optimised"].mean(), log_px.mean(), atol=0.05)  # ELBO(q*) = log p(x)
  np.testing.assert_allclose(out["elbo_amortised"].mean(), log_px.mean() - kl0, atol=0.06)
  np.testing.assert_allclose(out["regret"], out["elbo_optimised"] - out["elbo_amortised"], rtol=1e-6)


def test_exact_amortised_posterior_has_zero_regret_up_to_noise():
  model, params, x, _ = ppca_vae()  # the encoder outputs the exact posterior already
  regret = regret_fn(jax.random.key(1), model, params, x, num_steps=50, eval_samples=256, batch_size=16)
  assert regret.shape == (x.shape[0],) and regret.dtype == np.float32
  # The true regret is −KL(q* ‖ p(z|x)) ≤ 0 here: the noisy steps can only leave the optimum. Over four keys the
  # estimates lay in [−0.11, 0.06], mean about −0.03.
  assert np.all(regret > -0.2), regret.min()  # never below 0 by more than noise
  assert abs(regret.mean()) < 0.06, regret.mean()
  assert np.all(np.abs(regret) < 0.2), np.abs(regret).max()


def _tiny_vae(shape=(4, 4, 1)):
  model = models.VAE(modules.MLPEncoder((8,)), modules.MLPDecoder((8,), shape), latent_dim=2, image_shape=shape)
  images = np.asarray(jax.random.uniform(jax.random.key(0), (7, *shape)), np.float32)
  return model, model.init(jax.random.key(1), images[:2])["params"], images


def test_batch_size_does_not_change_the_scores():
  model, params, images = _tiny_vae()
  kw = dict(num_steps=10, num_samples=2, eval_samples=16)
  key = jax.random.key(2)
  one = regret_fn(key, model, params, images, batch_size=7, **kw)
  np.testing.assert_allclose(regret_fn(key, model, params, images, batch_size=3, **kw), one,  # 3, 3, 1 (+2 padding)
                             rtol=1e-4, atol=1e-5)
  # An image's score depends on its row and the key, not on its batch neighbours ...
  np.testing.assert_allclose(regret_fn(key, model, params, images[:3], batch_size=3, **kw), one[:3],
                             rtol=1e-4, atol=1e-5)
  # ... and it does depend on the key.
  assert np.all(regret_fn(jax.random.key(3), model, params, images, batch_size=7, **kw) != one)


def test_traced_once_per_batch_shape(monkeypatch):
  model, params, images = _tiny_vae()
  kw = dict(num_steps=5, num_samples=2, eval_samples=4)
  calls = helpers.count_calls(monkeypatch, lr_module, "_image_elbo")
  lr_module._regret_batch.clear_cache()  # count this test's traces only
  regret_fn(jax.random.key(4), model, params, images[:3], batch_size=3, **kw)  # one batch: one trace
  per_trace = len(calls)
  assert per_trace > 0
  lr_module._regret_batch.clear_cache()
  # Three batches (the last padded), then another learning rate and key: still the one trace.
  regret_fn(jax.random.key(4), model, params, images, batch_size=3, **kw)
  regret_fn(jax.random.key(5), model, params, images, batch_size=3, learning_rate=0.03, **kw)
  assert len(calls) == 2 * per_trace


def test_bad_inputs_raise():
  model, params, images = _tiny_vae()
  key = jax.random.key(0)
  for kw, match in [({"num_steps": 0}, "num_steps"), ({"num_steps": 2.5}, "num_steps"),
                    ({"num_samples": 0}, "num_samples"), ({"eval_samples": -1}, "eval_samples"),
                    ({"batch_size": 0}, "batch_size"), ({"learning_rate": 0.0}, "learning_rate"),
                    ({"learning_rate": float("nan")}, "learning_rate"), ({"num_steps": True}, "num_steps")]:
    with pytest.raises(ValueError, match=match):
      regret_fn(key, model, params, images, **kw)
  with pytest.raises(ValueError, match=r"\[7, 5, 5, 1\]"):
    regret_fn(key, model, params, np.zeros((7, 5, 5, 1), np.float32), num_steps=1)
  with pytest.raises(ValueError, match="N >= 1"):
    regret_fn(key, model, params, images[:0], num_steps=1)
  with pytest.raises(ValueError, match="floating point"):
    regret_fn(key, model, params, images.astype(np.uint8), num_steps=1)
  bad = images.copy()
  bad[4, 0, 0, 0] = np.nan
  with pytest.raises(ValueError, match="first at index 4"):
    regret_fn(key, model, params, bad, num_steps=1)
  ae = models.AutoEncoder(modules.MLPEncoder((8,)), modules.MLPDecoder((8,), (4, 4, 1)), latent_dim=2,
                          image_shape=(4, 4, 1))
  with pytest.raises(ValueError, match="stochastic encoder"):
    regret_fn(key, ae, ae.init(key, images[:1])["params"], images, num_steps=1)


# ---------------------------------------------------------------------------------------------------------------
# Behaviour on a tiny trained VAE: horizontal bars in, vertical bars out.

SIDE = 8
TRAIN_STEPS = 300


def _bars(key, n, *, vertical):
  """``[n, 8, 8, 1]`` images of one bar, at a random position, of a random width (1-2) and brightness (0.6-1)."""
  k_pos, k_width, k_level = jax.random.split(key, 3)
  pos = jax.random.randint(k_pos, (n,), 0, SIDE - 1)
  width = jax.random.randint(k_width, (n,), 1, 3)
  level = jax.random.uniform(k_level, (n,), minval=0.6, maxval=1.0)
  idx = jnp.arange(SIDE)
  lines = ((idx[None] >= pos[:, None]) & (idx[None] < (pos + width)[:, None])).astype(jnp.float32) * level[:, None]
  images = jnp.broadcast_to(lines[:, :, None], (n, SIDE, SIDE))  # rows: horizontal bars
  images = jnp.swapaxes(images, 1, 2) if vertical else images
  return np.asarray(images[..., None], np.float32)


def _train_bars_vae(num_steps):
  """A VAE (MLP 64-32-2) trained on 512 horizontal bars with Adam for ``num_steps`` steps of 64 images."""
  shape = (SIDE, SIDE, 1)
  model = models.VAE(modules.MLPEncoder((32,)), modules.MLPDecoder((32,), shape), latent_dim=2, image_shape=shape)
  train = _bars(jax.random.key(0), 512, vertical=False)
  params = model.init(jax.random.key(1), train[:2])["params"]
  loss_fn = vae.make_loss(model, vae.Config(), dataset_size=len(train))
  tx = optax.adam(1e-2)

  @jax.jit
  def fit(params, key):
    data_key, noise_key = jax.random.split(key)

    def step(carry, t):
      p, s = carry
      batch = {"image": jnp.asarray(train)[jax.random.choice(jax.random.fold_in(data_key, t), len(train), (64,))]}
      with jax.numpy_dtype_promotion("standard"):
        grads = jax.grad(lambda p: loss_fn(p, batch, jax.random.fold_in(noise_key, t), t)[0])(p)
        updates, s = tx.update(grads, s, p)
      return (optax.apply_updates(p, updates), s), None

    return jax.lax.scan(step, (params, tx.init(params)), jnp.arange(num_steps, dtype=jnp.int32))[0][0]

  return model, fit(params, jax.random.key(2))


@pytest.fixture(scope="module")
def trained_bars_vae():
  return _train_bars_vae(TRAIN_STEPS)


def test_regret_is_higher_on_images_unlike_the_training_set(trained_bars_vae):
  model, params = trained_bars_vae
  inliers = _bars(jax.random.key(10), 48, vertical=False)  # held-out draws of the training distribution
  outliers_ = _bars(jax.random.key(11), 48, vertical=True)
  key = jax.random.key(12)
  r_in = regret_fn(key, model, params, inliers, num_steps=50)
  r_out = regret_fn(key, model, params, outliers_, num_steps=50)
  assert np.all(r_in > -0.2) and np.all(r_out > -0.2)  # non-negative up to noise on a trained model too
  assert float(outliers.auroc(r_in, r_out)) > 0.9, (r_in.mean(), r_out.mean())
  assert np.median(r_out) > 3 * np.median(r_in), (np.median(r_in), np.median(r_out))


def test_model_outlier_scores_adds_regret_and_keeps_the_other_scores(trained_bars_vae):
  model, params = trained_bars_vae
  sets = {"in": _bars(jax.random.key(20), 8, vertical=False), "ood": _bars(jax.random.key(21), 8, vertical=True)}
  key = jax.random.key(22)
  base = outliers.model_outlier_scores(key, model, params, sets, num_samples=16)
  assert "regret" not in base  # opt-in
  got = outliers.model_outlier_scores(key, model, params, sets, num_samples=16, regret_steps=20)
  assert set(got) == set(base) | {"regret"}
  for score in base:
    for name in sets:
      np.testing.assert_array_equal(got[score][name], base[score][name], err_msg=f"{score}/{name}")
  for name, x in sets.items():
    np.testing.assert_array_equal(got["regret"][name],
                                  regret_fn(jax.random.split(key)[1], model, params, x, num_steps=20))
  with pytest.raises(ValueError, match="regret_steps"):
    outliers.model_outlier_scores(key, model, params, sets, num_samples=16, regret_steps=0)
  # regret_images: the regret of the first images only, the same values (per-row keys), the other scores whole
  sub = outliers.model_outlier_scores(key, model, params, sets, num_samples=16, regret_steps=20, regret_images=3)
  for name in sets:
    np.testing.assert_allclose(sub["regret"][name], got["regret"][name][:3], rtol=1e-5, atol=1e-5)
    assert len(sub["nll"][name]) == 8
  with pytest.raises(ValueError, match="regret_images"):
    outliers.model_outlier_scores(key, model, params, sets, num_samples=16, regret_steps=20, regret_images=0)
