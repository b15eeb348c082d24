"""Tests for vae_jax.classifier: learns a separable toy problem, determinism, pre-trained backbones, one trace."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from vae_jax import classifier, factory, modules
from vae_jax.configs import ModelConfig


def _toy(seed, n, *, num_classes=3):
  """8x8 images whose class is which third of the rows is bright, under noise: linearly separable."""
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, num_classes, size=n).astype(np.int32)
  rows = np.arange(8)[None, :] * num_classes // 8  # the class each image row belongs to
  images = 0.2 * rng.random((n, 8, 8, 1)) + 0.6 * (rows == labels[:, None])[:, :, None, None]
  return images.astype(np.float32), labels


def _mlp_classifier(num_classes=3):
  return classifier.Classifier(modules.MLPEncoder((16,)), num_classes=num_classes)


TX = optax.adam(1e-2)  # one optimizer object: fit() reuses its compiled steps across the tests


def test_learns_a_separable_toy_problem():
  x, y = _toy(0, 256)
  x_test, y_test = _toy(1, 200)
  model = _mlp_classifier()
  init_key, train_key = jax.random.split(jax.random.key(0))
  params = classifier.init_params(model, init_key, x[:2])
  before = classifier.accuracy(model, params, x_test, y_test)
  params, history = classifier.fit(train_key, model, params, x, y, tx=TX, num_steps=60,
                                   batch_size=32, log_every=20)
  assert [h["step"] for h in history] == [20, 40, 60]
  assert history[-1]["loss"] < history[0]["loss"]
  assert classifier.accuracy(model, params, x_test, y_test) >= 0.98 > before
  logits = classifier.predict(model, params, x_test, batch_size=64)  # chunked with a padded last batch
  assert logits.shape == (200, 3)


def test_same_key_same_params_and_other_key_differs():
  x, y = _toy(0, 64)
  model = _mlp_classifier()
  params = classifier.init_params(model, jax.random.key(1), x[:2])

  def run(seed):
    out, _ = classifier.fit(jax.random.key(seed), model, params, x, y, tx=TX, num_steps=20, batch_size=16)
    return jax.tree_util.tree_leaves(out)

  a, b, c = run(0), run(0), run(1)
  for u, v in zip(a, b):
    np.testing.assert_array_equal(u, v)
  assert any(not np.array_equal(u, w) for u, w in zip(a, c))


def test_chunking_does_not_change_the_result():
  x, y = _toy(2, 64)
  model = _mlp_classifier()
  params = classifier.init_params(model, jax.random.key(0), x[:2])
  kw = dict(tx=TX, batch_size=16)
  one, _ = classifier.fit(jax.random.key(3), model, params, x, y, num_steps=40, log_every=20, **kw)
  chunked, _ = classifier.fit(jax.random.key(3), model, params, x, y, num_steps=40, log_every=40, **kw)
  for u, v in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(chunked)):
    np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_train_step_traced_once_and_loss_falls():
  x, y = _toy(3, 32)
  model = _mlp_classifier()
  tx = TX
  traces = []
  step = classifier.make_train_step(model, tx)
  inner = jax.jit(lambda s, a, b: (traces.append(1), step(s, a, b))[1])  # counts traces of the jitted step
  state = classifier.create_state(classifier.init_params(model, jax.random.key(0), x[:2]), tx)
  losses = []
  for _ in range(15):
    state, m = inner(state, jnp.asarray(x), jnp.asarray(y))
    losses.append(float(m["loss"]))
  assert len(traces) == 1 and int(state.step) == 15 and losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("kind", ["vae", "ae"])
def test_pretrained_autoencoder_backbone(kind):
  cfg = ModelConfig(kind=kind, hidden=(16,), latent_dim=4)
  ae = factory.make_model(cfg, (8, 8, 1))
  x, _ = _toy(0, 4)
  ae_params = jax.jit(ae.init)(jax.random.key(5), jnp.asarray(x[:2]))["params"]
  model = classifier.Classifier(ae, num_classes=3)
  params = classifier.with_pretrained(classifier.init_params(model, jax.random.key(0), x[:2]), ae_params)
  assert "decoder" not in params["backbone"] and params["head"]["kernel"].shape == (4, 3)
  # The classifier's features are the autoencoder's code (the posterior mean for a VAE).
  code = jax.jit(lambda p, v: ae.apply({"params": p}, v, method="encode"))(ae_params, jnp.asarray(x)).mean
  head = params["head"]
  np.testing.assert_allclose(classifier.predict(model, params, x), code @ head["kernel"] + head["bias"][None, :],
                             rtol=1e-5, atol=1e-5)
  other = factory.make_model(ModelConfig(kind=kind, hidden=(8,), latent_dim=4), (8, 8, 1))
  with pytest.raises(ValueError, match="shapes differ"):
    classifier.with_pretrained(params, jax.eval_shape(other.init, jax.random.key(0), jnp.asarray(x[:2]))["params"])
  with pytest.raises(ValueError, match="lack"):
    classifier.with_pretrained(params, {"decoder": ae_params["decoder"]})
