"""The study's figures: score distributions over seeds, metric curves, side-by-side traversals."""

import numpy as np
import pytest
from PIL import Image

from vae_jax import plots


def test_score_distributions_and_curves_write_pngs(tmp_path):
  scores = {"β=1": {"mig": [0.1, 0.2, 0.15], "sap": [0.0, 0.1, 0.05]}, "β=4": {"mig": [0.3, 0.2], "sap": [0.2, 0.1]}}
  path = plots.score_distributions(scores, tmp_path / "s.png", metrics=[("mig", "MIG"), ("sap", "SAP")], title="t")
  assert Image.open(path).size[0] > 100
  series = {"β=1": [{"step": 2, "mig": 0.1}, {"step": 1, "mig": 0.05}], "β=4": [{"step": 1, "mig": 0.2}]}
  path = plots.metric_curves(series, tmp_path / "c.png", metrics=[("mig", "MIG")])
  assert Image.open(path).size[1] > 100
  with pytest.raises(ValueError, match="at least one setting"):
    plots.score_distributions({}, tmp_path / "x.png", metrics=[("mig", "MIG")])
  with pytest.raises(ValueError, match="at least one series"):
    plots.metric_curves({}, tmp_path / "x.png", metrics=[("mig", "MIG")])


def test_traversal_panels_side_by_side_and_bad_input(tmp_path):
  a = np.random.default_rng(0).uniform(size=(3, 5, 8, 8, 1))
  b = np.random.default_rng(1).uniform(size=(2, 5, 8, 8, 1))
  path = plots.traversal_panels([("VAE", a, ["z0", "z1", "z2"]), ("β-VAE", b, ["z3", "z4"])], tmp_path / "t.png",
                                title="traversals")
  width, height = Image.open(path).size
  assert width > height  # two panels side by side
  with pytest.raises(ValueError, match="one label per row"):
    plots.traversal_panels([("VAE", a, ["z0"])], tmp_path / "bad.png")
  with pytest.raises(ValueError, match="no panel"):
    plots.traversal_panels([], tmp_path / "bad.png")


def test_factor_responses_one_row_per_model_and_bad_input(tmp_path):
  rng = np.random.default_rng(0)
  model = [rng.normal(size=(n, 4)) for n in (3, 8, 8)]
  path = plots.factor_responses([("VAE", model), ("β-TCVAE", model)], ("shape", "pos_x", "pos_y"), tmp_path / "r.png",
                                shown=[1, 2], title="responses")
  assert Image.open(path).size == (600, 490)  # two rows (2.3 in each, 0.3 for the title) of two panels (3 in each)
  with pytest.raises(ValueError, match="2 responses for 3 factors"):
    plots.factor_responses([("VAE", model[:2])], ("shape", "pos_x", "pos_y"), tmp_path / "bad.png")
  with pytest.raises(ValueError, match="no row"):
    plots.factor_responses([], ("a",), tmp_path / "bad.png")
