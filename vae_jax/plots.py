"""Figures: image grids, reconstructions, denoising, latent traversals, 2-D latent maps, KL bars, training curves.

Every ``*(…, path)`` function writes one PNG and returns ``path``; images are ``[N, H, W, C]`` in ``[0, 1]``
with ``C`` in ``{1, 3}``. Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, never through
``pyplot``: no global backend or figure state, safe in headless runs and threads.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

PathLike = str | os.PathLike


def _check_images(name: str, images: Any, arg: str = "images") -> np.ndarray:
  images = np.asarray(images, dtype=np.float32)
  if images.ndim != 4 or images.shape[0] == 0 or images.shape[-1] not in (1, 3):
    raise ValueError(f"{name}: {arg} must be [N, H, W, C] with N >= 1 and C in {{1, 3}}, "
                     f"got {list(images.shape)}.")
  return images


def _save(fig: Figure, path: PathLike) -> PathLike:
  FigureCanvasAgg(fig)
  fig.savefig(path, format="png", dpi=fig.dpi)
  return path


def _show(ax, image: np.ndarray) -> None:
  """Draws one ``[H, W, C]`` image in [0, 1] without ticks."""
  image = np.clip(image, 0.0, 1.0)
  if image.shape[-1] == 1:
    ax.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
  else:
    ax.imshow(image, interpolation="nearest")
  ax.set_xticks([])
  ax.set_yticks([])


def tile_images(images: Any, *, ncols: int | None = None, pad: int = 1, pad_value: float = 1.0) -> np.ndarray:
  """Tiles ``[N, H, W, C]`` images row-major into one ``[rows·(H+pad)+pad, ncols·(W+pad)+pad, C]`` array.

  Args:
    images: ``[N, H, W, C]`` images.
    ncols: images per row; defaults to ``ceil(sqrt(N))``.
    pad: pixels of border around and between images.
    pad_value: intensity of the border and of unused cells.

  Returns:
    The float32 mosaic (no figure involved).
  """
  images = _check_images("tile_images", images)
  n, h, w, c = images.shape
  ncols = ncols or math.ceil(math.sqrt(n))
  if ncols < 1:
    raise ValueError(f"tile_images: ncols must be positive, got {ncols}.")
  nrows = math.ceil(n / ncols)
  canvas = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), pad_value, dtype=np.float32)
  for i, image in enumerate(images):
    top, left = pad + (i // ncols) * (h + pad), pad + (i % ncols) * (w + pad)
    canvas[top:top + h, left:left + w] = image
  return canvas


def image_grid(images: Any, path: PathLike, *, ncols: int | None = None, title: str | None = None,
               cell_inches: float = 0.8) -> PathLike:
  """Writes ``[N, H, W, C]`` images (samples, data) as one tiled PNG.

  For the mosaic as an array, without a figure, use :func:`tile_images`.

  Args:
    images: ``[N, H, W, C]`` images in ``[0, 1]``, ``C`` in ``{1, 3}``.
    path: the PNG to write.
    ncols: images per row; defaults to ``ceil(sqrt(N))``.
    title: optional figure title.
    cell_inches: size of one image in the figure (100 dpi).

  Returns:
    ``path``.
  """
  mosaic = tile_images(images, ncols=ncols)
  ncols = ncols or math.ceil(math.sqrt(len(images)))
  nrows = math.ceil(len(images) / ncols)
  fig = Figure(figsize=(cell_inches * ncols + 0.2, cell_inches * nrows + (0.4 if title else 0.2)), dpi=100)
  ax = fig.add_axes((0.0, 0.0, 1.0, 1.0 if not title else 1.0 - 0.35 / fig.get_figheight()))
  _show(ax, mosaic)
  ax.set_axis_off()
  if title:
    fig.suptitle(title, fontsize=9, y=0.995, va="top")
  return _save(fig, path)


def labelled_rows(rows: Sequence[tuple[str, np.ndarray]], path: PathLike, *, title: str | None,
                  cell_inches: float) -> PathLike:
  """One strip of images per row, with the row's label on the left."""
  ncols = max(len(images) for _, images in rows)
  label_inches = 0.15 + 0.07 * max(len(label) for label, _ in rows)
  fig = Figure(figsize=(label_inches + 0.1 + cell_inches * ncols,
                        0.2 + 1.05 * cell_inches * len(rows) + (0.3 if title else 0.0)), dpi=100)
  top = 1.0 - (0.35 if title else 0.05) / fig.get_figheight()
  axes = fig.subplots(len(rows), 1, squeeze=False,
                      gridspec_kw=dict(left=label_inches / fig.get_figwidth(), right=1.0 - 0.05 / fig.get_figwidth(),
                                       top=top, bottom=0.05 / fig.get_figheight(), hspace=0.08))
  for ax, (label, images) in zip(axes[:, 0], rows):
    _show(ax, tile_images(images, ncols=ncols, pad=1))
    ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    for spine in ax.spines.values():
      spine.set_visible(False)
  if title:
    fig.suptitle(title, fontsize=9)
  return _save(fig, path)


