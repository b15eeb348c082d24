"""FactorVAE: per-dimension permutation, the discriminator's TC estimate against the analytic TC of Gaussians, the
discriminator state in the train state (one jitted step, 1 device == 8), and bit-for-bit resume after SIGKILL."""


import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from vae_jax import checkpoints, configs, factory, models, modules, train
from vae_jax.methods import factor_vae

from helpers import sigkilled_cli_run, tiny_cli

SHAPE = (8, 8, 1)
SMALL = factor_vae.Config(gamma=10.0, discriminator_hidden=(16, 16))


def test_permute_dims_permutes_each_dimension_independently_across_the_batch():
  z = jnp.arange(64 * 3, dtype=jnp.float32).reshape(64, 3)
  p = np.asarray(jax.jit(factor_vae.permute_dims)(jax.random.key(0), z))
  for d in range(3):  # every column holds the same values, reordered
    np.testing.assert_array_equal(np.sort(p[:, d]), np.asarray(z[:, d]))
  orders = [np.argsort(np.argsort(p[:, d])) for d in range(3)]
  assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
  assert not np.array_equal(p, np.asarray(z))
  with pytest.raises(ValueError, match=r"z must be \[batch, latent\]"):
    factor_vae.permute_dims(jax.random.key(0), jnp.zeros(4))


def _trained_tc_estimate(cov: np.ndarray, *, num_steps: int = 1500, batch: int = 512) -> float:
  """Trains a small discriminator on samples of N(0, cov) with the method's own update; its TC estimate."""
  cfg = factor_vae.Config(discriminator_hidden=(32, 32), discriminator_learning_rate=1e-3)
  disc, tx = factor_vae.make_discriminator(cfg)
  chol = jnp.asarray(np.linalg.cholesky(cov), jnp.float32)
  d = cov.shape[0]
  params = disc.init(jax.random.key(0), jnp.zeros((1, d), jnp.float32))["params"]

  @jax.jit
  def fit(state):
    def body(st, k):
      k_z, k_perm = jax.random.split(k)
      z = jax.random.normal(k_z, (batch, d), jnp.float32) @ chol.T
      st, _ = factor_vae.discriminator_update(disc, tx, st, z, k_perm)
      return st, None

    return jax.lax.scan(body, state, jax.random.split(jax.random.key(1), num_steps))[0]

  state = fit({"params": params, "opt_state": tx.init(params)})
  z = jax.random.normal(jax.random.key(2), (20_000, d), jnp.float32) @ chol.T
  return float(factor_vae.tc_estimate(disc, state["params"], z))


def _analytic_tc(cov: np.ndarray) -> float:
  corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
  return -0.5 * float(np.log(np.linalg.det(corr)))


def test_tc_estimate_is_zero_for_an_independent_code():
  assert abs(_trained_tc_estimate(np.diag([1.0, 2.0]))) < 0.06


def test_tc_estimate_matches_the_analytic_tc_of_a_correlated_gaussian():
  cov = np.array([[1.0, 0.9], [0.9, 1.0]])
  want = _analytic_tc(cov)  # −½ log(1 − 0.81) = 0.830 nats
  got = _trained_tc_estimate(cov)
  assert got > 0.5 and abs(got - want) < 0.15 * want, (got, want)


def _vae():
  return models.VAE(modules.MLPEncoder((16,)), modules.MLPDecoder((16,), SHAPE), latent_dim=3, image_shape=SHAPE)


def test_loss_is_the_vae_loss_plus_gamma_times_the_discriminator_tc_on_the_first_half():
  model = _vae()
  x = jax.random.uniform(jax.random.key(0), (8, *SHAPE))
  params = model.init(jax.random.key(1), x)["params"]
  extra = factory.make_extra(SMALL, model)
  state = extra.init(jax.random.key(2))
  key, step = jax.random.key(3), jnp.int32(0)
  loss, m = factory.make_loss(SMALL, model, dataset_size=8)(params, {"image": x}, key, step, extra=state)
  _, mv = factory.make_loss(factor_vae.Config(gamma=0.0, discriminator_hidden=(16, 16)), model, dataset_size=8)(
      params, {"image": x}, key, step, extra=state)
  # Same first half, same key: the same reconstruction and KL; the TC term is γ·mean logit.
  np.testing.assert_allclose(loss, mv["loss"] + 10.0 * m["tc"], rtol=1e-5)
  np.testing.assert_allclose(mv["loss"], mv["recon"] + mv["kl"], rtol=1e-5)
  from vae_jax.methods import vae

  _, m_half = factory.make_loss(vae.Config(), model, dataset_size=8)(params, {"image": x[:4]}, key, step)
  np.testing.assert_allclose(m["recon"], m_half["recon"], rtol=1e-6)


