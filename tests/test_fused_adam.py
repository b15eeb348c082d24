"""vae_jax.fused_adam: the one-pass Adam handler against optax.adam and a float64 NumPy Adam, its state, vmapped
members with their own learning rates, inputs left intact without donation, the switch, the GPU lowering that must
not see it, two calls in one program, bad input, and the fallback without a compiler."""

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from vae_jax import ffi_build, fused_adam

needs_library = pytest.mark.skipif(not fused_adam.available(),
                                   reason=f"fused Adam handler unavailable: {fused_adam.why_unavailable()}")

# A scalar, sizes that are no multiple of a vector's width, and one leaf above the handler's chunk (2^15 elements).
SHAPES = {"w": (300, 257), "b": (257,), "c": (3, 5, 7), "s": ()}


def _tree(seed, scale=1.0):
  rng = np.random.default_rng(seed)
  return {k: jnp.asarray(scale * rng.normal(size=s), jnp.float32) for k, s in SHAPES.items()}


def _optax_step(tx):
  def step(params, opt_state, grads):
    with jax.numpy_dtype_promotion("standard"):
      updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state
  return jax.jit(step)


def _fused_step(tx, squares=False):
  """``(params, opt_state)`` after the fused update, and with ``squares`` the handler's Σ g² after them."""
  def step(params, opt_state, grads):
    with jax.numpy_dtype_promotion("standard"):
      out = fused_adam.apply(tx, grads, opt_state, params)
    return out if squares else out[:2]
  return jax.jit(step)


def _close(a, b, rtol=2e-6):
  """Equal to float32 rounding: a moment's sum can cancel, so an element's error is measured against its leaf's
  largest magnitude as well as its own."""
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
    y = np.asarray(y)
    np.testing.assert_allclose(np.asarray(x), y, rtol=rtol, atol=rtol * float(np.max(np.abs(y), initial=0.0)))


def test_ci_builds_the_handler():
  """CI installs g++ (scripts/setup.sh): there the fused path must be tested, not skipped."""
  helpers.assert_built_in_ci(fused_adam)


@needs_library
@pytest.mark.parametrize("lr", [1e-3, optax.linear_schedule(1e-2, 1e-4, 4)], ids=["constant", "schedule"])
def test_equals_optax_adam_over_steps(lr):
  """Parameters, moments and counts after 6 updates equal optax's to float32 rounding (XLA contracts optax's
  update differently from one program to the next, so the last bit is not a fixed target; on an -O2 build the
  handler reproduces the most common form, on the test suite's -O0 build its products may be rounded apart)."""
  tx = fused_adam.adam(lr, b1=0.8, b2=0.99, eps=1e-7)
  assert jax.tree_util.tree_structure(tx.init(_tree(0))) == jax.tree_util.tree_structure(
      optax.adam(lr, b1=0.8, b2=0.99, eps=1e-7).init(_tree(0)))  # the same state: checkpoints interchange
  ref, fused = _optax_step(tx), _fused_step(tx)
  a = b = (_tree(0), tx.init(_tree(0)))
  for k in range(6):
    g = _tree(100 + k, scale=10.0 ** (k - 3))  # gradients from 1e-3 to 1e2: the moments' dynamic range
    a, b = ref(*a, g), fused(*b, g)
  _close(a, b)
  assert int(b[1][0].count) == 6


@needs_library
def test_against_a_float64_numpy_adam():
  """Kingma & Ba's Algorithm 1 in float64, written from the paper, as the independent reference."""
  lr, b1, b2, eps = 3e-3, 0.9, 0.999, 1e-8
  tx = fused_adam.adam(lr, b1=b1, b2=b2, eps=eps)
  fused = _fused_step(tx)
  params, state = _tree(1), tx.init(_tree(1))
  p = {k: np.asarray(v, np.float64) for k, v in params.items()}
  m = {k: np.zeros_like(v) for k, v in p.items()}
  v = {k: np.zeros_like(x) for k, x in p.items()}
  for t in range(1, 8):
    g = _tree(200 + t)
    params, state = fused(params, state, g)
    for k in p:
      gk = np.asarray(g[k], np.float64)
      m[k] = b1 * m[k] + (1 - b1) * gk
      v[k] = b2 * v[k] + (1 - b2) * gk ** 2
      p[k] = p[k] - lr * (m[k] / (1 - b1 ** t)) / (np.sqrt(v[k] / (1 - b2 ** t)) + eps)
  _close(params, p, rtol=1e-5)
  _close(state[0].mu, m, rtol=1e-5)
  _close(state[0].nu, v, rtol=1e-5)


