"""Draws procedural dSprites as a grid, one row per factor swept with the others fixed, to check them by eye.

Command (from the repository root):

    .venv/bin/python tools/show_sprites.py

Expected result: ``experiments/figures/sprites_grid.png`` (about 40 kB). Row "shape": square, ellipse, heart;
"scale": the heart growing; "orientation" rows: the heart, square and ellipse turning; "pos_x": the sprite moving
right; "pos_y": moving down. Runtime: a few seconds on a CPU.
"""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from vae_jax.data import sprites  # noqa: E402

OUTPUT = pathlib.Path(__file__).resolve().parents[1] / "experiments" / "figures" / "sprites_grid.png"
COLUMNS = 10
BASE = {"shape": 2, "scale": 5, "orientation": 0, "pos_x": 16, "pos_y": 16}  # a large, centred heart

# (row label, swept factor, overrides of BASE)
ROWS = (
    ("shape", "shape", {}),
    ("scale", "scale", {}),
    ("orientation\n(heart)", "orientation", {}),
    ("orientation\n(square)", "orientation", {"shape": 0}),
    ("orientation\n(ellipse)", "orientation", {"shape": 1}),
    ("pos_x", "pos_x", {"scale": 2}),
    ("pos_y", "pos_y", {"scale": 2}),
)


def sweep(factor: str, overrides: dict[str, int]) -> np.ndarray:
  """Factor indices [k, 5]: ``factor`` over up to COLUMNS evenly spaced values, the others fixed."""
  size = sprites.FACTOR_SIZES[sprites.FACTOR_NAMES.index(factor)]
  values = np.unique(np.linspace(0, size - 1, min(size, COLUMNS)).round().astype(np.int32))
  if factor == "orientation":
    values = np.arange(0, size, size // COLUMNS, dtype=np.int32)  # evenly over [0, 2 pi)
  base = {**BASE, **overrides}
  rows = np.array([[base[name] for name in sprites.FACTOR_NAMES]] * len(values), dtype=np.int32)
  rows[:, sprites.FACTOR_NAMES.index(factor)] = values
  return rows


def main() -> None:
  fig, axes = plt.subplots(len(ROWS), COLUMNS, figsize=(COLUMNS * 0.9, len(ROWS) * 0.95))
  for row, (label, factor, overrides) in enumerate(ROWS):
    factors = sweep(factor, overrides)
    images = np.asarray(sprites.render(factors, resolution=64))
    for column in range(COLUMNS):
      ax = axes[row, column]
      ax.set_xticks([])
      ax.set_yticks([])
      if column < len(factors):
        ax.imshow(images[column, :, :, 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(str(factors[column, sprites.FACTOR_NAMES.index(factor)]), fontsize=6, pad=1)
      else:
        ax.axis("off")
    axes[row, 0].set_ylabel(label, fontsize=7, rotation=0, ha="right", va="center")
  fig.suptitle("procedural dSprites: one factor swept per row (index above each image)", fontsize=8)
  fig.tight_layout(pad=0.3, rect=(0, 0, 1, 0.97))
  OUTPUT.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(OUTPUT, dpi=80)
  print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size / 1024:.0f} kB)")


if __name__ == "__main__":
  main()
