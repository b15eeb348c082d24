"""Procedural dSprites in JAX, and reading the official dSprites ``.npz``.

dSprites (Matthey et al., 2017) is the full product of five generative factors, each image a white sprite on
black. The renderer is a pure, jit- and vmap-able JAX function of the integer factor indices, so a train step can
draw fresh images together with their ground-truth factors on device::

    key = jax.random.key(0)
    images, factors = sprites.sample(key, 256)          # [256, 64, 64, 1] float32 in {0, 1}, [256, 5] int32

Conventions (following dSprites, see ``FACTOR_NAMES`` / ``FACTOR_SIZES``):

- shape: 0 square, 1 ellipse, 2 heart.
- scale: 6 values, linearly 0.5 to 1 (the sprite size relative to its largest size).
- orientation: 40 angles ``2 pi k / 40`` in [0, 2 pi). The official file uses ``linspace(0, 2 pi, 40)``, whose
  first and last angles coincide; here the 40 angles are distinct.
- pos_x, pos_y: 32 values, linearly 0 to 1, mapped to the sprite centre so that the largest sprite stays inside
  the image at every orientation. pos_x moves the sprite right, pos_y moves it down (image row order).

Rendering tests each pixel centre against an implicit shape in the sprite's own frame (square: max-norm; ellipse:
semi-axes 1 and 1/2; heart: the curve ``(x^2 + y^2 - 1)^3 = x^2 y^3``), so images are exactly binary.

References:
  Matthey, Higgins, Hassabis, Lerchner. dSprites: Disentanglement testing Sprites dataset, 2017.
  https://github.com/deepmind/dsprites-dataset
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from vae_jax.fusion_barrier import fusion_barrier

__all__ = [
    "DSPRITES_NPZ",
    "FACTOR_NAMES",
    "FACTOR_SIZES",
    "NUM_SPRITES",
    "SHAPE_NAMES",
    "all_factors",
    "in_subset",
    "materialize",
    "read_npz",
    "render",
    "sample",
    "sample_factors",
    "subset_factors",
]

FACTOR_NAMES: tuple[str, ...] = ("shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES: tuple[int, ...] = (3, 6, 40, 32, 32)
SHAPE_NAMES: tuple[str, ...] = ("square", "ellipse", "heart")
NUM_SPRITES: int = math.prod(FACTOR_SIZES)  # 737 280
DSPRITES_NPZ = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"

FactorSubset = Mapping[str, int | Sequence[int]]

# Largest sprite radius as a fraction of the image side; every shape fits in this disk at every orientation.
_MAX_RADIUS = 0.2
_HEART_ZOOM = 1.3  # the heart curve reaches 1.26 from (0, _HEART_SHIFT); this fits it inside the unit disk
_HEART_SHIFT = 0.25  # the rotation centre in heart coordinates that minimises that reach

logger = logging.getLogger(__name__)


def _check_factors(factors) -> jax.Array:
  """Checks shape and dtype, and the index ranges when the values are concrete; returns an int32 array."""
  if not isinstance(factors, (jax.Array, np.ndarray)):
    factors = np.asarray(factors)
  shape = tuple(factors.shape)
  if len(shape) != 2 or shape[1] != len(FACTOR_NAMES):
    raise ValueError(f"factors must have shape [N, {len(FACTOR_NAMES)}] (columns {FACTOR_NAMES}), "
                     f"got shape {list(shape)}.")
  if not jnp.issubdtype(factors.dtype, jnp.integer):
    raise ValueError(f"factors must hold integer indices, got dtype {factors.dtype}.")
  if not isinstance(factors, jax.core.Tracer):
    values = np.asarray(factors)
    for column, (name, size) in enumerate(zip(FACTOR_NAMES, FACTOR_SIZES)):
      bad = np.flatnonzero((values[:, column] < 0) | (values[:, column] >= size))
      if bad.size:
        row = int(bad[0])
        raise ValueError(f"factor '{name}' (column {column}) has index {int(values[row, column])} at row {row}; "
                         f"valid range is [0, {size - 1}] ({bad.size} bad rows).")
  return jnp.asarray(factors, dtype=jnp.int32)


@functools.partial(jax.jit, static_argnames="resolution")
def _render(factors: jax.Array, resolution: int) -> jax.Array:
  return _renderer(resolution)(factors)


@functools.cache
def _renderer(resolution: int):
  """``_render_rows`` at ``resolution`` with its own batching rule: every image is a function of its own factor
  row, so a batch of batches ``[M, N, 5]`` (e.g. a sweep's members, each drawing its batch) renders as one flat
  batch ``[M·N, 5]``, bit-identical. XLA:CPU ran JAX's default batching of this function far slower
  (``benchmarks/SWEEP.md``)."""

  @jax.custom_batching.custom_vmap
  def render_rows(factors):
    # Rendered once into memory: XLA:CPU would otherwise render every image again inside each consumer it fuses
    # the renderer into (a step's loss, its gradient's pads; vae_jax.fusion_barrier says why).
    return fusion_barrier(_render_rows(factors, resolution))

  @render_rows.def_vmap
  def rule(axis_size, in_batched, factors):
    if not in_batched[0]:
      return render_rows(factors), False
    images = render_rows(factors.reshape(axis_size * factors.shape[1], factors.shape[2]))
    return images.reshape(axis_size, factors.shape[1], *images.shape[1:]), True

  return render_rows


def _render_rows(factors: jax.Array, resolution: int) -> jax.Array:
  sizes = jnp.asarray(FACTOR_SIZES, dtype=jnp.int32)
  factors = jnp.clip(factors, 0, sizes[None, :] - 1)
  shape, scale_i, angle_i, x_i, y_i = (factors[:, i, None, None] for i in range(len(FACTOR_SIZES)))  # [N, 1, 1]

  scale = 0.5 + 0.1 * scale_i.astype(jnp.float32)
  angle = (2.0 * math.pi / FACTOR_SIZES[2]) * angle_i.astype(jnp.float32)
  margin = _MAX_RADIUS + 0.5 / resolution
  centre_x = margin + (1.0 - 2.0 * margin) * x_i.astype(jnp.float32) / (FACTOR_SIZES[3] - 1)
  centre_y = margin + (1.0 - 2.0 * margin) * y_i.astype(jnp.float32) / (FACTOR_SIZES[4] - 1)

  grid = (jnp.arange(resolution, dtype=jnp.float32) + 0.5) / resolution  # pixel centres in (0, 1)
  dx = grid[None, None, :] - centre_x  # [N, 1, res]: columns
  dy = grid[None, :, None] - centre_y  # [N, res, 1]: rows, downwards
  radius = _MAX_RADIUS * scale
  cos, sin = jnp.cos(angle), jnp.sin(angle)
  u = (cos * dx + sin * dy) / radius  # [N, res, res], the sprite frame
  v = (cos * dy - sin * dx) / radius

  square = jnp.maximum(jnp.abs(u), jnp.abs(v)) <= 1.0 / math.sqrt(2.0)
  ellipse = u**2 + (2.0 * v) ** 2 <= 1.0
  hx = _HEART_ZOOM * u
  hy = _HEART_SHIFT - _HEART_ZOOM * v  # the heart's y axis points up, so its tip is at the bottom
  heart = (hx**2 + hy**2 - 1.0) ** 3 - hx**2 * hy**3 <= 0.0
  inside = jnp.where(shape == 0, square, jnp.where(shape == 1, ellipse, heart))
  return inside.astype(jnp.float32)[..., None]


def render(factors: jax.typing.ArrayLike, *, resolution: int = 64) -> jax.Array:
  """Renders sprites from integer factor indices.

  Deterministic, and usable inside ``jax.jit`` and ``jax.vmap``.

  Args:
    factors: integer indices ``[N, 5]``, columns in ``FACTOR_NAMES`` order, column ``i`` in
      ``[0, FACTOR_SIZES[i])``.
    resolution: the image side in pixels (static).

  Returns:
    Binary float32 images ``[N, resolution, resolution, 1]`` with values in {0, 1}.

  Raises:
    ValueError: if ``factors`` is not ``[N, 5]`` or not integer; or, when the values are concrete (called outside
      ``jit``), if an index is out of range, naming the factor, its value and its range. Under ``jit`` the values
      are not known, and out-of-range indices are clipped into range instead.
  """
  if not isinstance(resolution, int) or resolution < 4:
    raise ValueError(f"resolution must be an int >= 4, got {resolution!r}.")
  return _render(_check_factors(factors), resolution)


def subset_factors(factor_subset: FactorSubset | None = None) -> np.ndarray:
  """The factor grid in dSprites order (pos_y varying fastest), optionally restricted.

  Args:
    factor_subset: maps factor names to the allowed index (an int) or indices (a sequence); factors left out
      take all their values. E.g. ``{"shape": 2, "orientation": range(0, 40, 4)}``.

  Returns:
    int32 numpy array ``[M, 5]``, M the product of the allowed counts.
  """
  axes = [np.asarray(values, dtype=np.int32) for values in _allowed(factor_subset)]
  mesh = np.meshgrid(*axes, indexing="ij")
  return np.stack([m.reshape(-1) for m in mesh], axis=1)


def in_subset(factors: np.ndarray, factor_subset: FactorSubset | None) -> np.ndarray:
  """Which rows of int ``[N, 5]`` factor indices lie in ``factor_subset`` (as in ``subset_factors``): bool ``[N]``."""
  factors = np.asarray(factors)
  mask = np.ones(factors.shape[0], dtype=bool)
  for column, values in enumerate(_allowed(factor_subset)):
    mask &= np.isin(factors[:, column], values)
  return mask


def all_factors() -> np.ndarray:
  """The full dSprites grid: int32 numpy ``[737280, 5]`` in dSprites order (pos_y varying fastest)."""
  return subset_factors(None)


def sample_factors(key: jax.Array, num: int, *, factor_subset: FactorSubset | None = None) -> jax.Array:
  """Draws factor indices uniformly over the (restricted) grid.

  Args:
    key: a typed key, ``jax.random.key(seed)``.
    num: the number of samples (static).
    factor_subset: as in ``subset_factors``; static (a Python mapping).

  Returns:
    int32 ``[num, 5]`` indices, columns in ``FACTOR_NAMES`` order.
  """
  keys = jax.random.split(key, len(FACTOR_NAMES))
  columns = []
  for column_key, values in zip(keys, _allowed(factor_subset)):
    choice = jax.random.randint(column_key, (num,), 0, len(values))
    columns.append(jnp.asarray(values, dtype=jnp.int32)[choice])
  return jnp.stack(columns, axis=1)


def sample(key: jax.Array, num: int, *, resolution: int = 64,
           factor_subset: FactorSubset | None = None) -> tuple[jax.Array, jax.Array]:
  """Draws random sprites with their ground-truth factors, e.g. once per train step, inside ``jit``.

  Args:
    key: a typed key.
    num: the batch size (static).
    resolution: the image side in pixels (static).
    factor_subset: as in ``subset_factors`` (static).

  Returns:
    ``(images, factors)``: float32 ``[num, resolution, resolution, 1]`` in {0, 1} and int32 ``[num, 5]``.
  """
  factors = sample_factors(key, num, factor_subset=factor_subset)
  return render(factors, resolution=resolution), factors


def materialize(factors: np.ndarray | None = None, *, resolution: int = 64, batch_size: int = 4096,
                dtype: np.typing.DTypeLike = np.uint8, progress: bool = True) -> np.ndarray:
  """Renders many sprites into one host array, chunk by chunk, with a progress bar.

  The full 737 280-sprite set at 64x64 takes 2.9 GB as uint8 (11.6 GB as float32); smaller resolutions and
  factor subsets make quick runs cheap.

  Args:
    factors: int ``[N, 5]`` indices; ``None`` means ``all_factors()``.
    resolution: the image side in pixels.
    batch_size: sprites rendered per jitted call (every call has this size, so it compiles once).
    dtype: the numpy dtype of the result (uint8, bool or float32: values are 0 and 1 in any case).
    progress: show a tqdm progress bar.

  Returns:
    numpy ``[N, resolution, resolution, 1]`` of ``dtype``.
  """
  factors = all_factors() if factors is None else np.asarray(factors)
  _check_factors(factors)
  factors = factors.astype(np.int32, copy=False)
  num = factors.shape[0]
  out = np.empty((num, resolution, resolution, 1), dtype=dtype)
  if num * resolution * resolution * out.itemsize > 2**30:
    logger.info("Rendering %d sprites at %dx%d into %.1f GB of host memory.", num, resolution, resolution,
                out.nbytes / 2**30)
  chunk = min(batch_size, max(num, 1))
  with tqdm.tqdm(total=num, unit="img", desc="sprites", disable=not progress or num <= chunk) as bar:
    for start in range(0, num, chunk):
      block = factors[start:start + chunk]
      padded = np.pad(block, ((0, chunk - block.shape[0]), (0, 0)))  # one shape, one compilation
      images = np.asarray(_render(jnp.asarray(padded), resolution))
      out[start:start + block.shape[0]] = images[:block.shape[0]]
      bar.update(block.shape[0])
  return out


def read_npz(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
  """Reads the official ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``.

  Args:
    path: the ``.npz`` file, with keys ``imgs`` ``[N, 64, 64]`` (0/1 uint8), ``latents_classes`` ``[N, 6]``
      (color, shape, scale, orientation, pos_x, pos_y) and ``latents_values``.

  Returns:
    ``(images, factors)``: uint8 ``[N, H, W]`` in {0, 1} and int32 ``[N, 5]`` (the constant color column
    dropped), in the file's order.

  Raises:
    ValueError: if keys are missing, shapes disagree or a factor index is out of range.
  """
  with np.load(path) as archive:
    missing = {"imgs", "latents_classes"} - set(archive.files)
    if missing:
      raise ValueError(f"{path} is not a dSprites npz: missing keys {sorted(missing)} (has {archive.files}).")
    images = archive["imgs"]
    classes = archive["latents_classes"]
  if images.ndim != 3 or classes.shape != (images.shape[0], 6):
    raise ValueError(f"{path}: expected imgs [N, H, W] and latents_classes [N, 6], got {list(images.shape)} "
                     f"and {list(classes.shape)}.")
  factors = classes[:, 1:].astype(np.int32)
  _check_factors(factors)
  return images.astype(np.uint8, copy=False), factors


def _allowed(factor_subset: FactorSubset | None) -> list[tuple[int, ...]]:
  """The allowed index values of each factor, validated."""
  factor_subset = dict(factor_subset or {})
  unknown = set(factor_subset) - set(FACTOR_NAMES)
  if unknown:
    raise ValueError(f"Unknown factor name(s) {sorted(unknown)} in factor_subset; known: {FACTOR_NAMES}.")
  allowed = []
  for name, size in zip(FACTOR_NAMES, FACTOR_SIZES):
    values = factor_subset.get(name, range(size))
    values = (values,) if isinstance(values, (int, np.integer)) else tuple(int(v) for v in values)
    if not values:
      raise ValueError(f"factor_subset['{name}'] is empty.")
    bad = [v for v in values if not 0 <= v < size]
    if bad:
      raise ValueError(f"factor_subset['{name}'] has index {bad[0]}; valid range is [0, {size - 1}].")
    allowed.append(values)
  return allowed