def reconstruction_grid(originals: Any, reconstructions: Any, path: PathLike, *, max_images: int = 10,
                        title: str | None = None, cell_inches: float = 0.8) -> PathLike:
  """Writes originals (top row) above their reconstructions (bottom row), first ``max_images`` of each.

  Args:
    originals: ``[N, H, W, C]`` inputs.
    reconstructions: ``[N, H, W, C]`` the model's reconstructions of them (image space, e.g. sigmoid(logits)).
    path: the PNG to write.
    max_images: columns shown.
    title: optional figure title.
    cell_inches: size of one image in the figure.
  """
  originals = _check_images("reconstruction_grid", originals, "originals")
  reconstructions = _check_images("reconstruction_grid", reconstructions, "reconstructions")
  if originals.shape != reconstructions.shape:
    raise ValueError(f"reconstruction_grid: shapes differ, originals{list(originals.shape)} vs "
                     f"reconstructions{list(reconstructions.shape)}.")
  rows = [("original", originals[:max_images]), ("reconstruction", reconstructions[:max_images])]
  return labelled_rows(rows, path, title=title, cell_inches=cell_inches)


def denoising_grid(clean: Any, noisy: Any, denoised: Any, path: PathLike, *, max_images: int = 10,
                   title: str | None = None, cell_inches: float = 0.8) -> PathLike:
  """Writes three rows: clean images, their corrupted versions and the denoiser's outputs.

  Args:
    clean: ``[N, H, W, C]`` uncorrupted images.
    noisy: ``[N, H, W, C]`` corrupted inputs.
    denoised: ``[N, H, W, C]`` reconstructions from ``noisy``.
    path: the PNG to write.
    max_images: columns shown.
    title: optional figure title.
    cell_inches: size of one image in the figure.
  """
  arrays = [_check_images("denoising_grid", a, n) for a, n in ((clean, "clean"), (noisy, "noisy"),
                                                               (denoised, "denoised"))]
  if len({a.shape for a in arrays}) != 1:
    raise ValueError(f"denoising_grid: shapes differ, clean{list(arrays[0].shape)}, noisy{list(arrays[1].shape)}, "
                     f"denoised{list(arrays[2].shape)}.")
  rows = [(label, a[:max_images]) for label, a in zip(("clean", "noisy", "denoised"), arrays)]
  return labelled_rows(rows, path, title=title, cell_inches=cell_inches)