@needs_library
def test_vmapped_members_with_their_own_learning_rates():
  """The sweep engine vmaps members whose learning rate is traced: the handler gets one coefficient row per member.
  Each member equals its own unbatched fused update bit for bit (the same arithmetic per element) and optax's to
  rounding."""
  lrs = jnp.asarray([1e-3, 3e-2, 1e-1], jnp.float32)

  def member(lr, params, grads, fused):
    tx = fused_adam.adam(lr)
    with jax.numpy_dtype_promotion("standard"):
      state = tx.init(params)
      for _ in range(2):
        if fused:
          params, state, squares = fused_adam.apply(tx, grads, state, params)
          assert squares.shape == ()  # one per member once vmapped
        else:
          updates, state = tx.update(grads, state, params)
          params = optax.apply_updates(params, updates)
    return params, state

  params = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *[_tree(i) for i in range(3)])
  grads = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *[_tree(10 + i) for i in range(3)])
  batched = jax.jit(jax.vmap(lambda lr, p, g: member(lr, p, g, True)))(lrs, params, grads)
  reference = jax.jit(jax.vmap(lambda lr, p, g: member(lr, p, g, False)))(lrs, params, grads)
  _close(batched, reference)
  one = jax.jit(lambda lr, p, g: member(lr, p, g, True))
  for i in range(3):
    single = one(lrs[i], _tree(i), _tree(10 + i))
    for x, y in zip(jax.tree_util.tree_leaves(single), jax.tree_util.tree_leaves(batched), strict=True):
      np.testing.assert_array_equal(np.asarray(x), np.asarray(y)[i])


@needs_library
def test_the_gradient_norm_is_read_in_the_same_pass():
  """The handler's Σ g² against a float64 NumPy sum and against optax.tree.norm's square (to float32 rounding);
  vmapped members get their own sums, each equal bit for bit to its unbatched update's; without the handler
  :func:`fused_adam.squared_norm`'s square root is optax.tree.norm bit for bit."""
  tx = fused_adam.adam(1e-3)
  for seed, scale in ((0, 1.0), (1, 1e-4), (2, 1e3)):
    params, g = _tree(seed), _tree(50 + seed, scale=scale)
    _, _, squares = _fused_step(tx, squares=True)(params, tx.init(params), g)
    exact = sum(float(np.sum(np.asarray(x, np.float64) ** 2)) for x in g.values())
    np.testing.assert_allclose(float(squares), exact, rtol=2e-7)
    np.testing.assert_allclose(float(squares), float(optax.tree.norm(g)) ** 2, rtol=2e-6)
    np.testing.assert_array_equal(jnp.sqrt(fused_adam.squared_norm(g)), optax.tree.norm(g))
  stack = lambda trees: jax.tree_util.tree_map(lambda *x: jnp.stack(x), *trees)  # noqa: E731
  params, grads = stack([_tree(i) for i in range(3)]), stack([_tree(20 + i, scale=10.0 ** i) for i in range(3)])
  batched = jax.jit(jax.vmap(lambda p, g: _fused_step(tx, squares=True)(p, tx.init(p), g)[2]))(params, grads)
  assert batched.shape == (3,)
  for i in range(3):
    single = _fused_step(tx, squares=True)(_tree(i), tx.init(_tree(i)), _tree(20 + i, scale=10.0 ** i))[2]
    np.testing.assert_array_equal(np.asarray(single), np.asarray(batched)[i])


