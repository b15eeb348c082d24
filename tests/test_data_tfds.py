"""Tests for the TFDS path (vae_jax.data.tfds_source) with ``tfds.testing.mock_data``: offline, no TensorFlow.

Findings for tensorflow-datasets 4.9.10 here: ``mock_data`` with the default policy (``MockPolicy.AUTO``) and with
``MockPolicy.USE_CODE`` serves random records to ``tfds.data_source`` with no TensorFlow and no network; it builds
the features from the dataset's code. ``MockPolicy.USE_FILES`` fails offline, because the pip wheel does not ship
the ``testing/metadata/<name>/<version>/dataset_info.json`` files it reads. Mock images are random uint8 in 0..254
even for the 0/1 datasets (binarized_mnist, dsprites), whose real images are 0/1.
"""

import sys

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from vae_jax import data
from vae_jax.data import sprites, tfds_source

N = 7


@pytest.mark.parametrize("policy", [tfds.testing.MockPolicy.AUTO, tfds.testing.MockPolicy.USE_CODE])
@pytest.mark.parametrize("name,split", [("mnist", "train"), ("mnist", "test"), ("fashion_mnist", "train"),
                                        ("fashion_mnist", "test")])
def test_labelled_datasets(name, split, policy):
  with tfds.testing.mock_data(num_examples=N, policy=policy):
    ds = data.load(name, split=split, source="tfds")
  assert ds.source == "tfds" and ds.name == name and ds.split == split
  assert ds.images.shape == (N, 28, 28, 1) and ds.images.dtype == np.float32
  assert 0.0 <= ds.images.min() and ds.images.max() <= 1.0 and ds.images.max() > 0.5  # scaled by 1/255
  assert ds.labels.shape == (N,) and ds.labels.dtype == np.int32
  assert ((0 <= ds.labels) & (ds.labels < 10)).all()
  assert ds.factors is None


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_binarized_mnist(split):
  with tfds.testing.mock_data(num_examples=N):
    ds = data.load("binarized_mnist", split=split)  # auto: TFDS is its only source
  assert ds.source == "tfds"
  assert ds.images.shape == (N, 28, 28, 1) and ds.images.dtype == np.float32
  assert set(np.unique(ds.images)) <= {0.0, 1.0}
  assert ds.labels is None and ds.factors is None


def test_dsprites_maps_the_five_label_features():
  with tfds.testing.mock_data(num_examples=N):
    source = tfds.data_source("dsprites", split="train")
    expected = np.array([[source[i][f"label_{k}"] for k in ("shape", "scale", "orientation", "x_position",
                                                             "y_position")] for i in range(N)])
    ds = data.load("dsprites", split="train", source="tfds")
  assert ds.source == "tfds" and ds.labels is None
  assert ds.images.shape == (N, 64, 64, 1) and ds.images.dtype == np.float32
  assert set(np.unique(ds.images)) <= {0.0, 1.0}
  assert ds.factors.shape == (N, 5) and ds.factors.dtype == np.int32
  np.testing.assert_array_equal(ds.factors, expected)
  assert (ds.factors < np.asarray(sprites.FACTOR_SIZES)[None, :]).all() and (ds.factors >= 0).all()


def test_dsprites_factor_subset_and_num_examples():
  with tfds.testing.mock_data(num_examples=40):
    full = data.load("dsprites", split="train", source="tfds")
    subset = {"shape": [0, 1]}
    part = data.load("dsprites", split="train", source="tfds", factor_subset=subset)
    few = data.load("dsprites", split="train", source="tfds", num_examples=5)
  np.testing.assert_array_equal(part.factors, full.factors[full.factors[:, 0] < 2])
  np.testing.assert_array_equal(few.factors, full.factors[:5])


def test_random_subset_with_key_is_reproducible():
  with tfds.testing.mock_data(num_examples=30):
    full = data.load("mnist", split="train", source="tfds")
    a = data.load("mnist", split="train", source="tfds", num_examples=6, key=jax.random.key(1))
    b = data.load("mnist", split="train", source="tfds", num_examples=6, key=jax.random.key(1))
  np.testing.assert_array_equal(a.images, b.images)
  rows = [int(np.flatnonzero((full.images == image).all(axis=(1, 2, 3)))[0]) for image in a.images]
  assert rows == sorted(rows) and len(set(rows)) == 6
  np.testing.assert_array_equal(a.labels, full.labels[rows])


def test_no_tensorflow_imported():
  with tfds.testing.mock_data(num_examples=2):
    data.load("fashion_mnist", split="test", source="tfds")
  assert "tensorflow" not in sys.modules


def test_not_prepared_is_a_clear_error_without_download(tmp_path):
  with pytest.raises(data.DatasetNotFoundError) as info:
    data.load("fashion_mnist", split="train", source="tfds", data_dir=tmp_path)
  message = str(info.value)
  assert "TFDS: not prepared" in message
  assert "tfds.builder('fashion_mnist').download_and_prepare(file_format='array_record')" in message
  assert "apt-get install dataset-fashion-mnist" in message
  assert not any(tmp_path.rglob("downloads"))  # nothing was downloaded


def test_open_source_errors(tmp_path):
  with pytest.raises(ValueError, match="Unknown split 'validation'.*'train', 'test'"):
    tfds_source.open_source("mnist", split="validation")
  with pytest.raises(ValueError, match="Unknown TFDS dataset 'cifar10'"):
    tfds_source.open_source("cifar10", split="train")
  with pytest.raises(FileNotFoundError, match="download_and_prepare"):
    tfds_source.open_source("dsprites", split="train", data_dir=tmp_path)


def test_prepare_command():
  assert tfds_source.prepare_command("mnist") == (
      "python -c \"import tensorflow_datasets as tfds; "
      "tfds.builder('mnist').download_and_prepare(file_format='array_record')\"")
  assert "data_dir='/data/tfds'" in tfds_source.prepare_command("dsprites", "/data/tfds")