def latent_traversal(decode_fn: Callable[[np.ndarray], Any], base_code: Any, path: PathLike, *,
                     values: Sequence[float] | np.ndarray = tuple(np.linspace(-2.5, 2.5, 9)),
                     dims_order: Sequence[int] | None = None, row_labels: Sequence[str] | None = None,
                     title: str | None = None, cell_inches: float = 0.8) -> PathLike:
  """Writes one row per latent dimension, sweeping it over ``values`` with the other dimensions fixed.

  ``decode_fn`` is called once, on all ``len(dims_order)·len(values)`` codes. Pass
  ``dims_order=np.argsort(-kl_per_dim)`` to put the most informative dimensions first.

  Args:
    decode_fn: ``codes [M, D] float32 -> images [M, H, W, C]`` in ``[0, 1]`` (e.g. sigmoid of decoder logits).
    base_code: ``[D]`` the code the traversal starts from (e.g. the posterior mean of one image, or zeros).
    path: the PNG to write.
    values: the values each dimension takes in turn (absolute, not offsets), e.g. prior quantiles.
    dims_order: the dimensions to show, top to bottom; defaults to ``range(D)``.
    row_labels: one label per shown dimension (e.g. ``"z3 KL=2.1"``); defaults to ``"z{d}"``.
    title: optional figure title.
    cell_inches: size of one image in the figure.

  References:
    Higgins et al., "β-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework",
    ICLR 2017 (latent traversal figures).
  """
  base_code = np.asarray(base_code, dtype=np.float32)
  values = np.asarray(values, dtype=np.float32)
  if base_code.ndim != 1 or values.ndim != 1 or values.size == 0:
    raise ValueError(f"latent_traversal: expected base_code [D] and values [V], got base_code{list(base_code.shape)} "
                     f"and values{list(values.shape)}.")
  dims = list(range(base_code.shape[0])) if dims_order is None else [int(d) for d in dims_order]
  if not dims or min(dims) < 0 or max(dims) >= base_code.shape[0]:
    raise ValueError(f"latent_traversal: dims_order {dims} out of range for a code of size {base_code.shape[0]}.")
  labels = [f"z{d}" for d in dims] if row_labels is None else list(row_labels)
  if len(labels) != len(dims):
    raise ValueError(f"latent_traversal: {len(labels)} row_labels for {len(dims)} dimensions.")
  codes = np.tile(base_code, (len(dims), values.size, 1))  # [rows, V, D]
  codes[np.arange(len(dims)), :, dims] = values[None, :]
  images = _check_images("latent_traversal", decode_fn(codes.reshape(-1, base_code.shape[0])), "decode_fn output")
  if images.shape[0] != codes.shape[0] * codes.shape[1]:
    raise ValueError(f"latent_traversal: decode_fn returned {images.shape[0]} images for "
                     f"{codes.shape[0] * codes.shape[1]} codes.")
  images = images.reshape(len(dims), values.size, *images.shape[1:])
  return labelled_rows(list(zip(labels, images)), path, title=title, cell_inches=cell_inches)


def latent_scatter_2d(codes: Any, labels: Any, path: PathLike, *, dims: tuple[int, int] = (0, 1),
                      class_names: Sequence[str] | None = None, title: str | None = None,
                      point_size: float = 3.0) -> PathLike:
  """Writes a scatter plot of two code dimensions, one colour per class (the classic 2-D MNIST latent map).

  Args:
    codes: ``[N, D]`` codes, ``D >= 2`` (e.g. posterior means).
    labels: ``[N]`` integer class labels.
    path: the PNG to write.
    dims: the two dimensions on the x and y axes.
    class_names: legend names indexed by label; defaults to the label values.
    title: optional figure title.
    point_size: marker area in points².
  """
  codes = np.asarray(codes, dtype=np.float32)
  labels = np.asarray(labels)
  if codes.ndim != 2 or codes.shape[1] < 2 or labels.shape != codes.shape[:1]:
    raise ValueError(f"latent_scatter_2d: expected codes [N, D >= 2] and labels [N], got codes{list(codes.shape)} "
                     f"and labels{list(labels.shape)}.")
  if max(dims) >= codes.shape[1] or min(dims) < 0:
    raise ValueError(f"latent_scatter_2d: dims {dims} out of range for codes{list(codes.shape)}.")
  classes = np.unique(labels)
  cmap = matplotlib.colormaps["tab10" if classes.size <= 10 else "tab20"]
  fig = Figure(figsize=(5.5, 4.5), dpi=100)
  ax = fig.add_subplot()
  for i, c in enumerate(classes):
    mask = labels == c
    name = class_names[int(c)] if class_names is not None else str(c)
    ax.scatter(codes[mask, dims[0]], codes[mask, dims[1]], s=point_size, color=cmap(i % cmap.N), label=name,
               alpha=0.7, linewidths=0)
  ax.set_xlabel(f"z{dims[0]}")
  ax.set_ylabel(f"z{dims[1]}")
  ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, markerscale=3.0, frameon=False)
  ax.set_title(title or "latent codes by class", fontsize=9)
  fig.tight_layout()
  return _save(fig, path)


