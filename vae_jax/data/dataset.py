"""One data API: ``load(name, split=...)`` returns a ``Dataset`` of host arrays, whatever the source.

Sources, chosen by ``source="auto"`` in this order:

============================  ===================================================================================
name                          auto
============================  ===================================================================================
``fashion_mnist``             IDX files (``data_dir``, ``$VAE_JAX_DATA_DIR``, ``../shared/data/fashion_mnist``
                              next to the repository, the Debian package's ``/usr/share/datasets/fashion-mnist``),
                              else a prepared TFDS dataset.
``mnist``                     IDX files (``data_dir``, ``$VAE_JAX_DATA_DIR``, ``../shared/data/mnist``), else TFDS.
``binarized_mnist``           TFDS (Larochelle's fixed binarization; 28x28, no labels).
``dsprites``                  the official ``.npz`` (``data_dir``, ``$VAE_JAX_DATA_DIR``, ``../shared/data/dsprites``),
                              else TFDS, else the procedural generator at 64x64.
``sprites``                   the procedural generator, any resolution (``vae_jax.data.sprites``).
============================  ===================================================================================

Binarization: ``"none"``; ``"static"`` (pixel > 0.5, done once on the host); ``"dynamic"``: the images stay grey
and ``Dataset.binarize`` says ``"dynamic"``, telling the train step to draw ``binarize_dynamic(key, batch)`` afresh
each step on device (Salakhutdinov & Murray, 2008).

The arrays are held once: written into preallocated float32 arrays and then made read-only. The whole dSprites
grid at 64x64 in float32 is 11.6 GB of host memory: use ``factor_subset``/``num_examples``, a smaller sprites
``resolution``, or draw batches on device with ``sprites.sample`` instead.
"""

from __future__ import annotations

import dataclasses
import logging
import numbers
import os
import pathlib
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax.data import idx, sprites, tfds_source

__all__ = ["BINARIZE", "Dataset", "DatasetNotFoundError", "ENV_VAR", "NAMES", "SOURCES", "SPLITS", "binarize_dynamic",
           "binarize_static", "load"]

ENV_VAR = "VAE_JAX_DATA_DIR"
FASHION_MNIST_DEBIAN_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
_SHARED_DATA = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data"  # <repo>/../shared/data

SPLITS: dict[str, tuple[str, ...]] = {**tfds_source.CATALOG, "sprites": ("train",)}
NAMES: tuple[str, ...] = tuple(SPLITS)
SOURCES: dict[str, tuple[str, ...]] = {
    "mnist": ("auto", "idx", "tfds"),
    "fashion_mnist": ("auto", "idx", "tfds"),
    "binarized_mnist": ("auto", "tfds"),
    "dsprites": ("auto", "npz", "tfds", "procedural"),
    "sprites": ("auto", "procedural"),
}
BINARIZE = ("none", "static", "dynamic")
_SUBDIRS = {"mnist": ("mnist",), "fashion_mnist": ("fashion_mnist", "fashion-mnist"), "dsprites": ("dsprites",)}

logger = logging.getLogger(__name__)


class DatasetNotFoundError(FileNotFoundError):
  """The dataset is not available offline; the message lists what would fix it."""


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
  """A dataset split held in host memory (read-only numpy arrays).

  Attributes:
    images: float32 ``[N, H, W, C]`` in [0, 1].
    labels: int32 ``[N]`` class labels, or ``None`` (binarized_mnist, dsprites, sprites).
    factors: int32 ``[N, 5]`` generative factor indices in ``sprites.FACTOR_NAMES`` order, or ``None``.
    name: the dataset name given to ``load``.
    split: the split.
    binarize: ``"none"``, ``"static"`` (already applied) or ``"dynamic"`` (to apply per step with
      ``binarize_dynamic``).
    source: where the data came from: ``"idx"``, ``"tfds"``, ``"npz"`` or ``"procedural"``.
  """

  images: np.ndarray
  labels: np.ndarray | None
  factors: np.ndarray | None
  name: str
  split: str
  binarize: str = "none"
  source: str = ""

  def __post_init__(self):
    n = self.images.shape[0]
    if self.images.ndim != 4 or self.images.dtype != np.float32:
      raise ValueError(f"images must be float32 [N, H, W, C], got {self.images.dtype} {list(self.images.shape)}.")
    if self.labels is not None and (self.labels.shape != (n,) or self.labels.dtype != np.int32):
      raise ValueError(f"labels must be int32 [{n}], got {self.labels.dtype} {list(self.labels.shape)}.")
    if self.factors is not None and (self.factors.shape != (n, 5) or self.factors.dtype != np.int32):
      raise ValueError(f"factors must be int32 [{n}, 5], got {self.factors.dtype} {list(self.factors.shape)}.")
    for array in (self.images, self.labels, self.factors):
      if array is not None:
        array.flags.writeable = False

  def __len__(self) -> int:
    return self.images.shape[0]


