"""vae_jax.fusion_barrier: the identity (values, dtype, gradient, vmap, empty arrays), a custom call on the CPU only
when switched on, never in a GPU lowering, the switch, the sprite renderer behind it, a training step on rendered
sprites the same bit for bit with it on or off (conv and MLP, a vmapped sweep of members), the build from threads and
the fallback without a compiler."""

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from vae_jax import configs, factory, fusion_barrier, methods, train
from vae_jax.data import sprites

needs_library = pytest.mark.skipif(not fusion_barrier.available(),
                                   reason=f"handler unavailable: {fusion_barrier.why_unavailable()}")
TARGET = "vae_jax_fusion_barrier"


@pytest.fixture
def switch(monkeypatch):
  """Sets ``VAE_JAX_FUSION_BARRIER`` and drops JAX's traces, which were taken under the previous value."""
  def set_to(value: str) -> None:
    monkeypatch.setenv("VAE_JAX_FUSION_BARRIER", value)
    jax.clear_caches()

  yield set_to
  jax.clear_caches()


def test_ci_builds_the_handler():
  """CI installs g++ (scripts/setup.sh): there the handler must be tested, not skipped."""
  helpers.assert_built_in_ci(fusion_barrier)


@needs_library
@pytest.mark.parametrize("x", [np.arange(12, dtype=np.float32).reshape(3, 4), np.arange(7, dtype=np.int32),
                               np.array([True, False]), np.float32(2.5), np.zeros((0, 3), np.float32)])
def test_it_is_the_identity(switch, x):
  switch("1")
  f = jax.jit(fusion_barrier.fusion_barrier)  # its result aliases its operand, here the program's own argument
  got = f(x)
  assert got.dtype == jnp.asarray(x).dtype and got.shape == np.shape(x)
  np.testing.assert_array_equal(np.asarray(got), x)
  assert (TARGET in f.lower(x).as_text()) == (np.size(x) > 0)


@needs_library
def test_gradients_and_vmap_pass_through(switch):
  switch("1")
  x = jnp.linspace(-1.0, 1.0, 6)
  grad = jax.jit(jax.grad(lambda x: jnp.sum(jnp.sin(fusion_barrier.fusion_barrier(x)))))(x)
  np.testing.assert_allclose(np.asarray(grad), np.cos(np.asarray(x)), rtol=1e-6)
  batched = jax.jit(jax.vmap(lambda r: fusion_barrier.fusion_barrier(r) + 1.0))(jnp.ones((3, 4)))
  np.testing.assert_array_equal(np.asarray(batched), np.full((3, 4), 2.0))


@needs_library
def test_the_gpu_lowering_never_sees_the_handler(switch):
  switch("1")
  cuda = jax.export.export(jax.jit(fusion_barrier.fusion_barrier), platforms=("cuda",))(jnp.ones((4, 4)))
  assert TARGET not in cuda.mlir_module()


def test_the_switch(switch, monkeypatch):
  switch("0")
  assert not fusion_barrier.enabled()
  assert TARGET not in jax.jit(fusion_barrier.fusion_barrier).lower(jnp.ones(3)).as_text()
  switch("auto")  # conftest's 8 CPU devices: auto keeps the plain identity (a mesh could not split the call)
  assert fusion_barrier.enabled() is (jax.device_count() == 1 and fusion_barrier.available())
  monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
  monkeypatch.setattr(fusion_barrier, "available", lambda: pytest.fail("built on a GPU process"))
  assert fusion_barrier.enabled() is False
  switch("sometimes")
  with pytest.raises(ValueError, match="VAE_JAX_FUSION_BARRIER='sometimes'"):
    fusion_barrier.enabled()


@needs_library
def test_sprites_are_rendered_once_behind_it(switch):
  factors = sprites.sample_factors(jax.random.key(0), 8)
  want = np.asarray(sprites.render(factors, resolution=32))
  switch("1")
  f = jax.jit(lambda f: jnp.sum(sprites.render(f, resolution=32), axis=(1, 2, 3)))
  assert TARGET in f.lower(factors).as_text()
  np.testing.assert_array_equal(np.asarray(sprites.render(factors, resolution=32)), want)
  np.testing.assert_array_equal(np.asarray(f(factors)), want.sum(axis=(1, 2, 3)))
  members = jnp.stack([factors, factors[::-1]])  # the renderer's batching rule: members as one flat batch
  np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(lambda f: sprites.render(f, resolution=32)))(members)),
                                np.stack([want, want[::-1]]))


def _sprite_steps(architecture: str, num_steps: int, members: int = 0):
  """The parameters after ``num_steps`` updates of a small β-VAE on sprites rendered in the step (``members`` > 0: a
  vmapped sweep of that many members with different seeds)."""
  shape = (32, 32, 1)
  model = factory.make_model(configs.ModelConfig(
      kind="vae", architecture=architecture, hidden=(64,), conv_channels=(8, 8, 16, 16), conv_dense=(32,),
      latent_dim=4), shape)
  loss_fn = factory.make_loss(methods.beta_vae.Config(beta=4.0), model, dataset_size=737_280)
  tx = optax.adam(1e-3)
  run = train.make_multi_step(loss_fn, tx, num_steps=num_steps)

  def trained(seed):
    keys = train.run_keys(seed)
    state = train.create_train_state(model, tx, keys.init, jnp.zeros((2, *shape), jnp.float32))
    state, metrics = run(state, {}, train.sprite_batches(16, 32), keys.train)
    return state, metrics["loss"]

  f = jax.jit(jax.vmap(trained) if members else trained)
  seeds = jnp.arange(members) if members else 0
  (state, losses) = f(seeds)
  return jax.tree_util.tree_leaves(state.params), losses, f.lower(seeds).as_text()


@needs_library
@pytest.mark.parametrize("architecture,members", [("conv", 0), ("mlp", 0), ("mlp", 3)])
def test_training_on_rendered_sprites_is_the_same_on_or_off(switch, architecture, members):
  finals = {}
  for value in ("1", "0"):
    switch(value)
    params, losses, text = _sprite_steps(architecture, 4, members)
    assert (TARGET in text) == (value == "1")
    finals[value] = ([np.asarray(p) for p in params], np.asarray(losses))
  for on, off in zip(finals["1"][0], finals["0"][0]):
    np.testing.assert_array_equal(on, off)
  np.testing.assert_array_equal(finals["1"][1], finals["0"][1])


def test_without_a_compiler_the_identity_is_used_and_the_reason_is_given(tmp_path):
  use = """
y = jax.jit(fusion_barrier.fusion_barrier)(jnp.arange(4.0))
print("SAME", bool((y == jnp.arange(4.0)).all()))
"""
  stdout = helpers.check_without_compiler(tmp_path, "fusion_barrier", "VAE_JAX_FUSION_BARRIER",
                                          "the fusion barrier handler is", use)
  assert "SAME True" in stdout


@needs_library
def test_threads_load_the_handler_once(monkeypatch):
  calls = helpers.registrations_from_threads(fusion_barrier, monkeypatch)  # a second must not happen
  assert calls == [TARGET] and fusion_barrier.available()