def kl_per_dim_bars(kl_per_dim: Any, path: PathLike, *, title: str | None = None,
                    active_threshold: float | None = 0.01) -> PathLike:
  """Writes a bar chart of the average KL(q(z_d|x) || p(z_d)) of each latent dimension, in nats.

  Args:
    kl_per_dim: ``[D]`` KL per dimension averaged over data, nats.
    path: the PNG to write.
    title: optional figure title.
    active_threshold: draw a dashed line here (dimensions below it have collapsed to the prior); None for none.
  """
  kl = np.asarray(kl_per_dim, dtype=np.float64)
  if kl.ndim != 1 or kl.size == 0:
    raise ValueError(f"kl_per_dim_bars: expected kl_per_dim [D], got {list(kl.shape)}.")
  fig = Figure(figsize=(max(3.0, 0.3 * kl.size + 1.0), 3.0), dpi=100)
  ax = fig.add_subplot()
  ax.bar(np.arange(kl.size), kl, color="tab:blue")
  if active_threshold is not None:
    ax.axhline(active_threshold, color="tab:red", linestyle="--", linewidth=0.8)
  ax.set_xticks(np.arange(kl.size))
  ax.set_xticklabels([str(d) for d in range(kl.size)], fontsize=7)
  ax.set_xlabel("latent dimension")
  ax.set_ylabel("KL (nats)")
  ax.set_title(title or f"KL per dimension (total {kl.sum():.2f} nats)", fontsize=9)
  fig.tight_layout()
  return _save(fig, path)


