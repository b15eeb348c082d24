"""Hostile data files and loader arguments (issue #13): every damaged IDX file or bad argument raises an error that
names the file or argument and what is wrong, never a raw numpy error or a silently wrong array."""

import gzip
import struct

import jax
import numpy as np
import pytest

from vae_jax import data
from vae_jax.data import dataset, idx


def _header(code, dims):
  return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


GOOD = _header(0x08, (2, 3, 3)) + bytes(range(18))

# (name, bytes of the file, the error it must name)
DAMAGED = [
    ("empty-file", b"", r"bad IDX magic \(empty file\)"),
    ("text-file", b"hello world\n", r"bad IDX magic 68 65 6c 6c"),
    ("nonzero-magic", b"\x01" + GOOD[1:], r"bad IDX magic 01 00 08 03"),
    ("unknown-dtype-code", bytes([0, 0, 0x07, 1]) + struct.pack(">I", 1) + b"\x00", r"bad IDX magic 00 00 07 01"),
    ("zero-dims", bytes([0, 0, 0x08, 0]), r"bad IDX magic 00 00 08 00"),
    ("header-cut", GOOD[:9], r"truncated header: 3 dimensions need 16 bytes, file has 9"),
    ("payload-cut", GOOD[:-1], r"payload truncated: shape \[2, 3, 3\] of uint8 needs 18 bytes .* has 17"),
    ("trailing-bytes", GOOD + b"\x00", r"payload has trailing bytes: .*needs 18 bytes .* has 19"),
    ("dims-overflow-int64", _header(0x08, (2**32 - 1, 2**32 - 1, 2**32 - 1)) + b"\x00" * 16,
     r"payload truncated: shape \[4294967295, 4294967295, 4294967295\] of uint8 needs \d{20,} bytes"),
    ("dims-product-wraps-to-payload", _header(0x08, (2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1)) + b"",
     r"payload truncated"),
    ("float-payload-cut", _header(0x0D, (3,)) + b"\x00" * 11, r"shape \[3\] of float32 needs 12 bytes"),
]


@pytest.mark.parametrize("payload, match", [d[1:] for d in DAMAGED], ids=[d[0] for d in DAMAGED])
def test_damaged_idx_file_names_the_file_and_the_fault(tmp_path, payload, match):
  path = tmp_path / "x-idx3-ubyte"
  path.write_bytes(payload)
  with pytest.raises(idx.IdxFormatError, match=match) as e:
    idx.read_idx(path)
  assert str(path) in str(e.value)


@pytest.mark.parametrize("damage", ["cut", "garbage"])
def test_corrupt_gzip_names_the_file(tmp_path, damage):
  path = tmp_path / "x-idx3-ubyte.gz"
  packed = gzip.compress(GOOD)
  path.write_bytes(packed[: len(packed) // 2] if damage == "cut" else b"\x1f\x8b" + b"\x00" * 30)
  with pytest.raises(idx.IdxFormatError, match=r"corrupt or truncated gzip stream") as e:
    idx.read_idx(path)
  assert str(path) in str(e.value)


def _split(directory, images, labels):
  (directory / "train-images-idx3-ubyte").write_bytes(_header(0x08, images.shape) + images.tobytes())
  (directory / "train-labels-idx1-ubyte").write_bytes(_header(0x08, labels.shape) + labels.tobytes())


@pytest.mark.parametrize("images, labels, match", [
    (np.zeros((3, 4, 4), np.uint8), np.zeros((2,), np.uint8), r"expected 3 labels to match .* got shape \[2\]"),
    (np.zeros((3, 16), np.uint8), np.zeros((3,), np.uint8), r"expected uint8 images \[N, H, W\], got uint8 \[3, 16\]"),
    (np.zeros((3, 4, 4), np.uint8), np.zeros((3, 1), np.uint8), r"expected 3 labels .* got shape \[3, 1\]"),
], ids=["label-count", "flat-images", "2d-labels"])
def test_split_whose_files_disagree_is_refused(tmp_path, images, labels, match):
  _split(tmp_path, images, labels)
  with pytest.raises(idx.IdxFormatError, match=match):
    idx.read_split(tmp_path, "train")


def test_directory_without_the_split_names_what_it_looked_for(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"No train-images/-labels IDX files in"):
    idx.read_split(tmp_path, "train")


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(name="cifar10", split="train"), ValueError, r"Unknown dataset 'cifar10'"),
    (dict(name="mnist", split="validation"), ValueError, r"Unknown split 'validation' for 'mnist'"),
    (dict(name="mnist", split="train", binarize="yes"), ValueError, r"Unknown binarize='yes'"),
    (dict(name="mnist", split="train", source="web"), ValueError, r"Unknown source 'web' for 'mnist'"),
    (dict(name="mnist", split="train", num_examples=0), ValueError, r"num_examples must be a positive int, got 0"),
    (dict(name="mnist", split="train", num_examples=-5), ValueError, r"num_examples must be a positive int"),
    (dict(name="mnist", split="train", num_examples=2.5), ValueError, r"num_examples must be a positive int"),
    (dict(name="mnist", split="train", num_examples=True), ValueError, r"num_examples must be a positive int, "
                                                                       r"got True"),
    (dict(name="mnist", split="train", resolution=32), ValueError, r"resolution= applies only to procedural"),
], ids=["dataset", "split", "binarize", "source", "num_examples-0", "num_examples-negative", "num_examples-float",
        "num_examples-bool", "resolution-for-mnist"])
def test_bad_loader_arguments_name_the_argument(kwargs, error, match):
  with pytest.raises(error, match=match):
    data.load(**kwargs)


def test_too_many_examples_requested_from_a_file(tmp_path):
  _split(tmp_path, np.zeros((3, 4, 4), np.uint8), np.zeros((3,), np.uint8))
  with pytest.raises(ValueError, match=r"num_examples=5 exceeds the 3 examples available"):
    data.load("mnist", split="train", data_dir=tmp_path, num_examples=5)


def test_dynamic_binarization_refuses_an_untyped_key_and_integer_images():
  with pytest.raises(TypeError, match=r"typed key"):
    dataset.binarize_dynamic(jax.random.PRNGKey(0), np.zeros((1, 2, 2, 1), np.float32))
  with pytest.raises(TypeError, match=r"floating point"):
    dataset.binarize_dynamic(jax.random.key(0), np.zeros((1, 2, 2, 1), np.uint8))


def test_missing_data_dir_says_what_would_fix_it(tmp_path):
  with pytest.raises(dataset.DatasetNotFoundError):
    data.load("mnist", split="train", data_dir=tmp_path / "nowhere", source="idx")


def test_a_data_dir_that_is_a_file_is_not_a_traceback(tmp_path):
  f = tmp_path / "file"
  f.write_text("x")
  with pytest.raises((dataset.DatasetNotFoundError, ValueError, idx.IdxFormatError)):
    data.load("mnist", split="train", data_dir=f, source="idx")
