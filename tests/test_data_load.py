"""Tests for vae_jax.data.load, the Dataset record and binarization."""

import dataclasses
import gzip
import os
import struct
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import data
from vae_jax.data import sprites


@pytest.fixture
def idx_dir(tmp_path):
  """A directory with a 12-image MNIST-format test split: grey levels 0..255, labels 0..9."""
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
  labels = np.arange(12, dtype=np.uint8) % 10
  for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(tmp_path / f"t10k-{kind}-ubyte.gz", "wb") as f:
      f.write(header + array.tobytes())
  return tmp_path


@pytest.mark.parametrize("name", ["cifar10", "MNIST", ""])
def test_unknown_name_lists_known_ones(name):
  with pytest.raises(ValueError, match=rf"Unknown dataset '{name}'; known datasets: ") as info:
    data.load(name, split="train")
  for known in ("fashion_mnist", "mnist", "binarized_mnist", "dsprites", "sprites"):
    assert f" {known}" in str(info.value)


@pytest.mark.parametrize("name,split", [("mnist", "validation"), ("dsprites", "test"), ("sprites", "test"),
                                        ("fashion_mnist", "training")])
def test_unknown_split(name, split):
  with pytest.raises(ValueError, match=rf"Unknown split '{split}' for '{name}'; known splits: "):
    data.load(name, split=split)


@pytest.mark.parametrize("value", ["yes", "Static", None, True])
def test_bad_binarize_value(value):
  with pytest.raises(ValueError, match=r"Unknown binarize=.*'none', 'static', 'dynamic'"):
    data.load("mnist", split="test", binarize=value)


@pytest.mark.parametrize("name,source", [("mnist", "procedural"), ("binarized_mnist", "idx"), ("sprites", "tfds")])
def test_bad_source(name, source):
  with pytest.raises(ValueError, match=f"Unknown source '{source}' for '{name}'"):
    data.load(name, split="train", source=source)


def test_options_that_do_not_apply(idx_dir):
  with pytest.raises(ValueError, match="resolution= applies only to procedural sprites"):
    data.load("mnist", split="test", data_dir=idx_dir, resolution=32)
  with pytest.raises(ValueError, match="factor_subset= applies only"):
    data.load("mnist", split="test", data_dir=idx_dir, factor_subset={"shape": 0})
  with pytest.raises(ValueError, match="num_examples must be a positive int"):
    data.load("mnist", split="test", data_dir=idx_dir, num_examples=0)
  with pytest.raises(ValueError, match="num_examples=13 exceeds the 12 examples"):
    data.load("mnist", split="test", data_dir=idx_dir, num_examples=13)


def test_dataset_is_frozen_and_read_only(idx_dir):
  ds = data.load("mnist", split="test", data_dir=idx_dir)
  with pytest.raises(dataclasses.FrozenInstanceError):
    ds.images = ds.images
  with pytest.raises(ValueError, match="read-only"):
    ds.images[0, 0, 0, 0] = 1.0
  assert ds.images.base is None or ds.images.base.size == ds.images.size  # one array, not a view of a bigger one


def test_dataset_validates_its_fields():
  images = np.zeros((3, 4, 4, 1), np.float32)
  with pytest.raises(ValueError, match="float32"):
    data.Dataset(images.astype(np.float64), None, None, name="x", split="train")
  with pytest.raises(ValueError, match=r"labels must be int32 \[3\]"):
    data.Dataset(images, np.zeros(2, np.int32), None, name="x", split="train")
  with pytest.raises(ValueError, match=r"factors must be int32 \[3, 5\]"):
    data.Dataset(images, None, np.zeros((3, 4), np.int32), name="x", split="train")


def test_num_examples_first_and_random(idx_dir):
  full = data.load("mnist", split="test", data_dir=idx_dir)
  first = data.load("mnist", split="test", data_dir=idx_dir, num_examples=5)
  np.testing.assert_array_equal(first.images, full.images[:5])
  np.testing.assert_array_equal(first.labels, full.labels[:5])
  random = data.load("mnist", split="test", data_dir=idx_dir, num_examples=5, key=jax.random.key(0))
  assert len(random) == 5 and not np.array_equal(random.labels, first.labels)


def test_static_binarization(idx_dir):
  grey = data.load("mnist", split="test", data_dir=idx_dir)
  binary = data.load("mnist", split="test", data_dir=idx_dir, binarize="static")
  assert binary.binarize == "static" and binary.images.dtype == np.float32
  np.testing.assert_array_equal(binary.images, (grey.images > 0.5).astype(np.float32))
  np.testing.assert_array_equal(data.binarize_static(grey.images), binary.images)
  np.testing.assert_array_equal(jax.jit(data.binarize_static)(grey.images), binary.images)


def test_dynamic_binarization_is_left_to_the_step(idx_dir):
  ds = data.load("mnist", split="test", data_dir=idx_dir, binarize="dynamic")
  assert ds.binarize == "dynamic"
  np.testing.assert_array_equal(ds.images, data.load("mnist", split="test", data_dir=idx_dir).images)


