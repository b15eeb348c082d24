"""Objectives: every one runs under jit and grad with finite values; variants change only the regularizer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import models, modules, objectives

SHAPE = (8, 8, 1)


def _setup(model_cls=models.VAE, likelihood="bernoulli"):
  model = model_cls(modules.MLPEncoder((16,)), modules.MLPDecoder((16,), SHAPE), latent_dim=3, image_shape=SHAPE,
                    likelihood=likelihood)
  x = jax.random.uniform(jax.random.key(0), (4, *SHAPE))
  params = model.init(jax.random.key(1), x)["params"]
  return model, params, {"image": x}


AE_OBJECTIVES = {
    "ae": lambda m: objectives.autoencoder(m),
    "dae_gauss": lambda m: objectives.autoencoder(m, corruption=objectives.make_corruption("gaussian", 0.3)),
    "dae_mask": lambda m: objectives.autoencoder(m, corruption=objectives.make_corruption("masking", 0.3)),
    "dae_sp": lambda m: objectives.autoencoder(m, corruption=objectives.make_corruption("salt_and_pepper", 0.2)),
}
VAE_OBJECTIVES = {
    "vae": lambda m: objectives.vae(m),
    "beta_vae": lambda m: objectives.beta_vae(m, beta=4.0),
    "beta_vae_annealed": lambda m: objectives.beta_vae(m, beta=lambda s: jnp.minimum(1.0, s.astype(jnp.float32) / 100.0)),
    "capacity": lambda m: objectives.capacity_vae(m, gamma=100.0, capacity_max=25.0, num_steps=1000),
    "tcvae": lambda m: objectives.beta_tcvae(m, dataset_size=1000, beta=6.0),
    "iwae": lambda m: objectives.iwae(m, num_samples=5),
}


@pytest.mark.parametrize("name", sorted(AE_OBJECTIVES) + sorted(VAE_OBJECTIVES))
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_objective_jit_grad_finite(name, likelihood):
  is_ae = name in AE_OBJECTIVES
  model, params, batch = _setup(models.AutoEncoder if is_ae else models.VAE, likelihood)
  loss_fn = (AE_OBJECTIVES if is_ae else VAE_OBJECTIVES)[name](model)
  (loss, metrics), grads = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))(params, batch, jax.random.key(2),
                                                                               jnp.int32(10))
  assert loss.shape == () and np.isfinite(float(loss))
  assert all(v.shape == () and np.isfinite(float(v)) for v in metrics.values()), metrics
  assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))
  np.testing.assert_allclose(metrics["loss"], loss)


def test_variants_change_only_the_regularizer():
  model, params, batch = _setup()
  key, step = jax.random.key(5), jnp.int32(500)
  base, m1 = objectives.vae(model)(params, batch, key, step)
  same, _ = objectives.beta_vae(model, beta=1.0)(params, batch, key, step)
  beta4, m4 = objectives.beta_vae(model, beta=4.0)(params, batch, key, step)
  cap, mc = objectives.capacity_vae(model, gamma=10.0, capacity_max=2.0, num_steps=1000)(params, batch, key, step)
  tc, mt = objectives.beta_tcvae(model, dataset_size=1000, alpha=1.0, beta=1.0, gamma=1.0)(params, batch, key, step)
  np.testing.assert_allclose(same, base)
  for m in (m4, mc, mt):  # same reconstruction sample and KL: the same key feeds the same reparameterization
    np.testing.assert_allclose(m["recon"], m1["recon"], rtol=1e-6)
    np.testing.assert_allclose(m["kl"], m1["kl"], rtol=1e-6)
  np.testing.assert_allclose(beta4, m1["recon"] + 4 * m1["kl"], rtol=1e-5)
  np.testing.assert_allclose(mc["capacity"], 1.0)
  np.testing.assert_allclose(cap, m1["recon"] + 10 * abs(m1["kl"] - 1.0), rtol=1e-5)
  np.testing.assert_allclose(tc, m1["recon"] + mt["mi"] + mt["tc"] + mt["dwkl"], rtol=1e-5)


def test_dae_corrupts_only_the_input():
  model, params, batch = _setup(models.AutoEncoder)
  clean, _ = objectives.autoencoder(model)(params, batch, jax.random.key(0), jnp.int32(0))
  noisy_fn = objectives.autoencoder(model, corruption=objectives.make_corruption("masking", 0.5))
  a, _ = noisy_fn(params, batch, jax.random.key(0), jnp.int32(0))
  b, _ = noisy_fn(params, batch, jax.random.key(0), jnp.int32(0))
  c, _ = noisy_fn(params, batch, jax.random.key(1), jnp.int32(0))
  assert float(a) != float(clean) and float(a) == float(b) and float(a) != float(c)
  # With rate 0 the DAE is the AE exactly: the target is always the clean input.
  zero, _ = objectives.autoencoder(model, corruption=objectives.make_corruption("masking", 0.0))(
      params, batch, jax.random.key(0), jnp.int32(0))
  np.testing.assert_allclose(zero, clean)


def test_iwae_k1_matches_single_sample_elbo_in_expectation():
  model, params, batch = _setup()
  keys = jax.random.split(jax.random.key(0), 400)
  iw = jax.vmap(lambda k: objectives.iwae(model, num_samples=1)(params, batch, k, jnp.int32(0))[0])(keys)
  el = jax.vmap(lambda k: objectives.vae(model)(params, batch, k, jnp.int32(0))[1]["elbo"])(keys)
  np.testing.assert_allclose(-iw.mean(), el.mean(), atol=0.15)


def test_unknown_corruption():
  with pytest.raises(ValueError, match="Unknown corruption 'blur'"):
    objectives.make_corruption("blur", 0.1)
