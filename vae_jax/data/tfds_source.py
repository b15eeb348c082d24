"""Reading TFDS catalog datasets by random access (``tfds.data_source``): no TensorFlow needed, only pillow.

Reading needs the dataset prepared in the ``array_record`` file format. Preparing downloads the data and needs
TensorFlow (the optional extra ``pip install -e '.[tfds-build]'``), so do it once on a connected machine::

    python -c "import tensorflow_datasets as tfds; \\
        tfds.builder('fashion_mnist').download_and_prepare(file_format='array_record')"

(``mnist``, ``binarized_mnist`` and ``dsprites`` likewise; add ``data_dir=...`` to ``tfds.builder`` to choose where,
default ``~/tensorflow_datasets`` or ``$TFDS_DATA_DIR``), then copy the directory over. This module never
downloads: a dataset that is not prepared is an error that prints this command.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import tqdm

from vae_jax.data import sprites

__all__ = ["CATALOG", "open_source", "prepare_command", "to_arrays"]

# Name -> its TFDS splits.
CATALOG: dict[str, tuple[str, ...]] = {
    "mnist": ("train", "test"),
    "fashion_mnist": ("train", "test"),
    "binarized_mnist": ("train", "validation", "test"),
    "dsprites": ("train",),
}
_LABELLED = ("mnist", "fashion_mnist")  # 0..255 images with a class label; the others are 0/1 images
_IMAGE_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "binarized_mnist": (28, 28, 1),
                 "dsprites": (64, 64, 1)}
_DSPRITES_LABELS = ("label_shape", "label_scale", "label_orientation", "label_x_position", "label_y_position")


def _tfds():
  """``tensorflow_datasets``, imported on first use: the IDX and sprites paths need neither it nor its slow import."""
  try:
    import tensorflow_datasets as tfds  # noqa: PLC0415
  except ImportError as err:
    raise ImportError("Reading a TFDS dataset needs tensorflow-datasets (with pillow and importlib_resources): "
                      "pip install -r requirements.txt, or load an IDX directory / the sprites instead.") from err
  return tfds


def prepare_command(name: str, data_dir: str | os.PathLike | None = None) -> str:
  """The shell command that prepares ``name`` for reading here (run it where there is internet and TensorFlow)."""
  where = "" if data_dir is None else f", data_dir={os.fspath(data_dir)!r}"
  return (f"python -c \"import tensorflow_datasets as tfds; "
          f"tfds.builder({name!r}{where}).download_and_prepare(file_format='array_record')\"")


def open_source(name: str, *, split: str, data_dir: str | os.PathLike | None = None) -> Sequence[dict[str, Any]]:
  """Opens a prepared TFDS dataset for random access, without downloading.

  Args:
    name: one of ``CATALOG``.
    split: one of the dataset's splits (``CATALOG[name]``).
    data_dir: the TFDS data directory; ``None`` means the TFDS default.

  Returns:
    A sequence of feature dicts of numpy values (``len`` and integer indexing).

  Raises:
    ValueError: for a name or split outside ``CATALOG``.
    FileNotFoundError: if the dataset is not prepared in ``array_record`` format in ``data_dir`` (the message
      gives the prepare command), or tensorflow-datasets is not installed.
  """
  if name not in CATALOG:
    raise ValueError(f"Unknown TFDS dataset {name!r}; this reader knows {sorted(CATALOG)}.")
  if split not in CATALOG[name]:
    raise ValueError(f"Unknown split {split!r} for TFDS {name!r}; known splits: {CATALOG[name]}.")
  try:
    tfds = _tfds()
  except ImportError as err:  # not installed: as unreadable as an unprepared dataset, so "auto" falls through
    raise FileNotFoundError(f"TFDS {name!r} ({split}) cannot be read here: {err}") from err
  try:
    return tfds.data_source(name, split=split, data_dir=data_dir, download=False)
  except Exception as err:  # noqa: BLE001 -- with download=False every failure means "not readable here";
    # TFDS raises KeyError, NotImplementedError or OSError depending on what is missing. The cause stays chained.
    where = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
    raise FileNotFoundError(f"TFDS {name!r} ({split}) is not prepared in array_record format under {where} "
                            f"({type(err).__name__}: {err}). Prepare it with: {prepare_command(name, data_dir)}"
                            ) from err


def to_arrays(name: str, source: Sequence[dict[str, Any]],
              indices: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
  """Decodes records into the arrays of a ``Dataset``, written once into preallocated arrays.

  Args:
    name: the catalog name, which fixes the features and the pixel scale (mnist/fashion_mnist: 0..255;
      binarized_mnist and dsprites: 0/1, where any non-zero pixel counts as 1).
    source: from ``open_source``.
    indices: int ``[N]`` record indices to decode; ``None`` means all.

  Returns:
    ``(images, labels, factors)``: float32 ``[N, H, W, C]`` in [0, 1]; int32 ``[N]`` class labels or ``None``
    (binarized_mnist, dsprites); int32 ``[N, 5]`` factors in ``sprites.FACTOR_NAMES`` order or ``None``.
  """
  indices = np.arange(len(source)) if indices is None else np.asarray(indices)
  images = np.empty((indices.size, *_IMAGE_SHAPES[name]), dtype=np.float32)
  labels = np.empty((indices.size,), dtype=np.int32) if name in _LABELLED else None
  factors = np.empty((indices.size, len(sprites.FACTOR_NAMES)), dtype=np.int32) if name == "dsprites" else None
  for row, index in enumerate(tqdm.tqdm(indices, desc=name, unit="img", disable=indices.size < 10_000)):
    record = source[int(index)]
    if name in _LABELLED:
      np.divide(record["image"], np.float32(255), out=images[row])
      labels[row] = record["label"]
    else:
      np.not_equal(record["image"], 0, out=images[row], casting="unsafe")
    if factors is not None:
      factors[row] = [record[key] for key in _DSPRITES_LABELS]
  return images, labels, factors
