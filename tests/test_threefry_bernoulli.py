"""vae_jax.threefry_bernoulli: the handler's draws equal jax.random.bernoulli's bit for bit (shapes across its
chunks, edge probabilities, both Threefry key types, vmapped members, an unbatched key), a train step with dynamic
binarization is the same with the switch on or off, the GPU lowering never sees it, what it does not apply to, the
switch, threads, and the fallback without a compiler."""

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import data, threefry_bernoulli, train

needs_library = pytest.mark.skipif(not threefry_bernoulli.available(),
                                   reason=f"handler unavailable: {threefry_bernoulli.why_unavailable()}")


def test_ci_builds_the_handler():
  """CI installs g++ (scripts/setup.sh): there the handler must be tested, not skipped."""
  helpers.assert_built_in_ci(threefry_bernoulli)


def _reference(key, p):
  return jax.random.bernoulli(key, p).astype(p.dtype)


def _probabilities(shape, seed=0):
  p = np.random.default_rng(seed).uniform(size=shape).astype(np.float32)
  flat = p.reshape(-1)
  edges = [0.0, 1.0, np.nextafter(np.float32(0), np.float32(1)), np.nan]  # never, always, tiny, NaN
  flat[:4] = edges[:flat.size]
  return jnp.asarray(p)


# A scalar-sized draw, odd sizes, a batch of images, and one row spanning several of the handler's 2^14-element chunks.
@needs_library
@pytest.mark.parametrize("shape", [(1,), (2, 3), (7, 3), (64, 28, 28, 1), (3 * 2**14 + 5,)])
def test_every_bit_equals_jax_random(shape):
  p = _probabilities(shape)
  for seed in (0, 12345):
    key = jax.random.key(seed)
    want = _reference(key, p)
    for k in (key, train.fast_key(key)):  # the step re-types its key to the unrolled Threefry: the same bits
      got = jax.jit(threefry_bernoulli.bernoulli)(k, p)
      assert got.dtype == jnp.float32 and got.shape == p.shape
      np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
      assert "vae_jax_threefry_bernoulli" in jax.jit(threefry_bernoulli.bernoulli).lower(k, p).as_text()
  draws = np.asarray(jax.jit(threefry_bernoulli.bernoulli)(jax.random.key(1), p)).reshape(-1)
  assert draws[0] == 0.0 and (draws.size < 4 or (draws[1] == 1.0 and draws[3] == 0.0))  # p = 0, 1, NaN


@needs_library
def test_vmapped_members_and_an_unbatched_key():
  keys = jax.random.split(jax.random.key(3), 4)
  p = _probabilities((4, 5, 300), seed=1)
  members = jax.jit(jax.vmap(threefry_bernoulli.bernoulli))(keys, p)
  np.testing.assert_array_equal(np.asarray(members), np.asarray(jax.vmap(_reference)(keys, p)))
  nested = jax.jit(jax.vmap(jax.vmap(threefry_bernoulli.bernoulli, (None, 0)), (0, 0)))(keys, p)
  np.testing.assert_array_equal(np.asarray(nested), np.asarray(jax.vmap(jax.vmap(_reference, (None, 0)))(keys, p)))
  shared = jax.jit(jax.vmap(threefry_bernoulli.bernoulli, (None, 0)))(keys[0], p)  # one key, many images
  np.testing.assert_array_equal(np.asarray(shared), np.asarray(jax.vmap(_reference, (None, 0))(keys[0], p)))


@needs_library
def test_a_train_step_with_dynamic_binarization_is_the_same_on_or_off(monkeypatch):
  """The step binarizes with its own (fast) key; switching the handler on changes the program, not one bit."""
  from vae_jax.train.state import TrainState  # noqa: PLC0415
  from vae_jax.train.step import make_train_step  # noqa: PLC0415
  import optax  # noqa: PLC0415

  def loss_fn(params, batch, key, step):
    x = batch["image"].reshape(batch["image"].shape[0], -1)
    return jnp.mean((x @ params["w"] - 0.5) ** 2), {"ones": jnp.mean(x)}

  rng = np.random.default_rng(0)
  batch = {"image": jnp.asarray(rng.uniform(size=(32, 8, 8, 1)), jnp.float32)}
  params = {"w": jnp.asarray(rng.normal(size=(64, 3)), jnp.float32)}
  tx = optax.sgd(1e-2)
  finals = {}
  for switch in ("1", "0"):
    monkeypatch.setenv("VAE_JAX_FUSED_BERNOULLI", switch)
    step = make_train_step(loss_fn, tx, preprocess=train.binarize_batch)
    state = TrainState.fresh(params=jax.tree_util.tree_map(jnp.array, params), tx=tx)
    assert ("vae_jax_threefry_bernoulli" in step.lower(state, batch, jax.random.key(0)).as_text()) == (switch == "1")
    seen = []
    for _ in range(3):
      state, metrics = step(state, batch, jax.random.key(0))
      seen.append(float(metrics["ones"]))
    finals[switch] = (np.asarray(state.params["w"]), seen)
  np.testing.assert_array_equal(finals["1"][0], finals["0"][0])
  assert finals["1"][1] == finals["0"][1] and len(set(finals["1"][1])) == 3  # a fresh draw each step


