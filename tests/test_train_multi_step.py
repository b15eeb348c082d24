"""vae_jax.train.multi_step: the one rule that picks a fused scan or host-stepped updates, applied by loop='auto'."""

import chex
import jax
import numpy as np
import optax
import pytest

from vae_jax import factory, models, modules, onednn_conv, space_to_depth, train
from vae_jax.methods import ae
from vae_jax.train import multi_step

SHAPE = (8, 8, 1)


def test_the_rule():
  assert train.choose_loop(has_convolution=False) == "scan"
  assert train.choose_loop(has_convolution=True) == ("host" if jax.default_backend() == "cpu" else "scan")


def _three_steps(loop):
  model = models.AutoEncoder(modules.MLPEncoder((16,)), modules.MLPDecoder((16,), SHAPE), latent_dim=2,
                             image_shape=SHAPE)
  tx = optax.adam(1e-3)
  images = jax.random.uniform(jax.random.key(0), (32, *SHAPE))
  state = train.create_train_state(model, tx, jax.random.key(1), images[:2])
  run = train.make_multi_step(factory.make_loss(ae.Config(), model, dataset_size=32), tx, num_steps=3, loop=loop)
  source = train.ArrayBatches(shuffle_key=jax.random.key(2), num_examples=32, batch_size=8)
  state, metrics = run(state, {"image": images}, source, jax.random.key(3))
  return state.params, metrics


def test_auto_applies_the_rule_to_the_traced_step(monkeypatch):
  scan, host = _three_steps("scan"), _three_steps("host")
  chex.assert_trees_all_close(scan, host, rtol=1e-5, atol=1e-6)  # the same updates either way
  chex.assert_trees_all_equal(_three_steps("auto"), scan)  # an MLP: no convolution, so the scan
  monkeypatch.setattr(multi_step, "_has_convolution", lambda *args: True)
  want = host if jax.default_backend() == "cpu" else scan
  chex.assert_trees_all_equal(_three_steps("auto"), want)
  assert np.isfinite(np.asarray(want[1]["loss"])).all()


def test_onednn_convolutions_leave_no_xla_convolution_for_the_rule(monkeypatch):
  if not onednn_conv.available():
    pytest.skip(f"oneDNN handlers unavailable: {onednn_conv.why_unavailable()}")
  x, kernel = jax.numpy.ones((2, 32, 32, 8)), jax.numpy.ones((4, 4, 8, 5))  # XLA: convolutions, not patches
  for switch, convolves in (("1", False), ("0", True)):
    monkeypatch.setenv("VAE_JAX_ONEDNN", switch)
    grad = jax.jit(jax.grad(lambda x, k: space_to_depth.conv(x, k, 2).sum(), argnums=(0, 1)))
    assert multi_step._has_convolution(grad, x, kernel) == convolves, switch