def binarize_static(images: jax.typing.ArrayLike) -> jax.Array:
  """Thresholds pixel intensities: 1 where ``images > 0.5``, else 0, in the input's float dtype.

  Args:
    images: float ``[..., H, W, C]`` in [0, 1].

  Returns:
    Binary images, same shape and dtype.
  """
  images = jnp.asarray(images)
  return (images > 0.5).astype(images.dtype)


def binarize_dynamic(key: jax.Array, images: jax.typing.ArrayLike) -> jax.Array:
  """Draws binary images with each pixel ~ Bernoulli(intensity): a fresh binarization per call.

  Pure and jit-able: call it in the train step with a per-step key (``jax.random.fold_in(key, step)``).

  Args:
    key: a typed key, ``jax.random.key(seed)``.
    images: float ``[..., H, W, C]`` in [0, 1], the Bernoulli means.

  Returns:
    Binary images, same shape and dtype as ``images``.

  References:
    Salakhutdinov & Murray, On the quantitative analysis of deep belief networks, ICML 2008.
  """
  if not jnp.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key):
    raise TypeError(f"key must be a typed key from jax.random.key(seed), got dtype {jnp.asarray(key).dtype}.")
  images = jnp.asarray(images)
  if not jnp.issubdtype(images.dtype, jnp.floating):
    raise TypeError(f"images must be floating point in [0, 1], got {images.dtype}.")
  from vae_jax import threefry_bernoulli  # deferred: the handler is built only when a draw is traced

  if threefry_bernoulli.enabled():  # the same bits through an XLA:CPU custom call (its module says why)
    return threefry_bernoulli.bernoulli(key, images)
  return jax.random.bernoulli(key, images).astype(images.dtype)


def load(name: str, *, split: str, data_dir: str | os.PathLike | None = None,
         binarize: Literal["none", "static", "dynamic"] = "none", source: str = "auto",
         resolution: int | None = None, factor_subset: sprites.FactorSubset | None = None,
         num_examples: int | None = None, key: jax.Array | None = None) -> Dataset:
  """Loads a dataset split into host memory.

  Args:
    name: one of ``NAMES``: ``fashion_mnist``, ``mnist``, ``binarized_mnist``, ``dsprites``, ``sprites``.
    split: one of ``SPLITS[name]`` (``train``/``test``; binarized_mnist also ``validation``; sprites: ``train``).
    data_dir: where the files are: a directory of IDX files, the directory (or path) of the dSprites ``.npz``,
      or a TFDS data directory. ``None`` searches the defaults (module docstring).
    binarize: ``"none"``, ``"static"`` or ``"dynamic"`` (images left grey; see ``binarize_dynamic``).
    source: one of ``SOURCES[name]``; ``"auto"`` picks local files first.
    resolution: the image side of procedural sprites (default 64); only for procedural sources.
    factor_subset: only the sprites whose factors lie in this subset (dsprites and sprites), as in
      ``sprites.subset_factors``, e.g. ``{"shape": 2, "scale": [0, 5]}``.
    num_examples: keep only this many: the first ones for files, an evenly strided subset of the grid for sprites,
      or a uniform random subset (in file/grid order) when ``key`` is given.
    key: a typed key for the random subset of ``num_examples``.

  Returns:
    The ``Dataset``.

  Raises:
    ValueError: unknown name, split, source or binarize value, or options that do not apply.
    DatasetNotFoundError: the data is not available offline; the message says what would fix it.
    idx.IdxFormatError: a corrupt or truncated IDX file.
  """
  if name not in SPLITS:
    raise ValueError(f"Unknown dataset {name!r}; known datasets: {', '.join(NAMES)}.")
  if split not in SPLITS[name]:
    raise ValueError(f"Unknown split {split!r} for {name!r}; known splits: {', '.join(SPLITS[name])}.")
  if binarize not in BINARIZE:
    raise ValueError(f"Unknown binarize={binarize!r}; use one of {BINARIZE}.")
  if source not in SOURCES[name]:
    raise ValueError(f"Unknown source {source!r} for {name!r}; use one of {SOURCES[name]}.")
  if resolution is not None and name != "sprites" and source != "procedural":
    raise ValueError(f"resolution= applies only to procedural sprites, not {name!r} from source {source!r}.")
  resolution = 64 if resolution is None else resolution
  if factor_subset is not None and name not in ("dsprites", "sprites"):
    raise ValueError(f"factor_subset= applies only to dsprites and sprites, not {name!r}.")
  if num_examples is not None and (isinstance(num_examples, bool) or not isinstance(num_examples, numbers.Integral)
                                   or num_examples < 1):
    raise ValueError(f"num_examples must be a positive int, got {num_examples!r}.")

  if name in ("mnist", "fashion_mnist"):
    images, labels, factors, used = _load_mnist_like(name, split, data_dir, source, num_examples, key)
  elif name == "binarized_mnist":
    try:
      images, labels, factors = _load_tfds(name, split, data_dir, num_examples, key, None)
    except FileNotFoundError as err:
      raise _not_found(name, split, [], err) from err
    used = "tfds"
  else:
    images, labels, factors, used = _load_sprites(name, data_dir, source, resolution, factor_subset,
                                                  num_examples, key)
  if binarize == "static":
    images[...] = images > 0.5
  logger.info("Loaded %s/%s from %s: images %s.", name, split, used, images.shape)
  return Dataset(images, labels, factors, name=name, split=split, binarize=binarize, source=used)