def test_binarize_dynamic_keys_and_moments():
  probs = jnp.linspace(0.0, 1.0, 64 * 28 * 28, dtype=jnp.float32).reshape(64, 28, 28, 1)
  key = jax.random.key(0)
  step = jax.jit(data.binarize_dynamic)
  out = step(key, probs)
  assert out.shape == probs.shape and out.dtype == jnp.float32
  assert set(np.unique(np.asarray(out))) == {0.0, 1.0}
  np.testing.assert_array_equal(out, step(key, probs))
  assert not np.array_equal(out, step(jax.random.key(1), probs))
  assert abs(float(out.mean()) - 0.5) < 0.01  # E[x] = p, averaged over p uniform in [0, 1]
  np.testing.assert_array_equal(out[0, 0, 0], 0.0)  # p = 0 never fires
  np.testing.assert_array_equal(out[-1, -1, -1], 1.0)  # p = 1 always does
  groups = np.asarray(out).reshape(8, -1).mean(axis=1)  # 8 bands of p, each ~6 300 pixels
  np.testing.assert_allclose(groups, np.asarray(probs).reshape(8, -1).mean(axis=1), atol=0.02)


def test_binarize_dynamic_rejects_raw_keys_and_int_images():
  with pytest.raises(TypeError, match="typed key"):
    data.binarize_dynamic(jax.random.PRNGKey(0), jnp.zeros((2, 2), jnp.float32))
  with pytest.raises(TypeError, match="floating point"):
    data.binarize_dynamic(jax.random.key(0), jnp.zeros((2, 2), jnp.uint8))


def test_sprites_small_resolution_subset_and_num_examples():
  subset = {"shape": 2, "scale": [0, 5], "orientation": range(0, 40, 10)}
  ds = data.load("sprites", split="train", resolution=32, factor_subset=subset, num_examples=50)
  assert ds.source == "procedural" and ds.labels is None
  assert ds.images.shape == (50, 32, 32, 1) and ds.images.dtype == np.float32
  assert ds.factors.shape == (50, 5) and ds.factors.dtype == np.int32
  assert sprites.in_subset(ds.factors, subset).all()
  assert len(np.unique(ds.factors[:, 3])) > 10  # strided over the grid, not its first 50 rows
  np.testing.assert_array_equal(ds.images, sprites.render(ds.factors, resolution=32))


def test_sprites_whole_small_subset():
  ds = data.load("sprites", split="train", resolution=16, factor_subset={"scale": 5, "orientation": 0,
                                                                          "pos_x": [0, 31], "pos_y": [0, 31]})
  np.testing.assert_array_equal(ds.factors, sprites.subset_factors({"scale": 5, "orientation": 0,
                                                                    "pos_x": [0, 31], "pos_y": [0, 31]}))
  assert len(ds) == 12


def test_dsprites_falls_back_to_procedural(tmp_path, monkeypatch):
  monkeypatch.delenv(data.ENV_VAR, raising=False)
  ds = data.load("dsprites", split="train", data_dir=tmp_path, num_examples=20)
  assert ds.source == "procedural" and ds.images.shape == (20, 64, 64, 1)


def test_dsprites_npz_missing_is_a_clear_error(tmp_path):
  with pytest.raises(data.DatasetNotFoundError) as info:
    data.load("dsprites", split="train", data_dir=tmp_path, source="npz")
  message = str(info.value)
  assert sprites.DSPRITES_NPZ in message and "source='procedural'" in message
  assert "tfds.builder('dsprites')" in message


def test_binarized_mnist_missing_suggests_binarizing_mnist(tmp_path):
  with pytest.raises(data.DatasetNotFoundError, match=r"load\('mnist', split=..., binarize="):
    data.load("binarized_mnist", split="test", data_dir=tmp_path)


def test_tensorflow_datasets_is_imported_only_when_a_tfds_dataset_is_read():
  """IDX files and the sprites need no tensorflow-datasets (an accelerator image may not have it)."""
  code = ("import sys, vae_jax, vae_jax.data, vae_jax.train, vae_jax.evaluation; "
          "assert 'tensorflow_datasets' not in sys.modules, 'imported eagerly'; "
          "from vae_jax.data import tfds_source; tfds_source._tfds(); "
          "assert 'tensorflow_datasets' in sys.modules")
  subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})


def test_without_tensorflow_datasets_a_missing_dataset_still_says_where_it_looked(tmp_path, monkeypatch):
  from vae_jax.data import tfds_source

  def missing():
    raise ImportError("No module named 'tensorflow_datasets'")

  monkeypatch.setattr(tfds_source, "_tfds", missing)
  monkeypatch.delenv(data.ENV_VAR, raising=False)
  with pytest.raises(data.DatasetNotFoundError, match="tensorflow_datasets"):
    data.load("mnist", split="test", data_dir=tmp_path)
