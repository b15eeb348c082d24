"""plots.mean_std_lines: a PNG of mean ± std lines over categorical x; mismatched series raise ValueError."""

import numpy as np
import pytest
from PIL import Image

from vae_jax import plots


def test_writes_a_png(tmp_path):
  point = {"mean": 0.5, "std": 0.1}
  series = {"AE fine-tuned": [point, {"mean": 0.7, "std": 0.0}], "AE linear probe": [point, point]}
  path = plots.mean_std_lines(series, ["100", "all"], tmp_path / "lines.png", xlabel="labels", ylabel="accuracy",
                              title="t", groups={"AE fine-tuned": "AE", "AE linear probe": "AE"},
                              dashed=["AE linear probe"])
  with Image.open(path) as image:
    assert image.size[0] > 300 and np.asarray(image.convert("L")).std() > 1.0
  with pytest.raises(ValueError, match="each with 3 points"):
    plots.mean_std_lines(series, ["a", "b", "c"], tmp_path / "x.png", xlabel="", ylabel="")
