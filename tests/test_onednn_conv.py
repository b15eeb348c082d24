"""vae_jax.onednn_conv: oneDNN's convolution products against lax.conv_general_dilated and its vjp, the switch that
selects them, the GPU lowering that must not see them, determinism, vmapped members, and the fallback."""

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import ffi_build, onednn_conv, space_to_depth

DN = ("NHWC", "HWIO", "NHWC")
needs_library = pytest.mark.skipif(not onednn_conv.available(),
                                   reason=f"oneDNN handlers unavailable: {onednn_conv.why_unavailable()}")


def _lax(x, w, s):
  return jax.lax.conv_general_dilated(x, w, (s, s), "SAME", dimension_numbers=DN, precision="highest")


def test_ci_builds_the_library():
  """CI installs libdnnl-dev and g++ (scripts/setup.sh): there the library path must be tested, not skipped."""
  helpers.assert_built_in_ci(onednn_conv)


# (batch, H, W, C_in, C_out, k, stride): the conv β-VAE's layers, odd sizes, k < s (rows never read), stride 1.
GEOMETRIES = [(2, 64, 64, 1, 32, 4, 2), (3, 32, 32, 32, 32, 4, 2), (2, 8, 8, 64, 64, 4, 2), (2, 7, 9, 3, 5, 3, 2),
              (1, 9, 6, 2, 3, 4, 2), (2, 4, 4, 3, 5, 1, 2), (2, 6, 5, 3, 4, 3, 1), (2, 6, 6, 3, 4, 4, 3)]


@needs_library
@pytest.mark.parametrize("b,h,w,c,o,k,s", GEOMETRIES)
def test_the_three_products_equal_lax_and_its_vjp(b, h, w, c, o, k, s):
  rng = np.random.default_rng(b * 1000 + h * 10 + c + k)
  x = jnp.asarray(rng.normal(size=(b, h, w, c)), jnp.float32)
  kern = jnp.asarray(rng.normal(size=(k, k, c, o)), jnp.float32)
  y, vjp = jax.vjp(lambda x, kern: _lax(x, kern, s), x, kern)
  dy = jnp.asarray(rng.normal(size=y.shape), jnp.float32)
  dx, dk = vjp(dy)
  scale = np.sqrt(k * k * max(c, o))  # the products' magnitudes grow with the sums they are
  np.testing.assert_allclose(jax.jit(onednn_conv.forward, static_argnums=2)(x, kern, s), y, atol=1e-5 * scale)
  np.testing.assert_allclose(onednn_conv.backward_data(dy, kern, s, x.shape), dx, atol=1e-5 * scale)
  np.testing.assert_allclose(onednn_conv.backward_weights(x, dy, s, kern.shape), dk, atol=1e-4 * scale * b)


@needs_library
def test_same_padding_is_xlas():
  for size, k, s in [(64, 4, 2), (7, 3, 2), (9, 4, 2), (4, 1, 2), (5, 3, 1), (6, 4, 3)]:
    x = jnp.zeros((1, size, 1, 1))
    padded = jax.lax.conv_general_dilated_patches(x, (k, 1), (s, 1), "SAME", dimension_numbers=DN)
    lo = max((padded.shape[1] - 1) * s + k - size, 0) // 2
    assert onednn_conv.same_padding(size, k, s) == lo


def _grads(x, kern, cot):
  return jax.jit(jax.value_and_grad(lambda x, kern: jnp.sum(space_to_depth.conv(x, kern, 2) * cot), argnums=(0, 1)))


@needs_library
@pytest.mark.parametrize("switch,expect_library", [("1", True), ("0", False), ("auto", False)])
def test_the_switch_selects_the_products(monkeypatch, switch, expect_library):
  """``auto`` keeps XLA's convolutions here: the suite runs with 8 CPU devices (tests/conftest.py)."""
  assert jax.device_count() > 1
  monkeypatch.setenv("VAE_JAX_ONEDNN", switch)
  rng = np.random.default_rng(0)
  x, kern = (jnp.asarray(rng.normal(size=s), jnp.float32) for s in ((2, 16, 16, 8), (4, 4, 8, 6)))
  cot = jnp.asarray(rng.normal(size=(2, 8, 8, 6)), jnp.float32)
  hlo = _grads(x, kern, cot).lower(x, kern).compile().as_text()
  for target in ("forward", "backward_data", "backward_weights"):
    assert (f"vae_jax_onednn_{target}" in hlo) == expect_library, target
  got = _grads(x, kern, cot)(x, kern)
  monkeypatch.setenv("VAE_JAX_ONEDNN", "0")
  want = _grads(x, kern, cot)(x, kern)
  for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
    np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4)