@needs_library
def test_inputs_are_left_intact_without_donation_and_updated_in_place_with_it():
  tx = fused_adam.adam(1e-2)
  params, g = _tree(3), _tree(4)
  state = tx.init(params)
  kept = jax.tree_util.tree_map(np.array, (params, state))
  out = _fused_step(tx)(params, state, g)
  for x, y in zip(jax.tree_util.tree_leaves((params, state)), jax.tree_util.tree_leaves(kept), strict=True):
    np.testing.assert_array_equal(np.asarray(x), y)
  assert not np.array_equal(np.asarray(out[0]["w"]), kept[0]["w"])
  donated = jax.jit(lambda p, s, gr: fused_adam.apply(tx, gr, s, p)[:2], donate_argnums=(0, 1))
  with jax.numpy_dtype_promotion("standard"):
    again = donated(*jax.tree_util.tree_map(jnp.array, (kept[0], kept[1])), g)
  _close(again, out, rtol=0)


@needs_library
def test_two_updates_in_one_program():
  """Two independent calls that XLA:CPU may run at once on its two-thread pool: each caller drains the work it does
  not see started, so neither waits on the other (a deadlock would hang this test)."""
  tx = fused_adam.adam(1e-2)

  def both(p1, p2, g1, g2):
    with jax.numpy_dtype_promotion("standard"):
      return (fused_adam.apply(tx, g1, tx.init(p1), p1)[:2], fused_adam.apply(tx, g2, tx.init(p2), p2)[:2])

  out = jax.jit(both)(_tree(5), _tree(6), _tree(7), _tree(8))
  _close(out[0], _fused_step(tx)(_tree(5), tx.init(_tree(5)), _tree(7)), rtol=0)
  _close(out[1], _fused_step(tx)(_tree(6), tx.init(_tree(6)), _tree(8)), rtol=0)


@needs_library
def test_the_train_step_takes_it_where_enabled_and_trains_alike(monkeypatch):
  """The factory's "adam" is fusable; the jitted step lowers to the custom call with the switch on and to optax's
  update with it off, and a few steps agree to float32 rounding."""
  from vae_jax import factory  # noqa: PLC0415
  from vae_jax.configs import OptimizerConfig  # noqa: PLC0415
  from vae_jax.train.state import TrainState  # noqa: PLC0415
  from vae_jax.train.step import make_train_step  # noqa: PLC0415

  tx = factory.make_optimizer(OptimizerConfig(name="adam", learning_rate=1e-2))
  assert fused_adam.fusable(tx)
  assert not fused_adam.fusable(factory.make_optimizer(OptimizerConfig(name="adam", grad_clip_norm=1.0)))

  def loss_fn(params, batch, key, step):
    pred = jnp.tanh(batch["x"] @ params["w"] + params["b"][None])
    return jnp.mean((pred - batch["y"]) ** 2), {}

  rng = np.random.default_rng(0)
  batch = {"x": jnp.asarray(rng.normal(size=(16, 8)), jnp.float32),
           "y": jnp.asarray(rng.normal(size=(16, 3)), jnp.float32)}
  params = {"w": jnp.asarray(rng.normal(size=(8, 3)), jnp.float32), "b": jnp.zeros((3,), jnp.float32)}
  finals = {}
  for switch in ("1", "0"):
    monkeypatch.setenv("VAE_JAX_FUSED_ADAM", switch)
    step = make_train_step(loss_fn, tx)
    state = TrainState.fresh(params=jax.tree_util.tree_map(jnp.array, params), tx=tx)
    text = step.lower(state, batch, jax.random.key(0)).as_text()
    assert ("vae_jax_fused_adam" in text) == (switch == "1")
    for _ in range(5):
      state, metrics = step(state, batch, jax.random.key(0))
    finals[switch] = (state.params, state.opt_state, metrics["grad_norm"])
  _close(finals["1"], finals["0"], rtol=1e-5)


def test_the_gpu_lowering_never_sees_the_handler():
  tx = fused_adam.adam(1e-3)

  def f(p, g):
    with jax.numpy_dtype_promotion("standard"):
      return fused_adam.apply(tx, g, tx.init(p), p)

  if not fused_adam.available():
    pytest.skip(fused_adam.why_unavailable())
  cuda = jax.export.export(jax.jit(f), platforms=("cuda",))(_tree(0), _tree(1)).mlir_module()
  assert "vae_jax_fused_adam" not in cuda and "sqrt" in cuda
  assert "vae_jax_fused_adam" in jax.jit(f).lower(_tree(0), _tree(1)).as_text()


