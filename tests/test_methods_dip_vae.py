"""DIP-VAE-I/II: the covariance penalty against NumPy, its zero at the identity, and the two covariances."""

import dataclasses
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from vae_jax import configs, factory, models, modules, train
from vae_jax.methods import dip_vae_i, dip_vae_ii

RNG = np.random.default_rng(0)


def _np_penalty(cov, lambda_od, lambda_d):
  off = cov - np.diag(np.diag(cov))
  return lambda_od * np.sum(off**2) + lambda_d * np.sum((np.diag(cov) - 1) ** 2)


def test_penalty_is_zero_for_identity_covariance():
  # Rows of sqrt(M)·Q (Q with orthonormal columns, each column centred): exactly identity batch covariance.
  m, d = 64, 4
  a = RNG.normal(size=(m, d))
  a -= a.mean(axis=0)
  q, _ = np.linalg.qr(a)
  z = (np.sqrt(m) * q).astype(np.float32)
  cov = jax.jit(dip_vae_i.covariance)(z)
  np.testing.assert_allclose(cov, np.eye(d), atol=1e-5)
  assert float(dip_vae_i.dip_penalty(cov, lambda_od=10.0, lambda_d=100.0)) < 1e-7
  assert float(dip_vae_i.dip_penalty(jnp.eye(3), lambda_od=10.0, lambda_d=100.0)) == 0.0


def test_penalty_and_covariance_equal_numpy_for_a_random_code():
  z = RNG.normal(size=(50, 5)) @ RNG.normal(size=(5, 5)) + 3.0
  got_cov = jax.jit(dip_vae_i.covariance)(z.astype(np.float32))
  want_cov = np.cov(z, rowvar=False, bias=True)
  np.testing.assert_allclose(got_cov, want_cov, rtol=1e-4, atol=1e-4)
  got = jax.jit(lambda c: dip_vae_i.dip_penalty(c, lambda_od=2.0, lambda_d=20.0))(jnp.asarray(want_cov, jnp.float32))
  np.testing.assert_allclose(got, _np_penalty(want_cov, 2.0, 20.0), rtol=1e-5)
  with pytest.raises(ValueError, match=r"cov must be square \[latent, latent\], got \[3, 4\]"):
    dip_vae_i.dip_penalty(jnp.zeros((3, 4)), lambda_od=1.0, lambda_d=1.0)
  with pytest.raises(ValueError, match=r"x must be \[batch, latent\], got \[5\]"):
    dip_vae_i.covariance(jnp.zeros(5))


def test_loss_adds_the_penalty_on_cov_mu_for_i_and_cov_q_for_ii():
  shape = (8, 8, 1)
  model = models.VAE(modules.MLPEncoder((16,)), modules.MLPDecoder((16,), shape), latent_dim=3, image_shape=shape)
  x = jax.random.uniform(jax.random.key(0), (16, *shape))
  params = model.init(jax.random.key(1), x)["params"]
  mean, logvar = model.apply({"params": params}, x, method="encode")
  mean, var = np.asarray(mean, np.float64), np.exp(np.asarray(logvar, np.float64))
  cov_mu = np.cov(mean, rowvar=False, bias=True)
  cov_q = cov_mu + np.diag(var.mean(axis=0))
  key, step = jax.random.key(2), jnp.int32(0)
  base = factory.make_loss(dip_vae_i.Config(lambda_od=0.0, lambda_d=0.0), model, dataset_size=16)
  _, m0 = base(params, {"image": x}, key, step)
  for cfg, cov in ((dip_vae_i.Config(lambda_od=3.0, lambda_d=30.0), cov_mu),
                   (dip_vae_ii.Config(lambda_od=3.0, lambda_d=3.0), cov_q)):
    loss, m = factory.make_loss(cfg, model, dataset_size=16)(params, {"image": x}, key, step)
    want = _np_penalty(cov, cfg.lambda_od, cfg.lambda_d)
    np.testing.assert_allclose(m["dip"], want, rtol=1e-4)
    np.testing.assert_allclose(loss, m0["loss"] + want, rtol=1e-5)
    assert float(m["kl"]) == float(m0["kl"]) and float(m["recon"]) == float(m0["recon"])


def test_locatello_defaults():
  assert (dip_vae_i.Config().lambda_od, dip_vae_i.Config().lambda_d) == (10.0, 100.0)  # λ_d = 10·λ_od
  assert (dip_vae_ii.Config().lambda_od, dip_vae_ii.Config().lambda_d) == (10.0, 10.0)  # λ_d = λ_od
  with pytest.raises(ValueError, match=r"method.lambda_od must be >= 0"):
    dip_vae_ii.Config(lambda_od=-1.0)