def _candidate_dirs(name: str, data_dir) -> list[pathlib.Path]:
  """Directories to search, in order; an explicit ``data_dir`` is the only place searched."""
  if data_dir is not None:
    return [pathlib.Path(data_dir)] + [pathlib.Path(data_dir) / sub for sub in _SUBDIRS[name]]
  dirs = []
  if os.environ.get(ENV_VAR):
    dirs += [pathlib.Path(os.environ[ENV_VAR])] + [pathlib.Path(os.environ[ENV_VAR]) / sub for sub in _SUBDIRS[name]]
  dirs += [_SHARED_DATA / sub for sub in _SUBDIRS[name]]
  if name == "fashion_mnist":
    dirs.append(FASHION_MNIST_DEBIAN_DIR)
  return dirs


def _select(total: int, num_examples: int | None, key, *, spread: bool) -> np.ndarray | None:
  """Row indices to keep (sorted), or ``None`` for all rows."""
  if num_examples is None:
    return None
  if num_examples > total:
    raise ValueError(f"num_examples={num_examples} exceeds the {total} examples available.")
  if key is not None:
    return np.sort(np.asarray(jax.random.choice(key, total, (num_examples,), replace=False)))
  if spread:
    return np.arange(num_examples, dtype=np.int64) * total // num_examples
  return np.arange(num_examples)


def _to_float(images: np.ndarray, rows: np.ndarray | None, scale: float) -> np.ndarray:
  """uint8 ``[N, H, W]`` (selected rows) -> float32 ``[n, H, W, 1]`` in [0, 1], one new array."""
  images = images if rows is None else images[rows]
  return np.divide(images[..., None], np.float32(scale), dtype=np.float32)


def _load_tfds(name, split, data_dir, num_examples, key, factor_subset):
  source = tfds_source.open_source(name, split=split, data_dir=data_dir)
  if factor_subset is None:
    return tfds_source.to_arrays(name, source, _select(len(source), num_examples, key, spread=False))
  images, labels, factors = tfds_source.to_arrays(name, source)
  rows = np.flatnonzero(sprites.in_subset(factors, factor_subset))
  picked = _select(rows.size, num_examples, key, spread=True)
  rows = rows if picked is None else rows[picked]
  return images[rows], None, factors[rows]


def _load_mnist_like(name, split, data_dir, source, num_examples, key):
  looked, tfds_error = [], None
  if source in ("auto", "idx"):
    for directory in _candidate_dirs(name, data_dir):
      looked.append(directory)
      labels = idx.peek_labels(directory, split)
      if labels is None and idx.find_split_files(directory, split) is None:
        continue
      detected = None if labels is None else idx.detect_dataset(labels)
      if detected not in (None, name):
        if data_dir is not None:
          raise ValueError(f"The IDX files in {directory} are {detected}, not {name} (by their first labels); "
                           f"call load({detected!r}, ...) or pass another data_dir.")
        logger.debug("Skipping %s: it holds %s, not %s.", directory, detected, name)
        continue
      images, labels = idx.read_split(directory, split)
      guess = idx.detect_dataset(labels, images)
      if guess not in (None, name):
        logger.warning("The images in %s look like %s by their brightness, but are loaded as %s.", directory,
                       guess, name)
      rows = _select(images.shape[0], num_examples, key, spread=False)
      return _to_float(images, rows, 255.0), labels if rows is None else labels[rows], None, "idx"
  if source in ("auto", "tfds"):
    try:
      return (*_load_tfds(name, split, data_dir, num_examples, key, None), "tfds")
    except FileNotFoundError as err:
      tfds_error = err
  raise _not_found(name, split, looked, tfds_error) from tfds_error


