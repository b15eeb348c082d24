"""Tests for vae_jax.data.idx and the IDX path of data.load: tiny hand-written files, and the real ones if present."""

import gzip
import pathlib
import struct

import numpy as np
import pytest

from vae_jax import data
from vae_jax.data import dataset, idx

FASHION_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
MNIST_TEST_DIR = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"

_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
          np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
  array = np.asarray(array)
  if array.dtype.itemsize > 1:
    array = array.astype(array.dtype.newbyteorder(">"))
  header = bytes([0, 0, _CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
  return header + array.tobytes()


def write(path: pathlib.Path, payload: bytes) -> pathlib.Path:
  if path.suffix == ".gz":
    with gzip.open(path, "wb") as f:
      f.write(payload)
  else:
    path.write_bytes(payload)
  return path


def write_split(directory, split, images, labels, gz=True):
  prefix = idx.SPLIT_PREFIXES[split]
  suffix = ".gz" if gz else ""
  write(directory / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images))
  write(directory / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels))


def tiny(n=6, seed=0):
  rng = np.random.default_rng(seed)
  return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, (n,), dtype=np.uint8)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_round_trip(tmp_path, suffix, dtype):
  array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype) if dtype != np.uint8 else np.arange(24, dtype=dtype)
  read = idx.read_idx(write(tmp_path / f"x.idx{suffix}", idx_bytes(array)))
  np.testing.assert_array_equal(read, array)
  assert read.dtype == np.dtype(dtype)


@pytest.mark.parametrize("payload,match", [
    (b"", "bad IDX magic.*empty file"),
    (b"\x00\x00\x08", "bad IDX magic"),
    (b"\x12\x34\x08\x01\x00\x00\x00\x01\x00", "bad IDX magic 12 34 08 01"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "bad IDX magic"),  # unknown dtype code
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", r"payload truncated.*needs 5 bytes.*has 2"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "trailing bytes"),
])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_bad_idx_files_raise(tmp_path, payload, match, suffix):
  path = write(tmp_path / f"bad-idx1-ubyte{suffix}", payload)
  with pytest.raises(idx.IdxFormatError, match=match):
    idx.read_idx(path)


def test_truncated_gzip_raises(tmp_path):
  images, _ = tiny()
  path = write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(images))
  path.write_bytes(path.read_bytes()[:-40])
  with pytest.raises(idx.IdxFormatError, match="corrupt or truncated gzip"):
    idx.read_idx(path)


def test_not_gzip_raises(tmp_path):
  with pytest.raises(idx.IdxFormatError, match="gzip"):
    idx.read_idx(write(tmp_path / "x.gz", b"this is not gzip at all"))


def test_find_split_files_spellings(tmp_path):
  assert idx.find_split_files(tmp_path, "train") is None
  (tmp_path / "t10k-images.idx3-ubyte").write_bytes(b"")
  (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"")
  images, labels = idx.find_split_files(tmp_path, "test")
  assert images.name == "t10k-images.idx3-ubyte" and labels.name == "t10k-labels-idx1-ubyte.gz"


def test_read_split_count_mismatch(tmp_path):
  images, labels = tiny()
  write_split(tmp_path, "train", images, labels[:4])
  with pytest.raises(idx.IdxFormatError, match="expected 6 labels"):
    idx.read_split(tmp_path, "train")


@pytest.mark.parametrize("gz", [True, False])
def test_load_from_data_dir(tmp_path, gz):
  images, labels = tiny()
  write_split(tmp_path, "test", images, labels, gz=gz)
  ds = data.load("mnist", split="test", data_dir=tmp_path)
  assert ds.source == "idx" and ds.name == "mnist" and ds.split == "test" and len(ds) == 6
  assert ds.images.shape == (6, 28, 28, 1) and ds.images.dtype == np.float32
  np.testing.assert_allclose(ds.images[..., 0] * 255, images, atol=1e-4)
  assert ds.labels.dtype == np.int32 and ds.factors is None
  np.testing.assert_array_equal(ds.labels, labels)


def test_load_honours_env_var(tmp_path, monkeypatch):
  images, labels = tiny()
  (tmp_path / "mnist").mkdir()
  write_split(tmp_path / "mnist", "train", images, labels)
  monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
  ds = data.load("mnist", split="train")
  np.testing.assert_array_equal(ds.labels, labels)


