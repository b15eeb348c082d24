"""Tests for vae_jax.data.sprites: the procedural dSprites renderer, factor grid, sampling and the npz reader."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import data
from vae_jax.data import sprites

CENTRED = (2, 5, 0, 16, 16)  # a large heart near the centre


def factors_of(*rows):
  return np.asarray(rows, dtype=np.int32)


def sweep(base, column, values):
  rows = np.tile(np.asarray(base, dtype=np.int32), (len(values), 1))
  rows[:, column] = values
  return rows


def area(images):
  return np.asarray(images).sum(axis=(1, 2, 3))


def centroid(images):
  images = np.asarray(images)[..., 0]
  rows, cols = np.indices(images.shape[1:])
  mass = images.sum(axis=(1, 2))
  return (images * rows).sum(axis=(1, 2)) / mass, (images * cols).sum(axis=(1, 2)) / mass


def test_constants():
  assert sprites.FACTOR_SIZES == (3, 6, 40, 32, 32)
  assert sprites.FACTOR_NAMES == ("shape", "scale", "orientation", "pos_x", "pos_y")
  assert sprites.NUM_SPRITES == 737_280


def test_all_factors_is_the_grid_in_dsprites_order():
  grid = sprites.all_factors()
  assert grid.shape == (737_280, 5) and grid.dtype == np.int32
  np.testing.assert_array_equal(grid[:2], [[0, 0, 0, 0, 0], [0, 0, 0, 0, 1]])  # pos_y fastest
  np.testing.assert_array_equal(grid[32], [0, 0, 0, 1, 0])
  np.testing.assert_array_equal(grid[-1], np.asarray(sprites.FACTOR_SIZES) - 1)
  np.testing.assert_array_equal(grid.max(axis=0), np.asarray(sprites.FACTOR_SIZES) - 1)
  assert np.unique(grid @ np.asarray([1, 10, 100, 10_000, 1_000_000])).size == grid.shape[0]


def test_render_shape_dtype_binary_and_deterministic():
  factors = factors_of(CENTRED, (0, 0, 3, 0, 31), (1, 2, 39, 31, 0))
  images = sprites.render(factors)
  assert images.shape == (3, 64, 64, 1) and images.dtype == jnp.float32
  assert set(np.unique(np.asarray(images))) <= {0.0, 1.0}
  assert (area(images) > 10).all()
  np.testing.assert_array_equal(images, sprites.render(factors))


def reference_render(factors, resolution):
  """A plain NumPy loop over sprites, written from the conventions in the sprites module docstring."""
  out = np.zeros((len(factors), resolution, resolution, 1), np.float32)
  grid = (np.arange(resolution) + 0.5) / resolution
  margin = 0.2 + 0.5 / resolution
  for n, (shape, scale, orientation, x, y) in enumerate(factors):
    radius = 0.2 * np.linspace(0.5, 1.0, 6)[scale]
    angle = 2 * np.pi * orientation / 40
    dx = grid[None, :] - (margin + (1 - 2 * margin) * x / 31)
    dy = grid[:, None] - (margin + (1 - 2 * margin) * y / 31)
    u = (np.cos(angle) * dx + np.sin(angle) * dy) / radius
    v = (np.cos(angle) * dy - np.sin(angle) * dx) / radius
    if shape == 0:
      inside = np.maximum(np.abs(u), np.abs(v)) <= np.sqrt(0.5)
    elif shape == 1:
      inside = u**2 + 4 * v**2 <= 1
    else:
      hx, hy = 1.3 * u, 0.25 - 1.3 * v
      inside = (hx**2 + hy**2 - 1) ** 3 - hx**2 * hy**3 <= 0
    out[n, ..., 0] = inside
  return out


@pytest.mark.parametrize("resolution", [64, 32])
def test_render_matches_numpy_reference(resolution):
  factors = np.asarray(sprites.sample_factors(jax.random.key(5), 60))
  rendered = np.asarray(sprites.render(factors, resolution=resolution))
  reference = reference_render(factors, resolution)
  # float32 vs float64 may flip a pixel lying exactly on an edge
  assert np.abs(rendered - reference).sum() <= 0.001 * reference.sum()


def test_render_small_resolution():
  images = sprites.render(factors_of((0, 0, 0, 0, 0), (1, 0, 0, 31, 31), CENTRED), resolution=32)
  assert images.shape == (3, 32, 32, 1)
  assert (area(images) > 3).all()  # even the smallest sprites are visible at 32x32


def test_render_under_jit_and_vmap_matches_eager():
  factors = np.asarray(sprites.all_factors()[::70_001])
  eager = sprites.render(factors)
  jitted = jax.jit(lambda f: sprites.render(f, resolution=64))(factors)
  np.testing.assert_array_equal(eager, jitted)
  batched = jax.vmap(sprites.render)(factors.reshape(2, -1, 5) if factors.shape[0] % 2 == 0 else factors[None])
  np.testing.assert_array_equal(np.asarray(batched).reshape(eager.shape), eager)


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_scale_increases_area(shape):
  areas = area(sprites.render(sweep((shape, 0, 5, 16, 16), 1, range(6))))
  assert (np.diff(areas) > 0).all(), areas


@pytest.mark.parametrize("column,axis", [(3, 1), (4, 0)])  # pos_x moves columns, pos_y moves rows (down)
def test_position_moves_the_centroid(column, axis):
  images = sprites.render(sweep((0, 2, 0, 16, 16), column, range(32)))
  moving, fixed = centroid(images)[axis], centroid(images)[1 - axis]
  assert (np.diff(moving) > 0).all(), moving
  np.testing.assert_allclose(fixed, fixed[0], atol=1e-6)


def test_sprite_stays_inside_the_image():
  corners = [(s, 5, o, x, y) for s in range(3) for o in range(0, 40, 5) for x in (0, 31) for y in (0, 31)]
  images = np.asarray(sprites.render(factors_of(*corners)))
  border = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], axis=1)
  assert border.sum() == 0


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_orientation_rotates_and_preserves_area(shape):
  images = sprites.render(sweep((shape, 5, 0, 16, 16), 2, range(40)))
  areas = area(images)
  np.testing.assert_allclose(areas, areas[0], rtol=0.05)
  if shape == 2:  # the heart has no rotational symmetry: every orientation looks different
    flat = np.asarray(images).reshape(40, -1)
    assert all(not np.array_equal(flat[0], flat[k]) for k in range(1, 40))


def test_heart_points_down_at_orientation_zero_and_up_when_turned_half_way():
  images = np.asarray(sprites.render(factors_of((2, 5, 0, 16, 16), (2, 5, 20, 16, 16))))[..., 0]
  row_centre = centroid(images[..., None])[0]
  top = [img[: int(round(c))].sum() for img, c in zip(images, row_centre)]
  bottom = [img[int(round(c)):].sum() for img, c in zip(images, row_centre)]
  assert top[0] < bottom[0] * 2 and top[0] > bottom[0]  # lobes (more mass) above, the tip below
  assert top[1] < bottom[1]


def test_three_shapes_are_distinct():
  images = np.asarray(sprites.render(factors_of((0, 5, 0, 16, 16), (1, 5, 0, 16, 16), (2, 5, 0, 16, 16))))
  areas = area(images)
  assert len(set(areas.tolist())) == 3
  for i in range(3):
    for j in range(i + 1, 3):
      assert np.abs(images[i] - images[j]).sum() > 0.1 * areas.min()


@pytest.mark.parametrize("column,value", [(0, 3), (1, 6), (2, 40), (3, 32), (4, -1)])
def test_out_of_range_index_raises_naming_factor_value_and_range(column, value):
  factors = np.zeros((4, 5), dtype=np.int32)
  factors[2, column] = value
  name, size = sprites.FACTOR_NAMES[column], sprites.FACTOR_SIZES[column]
  with pytest.raises(ValueError, match=rf"'{name}'.*index {value} at row 2.*\[0, {size - 1}\]"):
    sprites.render(factors)


def test_out_of_range_under_jit_is_clipped():
  factors = factors_of((5, 9, 45, 40, -3))
  clipped = sprites.render(factors_of((2, 5, 39, 31, 0)))
  np.testing.assert_array_equal(jax.jit(sprites.render)(factors), clipped)


@pytest.mark.parametrize("shape", [(4, 4), (5,), (2, 6), (1, 2, 5)])
def test_wrong_shape_raises(shape):
  with pytest.raises(ValueError, match=r"shape \[N, 5\].*got shape \[" + ", ".join(map(str, shape))):
    sprites.render(np.zeros(shape, dtype=np.int32))


def test_float_factors_raise():
  with pytest.raises(ValueError, match="integer"):
    sprites.render(np.zeros((2, 5), dtype=np.float32))


def test_bad_resolution_raises():
  with pytest.raises(ValueError, match="resolution"):
    sprites.render(factors_of(CENTRED), resolution=0)


def test_sample_factors_typed_key_range_and_determinism():
  key = jax.random.key(0)
  factors = sprites.sample_factors(key, 3000)
  assert factors.shape == (3000, 5) and factors.dtype == jnp.int32
  f = np.asarray(factors)
  np.testing.assert_array_equal(f.min(axis=0), 0)
  np.testing.assert_array_equal(f.max(axis=0), np.asarray(sprites.FACTOR_SIZES) - 1)
  counts = np.bincount(f[:, 0], minlength=3)
  assert (np.abs(counts - 1000) < 120).all(), counts  # uniform over shapes (~4 sigma)
  np.testing.assert_array_equal(factors, sprites.sample_factors(key, 3000))
  assert not np.array_equal(factors, sprites.sample_factors(jax.random.key(1), 3000))


def test_sample_factors_subset():
  subset = {"shape": 2, "orientation": [0, 10, 20], "pos_x": range(4)}
  f = np.asarray(sprites.sample_factors(jax.random.key(3), 500, factor_subset=subset))
  assert set(f[:, 0]) == {2} and set(f[:, 2]) == {0, 10, 20} and set(f[:, 3]) == {0, 1, 2, 3}
  assert sprites.in_subset(f, subset).all()
  with pytest.raises(ValueError, match="Unknown factor"):
    sprites.sample_factors(jax.random.key(0), 2, factor_subset={"colour": 0})
  with pytest.raises(ValueError, match=r"'scale'.*index 6.*\[0, 5\]"):
    sprites.subset_factors({"scale": [6]})


def test_sample_inside_jit_matches_render():
  step = jax.jit(lambda key: sprites.sample(key, 8, resolution=32))
  images, factors = step(jax.random.key(7))
  assert images.shape == (8, 32, 32, 1) and factors.shape == (8, 5)
  np.testing.assert_array_equal(images, sprites.render(factors, resolution=32))


def test_subset_factors_and_in_subset():
  grid = sprites.subset_factors({"shape": 1, "scale": [0, 5]})
  assert grid.shape == (2 * 40 * 32 * 32, 5)
  mask = sprites.in_subset(sprites.all_factors(), {"shape": 1, "scale": [0, 5]})
  np.testing.assert_array_equal(sprites.all_factors()[mask], grid)


@pytest.mark.parametrize("dtype", [np.uint8, np.bool_, np.float32])
def test_materialize_in_chunks_matches_render(dtype):
  factors = sprites.subset_factors({"shape": 2, "orientation": 3, "pos_x": [0, 31], "pos_y": [5]})  # 12 rows
  images = sprites.materialize(factors, resolution=32, batch_size=5, dtype=dtype, progress=False)
  assert images.shape == (12, 32, 32, 1) and images.dtype == dtype
  np.testing.assert_array_equal(images.astype(np.float32), sprites.render(factors, resolution=32))


def test_materialize_rejects_bad_factors():
  with pytest.raises(ValueError, match="'orientation'"):
    sprites.materialize(factors_of((0, 0, 40, 0, 0)), progress=False)


def write_npz(path, factors):
  """A tiny file shaped like the official dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz."""
  imgs = np.asarray(sprites.render(factors), dtype=np.uint8)[..., 0]
  classes = np.concatenate([np.zeros((len(factors), 1), np.int64), factors.astype(np.int64)], axis=1)
  np.savez(path, imgs=imgs, latents_classes=classes, latents_values=classes.astype(np.float64))
  return imgs


def test_read_npz(tmp_path):
  factors = sprites.all_factors()[::50_000]
  imgs = write_npz(tmp_path / "d.npz", factors)
  images, read = sprites.read_npz(tmp_path / "d.npz")
  np.testing.assert_array_equal(images, imgs)
  np.testing.assert_array_equal(read, factors)
  assert read.dtype == np.int32


def test_read_npz_missing_keys(tmp_path):
  np.savez(tmp_path / "bad.npz", images=np.zeros((2, 64, 64), np.uint8))
  with pytest.raises(ValueError, match=r"missing keys \['imgs', 'latents_classes'\]"):
    sprites.read_npz(tmp_path / "bad.npz")


def test_load_dsprites_prefers_the_official_npz(tmp_path):
  factors = sprites.all_factors()[::25_000]
  imgs = write_npz(tmp_path / sprites.DSPRITES_NPZ, factors)
  ds = data.load("dsprites", split="train", data_dir=tmp_path)
  assert ds.source == "npz" and ds.labels is None
  assert ds.images.shape == (len(factors), 64, 64, 1) and ds.images.dtype == np.float32
  np.testing.assert_array_equal(ds.images[..., 0], imgs)
  np.testing.assert_array_equal(ds.factors, factors)
  heart = data.load("dsprites", split="train", data_dir=tmp_path / sprites.DSPRITES_NPZ, factor_subset={"shape": 2})
  np.testing.assert_array_equal(heart.factors, factors[factors[:, 0] == 2])