def _find_npz(data_dir) -> pathlib.Path | None:
  if data_dir is not None and pathlib.Path(data_dir).is_file():
    return pathlib.Path(data_dir)
  paths = [directory / sprites.DSPRITES_NPZ for directory in _candidate_dirs("dsprites", data_dir)]
  return next((path for path in paths if path.is_file()), None)


def _load_sprites(name, data_dir, source, resolution, factor_subset, num_examples, key):
  if name == "dsprites" and source in ("auto", "npz"):
    path = _find_npz(data_dir)
    if path is not None:
      raw, factors = sprites.read_npz(path)
      rows = np.flatnonzero(sprites.in_subset(factors, factor_subset))
      picked = _select(rows.size, num_examples, key, spread=True)
      rows = rows if picked is None else rows[picked]
      return _to_float(raw, rows, 1.0), None, factors[rows], "npz"
    if source == "npz":
      raise _not_found(name, "train", _candidate_dirs(name, data_dir), None)
  if name == "dsprites" and source in ("auto", "tfds"):
    try:
      return (*_load_tfds(name, "train", data_dir, num_examples, key, factor_subset), "tfds")
    except FileNotFoundError as err:
      if source == "tfds":
        raise _not_found(name, "train", [], err) from err
      logger.warning("No official dSprites found (no %s; %s); rendering the procedural dSprites instead.",
                     sprites.DSPRITES_NPZ, err)
  grid = sprites.subset_factors(factor_subset)
  rows = _select(grid.shape[0], num_examples, key, spread=True)
  factors = grid if rows is None else grid[rows]
  return sprites.materialize(factors, resolution=resolution, dtype=np.float32), None, factors, "procedural"


def _not_found(name, split, looked, tfds_error) -> DatasetNotFoundError:
  """The error for a dataset missing offline, listing what would fix it."""
  lines = [f"{name} ({split}) is not available offline."]
  if looked:
    lines.append("Looked for local files in: " + ", ".join(_describe(path, name) for path in looked) + ".")
  if tfds_error is not None:
    cause = tfds_error.__cause__ or tfds_error
    lines.append(f"TFDS: not prepared ({type(cause).__name__}: {cause}).")
  lines.append("Any one of these fixes it:")
  if name == "fashion_mnist":
    lines.append(f"  - install the Debian package: sudo apt-get install dataset-fashion-mnist "
                 f"(IDX files in {FASHION_MNIST_DEBIAN_DIR});")
  if name in ("mnist", "fashion_mnist"):
    prefix = idx.SPLIT_PREFIXES[split]
    lines.append(f"  - pass data_dir= (or set ${ENV_VAR}) to a directory holding {prefix}-images-idx3-ubyte.gz "
                 f"and {prefix}-labels-idx1-ubyte.gz (plain files work too);")
  if name == "dsprites":
    lines.append(f"  - put {sprites.DSPRITES_NPZ} (https://github.com/deepmind/dsprites-dataset) in data_dir= or "
                 f"${ENV_VAR}, or use source='procedural' for the procedural dSprites;")
  lines.append(f"  - prepare it with TFDS on a machine with internet and TensorFlow: "
               f"{tfds_source.prepare_command(name)} and pass data_dir= if not the TFDS default.")
  if name == "binarized_mnist":
    lines.append("  - or binarize MNIST: load('mnist', split=..., binarize='static' or 'dynamic').")
  return DatasetNotFoundError("\n".join(lines))


def _describe(directory: pathlib.Path, name: str) -> str:
  """A searched directory, with the splits it does hold."""
  if name not in ("mnist", "fashion_mnist") or not directory.is_dir():
    return str(directory)
  present = [split for split in idx.SPLIT_PREFIXES if idx.find_split_files(directory, split) is not None]
  return f"{directory} (holds: {', '.join(present) or 'no IDX files'})"