def test_load_corrupt_file_raises(tmp_path):
  images, labels = tiny()
  write_split(tmp_path, "test", images, labels)
  path = tmp_path / "t10k-images-idx3-ubyte.gz"
  write(path, idx_bytes(images)[:-100])
  with pytest.raises(data.IdxFormatError, match="payload truncated"):
    data.load("fashion_mnist", split="test", data_dir=tmp_path)


def test_detect_dataset():
  assert idx.detect_dataset(np.array([9, 0, 0, 3, 0, 2, 7, 2, 5])) == "fashion_mnist"
  assert idx.detect_dataset(np.array([7, 2, 1, 0, 4, 1, 4, 9])) == "mnist"
  assert idx.detect_dataset(np.array([1, 2, 3])) is None
  labels = np.zeros(1000, np.int32)
  assert idx.detect_dataset(labels, np.full((1000, 28, 28), 80, np.uint8)) == "fashion_mnist"
  assert idx.detect_dataset(labels, np.full((1000, 28, 28), 30, np.uint8)) == "mnist"
  assert idx.detect_dataset(labels[:10], np.full((10, 28, 28), 80, np.uint8)) is None  # too few to tell


fashion = pytest.mark.skipif(not FASHION_DIR.is_dir(),
                             reason="Debian package dataset-fashion-mnist not installed (apt-get install "
                                    "dataset-fashion-mnist)")


@fashion
@pytest.mark.parametrize("split,n", [("train", 60_000), ("test", 10_000)])
def test_fashion_mnist_full_size(split, n):
  ds = data.load("fashion_mnist", split=split)
  assert ds.source == "idx"
  assert ds.images.shape == (n, 28, 28, 1) and ds.images.dtype == np.float32
  assert 0.0 <= ds.images.min() and ds.images.max() <= 1.0
  np.testing.assert_array_equal(np.bincount(ds.labels, minlength=10), [n // 10] * 10)
  assert 0.25 < ds.images.mean() < 0.32  # Fashion-MNIST, not MNIST (0.13)


@fashion
def test_mnist_refuses_fashion_files():
  with pytest.raises(ValueError, match="are fashion_mnist, not mnist"):
    data.load("mnist", split="test", data_dir=FASHION_DIR)


@pytest.mark.skipif(not MNIST_TEST_DIR.is_dir(), reason=f"MNIST test files not in {MNIST_TEST_DIR}")
def test_mnist_test_split_found_next_to_the_repo(monkeypatch):
  monkeypatch.delenv(data.ENV_VAR, raising=False)
  ds = data.load("mnist", split="test")
  assert ds.source == "idx" and ds.images.shape == (10_000, 28, 28, 1)
  assert np.bincount(ds.labels, minlength=10).min() > 800
  assert 0.1 < ds.images.mean() < 0.16


def test_mnist_train_missing_is_a_clear_error(tmp_path, monkeypatch):
  monkeypatch.delenv(data.ENV_VAR, raising=False)
  monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
  monkeypatch.setattr(dataset, "_SHARED_DATA", MNIST_TEST_DIR.parent)
  with pytest.raises(data.DatasetNotFoundError) as info:
    data.load("mnist", split="train", source="auto")
  message = str(info.value)
  assert "mnist (train) is not available offline" in message
  assert "data_dir=" in message and "train-images-idx3-ubyte.gz" in message
  assert "download_and_prepare(file_format='array_record')" in message
  assert "apt-get" not in message  # that fixes Fashion-MNIST only
  if MNIST_TEST_DIR.is_dir():
    assert "(holds: test)" in message


def test_fashion_mnist_missing_lists_all_three_fixes(tmp_path):
  with pytest.raises(data.DatasetNotFoundError) as info:
    data.load("fashion_mnist", split="train", data_dir=tmp_path)
  message = str(info.value)
  assert "apt-get install dataset-fashion-mnist" in message
  assert "tfds.builder('fashion_mnist').download_and_prepare(file_format='array_record')" in message
  assert "data_dir=" in message and str(tmp_path) in message


def test_idx_source_does_not_fall_back_to_tfds(tmp_path):
  with pytest.raises(data.DatasetNotFoundError, match="Looked for local files"):
    data.load("mnist", split="test", data_dir=tmp_path, source="idx")
