"""Train/eval steps: loss falls, traced once, fused == unfused, 1 device == 8 devices == pmap."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from vae_jax import factory, models, modules, train
from vae_jax.methods import ae, vae

SHAPE = (8, 8, 1)


def _vae(kind=models.VAE):
  return kind(modules.MLPEncoder((32,)), modules.MLPDecoder((32,), SHAPE), latent_dim=3, image_shape=SHAPE)


def _loss(model, config):
  return factory.make_loss(config, model, dataset_size=64)


def _data(n=64):
  return jax.random.uniform(jax.random.key(42), (n, *SHAPE))


def test_loss_falls_when_overfitting_one_batch_and_step_traced_once():
  model = _vae(models.AutoEncoder)
  traces = []
  base = _loss(model, ae.Config())

  def loss_fn(*args):
    traces.append(1)
    return base(*args)

  tx = optax.adam(3e-3)
  state = train.create_train_state(model, tx, jax.random.key(0), _data(2))
  step = train.make_train_step(loss_fn, tx)
  batch = {"image": jax.random.bernoulli(jax.random.key(7), 0.3, (16, *SHAPE)).astype(jnp.float32)}
  train_key = jax.random.key(1)
  losses = []
  for _ in range(150):
    state, m = step(state, batch, train_key)
    losses.append(float(m["loss"]))
  assert len(traces) == 1  # one trace for 150 steps: no recompiles as the step changes
  assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10]), (losses[:3], losses[-3:])
  assert int(state.step) == 150


def test_step_keys_depend_on_step_only():
  k = jax.random.key(3)
  a = train.step_keys(k, jnp.int32(5))
  b = train.step_keys(k, jnp.int32(5))
  c = train.step_keys(k, jnp.int32(6))
  assert jnp.array_equal(jax.random.key_data(a[0]), jax.random.key_data(b[0]))
  assert not jnp.array_equal(jax.random.key_data(a[0]), jax.random.key_data(c[0]))


def test_array_batches_are_epoch_permutations_and_chunk_invariant():
  src = train.ArrayBatches(shuffle_key=jax.random.key(0), num_examples=50, batch_size=8)
  rows = np.asarray(src.indices(jnp.int32(0), 12))  # 6 steps per epoch → two epochs
  for epoch in range(2):
    seen = rows[epoch * 6:(epoch + 1) * 6].ravel()
    assert len(set(seen)) == 48 and seen.max() < 50
  assert not np.array_equal(rows[:6], rows[6:])
  np.testing.assert_array_equal(np.asarray(src.indices(jnp.int32(5), 4)), rows[5:9])


def _run_fused(chunks, n_steps_each):
  model = _vae()
  tx = optax.adam(1e-3)
  loss_fn = _loss(model, vae.Config())
  state = train.create_train_state(model, tx, jax.random.key(0), _data(2))
  source = train.ArrayBatches(shuffle_key=jax.random.key(1), num_examples=64, batch_size=16)
  data = {"image": _data()}
  run = train.make_multi_step(loss_fn, tx, num_steps=n_steps_each)
  all_metrics = []
  for _ in range(chunks):
    state, m = run(state, data, source, jax.random.key(2))
    all_metrics.append(np.asarray(m["loss"]))
  return state, np.concatenate(all_metrics), (model, tx, loss_fn, source, data)


def test_fused_equals_stepwise_and_any_chunking():
  s8, l8, (model, tx, loss_fn, source, data) = _run_fused(1, 8)
  s4, l4, _ = _run_fused(2, 4)
  np.testing.assert_array_equal(l8, l4)
  for a, b in zip(jax.tree_util.tree_leaves(s8.params), jax.tree_util.tree_leaves(s4.params)):
    np.testing.assert_array_equal(a, b)
  # The same 8 updates, one jitted step at a time with the same rows and keys.
  state = train.create_train_state(model, tx, jax.random.key(0), _data(2))
  step = train.make_train_step(loss_fn, tx)
  rows = source.indices(jnp.int32(0), 8)
  stepwise = []
  for t in range(8):
    state, m = step(state, {"image": data["image"][rows[t]]}, jax.random.key(2))
    stepwise.append(float(m["loss"]))
  np.testing.assert_allclose(stepwise, l8, rtol=1e-5)
  for a, b in zip(jax.tree_util.tree_leaves(s8.params), jax.tree_util.tree_leaves(state.params)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_generated_batches_feed_the_fused_step():
  model = _vae()
  tx = optax.adam(1e-3)
  state = train.create_train_state(model, tx, jax.random.key(0), _data(2))
  gen = train.GeneratedBatches(generate=lambda k: {"image": jax.random.uniform(k, (16, *SHAPE))})
  run = train.make_multi_step(_loss(model, vae.Config()), tx, num_steps=3)
  state, m = run(state, {}, gen, jax.random.key(2))
  assert m["loss"].shape == (3,) and np.all(np.isfinite(m["loss"])) and int(state.step) == 3


@pytest.mark.parametrize("objective", ["vae", "dae"])
def test_one_device_equals_eight_sharded_devices(objective):
  assert jax.device_count() == 8, "conftest sets 8 fake CPU devices"
  kind = models.VAE if objective == "vae" else models.AutoEncoder
  model = _vae(kind)
  loss_fn = (_loss(model, vae.Config()) if objective == "vae" else
             _loss(model, ae.Config(corruption="gaussian", noise_level=0.2)))
  tx = optax.adam(1e-3)
  batch = {"image": _data(32)}
  results = []
  traces = []
  for mesh in (train.data_mesh(jax.devices()[:1]), train.data_mesh()):
    state = train.replicate(train.create_train_state(model, tx, jax.random.key(0), _data(2)), mesh)

    def counted(*a):
      traces.append(1)
      return loss_fn(*a)

    step = train.make_train_step(counted, tx)
    for _ in range(3):
      state, m = step(state, train.shard_batch(batch, mesh), jax.random.key(5))
    results.append((float(m["loss"]), state.params))
  assert len(traces) == 2  # once per mesh
  (l1, p1), (l8, p8) = results
  np.testing.assert_allclose(l1, l8, rtol=1e-5)
  for a, b in zip(jax.tree_util.tree_leaves(p1), jax.tree_util.tree_leaves(p8)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
  head = p8["mean"] if objective == "vae" else p8["code"]
  assert len(head["kernel"].sharding.device_set) == 8


def test_pmap_step_equals_single_device_for_deterministic_objective():
  model = _vae(models.AutoEncoder)
  loss_fn = _loss(model, ae.Config())
  tx = optax.adam(1e-3)
  batch = {"image": _data(32)}
  state = train.create_train_state(model, tx, jax.random.key(0), _data(2))
  single = train.make_train_step(loss_fn, tx)
  p_state = train.pmap_replicate(state)  # before the single-device step donates `state`
  s1 = state
  for _ in range(3):
    s1, m1 = single(s1, batch, jax.random.key(5))
  n = jax.local_device_count()
  p_step = train.make_pmap_train_step(loss_fn, tx)
  p_batch = {"image": batch["image"].reshape(n, 32 // n, *SHAPE)}
  for _ in range(3):
    p_state, pm = p_step(p_state, p_batch, jax.random.key(5))
  np.testing.assert_allclose(pm["loss"][0], m1["loss"], rtol=1e-5)
  for a, b in zip(jax.tree_util.tree_leaves(s1.params), jax.tree_util.tree_leaves(p_state.params)):
    np.testing.assert_allclose(a, b[0], rtol=1e-4, atol=1e-6)


def test_indivisible_global_batch_is_a_clear_error():
  with pytest.raises(ValueError, match=r"global batch size 30 is not divisible by the number of devices \(8\)"):
    train.shard_batch({"image": _data(30)}, train.data_mesh())


def test_grad_norm_is_optax_tree_norm_bit_for_bit_also_beside_adam():
  from vae_jax.train.step import grad_norm

  keys = jax.random.split(jax.random.key(3), 4)
  for i, scale in enumerate((1e-6, 1e-2, 1.0, 1e3)):
    tree = {"w": scale * jax.random.normal(keys[i], (784, 500)), "b": scale * jax.random.normal(keys[i], (500,)),
            "v": [scale * jax.random.laplace(keys[i], (20, 3))]}
    np.testing.assert_array_equal(jax.jit(grad_norm)(tree), jax.jit(optax.tree.norm)(tree))
    np.testing.assert_array_equal(grad_norm(tree), optax.tree.norm(tree))  # eager too
  assert float(grad_norm({})) == 0.0

  # in the fused form it exists for: next to Adam's update of the same gradients
  tx = optax.adam(1e-3)
  params = {"w": jnp.ones((784, 500)), "b": jnp.zeros((500,))}
  grads = jax.tree_util.tree_map(lambda p: jax.random.normal(keys[0], p.shape), params)

  def step(norm):
    with jax.numpy_dtype_promotion("standard"):  # optax's step count meets Python floats (as in apply_optimizer)
      return jax.jit(lambda g, s: (tx.update(g, s, params), norm(g)))(grads, tx.init(params))

  (upd_a, _), norm_a = step(grad_norm)
  (upd_b, _), norm_b = step(optax.tree.norm)
  np.testing.assert_array_equal(norm_a, norm_b)
  jax.tree_util.tree_map(np.testing.assert_array_equal, upd_a, upd_b)