@needs_library
def test_a_gpu_lowering_keeps_xlas_convolutions(monkeypatch):
  monkeypatch.setenv("VAE_JAX_ONEDNN", "1")
  x, kern = jnp.ones((2, 16, 16, 8)), jnp.ones((4, 4, 8, 6))
  f = jax.jit(jax.grad(lambda x, kern: jnp.sum(space_to_depth.conv(x, kern, 2) ** 2), argnums=(0, 1)))
  cuda = jax.export.export(f, platforms=("cuda",))(x, kern).mlir_module()
  cpu = f.lower(x, kern).as_text()
  assert "vae_jax_onednn" not in cuda and "convolution" in cuda
  assert "vae_jax_onednn_backward_weights" in cpu


@needs_library
def test_vmapped_members_equal_each_member_and_runs_repeat_bit_for_bit(monkeypatch):
  """Sweeps vmap the update over members (the handlers run member after member); reruns must be bit-identical
  (resumed runs are compared bit for bit)."""
  monkeypatch.setenv("VAE_JAX_ONEDNN", "1")
  rng = np.random.default_rng(1)
  x = jnp.asarray(rng.normal(size=(3, 4, 16, 16, 8)), jnp.float32)
  kern = jnp.asarray(rng.normal(size=(3, 4, 4, 8, 6)), jnp.float32)
  cot = jnp.asarray(rng.normal(size=(4, 8, 8, 6)), jnp.float32)

  def one(x, kern):
    return jax.grad(lambda x, kern: jnp.sum(space_to_depth.conv(x, kern, 2) * cot), argnums=(0, 1))(x, kern)

  members = jax.jit(jax.vmap(one))(x, kern)
  again = jax.jit(jax.vmap(one))(x, kern)
  for i in range(3):
    for got, want in zip(members, jax.jit(one)(x[i], kern[i]), strict=True):
      np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-5)
  for a, b in zip(members, again, strict=True):
    np.testing.assert_array_equal(a, b)


def test_a_bad_switch_is_a_clear_error(monkeypatch):
  monkeypatch.setenv("VAE_JAX_ONEDNN", "sometimes")
  with pytest.raises(ValueError, match="VAE_JAX_ONEDNN='sometimes': must be 0, 1 or auto"):
    onednn_conv.enabled()
  monkeypatch.setenv("VAE_JAX_ONEDNN", " Off ")  # the library's one switch vocabulary (vae_jax.env_switch)
  assert onednn_conv.enabled() is False


def test_without_a_compiler_xla_convolutions_are_used_and_the_reason_is_given(tmp_path):
  use = """
from vae_jax import space_to_depth
y = jax.jit(lambda x, k: space_to_depth.conv(x, k, 2))(jnp.ones((1, 8, 8, 2)), jnp.ones((4, 4, 2, 3)))
print("CONV", y.shape)
"""
  stdout = helpers.check_without_compiler(tmp_path, "onednn_conv", "VAE_JAX_ONEDNN", "oneDNN convolutions are", use)
  assert "CONV (1, 4, 4, 3)" in stdout


@needs_library
def test_the_build_is_cached(tmp_path, monkeypatch):
  first = onednn_conv.build_library(tmp_path)
  monkeypatch.setattr(ffi_build.subprocess, "run", lambda *a, **k: pytest.fail("compiled twice"))
  assert onednn_conv.build_library(tmp_path) == first and first.stat().st_size > 0
  assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary left


@needs_library
def test_a_conv_sweep_on_one_device_equals_its_xla_twin(monkeypatch, tmp_path):
  """Members vmapped over oneDNN's handlers inside the sweep's scanned update (one device: what ``auto`` picks on a
  single-device CPU, read from the lowered program) train as the same sweep on XLA's convolutions (host-stepped,
  as ``auto`` picks for them) does, up to float rounding."""
  import dataclasses  # noqa: PLC0415

  from experiments import main as cli  # noqa: PLC0415
  from vae_jax import methods, sweep  # noqa: PLC0415

  base = cli.load_config_file(helpers.TINY)
  model = dataclasses.replace(base.model, architecture="conv", conv_channels=(8, 8), conv_dense=(16,))
  grid = sweep.make_sweep(dataclasses.replace(base, model=model, method=methods.beta_vae.Config(), num_steps=4,
                                              num_devices=1),
                          {"method.beta": [1.0, 4.0]}, seeds=[0])
  params = {}
  for switch, loop in (("1", "scan"), ("0", "host")):  # the single run's rule, applied to the lowered program
    monkeypatch.setenv("VAE_JAX_ONEDNN", switch)
    res = sweep.train_sweep(grid, str(tmp_path / switch))
    assert res["loop"] == loop, switch
    params[switch] = jax.device_get(res["state"].members.params)
  for a, b in zip(jax.tree.leaves(params["1"]), jax.tree.leaves(params["0"]), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@needs_library
def test_threads_load_the_library_once(monkeypatch):
  calls = helpers.registrations_from_threads(onednn_conv, monkeypatch)  # a second registration must not happen
  assert sorted(calls) == sorted(f"vae_jax_onednn_{n}" for n in onednn_conv._TARGETS) and onednn_conv.available()