def _train(mesh, num_steps=3):
  model = _vae()
  tx = optax.adam(1e-3)
  loss_fn = factory.make_loss(SMALL, model, dataset_size=64)
  extra = factory.make_extra(SMALL, model)
  batch = {"image": jax.random.uniform(jax.random.key(42), (32, *SHAPE))}
  state = train.replicate(train.create_train_state(model, tx, jax.random.key(0), batch["image"][:2], extra=extra),
                          mesh)
  step = train.make_train_step(chex.assert_max_traces(loss_fn, n=1), tx, extra=extra)
  first = jax.tree_util.tree_map(np.asarray, state.extra)
  for _ in range(num_steps):
    state, m = step(state, train.shard_batch(batch, mesh), jax.random.key(5))
  return first, state, m


def test_one_jitted_step_updates_the_discriminator_traced_once_and_one_device_equals_eight():
  chex.clear_trace_counter()
  first, s1, m1 = _train(train.data_mesh(jax.devices()[:1]))
  chex.clear_trace_counter()
  _, s8, m8 = _train(train.data_mesh())
  assert {"disc_loss", "disc_accuracy", "tc", "gamma", "recon", "kl", "elbo"} <= set(m1)
  assert not np.array_equal(jax.tree_util.tree_leaves(first["params"])[0],
                            np.asarray(jax.tree_util.tree_leaves(s1.extra["params"])[0]))
  np.testing.assert_allclose(m1["loss"], m8["loss"], rtol=1e-5)
  chex.assert_trees_all_close(jax.device_get(s1.params), jax.device_get(s8.params), rtol=1e-4, atol=1e-6)
  chex.assert_trees_all_close(jax.device_get(s1.extra), jax.device_get(s8.extra), rtol=1e-4, atol=1e-6)


def test_paper_and_locatello_defaults():
  c = factor_vae.Config()
  assert c.discriminator_hidden == (1000,) * 6 and c.gamma == 10.0
  assert (c.discriminator_learning_rate, c.discriminator_b1, c.discriminator_b2) == (1e-4, 0.5, 0.9)
  assert factor_vae.Config.SWEEPABLE == ("gamma",)
  with pytest.raises(ValueError, match=r"discriminator_hidden must hold positive widths"):
    factor_vae.Config(discriminator_hidden=(8, 0))


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def test_it_trains_through_the_one_loop_and_a_stopped_run_resumes_with_its_discriminator_bit_for_bit(tmp_path):
  """The command line's overrides select it; stopped after its first checkpoint and rerun, the whole state
  (discriminator and its optimizer included) equals an uninterrupted run's. In-process: the CLI, SIGKILLed, is the
  slow tier's test below (the kill itself is test_train.py's, in CI)."""
  config = tiny_cli("--config.method.name", "factor_vae", "--config.method.gamma", "5",
                    "--config.method.discriminator_hidden", "16,16", "--config.num_devices", "1")
  assert config.method == factor_vae.Config(gamma=5.0, discriminator_hidden=(16, 16))
  full = train.train_and_evaluate(config, str(tmp_path / "full"))
  assert np.isfinite(full["eval"]["eval/tc"]) and "train/disc_loss" in full["train"]
  train.train_and_evaluate(dataclasses.replace(config, num_steps=config.checkpoint_every), str(tmp_path / "part"))
  resumed = train.train_and_evaluate(config, str(tmp_path / "part"))
  assert resumed["resumed_from"] == config.checkpoint_every < config.num_steps
  assert jax.tree_util.tree_leaves(full["state"].extra)  # the discriminator's state is in what is compared
  chex.assert_trees_all_equal(_leaves(full["state"]), _leaves(resumed["state"]))


@pytest.mark.slow
def test_cli_trains_it_and_a_sigkilled_run_resumes_bit_for_bit(tmp_path):
  """``--config.method.name factor_vae``; the discriminator's state is checkpointed with the model's."""
  workdir = tmp_path / "killed"
  resumed = sigkilled_cli_run(workdir, ["--config.method.name", "factor_vae", "--config.method.gamma", "5",
                                        "--config.method.discriminator_hidden", "16,16", "--config.checkpoint_every",
                                        "10", "--config.eval_every", "100", "--config.num_devices", "1"], 200)
  config = configs.from_dict(resumed["config"])
  assert config.method == factor_vae.Config(gamma=5.0, discriminator_hidden=(16, 16))
  assert train.load_run(str(workdir))[0] == config
  # The API, uninterrupted; it checkpoints only at the end (saving changes no state, and each save costs ~0.2 s).
  full = train.train_and_evaluate(dataclasses.replace(config, checkpoint_every=config.num_steps),
                                  str(tmp_path / "full"))
  assert np.isfinite(full["eval"]["eval/tc"]) and "train/disc_loss" in full["train"]
  # The whole state, discriminator included, from the killed-and-resumed run's last checkpoint.
  model = full["model"]
  extra = factory.make_extra(config.method, model)
  tx = factory.make_optimizer(config.optimizer)
  sample = jnp.zeros((2, *model.image_shape), jnp.float32)
  abstract = jax.eval_shape(lambda: train.create_train_state(model, tx, train.run_keys(config.seed).init, sample,
                                                             extra=extra))
  here = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  abstract = jax.tree_util.tree_map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=here), abstract)
  restored = checkpoints.restore(checkpoints.manager(str(workdir)), abstract)
  assert int(restored.step) == 200
  chex.assert_trees_all_equal(_leaves(full["state"]), _leaves(restored))
