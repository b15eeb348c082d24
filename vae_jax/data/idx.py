"""Reading MNIST-format IDX files (plain or gzipped), and telling MNIST from Fashion-MNIST.

MNIST and Fashion-MNIST ship as the same four files (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``), so a directory's name says nothing about which one it
holds; ``detect_dataset`` tells them apart from the labels' known first values or, failing that, the mean
brightness (Fashion-MNIST ~0.29, MNIST ~0.13).

The format (http://yann.lecun.com/exdb/mnist/): a 4-byte magic ``00 00 <dtype code> <ndim>``, ``ndim`` big-endian
uint32 sizes, then the big-endian payload.
"""

from __future__ import annotations

import gzip
import math
import os
import pathlib
import zlib

import numpy as np

__all__ = ["IdxFormatError", "SPLIT_PREFIXES", "detect_dataset", "find_split_files", "peek_labels", "read_idx",
           "read_images", "read_split"]

SPLIT_PREFIXES = {"train": "train", "test": "t10k"}

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

# The first labels of the official files: an exact fingerprint of each split.
_FINGERPRINTS = {
    (5, 0, 4, 1, 9, 2, 1, 3): "mnist",  # train
    (7, 2, 1, 0, 4, 1, 4, 9): "mnist",  # t10k
    (9, 0, 0, 3, 0, 2, 7, 2): "fashion_mnist",  # train
    (9, 2, 1, 1, 6, 1, 4, 6): "fashion_mnist",  # t10k
}
_BRIGHTNESS_THRESHOLD = 0.2  # mean pixel in [0, 1]: MNIST 0.13, Fashion-MNIST 0.29
_MIN_IMAGES_TO_DETECT = 1000


class IdxFormatError(ValueError):
  """An IDX file is corrupt, truncated or not in IDX format."""