@needs_library
def test_a_gradient_through_the_draw_is_zero_as_jax_randoms():
  p = _probabilities((5, 6))
  for draw in (_reference, threefry_bernoulli.bernoulli):
    grad = jax.jit(jax.grad(lambda q, draw=draw: jnp.sum(draw(jax.random.key(0), q) * q)))(p)
    np.testing.assert_array_equal(np.asarray(grad), np.asarray(_reference(jax.random.key(0), p)))  # d(x·q)/dq = x


@needs_library
def test_the_gpu_lowering_never_sees_the_handler():
  p = _probabilities((16, 16))
  cuda = jax.export.export(jax.jit(threefry_bernoulli.bernoulli), platforms=("cuda",))(jax.random.key(0), p)
  assert "vae_jax_threefry_bernoulli" not in cuda.mlir_module()


def test_what_it_does_not_apply_to_takes_jax_random():
  p = _probabilities((8, 9))
  assert not threefry_bernoulli.applies(jax.random.key(0, impl="rbg"), p)  # another generator's bits
  assert not threefry_bernoulli.applies(jax.random.key(0), p.astype(jnp.float16))  # float16 draws other bits
  assert not threefry_bernoulli.applies(jax.random.split(jax.random.key(0), 2), p)  # a batch of keys, unvmapped
  assert not threefry_bernoulli.applies(jax.random.key(0), jnp.zeros((0, 3), jnp.float32))
  assert threefry_bernoulli.applies(jax.random.key(0), p)
  for key, q in ((jax.random.key(0, impl="rbg"), p), (jax.random.key(0), p.astype(jnp.float16))):
    text = jax.jit(threefry_bernoulli.bernoulli).lower(key, q).as_text()
    assert "vae_jax_threefry_bernoulli" not in text
    np.testing.assert_array_equal(np.asarray(threefry_bernoulli.bernoulli(key, q)), np.asarray(_reference(key, q)))


def test_binarize_dynamic_follows_the_switch(monkeypatch):
  images = _probabilities((4, 6, 6, 1))
  key = jax.random.key(5)
  monkeypatch.setenv("VAE_JAX_FUSED_BERNOULLI", "0")
  off = jax.jit(lambda k, x: data.binarize_dynamic(k, x))  # a function of its own: the switch is read at trace time
  assert "vae_jax_threefry_bernoulli" not in off.lower(key, images).as_text()
  monkeypatch.setenv("VAE_JAX_FUSED_BERNOULLI", "auto")  # conftest's 8 CPU devices: auto keeps jax.random
  assert threefry_bernoulli.enabled() is (jax.device_count() == 1 and threefry_bernoulli.available())
  monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
  monkeypatch.setattr(threefry_bernoulli, "available", lambda: pytest.fail("built on a GPU process"))
  assert threefry_bernoulli.enabled() is False
  monkeypatch.setenv("VAE_JAX_FUSED_BERNOULLI", "often")
  with pytest.raises(ValueError, match="VAE_JAX_FUSED_BERNOULLI='often'"):
    threefry_bernoulli.enabled()


@needs_library
def test_binarize_dynamic_through_the_handler_draws_the_same_images(monkeypatch):
  images = _probabilities((4, 6, 6, 1))
  key = jax.random.key(5)
  monkeypatch.setenv("VAE_JAX_FUSED_BERNOULLI", "1")
  on = jax.jit(lambda k, x: data.binarize_dynamic(k, x))
  assert "vae_jax_threefry_bernoulli" in on.lower(key, images).as_text()
  np.testing.assert_array_equal(np.asarray(on(key, images)), np.asarray(_reference(key, images)))


def test_without_a_compiler_jax_random_is_used_and_the_reason_is_given(tmp_path):
  use = """
from vae_jax import data
x = data.binarize_dynamic(jax.random.key(0), jnp.full((2, 4, 4, 1), 0.5))
print("DRAW", x.shape, bool((x == jax.random.bernoulli(jax.random.key(0), jnp.full((2, 4, 4, 1), 0.5))).all()))
"""
  stdout = helpers.check_without_compiler(tmp_path, "threefry_bernoulli", "VAE_JAX_FUSED_BERNOULLI",
                                          "the Threefry Bernoulli handler is", use)
  assert "DRAW (2, 4, 4, 1) True" in stdout


@needs_library
def test_threads_load_the_handler_once(monkeypatch):
  calls = helpers.registrations_from_threads(threefry_bernoulli, monkeypatch)  # a second must not happen
  assert calls == ["vae_jax_threefry_bernoulli"] and threefry_bernoulli.available()
