"""benchmarks.onednn_matmul: oneDNN's matmul primitive, the MLP step bound's third contender for each product,
against a float64 NumPy product; its errors; and the bound charging the fastest of XLA's and oneDNN's times."""

import helpers
import jax
import numpy as np
import pytest

from benchmarks import bound, onednn_matmul

needs_library = pytest.mark.skipif(not onednn_matmul.available(),
                                   reason=f"oneDNN's matmul unavailable: {onednn_matmul.why_unavailable()}")


def test_ci_builds_the_handler():
  """CI installs libdnnl-dev and g++ (scripts/setup.sh): there the bound must charge oneDNN's products too."""
  helpers.assert_built_in_ci(onednn_matmul)


def _operands(einsum, b, i, o, seed=0):
  dims = {"b": b, "i": i, "o": o}
  rng = np.random.default_rng(seed)
  return [rng.normal(size=[dims[c] for c in side]).astype(np.float32) for side in einsum.split("->")[0].split(",")]


@needs_library
@pytest.mark.parametrize("einsum", sorted(onednn_matmul.TRANSPOSES))
@pytest.mark.parametrize("b,i,o", [(5, 7, 3), (1, 1, 1), (16, 784, 500), (33, 20, 500)])
def test_each_product_equals_numpy_in_float64(einsum, b, i, o):
  x, y = _operands(einsum, b, i, o, seed=b + i + o)
  got = np.asarray(jax.jit(lambda x, y: onednn_matmul.product(einsum, x, y))(x, y))
  want = np.einsum(einsum, x.astype(np.float64), y.astype(np.float64))
  assert got.shape == want.shape
  contracted = {"bi,io->bo": i, "bi,bo->io": b, "bo,io->bi": o}[einsum]
  np.testing.assert_allclose(got, want, atol=2e-6 * np.sqrt(contracted) * 4, rtol=0)  # float32 sums of N(0,1)²


@needs_library
def test_bad_operands_are_clear_errors():
  a, b = np.ones((3, 4), np.float32), np.ones((5, 2), np.float32)
  with pytest.raises(ValueError, match=r"op\(a\) is \[3, 4\] and op\(b\) \[5, 2\]: inner sizes differ"):
    onednn_matmul.matmul(a, b)
  with pytest.raises(ValueError, match="two float32 matrices"):
    onednn_matmul.matmul(np.ones((2, 3, 4), np.float32), b)
  with pytest.raises(ValueError, match="two float32 matrices"):
    onednn_matmul.matmul(a.astype(np.float64), np.ones((4, 2), np.float64))
  with pytest.raises(ValueError, match="not 'ij,jk->ik'"):
    onednn_matmul.product("ij,jk->ik", a, b)


def test_the_own_shape_bound_charges_the_fastest_of_xla_and_onednn(monkeypatch):
  # Fake timings (no product runs): XLA alone 3 µs, in one program 2 µs, oneDNN 1 µs for the forward products and
  # 5 µs for the others; the own-shape charge must be each product's fastest, and oneDNN's times recorded.
  monkeypatch.setattr(bound, "peak_gflop_s", lambda n, reps: 1e-3)  # so slow that the peak never binds
  monkeypatch.setattr(bound, "bandwidth_gbs", lambda floats, reps: 1.0)
  monkeypatch.setattr(bound, "matmul_seconds", lambda e, b, i, o, **kw: 3e-6)
  monkeypatch.setattr(bound, "program_matmul_seconds", lambda e, b, i, o, **kw: 2e-6)
  monkeypatch.setattr(bound, "onednn_matmul_seconds", lambda e, b, i, o, **kw: 1e-6 if e == "bi,io->bo" else 5e-6)
  res = bound.mlp_step_bound(8)
  own = res["per_product_own_us"]
  assert set(own) == set(res["per_product_onednn_us"]) == set(res["per_product_xla_us"])
  for label, us in own.items():
    assert us == pytest.approx(1.0 if label.endswith(".fwd") else 2.0), label
    assert res["per_product_xla_us"][label] == pytest.approx(2.0)  # XLA's faster measurement, kept beside
  assert res["own_matmul_s"] == pytest.approx(sum(own.values()) * 1e-6)
  # Without the handler (inf), the charges are XLA's and nothing of oneDNN is recorded.
  monkeypatch.setattr(bound, "onednn_matmul_seconds", lambda e, b, i, o, **kw: float("inf"))
  res = bound.mlp_step_bound(8)
  assert set(res["per_product_own_us"].values()) == {2.0} and res["per_product_onednn_us"] == {}


def test_off_the_cpu_neither_onednn_contender_runs(monkeypatch):
  # Their handlers are registered for the CPU only: on a GPU or TPU the bounds must not call them (a jitted call
  # would fail to lower there), whatever `available()` says.
  monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
  assert bound.onednn_matmul_seconds("bi,io->bo", 4, 3, 2) == float("inf")
  assert bound.onednn_seconds(1, 8, 1, 2, "fwd") == float("inf")