def training_curves(records: Sequence[Mapping[str, Any]], path: PathLike, *, keys: Sequence[str] | None = None,
                    log_scale: Sequence[str] = (), title: str | None = None, ncols: int = 3) -> PathLike:
  """Writes one panel per metric against ``step``, from a list of logged records.

  Records may log different metrics at different steps (e.g. eval metrics less often); each panel uses only
  the records that contain its key, and skips non-finite values.

  Args:
    records: dicts each holding ``"step"`` and scalar metrics (numbers or 0-d arrays).
    path: the PNG to write.
    keys: metrics to plot, in order; defaults to every key except ``step``, in order of first appearance.
    log_scale: metrics to draw with a logarithmic y axis.
    title: optional figure title.
    ncols: panels per row.
  """
  if not records or any("step" not in r for r in records):
    raise ValueError("training_curves: records must be a non-empty list of dicts that all have a 'step'.")
  if keys is None:
    keys = list(dict.fromkeys(k for r in records for k in r if k != "step"))
  if not keys:
    raise ValueError("training_curves: no metric to plot besides 'step'.")
  ncols = min(ncols, len(keys))
  nrows = math.ceil(len(keys) / ncols)
  fig = Figure(figsize=(3.2 * ncols, 2.4 * nrows + (0.3 if title else 0.0)), dpi=100)
  axes = fig.subplots(nrows, ncols, squeeze=False)
  for ax, key in zip(axes.ravel(), keys):
    points = np.array([(float(r["step"]), float(np.asarray(r[key]))) for r in records if key in r], dtype=np.float64)
    if points.size:
      points = points[np.isfinite(points[:, 1])]
    if points.size:
      ax.plot(points[:, 0], points[:, 1], marker="." if len(points) < 30 else None, linewidth=1.0)
    if key in log_scale and points.size and (points[:, 1] > 0).all():
      ax.set_yscale("log")
    ax.set_title(key, fontsize=9)
    ax.set_xlabel("step", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
  for ax in axes.ravel()[len(keys):]:
    ax.set_axis_off()
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  return _save(fig, path)


def score_distributions(scores: Mapping[str, Mapping[str, Sequence[float]]], path: PathLike, *,
                        metrics: Sequence[tuple[str, str]], title: str | None = None,
                        targets: Mapping[str, float] | None = None) -> PathLike:
  """One panel per metric, one horizontal box per setting over its seeds, every seed drawn as a dot.

  The figure of Locatello et al. 2019: the spread over seeds next to the differences between settings.

  Args:
    scores: ``{setting label: {metric key: [value per seed]}}``, settings drawn top to bottom in order.
    path: the PNG to write.
    metrics: ``(key, panel title)`` pairs, in order.
    title: optional figure title.
    targets: optional ``{metric key: value}`` drawn as a dashed vertical line in that metric's panel.
  """
  labels = list(scores)
  if not labels or not metrics:
    raise ValueError("score_distributions: need at least one setting and one metric.")
  fig = Figure(figsize=(2.4 * len(metrics) + 1.6, 0.32 * len(labels) + 1.4 + (0.3 if title else 0.0)), dpi=100)
  axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
  rows = np.arange(len(labels))[::-1] + 1.0  # first setting on top
  for ax, (key, panel) in zip(axes, metrics):
    data = [np.asarray(scores[lab][key], np.float64) for lab in labels]
    ax.boxplot(data, positions=rows, orientation="horizontal", widths=0.6, showfliers=False)
    for y, d in zip(rows, data):
      ax.scatter(d, y + np.linspace(-0.15, 0.15, len(d)), s=8, color="tab:red", zorder=3)
    if targets and key in targets:
      ax.axvline(targets[key], color="tab:green", linestyle="--", linewidth=1)
    ax.set_title(panel, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(axis="x", alpha=0.3)
  axes[0].set_yticks(rows, labels, fontsize=7)
  fig.tight_layout()
  if title:  # placed after tight_layout, clear of the panels' titles
    fig.subplots_adjust(top=1.0 - 0.75 / fig.get_figheight())
    fig.suptitle(title, fontsize=10, y=1.0 - 0.12 / fig.get_figheight(), va="top")
  return _save(fig, path)


def metric_curves(series: Mapping[str, Sequence[Mapping[str, float]]], path: PathLike, *,
                  metrics: Sequence[tuple[str, str]], title: str | None = None) -> PathLike:
  """One panel per metric against ``step``, one line per series (e.g. a setting's score at each checkpoint).

  Args:
    series: ``{label: [{"step": s, key: value, …}, …]}``.
    path: the PNG to write.
    metrics: ``(key, panel title)`` pairs.
    title: optional figure title.
  """
  if not series or not metrics:
    raise ValueError("metric_curves: need at least one series and one metric.")
  fig = Figure(figsize=(4.2 * len(metrics), 3.2 + (0.3 if title else 0.0)), dpi=100)
  axes = fig.subplots(1, len(metrics), squeeze=False)[0]
  for label, points in series.items():
    points = sorted(points, key=lambda p: p["step"])
    for ax, (key, _) in zip(axes, metrics):
      ax.plot([p["step"] for p in points], [p[key] for p in points], marker="o", markersize=3, label=label)
  for ax, (_, panel) in zip(axes, metrics):
    ax.set_title(panel, fontsize=9)
    ax.set_xlabel("updates", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
  axes[-1].legend(fontsize=6)
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  return _save(fig, path)


def paired_margins(chains: Mapping[str, Mapping[int, Mapping[str, Mapping[int, float]]]], path: PathLike, *,
                   metrics: Sequence[tuple[str, str]], title: str | None = None) -> PathLike:
  """A setting's per-seed margin over its reference against training updates: one row of panels per chain, one
  panel per metric, one line per seed (labelled with the seed itself), a dashed line at 0 (above it: the setting
  scores higher on that seed).

  Args:
    chains: ``{label: {updates: {metric key: {seed: margin}}}}``; a seed missing at some number of updates leaves a
      gap in its line.
    path: the PNG to write.
    metrics: ``(key, panel title)`` pairs, in order.
    title: optional figure title.
  """
  if not chains or not metrics:
    raise ValueError("paired_margins: need at least one chain and one metric.")
  fig = Figure(figsize=(2.9 * len(metrics), 2.3 * len(chains) + (0.4 if title else 0.0)), dpi=100)
  axes = fig.subplots(len(chains), len(metrics), squeeze=False)
  for row, (label, by_updates) in zip(axes, chains.items()):
    steps = sorted(by_updates)
    for ax, (key, panel) in zip(row, metrics):
      seeds = sorted({int(seed) for s in steps for seed in by_updates[s][key]})
      for seed in seeds:
        margins = [by_updates[s][key].get(seed, np.nan) for s in steps]
        ax.plot(steps, margins, marker="o", markersize=3, linewidth=1, label=f"seed {seed}")
      ax.axhline(0.0, color="black", linestyle="--", linewidth=0.8)
      ax.set_title(panel, fontsize=8)
      ax.set_xticks(steps, [f"{s:,}" for s in steps], fontsize=6)
      ax.tick_params(labelsize=6)
      ax.grid(alpha=0.3)
    row[0].set_ylabel("\n".join(textwrap.wrap(label, 28)), fontsize=6)
    row[-1].legend(fontsize=5)  # per row: chains may pair different seeds
  axes[-1][0].set_xlabel("updates", fontsize=7)
  if title:
    fig.suptitle(title, fontsize=9)
  fig.tight_layout()
  return _save(fig, path)


def traversal_panels(panels: Sequence[tuple[str, Any, Sequence[str]]], path: PathLike, *,
                     title: str | None = None, cell_inches: float = 0.55) -> PathLike:
  """Latent traversals of several models side by side (e.g. a VAE and a β-VAE: the article's figure).

  Args:
    panels: ``(panel title, images [rows, values, H, W, C] in [0, 1], row labels)`` per model; each row sweeps
      one latent (see :func:`latent_traversal`).
    path: the PNG to write.
    title: optional figure title.
    cell_inches: size of one image.
  """
  if not panels:
    raise ValueError("traversal_panels: no panel.")
  grids = []
  for name, images, labels in panels:
    images = np.asarray(images, np.float32)
    if images.ndim != 5 or images.shape[-1] not in (1, 3) or len(labels) != images.shape[0]:
      raise ValueError(f"traversal_panels: panel {name!r} needs images [rows, values, H, W, C] and one label per "
                       f"row, got {list(images.shape)} and {len(labels)} labels.")
    grids.append(images)
  rows = max(g.shape[0] for g in grids)
  width = sum(2.0 + cell_inches * g.shape[1] for g in grids)  # room for row labels such as "z0 KL=1.0 orientation"
  title = textwrap.fill(title, width=max(30, int(12 * width))) if title else title  # ≈ 12 characters an inch at 10 pt
  lines = title.count("\n") + 1 if title else 0
  fig = Figure(figsize=(width, 0.4 + cell_inches * 1.05 * rows + 0.3 * lines), dpi=100)
  axes = fig.subplots(1, len(panels), squeeze=False,
                      gridspec_kw=dict(width_ratios=[g.shape[1] for g in grids]))[0]
  for ax, (name, _, labels), g in zip(axes, panels, grids):
    h, w = g.shape[2], g.shape[3]
    tiled = np.ones(((h + 2) * g.shape[0], (w + 2) * g.shape[1], g.shape[-1]), np.float32)
    for i in range(g.shape[0]):
      for j in range(g.shape[1]):
        tiled[i * (h + 2):i * (h + 2) + h, j * (w + 2):j * (w + 2) + w] = g[i, j]
    _show(ax, tiled)
    ax.set_yticks([i * (h + 2) + h / 2 for i in range(g.shape[0])], labels, fontsize=7)
    ax.set_title(name, fontsize=8)
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout()
  return _save(fig, path)


def factor_responses(rows: Sequence[tuple[str, Sequence[Any]]], factor_names: Sequence[str], path: PathLike, *,
                     shown: Sequence[int] | None = None, title: str | None = None,
                     min_share: float = 0.1) -> PathLike:
  """The mean code of every latent against each factor's value, a row of panels per model
  (:func:`vae_jax.evaluation.factor_response`): a monotonic line is a factor carried in order, a U a radial code, a
  zigzag with a second latent stepping at the middle a folded one.

  Args:
    rows: ``(row label, per-factor responses [values, D])`` per model.
    factor_names: the factors' names; shown: the indices of the factors drawn (default: all).
    path: the PNG to write.
    min_share: latents whose range over a factor is below this share of the largest are drawn faint, unlabelled.
  """
  if not rows:
    raise ValueError("factor_responses: no row.")
  shown = list(range(len(factor_names))) if shown is None else list(shown)
  fig = Figure(figsize=(3.0 * len(shown), 2.3 * len(rows) + (0.3 if title else 0.0)), dpi=100)
  axes = fig.subplots(len(rows), len(shown), squeeze=False)
  colours = matplotlib.colormaps["tab10"]
  for r, (label, responses) in enumerate(rows):
    if len(responses) != len(factor_names):
      raise ValueError(f"factor_responses: row {label!r} has {len(responses)} responses for "
                       f"{len(factor_names)} factors.")
    for ax, k in zip(axes[r], shown):
      resp = np.asarray(responses[k], np.float32)
      span = np.ptp(resp, axis=0)
      for d in np.argsort(-span):
        strong = span[d] >= min_share * max(float(span.max()), 1e-12)
        ax.plot(np.arange(len(resp)), resp[:, d], color=colours(d % 10) if strong else "0.8",
                lw=1.6 if strong else 0.7, label=f"z{d}" if strong else None, zorder=2 if strong else 1)
      ax.set_title(f"{label}: {factor_names[k]}" if k == shown[0] else factor_names[k], fontsize=8)
      ax.tick_params(labelsize=6)
      ax.grid(alpha=0.3)
      if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6, loc="best")
    axes[r][0].set_ylabel("mean code", fontsize=7)
  for ax in axes[-1]:
    ax.set_xlabel("factor value (index)", fontsize=7)
  if title:
    fig.suptitle(title, fontsize=10)
  fig.tight_layout(rect=(0, 0, 1, 1 - (0.3 / fig.get_figheight() if title else 0)))  # the title above the panels
  return _save(fig, path)


def mean_std_lines(series: Mapping[str, Sequence[Mapping[str, float]]], xticklabels: Sequence[str], path: PathLike, *,
                   xlabel: str, ylabel: str, title: str | None = None, groups: Mapping[str, str] | None = None,
                   dashed: Sequence[str] = ()) -> PathLike:
  """One line with ± std error bars per series over categorical x positions (e.g. accuracy per label count).

  Args:
    series: ``{label: [{"mean": m, "std": s, …}, …]}``, one point per entry of ``xticklabels``.
    xticklabels: the x positions' labels.
    path: the PNG to write.
    xlabel, ylabel, title: axis labels and an optional title.
    groups: ``{label: group}``: series of one group share a colour (default: one colour per series).
    dashed: labels drawn dashed (e.g. a second way of measuring the same model).
  """
  if not series or any(len(points) != len(xticklabels) for points in series.values()):
    raise ValueError(f"mean_std_lines: need at least one series, each with {len(xticklabels)} points.")
  groups = dict(groups or {label: label for label in series})
  order = list(dict.fromkeys(groups.get(label, label) for label in series))
  fig = Figure(figsize=(6.4, 4.0), dpi=100)
  ax = fig.add_subplot(1, 1, 1)
  x = np.arange(len(xticklabels))
  for label, points in series.items():
    ax.errorbar(x, [p["mean"] for p in points], yerr=[p["std"] for p in points], marker="o", capsize=3, label=label,
                color=f"C{order.index(groups.get(label, label)) % 10}", linestyle="--" if label in dashed else "-")
  ax.set_xticks(x, [str(t) for t in xticklabels])
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  if title:
    ax.set_title(title, fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7, ncol=2)
  fig.tight_layout()
  return _save(fig, path)


def score_histograms(panels: Sequence[tuple], labels: Mapping[str, str], path: PathLike, *,
                     title: str | None = None, bins: int = 40) -> PathLike:
  """One panel per score: overlaid step histograms of the score on each test set (e.g. inliers and outliers).

  Args:
    panels: ``[(x-axis label, {set key: [n] scores})]`` or ``(label, scores, "log")`` for a log x-axis (for a
      score spanning decades; values below 10⁻² are drawn at 10⁻²); the bins span the 0.5–99.5 percentiles of all
      sets, evenly on the panel's axis.
    labels: ``{set key: legend label}``, in drawing order.
  """
  fig = Figure(figsize=(4.0 * len(panels), 3.2), dpi=100)
  axes = fig.subplots(1, len(panels), squeeze=False)[0]
  for ax, (name, scores, *scale) in zip(axes, panels):
    log = scale == ["log"]
    if scale and not log:
      raise ValueError(f"score_histograms: a panel's third element must be 'log', got {scale[0]!r} ({name}).")
    per_set = {k: np.maximum(np.asarray(v, np.float64), 1e-2) if log else np.asarray(v, np.float64)
               for k, v in scores.items()}
    lo, hi = np.percentile(np.concatenate(list(per_set.values())), [0.5, 99.5])
    edges = np.geomspace(lo, hi, bins) if log else np.linspace(lo, hi, bins)
    for key, label in labels.items():
      ax.hist(per_set[key], bins=edges, histtype="step", density=True, label=label)
    if log:
      ax.set_xscale("log")
    ax.set_xlabel(name, fontsize=8)
    ax.set_yticks([])
  axes[0].legend(fontsize=7)
  if title:
    fig.suptitle(title, fontsize=9)
  fig.tight_layout()
  return _save(fig, path)


def accuracy_bars(names: Sequence[str], means: Sequence[float], stds: Sequence[float], path: PathLike, *,
                  xlabel: str) -> PathLike:
  """Horizontal bars with ± std error bars, one per row, each labelled with its mean (accuracies in %)."""
  fig = Figure(figsize=(6.5, 0.5 + 0.45 * len(names)), dpi=100)
  ax = fig.add_subplot(1, 1, 1)
  ax.barh(range(len(names)), means, xerr=stds, capsize=3, color="tab:blue", alpha=0.8)
  ax.set_yticks(range(len(names)), names, fontsize=8)
  ax.invert_yaxis()
  right = max(m + sd for m, sd in zip(means, stds))
  ax.set_xlim(max(0.0, min(means) - 5.0), min(100.0, right + 2.0))
  for i, (m, sd) in enumerate(zip(means, stds)):
    ax.text(m + sd + 0.2, i, f"{m:.1f}", va="center", fontsize=8)
  ax.set_xlabel(xlabel)
  fig.tight_layout()
  return _save(fig, path)


def rate_distortion(points: Sequence[tuple[str, Mapping[str, float], Mapping[str, float]]], path: PathLike, *,
                    title: str | None = None) -> PathLike:
  """Distortion against rate, one annotated point per setting: ``[(label, rate, distortion)]``, each a
  ``{"mean", "std"}`` dict (``std`` drawn as error bars), in nats."""
  fig = Figure(figsize=(5.0, 3.8), dpi=100)
  ax = fig.add_subplot(1, 1, 1)
  ax.errorbar([r["mean"] for _, r, _ in points], [d["mean"] for _, _, d in points],
              xerr=[r["std"] for _, r, _ in points], yerr=[d["std"] for _, _, d in points], marker="o", capsize=3)
  for label, r, d in points:
    ax.annotate(label, (r["mean"], d["mean"]), textcoords="offset points", xytext=(5, 5), fontsize=8)
  ax.set_xlabel("rate: KL(q(z|x) ‖ p(z)) [nats]")
  ax.set_ylabel("distortion: −log p(x|z) [nats]")
  if title:
    ax.set_title(title, fontsize=9)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  return _save(fig, path)