def test_bad_input_says_what_to_use():
  p, g = _tree(0), _tree(1)
  sgd = optax.sgd(1e-2)
  with pytest.raises(ValueError, match="vae_jax.fused_adam.adam"):
    fused_adam.apply(sgd, g, sgd.init(p), p)
  half = jax.tree_util.tree_map(lambda x: x.astype(jnp.bfloat16), p)
  tx = fused_adam.adam(1e-2)
  assert not fused_adam.fusable(tx, half)
  with pytest.raises(ValueError, match="float32"):
    fused_adam.apply(tx, half, tx.init(half), half)


def test_the_switch(monkeypatch):
  monkeypatch.setenv("VAE_JAX_FUSED_ADAM", "0")
  assert fused_adam.enabled() is False
  monkeypatch.setenv("VAE_JAX_FUSED_ADAM", "auto")
  assert fused_adam.enabled() is (jax.device_count() == 1 and fused_adam.available())
  monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
  monkeypatch.setattr(fused_adam, "available", lambda: pytest.fail("built on a GPU process"))
  assert fused_adam.enabled() is False
  monkeypatch.setenv("VAE_JAX_FUSED_ADAM", "sometimes")
  with pytest.raises(ValueError, match="VAE_JAX_FUSED_ADAM"):
    fused_adam.enabled()


def test_without_a_compiler_optax_is_used_and_the_reason_is_given(tmp_path):
  use = """
from vae_jax.train.state import TrainState
from vae_jax.train.step import make_train_step
tx = fused_adam.adam(1e-2)
step = make_train_step(lambda p, b, k, s: (jnp.sum((p["w"] - b) ** 2), {}), tx)
state, m = step(TrainState.fresh(params={"w": jnp.ones(3)}, tx=tx), jnp.zeros(3), jax.random.key(0))
print("STEP", int(state.step), float(m["grad_norm"]))
"""
  stdout = helpers.check_without_compiler(tmp_path, "fused_adam", "VAE_JAX_FUSED_ADAM", "the fused Adam handler is",
                                          use)
  assert "STEP 1 " in stdout


@needs_library
def test_the_build_is_cached(tmp_path, monkeypatch):
  flags = ["-O3", "-fno-math-errno", "-ffp-contract=off"]
  first = ffi_build.compile_library(fused_adam._SOURCE, tmp_path, flags=flags)
  monkeypatch.setattr(ffi_build.subprocess, "run", lambda *a, **k: pytest.fail("compiled twice"))
  assert ffi_build.compile_library(fused_adam._SOURCE, tmp_path, flags=flags) == first
  assert [p.name for p in tmp_path.iterdir()] == [first.name]


@needs_library
def test_a_sweep_with_swept_learning_rates_trains_alike_fused_or_not(monkeypatch, tmp_path):
  """The sweep engine's vmapped members, each with its traced learning rate, through the handler (one device, as
  ``auto`` picks on a single-device CPU) and through optax: the same models to float32 rounding."""
  import dataclasses  # noqa: PLC0415

  from experiments import main as cli  # noqa: PLC0415
  from vae_jax import sweep  # noqa: PLC0415

  base = cli.load_config_file(helpers.TINY)
  grid = sweep.make_sweep(dataclasses.replace(base, num_steps=6, num_devices=1),
                          {"optimizer.learning_rate": [1e-3, 1e-2]}, seeds=[0])
  traced, original = [], fused_adam.apply
  monkeypatch.setattr(fused_adam, "apply", lambda *a, **k: traced.append(1) or original(*a, **k))
  params = {}
  for switch in ("1", "0"):
    monkeypatch.setenv("VAE_JAX_FUSED_ADAM", switch)
    traced.clear()
    res = sweep.train_sweep(grid, str(tmp_path / switch))
    assert bool(traced) == (switch == "1")
    params[switch] = jax.device_get(res["state"].members.params)
  _close(params["1"], params["0"], rtol=1e-4)


@needs_library
def test_threads_load_the_handler_once(monkeypatch):
  calls = helpers.registrations_from_threads(fused_adam, monkeypatch)  # a second registration must not happen
  assert calls == ["vae_jax_fused_adam"] and fused_adam.available()
