"""Smoke runs of the latent-space "other uses" experiments: each script's ``--size smoke`` end to end, in-process.

The Fashion-MNIST scripts share one runs root, so the VAE trained by ``semi_supervised`` is reused (restored, not
retrained) by ``attribute_vectors`` and ``interpolation``. Most of the time is compilation and data loading.
"""

import json
import math
import os

import pytest

from experiments import attribute_vectors, interpolation, latent_transfer, semi_supervised, sweeps

from helpers import datasets_available

pytest.importorskip("matplotlib")



fashion = pytest.mark.skipif(not datasets_available("fashion_mnist"), reason="Fashion-MNIST IDX files not available")


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
  base = tmp_path_factory.mktemp("uses")
  return str(base / "runs"), str(base / "results")


def _run(module, roots) -> dict:
  runs_root, results_dir = roots
  path = module.main(["--size", "smoke", "--runs-root", runs_root, "--results-dir", results_dir])
  assert path == os.path.join(results_dir, f"{module.NAME}.json")
  with open(path) as f:
    saved = json.load(f)
  assert saved["experiment"] == module.NAME and saved["size"] == "smoke" and saved["seeds"] == [0]
  assert saved["figures"]
  for figure in saved["figures"]:  # recorded relative to the repository root
    assert os.path.getsize(os.path.join(sweeps.ROOT, figure)) > 1000, figure
  for table in saved["tables"].values():  # report-ready tables only
    assert set(table) == {"columns", "rows"}
  return saved


def _column(table: dict, name: str) -> list:
  return [row[table["columns"].index(name)] for row in table["rows"]]


def _only_table(saved: dict) -> dict:
  (table,) = saved["tables"].values()
  return table


@fashion
def test_semi_supervised_smoke(roots):
  saved = _run(semi_supervised, roots)
  table, paired = saved["tables"].values()
  methods = _column(table, "method")
  assert {"random init", "AE fine-tuned", "AE linear probe", "VAE fine-tuned", "VAE linear probe"} <= set(methods)
  cells = dict(zip(methods, _column(table, "20 labels")))
  for cell in cells.values():  # 2 label draws of the one seed
    assert 0.0 <= cell["mean"] <= 1.0 and cell["n"] == 2
  # The paired table is the per-draw difference to random init: its mean is the difference of the means, and its
  # error the standard error of the two per-draw differences.
  assert _column(paired, "method") == [m for m in methods if m != "random init"]
  ref = cells["random init"]["values"]
  for method, diff, wins in zip(_column(paired, "method"), _column(paired, "20 labels: mean difference ± s.e."),
                                _column(paired, "20 labels: pairs higher / pairs")):
    d = [a - b for a, b in zip(cells[method]["values"], ref)]
    assert math.isclose(diff["mean"], sum(d) / 2, abs_tol=1e-12), method
    assert math.isclose(diff["std"], abs(d[0] - d[1]) / 2, abs_tol=1e-12), method  # std/√2 of two values
    assert wins == f"{sum(x > 0 for x in d)} / 2"
  assert sum(n.startswith("Verdict, 20 labels") for n in saved["notes"]) == 1


@fashion
def test_attribute_vectors_smoke(roots):
  saved = _run(attribute_vectors, roots)
  edits, matrix = saved["tables"].values()
  alphas = sweeps.load_config("attribute_vectors", "smoke").alphas
  assert len(edits["rows"]) == 2 * len(alphas)
  pixel_unedited = edits["rows"][len(alphas)]
  assert pixel_unedited[:2] == ["pixel space", 0.0] and pixel_unedited[3]["mean"] == 0.0  # the source itself
  assert all(0.0 <= c["mean"] <= 1.0 for c in _column(edits, "judge says target (success)"))
  assert len(matrix["rows"]) == 10 and len(matrix["columns"]) == 11


@fashion
def test_interpolation_smoke(roots):
  saved = _run(interpolation, roots)
  table = _only_table(saved)
  rows = {(r[0], r[1]): r for r in table["rows"]}
  mid = table["columns"].index("midpoint ‖z‖ / endpoints' mean ‖z‖")
  # Slerp keeps the norm by construction; the linear midpoint of two ~orthogonal prior draws is ~1/sqrt(2) as long.
  assert rows[("prior pairs", "slerp")][mid]["mean"] == pytest.approx(1.0, abs=1e-4)
  assert rows[("prior pairs", "linear")][mid]["mean"] < 0.85
  assert len(saved["figures"]) == 2


def test_latent_transfer_smoke(roots):
  saved = _run(latent_transfer, roots)
  iou, bce, dci, dims = saved["tables"].values()
  assert set(_column(iou, "model")) == {"beta_vae", "vae"}
  assert len(iou["rows"]) == 2 * (len(latent_transfer.sprites.FACTOR_NAMES) + 1)
  for column in iou["columns"][2:]:
    assert all(0.0 <= c["mean"] <= 1.0 for c in _column(iou, column))
    assert all(c["mean"] > 0 and math.isfinite(c["mean"]) for c in _column(bce, column))
  assert len(dci["rows"]) == 2 and len(dims["rows"]) == 2
  assert len(saved["figures"]) == 2
