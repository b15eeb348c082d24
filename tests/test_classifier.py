"""Tests for vae_jax.classifier: learns a separable toy problem, determinism, pre-trained backbones, one trace."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from vae_jax import classifier, factory, modules, train
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
  """The classifier trains with the library's one step: train.make_train_step on a train.TrainState."""
  x, y = _toy(3, 32)
  model = _mlp_classifier()
  tx = TX
  traces = []
  loss_fn = classifier.cross_entropy_loss(model)
  step = train.make_train_step(lambda *a: (traces.append(1), loss_fn(*a))[1], tx)
  state = train.TrainState.fresh(classifier.init_params(model, jax.random.key(0), x[:2]), tx)
  batch = {"image": jnp.asarray(x), "label": jnp.asarray(y)}
  losses = []
  for _ in range(15):
    state, m = step(state, batch, jax.random.key(0))
    losses.append(float(m["loss"]))
  assert len(traces) == 1 and int(state.step) == 15 and losses[-1] < 0.5 * losses[0]


def test_fit_is_the_shared_multi_step_over_array_batches():
  """fit = train.make_multi_step(cross_entropy_loss) over train.ArrayBatches of the labelled set, bit for bit."""
  x, y = _toy(4, 48)
  model = _mlp_classifier()
  params = classifier.init_params(model, jax.random.key(0), x[:2])
  key = jax.random.key(7)
  fitted, history = classifier.fit(key, model, params, x, y, tx=TX, num_steps=3, batch_size=16)
  run = train.make_multi_step(classifier.cross_entropy_loss(model), TX, num_steps=3)
  source = train.ArrayBatches(shuffle_key=key, num_examples=48, batch_size=16)
  state = train.TrainState.fresh(jax.tree_util.tree_map(jnp.array, params), TX)
  state, metrics = run(state, {"image": jnp.asarray(x), "label": jnp.asarray(y)}, source, key)
  chex.assert_trees_all_equal(fitted, state.params)
  assert history == [{"step": 3, **{k: float(np.mean(v)) for k, v in jax.device_get(metrics).items()}}]


def test_fit_stops_on_a_non_finite_loss():
  x, y = _toy(5, 32)
  x[3] = np.nan
  model = _mlp_classifier()
  params = classifier.init_params(model, jax.random.key(0), x[:2])
  with pytest.raises(FloatingPointError, match=r"Non-finite loss \(nan\) at step \d+; fit stopped"):
    classifier.fit(jax.random.key(0), model, params, x, y, tx=TX, num_steps=4, batch_size=32, log_every=2)


def test_a_pixel_trunk_is_an_explicit_trunk():
  model = _mlp_classifier()
  assert isinstance(model.backbone, classifier.Trunk)
  x, _ = _toy(0, 2)
  params = classifier.init_params(model, jax.random.key(0), x)
  post = model.apply({"params": params}, jnp.asarray(x), method=lambda m, v: m.backbone.encode(v))
  assert post.logvar is None and post.mean.shape == (2, 16)


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
