"""vae_jax.evaluation.paired: per-seed differences against a reference, and the settings summary built on them."""

import numpy as np
import pytest

from vae_jax import evaluation


def test_paired_differences_over_common_seeds():
  a = {0: {"m": 0.5}, 1: {"m": 0.7}, 2: {"m": 0.1}}
  ref = {0: {"m": 0.4}, 1: {"m": 0.6}}  # seed 2 has no reference: left out
  d = evaluation.paired_differences(a, ref, ["m"])["m"]
  np.testing.assert_allclose(d["values"], [0.1, 0.1])
  assert d["n"] == 2 and d["higher"] == 2 and d["all_higher"]
  assert d["mean"] == pytest.approx(0.1) and d["std"] == pytest.approx(0.0, abs=1e-12)
  assert not evaluation.paired_differences({0: {"m": 0.3}}, {0: {"m": 0.4}}, ["m"])["m"]["all_higher"]
  assert not evaluation.paired_differences({5: {"m": 1.0}}, ref, ["m"])["m"]["all_higher"]  # no common seed


def test_compare_settings_summary_paired_wins_and_headline_median():
  groups = {"ref": [(0, {"a": 0.1, "b": 0.5}), (1, {"a": 0.2, "b": 0.5})],
            "x": [(0, {"a": 0.3, "b": 0.4}), (1, {"a": 0.4, "b": 0.6})]}
  cmp = evaluation.compare_settings(groups, "ref", ["a", "b"], headline=["a", "b"], paired_keys=["a", "b"])
  assert cmp["summary"]["x"]["a"]["median"] == pytest.approx(0.35) and cmp["summary"]["ref"]["b"]["std"] == 0.0
  assert list(cmp["paired"]) == ["x"] and cmp["paired"]["x"]["b"]["higher"] == 1
  assert cmp["wins"]["x"] == ["a"]  # b is higher on one seed of two
  assert cmp["headline_median"]["x"] == pytest.approx((0.35 + 0.5) / 2)


def test_standard_error_and_significant_against_numpy():
  rng = np.random.default_rng(0)
  ref = {i: {"m": float(v)} for i, v in enumerate(rng.normal(size=30))}
  shifted = {"up": 0.8, "down": -0.8, "same": 0.0}
  entries = {name: evaluation.paired_differences(
      {i: {"m": r["m"] + shift + 0.1 * float(rng.normal())} for i, r in ref.items()}, ref, ["m"])["m"]
      for name, shift in shifted.items()}
  for e in entries.values():  # the standard error of the mean difference: std(ddof=1) / sqrt(n)
    se = evaluation.standard_error(e)
    assert se["mean"] == e["mean"] and se["n"] == 30
    assert se["std"] == pytest.approx(np.std(e["values"], ddof=1) / np.sqrt(30))
  assert evaluation.significant(entries) == (["up"], ["down"])
  # one pair, or differences without spread, are never called significant
  one = evaluation.paired_differences({0: {"m": 1.0}}, {0: {"m": 0.0}}, ["m"])["m"]
  flat = evaluation.paired_differences({0: {"m": 1.0}, 1: {"m": 2.0}}, {0: {"m": 0.0}, 1: {"m": 1.0}}, ["m"])["m"]
  assert evaluation.significant({"one": one, "flat": flat}) == ([], [])
  assert evaluation.standard_error(one)["std"] == 0.0


def test_mean_difference_is_the_paired_mean_and_its_standard_error():
  a, b = np.array([3.0, 1.0, 4.0, 1.0]), np.array([1.0, 1.0, 2.0, 0.0])
  d = a - b
  out = evaluation.mean_difference(a, b)
  assert out["n"] == 4 and out["mean"] == pytest.approx(d.mean())
  assert out["std"] == pytest.approx(np.std(d, ddof=1) / 2.0)
  with pytest.raises(ValueError, match="1-d of one length"):
    evaluation.mean_difference(a, b[:3])


def test_latent_factor_readings():
  kl = np.array([0.001, 2.0, 1.0])
  imp = np.array([[0.0, 0.0], [0.9, 0.1], [0.2, 0.6]])
  mi = np.array([[0.0, 0.0], [0.8, 0.1], [0.1, 0.5]])
  rows = evaluation.latent_factor_rows(kl, imp, mi, ["shape", "scale"], active_kl=0.01)
  assert [r[0] for r in rows] == ["z1", "z2"]  # by decreasing KL, the inactive latent left out
  assert rows[0][2:4] == ["shape", 0.9] and rows[1][2] == "scale" and rows[1][5] == "scale (0.50)"
  assert evaluation.factor_latent_cells(imp) == ["z1 (0.82)", "z2 (0.86)"]
  assert evaluation.latent_factor_names(kl, imp, ["shape", "scale"], active_kl=0.01) == ["(inactive)", "shape",
                                                                                         "scale"]