def read_idx(path: str | os.PathLike) -> np.ndarray:
  """Reads one IDX file, gzipped (by its ``.gz`` suffix) or plain.

  Args:
    path: the file.

  Returns:
    The array, in native byte order, of the shape and dtype the header declares.

  Raises:
    IdxFormatError: bad gzip stream, bad magic, unknown dtype code, short header, or a payload shorter or longer
      than the header declares.
  """
  path = pathlib.Path(path)
  try:
    if path.suffix == ".gz":
      with gzip.open(path, "rb") as f:
        data = f.read()
    else:
      data = path.read_bytes()
  except (gzip.BadGzipFile, EOFError, zlib.error) as err:
    raise IdxFormatError(f"{path}: corrupt or truncated gzip stream ({err}).") from err

  if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES or data[3] == 0:
    raise IdxFormatError(f"{path}: bad IDX magic {data[:4].hex(' ') or '(empty file)'}; expected 00 00 <dtype code "
                         f"in {[f'{c:#04x}' for c in _DTYPES]}> <ndim >= 1>.")
  dtype, ndim = np.dtype(_DTYPES[data[2]]), data[3]
  header = 4 + 4 * ndim
  if len(data) < header:
    raise IdxFormatError(f"{path}: truncated header: {ndim} dimensions need {header} bytes, file has {len(data)}.")
  shape = tuple(int(n) for n in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
  expected = math.prod(shape) * dtype.itemsize  # Python ints: dimensions that overflow int64 stay exact
  if len(data) - header != expected:
    kind = "truncated" if len(data) - header < expected else "has trailing bytes"
    raise IdxFormatError(f"{path}: payload {kind}: shape {list(shape)} of {dtype.name} needs {expected} bytes "
                         f"after the header, file has {len(data) - header}.")
  return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def find_split_files(directory: str | os.PathLike, split: str) -> tuple[pathlib.Path, pathlib.Path] | None:
  """Finds a split's image and label files in a directory.

  Accepts ``train-images-idx3-ubyte`` and ``train-images.idx3-ubyte`` spellings, each plain or ``.gz``.

  Args:
    directory: where to look.
    split: ``"train"`` or ``"test"`` (files ``t10k-*``).

  Returns:
    ``(images_path, labels_path)``, or ``None`` if either is missing.
  """
  prefix = SPLIT_PREFIXES[split]
  found = []
  for kind, rank in (("images", 3), ("labels", 1)):
    names = [f"{prefix}-{kind}{sep}idx{rank}-ubyte{gz}" for sep in ("-", ".") for gz in (".gz", "")]
    paths = [pathlib.Path(directory) / name for name in names]
    path = next((p for p in paths if p.is_file()), None)
    if path is None:
      return None
    found.append(path)
  return found[0], found[1]


def _image_names(split: str) -> list[str]:
  prefix = SPLIT_PREFIXES[split]
  return [f"{prefix}-images{sep}idx3-ubyte{gz}" for sep in ("-", ".") for gz in (".gz", "")]


def read_images(directory: str | os.PathLike, split: str = "test") -> np.ndarray:
  """Reads the images of one split of an MNIST-format directory, without its labels (an outlier set needs none).

  Args:
    directory: a directory holding ``t10k-images-idx3-ubyte`` (``split="test"``) or ``train-images-idx3-ubyte``,
      plain or ``.gz``, in either spelling :func:`find_split_files` accepts.
    split: ``"train"`` or ``"test"``.

  Returns:
    uint8 ``[N, H, W]``.

  Raises:
    FileNotFoundError: the directory does not exist or holds no such file (the message lists the names looked for).
    IdxFormatError: a corrupt file, or one that is not uint8 ``[N, H, W]``.
  """
  names = _image_names(split)
  path = next((pathlib.Path(directory) / n for n in names if (pathlib.Path(directory) / n).is_file()), None)
  if path is None:
    where = "is not a directory" if not pathlib.Path(directory).is_dir() else "holds none of them"
    raise FileNotFoundError(f"No {split} images in {directory}: looked for {', '.join(names)}; the directory {where}.")
  images = read_idx(path)
  if images.ndim != 3 or images.dtype != np.uint8:
    raise IdxFormatError(f"{path}: expected uint8 images [N, H, W], got {images.dtype} {list(images.shape)}.")
  return images


def read_split(directory: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
  """Reads one split of an MNIST-format dataset.

  Args:
    directory: a directory holding the split's IDX files.
    split: ``"train"`` or ``"test"``.

  Returns:
    ``(images, labels)``: uint8 ``[N, H, W]`` and int32 ``[N]``.

  Raises:
    FileNotFoundError: if the split's files are not in ``directory``.
    IdxFormatError: if a file is corrupt, or images and labels disagree.
  """
  paths = find_split_files(directory, split)
  if paths is None:
    raise FileNotFoundError(f"No {SPLIT_PREFIXES[split]}-images/-labels IDX files in {directory}.")
  images, labels = read_idx(paths[0]), read_idx(paths[1])
  if images.ndim != 3 or images.dtype != np.uint8:
    raise IdxFormatError(f"{paths[0]}: expected uint8 images [N, H, W], got {images.dtype} {list(images.shape)}.")
  if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
    raise IdxFormatError(f"{paths[1]}: expected {images.shape[0]} labels to match {paths[0].name}, got shape "
                         f"{list(labels.shape)}.")
  return images, labels.astype(np.int32)


def detect_dataset(labels: np.ndarray, images: np.ndarray | None = None) -> str | None:
  """Tells MNIST from Fashion-MNIST.

  Args:
    labels: int ``[N]``; the official files are recognised by their first 8 labels.
    images: uint8 ``[N, H, W]``; otherwise, with at least 1000 images, the mean brightness decides.

  Returns:
    ``"mnist"``, ``"fashion_mnist"``, or ``None`` when undecided (e.g. a few hand-made images).
  """
  dataset = _FINGERPRINTS.get(tuple(int(label) for label in labels[:8]))
  if dataset is None and images is not None and images.shape[0] >= _MIN_IMAGES_TO_DETECT:
    brightness = float(images[:_MIN_IMAGES_TO_DETECT].mean()) / 255.0
    dataset = "fashion_mnist" if brightness > _BRIGHTNESS_THRESHOLD else "mnist"
  return dataset


def peek_labels(directory: str | os.PathLike, split: str) -> np.ndarray | None:
  """The labels of a split in ``directory`` (a small file), or ``None`` if absent or unreadable."""
  paths = find_split_files(directory, split)
  if paths is None:
    return None
  try:
    return read_idx(paths[1])
  except IdxFormatError:
    return None