@pytest.mark.parametrize("method", [dip_vae_i.Config(lambda_od=5.0, lambda_d=50.0),
                                    dip_vae_ii.Config(lambda_od=5.0, lambda_d=5.0)], ids=["i", "ii"])
def test_trains_through_the_one_loop_and_resumes_bit_for_bit(tmp_path, method):
  from experiments import main as cli

  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  tiny = cli.load_config_file(os.path.join(root, "experiments", "configs", "tiny.py"))
  # One device, as FactorVAE's resume test: the covariance over the global batch on 8 devices is
  # test_one_device_equals_eight's, the sharded resume test_train.py's; 8 fake devices compile ≈ 1.5× longer.
  config = dataclasses.replace(tiny, method=method, num_devices=1)
  full = train.train_and_evaluate(config, str(tmp_path / "full"))
  train.train_and_evaluate(dataclasses.replace(config, num_steps=4), str(tmp_path / "part"))
  resumed = train.train_and_evaluate(config, str(tmp_path / "part"))
  assert resumed["resumed_from"] == 4 and "eval/dip" in full["eval"] and np.isfinite(full["eval"]["eval/dip"])
  chex.assert_trees_all_equal(jax.device_get(jax.tree_util.tree_leaves(full["state"])),
                              jax.device_get(jax.tree_util.tree_leaves(resumed["state"])))
  assert configs.from_dict(configs.to_dict(config)) == config


def test_one_device_equals_eight():
  """The covariance is over the global batch: the same on 1 device as on 8 (batch split)."""
  shape = (8, 8, 1)
  model = models.VAE(modules.MLPEncoder((16,)), modules.MLPDecoder((16,), shape), latent_dim=3, image_shape=shape)
  tx = optax.adam(1e-3)
  batch = {"image": jax.random.uniform(jax.random.key(42), (32, *shape))}
  out = []
  for devices in (jax.devices()[:1], jax.devices()):
    mesh = train.data_mesh(devices)
    state = train.replicate(train.create_train_state(model, tx, jax.random.key(0), batch["image"][:2]), mesh)
    step = train.make_train_step(factory.make_loss(dip_vae_ii.Config(), model, dataset_size=32), tx)
    for _ in range(3):
      state, m = step(state, train.shard_batch(batch, mesh), jax.random.key(5))
    out.append((float(m["dip"]), jax.device_get(state.params)))
  np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-5)
  chex.assert_trees_all_close(out[0][1], out[1][1], rtol=1e-4, atol=1e-6)


def test_the_command_line_selects_dip_vae_i_with_its_weights():
  """What the slow tier's CLI run below trains, parsed as ``experiments.main`` parses it (the in-process resume is
  test_trains_through_the_one_loop_..., the SIGKILL itself test_train.py's)."""
  from helpers import tiny_cli

  config = tiny_cli("--config.method.name", "dip_vae_i", "--config.method.lambda_od", "5", "--config.method.lambda_d",
                    "50")
  assert config.method == dip_vae_i.Config(lambda_od=5.0, lambda_d=50.0)


@pytest.mark.slow
def test_cli_trains_dip_vae_i_and_a_sigkilled_run_resumes_bit_for_bit(tmp_path):
  """``--config.method.name dip_vae_i`` through the one loop, SIGKILLed after its first checkpoint and rerun: the
  final parameters equal an uninterrupted run's (the API's) bit for bit."""
  from helpers import sigkilled_cli_run

  workdir = tmp_path / "killed"
  resumed = sigkilled_cli_run(workdir, ["--config.method.name", "dip_vae_i", "--config.method.lambda_od", "5",
                                        "--config.method.lambda_d", "50", "--config.checkpoint_every", "10",
                                        "--config.eval_every", "100", "--config.num_devices", "1"], 200)
  config = configs.from_dict(resumed["config"])
  assert config.method == dip_vae_i.Config(lambda_od=5.0, lambda_d=50.0)
  # The API, uninterrupted; it checkpoints only at the end (saving changes no state, and each save costs ~0.2 s).
  full = train.train_and_evaluate(dataclasses.replace(config, checkpoint_every=config.num_steps),
                                  str(tmp_path / "full"))
  assert np.isfinite(full["eval"]["eval/dip"])
  _, _, params, _ = train.load_run(str(workdir))
  chex.assert_trees_all_equal(jax.device_get(full["state"].params), jax.device_get(params))
