"""Tests for vae_jax.plots: every figure writes a valid PNG of a sensible size; bad shapes raise ValueError."""

import numpy as np
import pytest
from PIL import Image

from vae_jax import plots


def _images(n=6, h=12, w=12, c=1, seed=0):
  return np.random.default_rng(seed).uniform(size=(n, h, w, c)).astype(np.float32)


def _check_png(path, *, min_size=(100, 60)):
  with open(path, "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n"
  with Image.open(path) as image:
    image.verify()
  with Image.open(path) as image:
    width, height = image.size
    pixels = np.asarray(image.convert("L"), dtype=np.float32)
  assert min_size[0] <= width <= 4000 and min_size[1] <= height <= 4000
  assert pixels.std() > 1.0  # not a blank canvas
  return width, height


def test_tile_images_layout():
  images = np.stack([np.full((2, 3, 1), v, np.float32) for v in (0.1, 0.2, 0.3)])
  mosaic = plots.tile_images(images, ncols=2, pad=1, pad_value=1.0)
  assert mosaic.shape == (2 * 3 + 1, 2 * 4 + 1, 1)
  assert mosaic[1, 1, 0] == pytest.approx(0.1) and mosaic[1, 5, 0] == pytest.approx(0.2)
  assert mosaic[4, 1, 0] == pytest.approx(0.3) and mosaic[4, 5, 0] == 1.0  # empty cell is padding
  assert plots.tile_images(_images(n=5, c=3)).shape == (2 * 13 + 1, 3 * 13 + 1, 3)  # ceil(sqrt(5)) = 3 columns


@pytest.mark.parametrize("channels", [1, 3])
def test_image_grid(tmp_path, channels):
  path = plots.image_grid(_images(n=16, c=channels), tmp_path / "grid.png", title="samples")
  assert path == tmp_path / "grid.png"
  _check_png(path, min_size=(200, 200))


def test_reconstruction_and_denoising_grids(tmp_path):
  clean = _images(n=12, h=16, w=16)
  noisy = np.clip(clean + 0.3 * np.random.default_rng(1).normal(size=clean.shape), 0, 1)
  width, height = _check_png(plots.reconstruction_grid(clean, 0.9 * clean, tmp_path / "recon.png"))
  assert width > 2 * height  # ten columns, two rows
  width3, height3 = _check_png(plots.denoising_grid(clean, noisy, clean, tmp_path / "denoise.png", max_images=4))
  assert height3 > height and width3 < width


def test_latent_traversal_rows_and_order(tmp_path):
  calls = []

  def decode_fn(codes):
    calls.append(codes.copy())
    brightness = 1 / (1 + np.exp(-codes[:, 0] - 0.5 * codes[:, 1]))  # [M]
    return np.broadcast_to(brightness[:, None, None, None], (len(codes), 10, 10, 1))

  path = plots.latent_traversal(decode_fn, np.zeros(4), tmp_path / "traversal.png", values=[-2.0, 0.0, 2.0],
                                dims_order=[1, 0], row_labels=["z1 KL=3.0", "z0 KL=1.0"])
  _check_png(path)
  (codes,) = calls  # one call for the whole figure
  assert codes.shape == (6, 4) and codes.dtype == np.float32
  np.testing.assert_array_equal(codes[:3, 1], [-2, 0, 2])  # first row sweeps dimension 1 ...
  np.testing.assert_array_equal(codes[:3, [0, 2, 3]], 0)  # ... with the others at the base code
  np.testing.assert_array_equal(codes[3:, 0], [-2, 0, 2])


def test_latent_scatter_kl_bars_and_curves(tmp_path):
  rng = np.random.default_rng(0)
  labels = rng.integers(0, 10, size=500)
  codes = rng.normal(size=(500, 3)) + 3 * np.stack([np.cos(labels), np.sin(labels), labels / 10], axis=1)
  _check_png(plots.latent_scatter_2d(codes, labels, tmp_path / "scatter.png", dims=(0, 1)), min_size=(400, 300))
  _check_png(plots.kl_per_dim_bars(np.array([2.5, 0.001, 1.2, 0.0, 0.4]), tmp_path / "kl.png"), min_size=(250, 200))
  records = [{"step": s, "loss": 100 / (s + 1), "kl": np.float32(s / 10)} for s in range(0, 200, 10)]
  records += [{"step": s, "eval_psnr": 20 + s / 50, "loss": float("nan")} for s in (50, 150)]
  width, _ = _check_png(plots.training_curves(records, tmp_path / "curves.png", log_scale=("loss",)),
                        min_size=(600, 200))
  assert width > 800  # three panels side by side


def test_bad_shapes_raise(tmp_path):
  path = tmp_path / "bad.png"
  with pytest.raises(ValueError, match=r"\[4, 8, 8\]"):
    plots.image_grid(np.zeros((4, 8, 8)), path)
  with pytest.raises(ValueError, match=r"C in \{1, 3\}"):
    plots.tile_images(np.zeros((4, 8, 8, 2)))
  with pytest.raises(ValueError, match="shapes differ"):
    plots.reconstruction_grid(_images(n=3), _images(n=4), path)
  with pytest.raises(ValueError, match="shapes differ"):
    plots.denoising_grid(_images(n=3), _images(n=3), _images(n=3, c=3), path)
  with pytest.raises(ValueError, match="out of range"):
    plots.latent_traversal(lambda z: np.zeros((len(z), 8, 8, 1)), np.zeros(3), path, dims_order=[3])
  with pytest.raises(ValueError, match="decode_fn output"):
    plots.latent_traversal(lambda z: np.zeros((len(z), 8, 8)), np.zeros(3), path)
  with pytest.raises(ValueError, match=r"labels\[3\]"):
    plots.latent_scatter_2d(np.zeros((4, 2)), np.zeros(3), path)
  with pytest.raises(ValueError, match=r"\[2, 2\]"):
    plots.kl_per_dim_bars(np.zeros((2, 2)), path)
  with pytest.raises(ValueError, match="step"):
    plots.training_curves([{"loss": 1.0}], path)
  assert not path.exists()


def test_score_histograms_linear_and_log_panels(tmp_path):
  rng = np.random.default_rng(0)
  scores = {"in": rng.lognormal(0.0, 1.0, 200), "out": rng.lognormal(3.0, 1.0, 100) - 0.5}  # some below 10⁻²
  path = plots.score_histograms([("linear", scores), ("regret", scores, "log")], {"in": "in", "out": "out"},
                                str(tmp_path / "h.png"), title="t")
  width, _ = _check_png(path)
  assert width >= 700  # two panels
  with pytest.raises(ValueError, match="third element must be 'log', got 'symlog'"):
    plots.score_histograms([("x", scores, "symlog")], {"in": "in"}, str(tmp_path / "bad.png"))
