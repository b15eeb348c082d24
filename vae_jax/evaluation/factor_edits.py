"""Attribute edits on sprites judged by the sprites judge: does moving the latent that carries a factor move that
factor, and only it?

For each edited factor (an ordinal one: scale, pos_x, pos_y), fresh real sprites are encoded, the one latent of
largest DCI importance for the factor is moved by ``±delta`` (its sign read from the latent's correlation with the
factor on these sprites; the direction chosen per sprite towards the side of the factor's range with room), and the
code decoded. The judge (:func:`vae_jax.evaluation.train_sprite_judge`) reads the factor on the edit and on the
unedited reconstruction: **moved** = its reading changed in the intended direction; **kept** = its reading of every
other factor in ``kept`` stayed the same. The pixel-space baseline is the same arithmetic on pixels,
``clip(x ± alpha·(mean image of the factor's upper half − mean image of its lower half), 0, 1)``, read against the
judge's reading of ``x``.

References:
  White, "Sampling Generative Networks", 2016 (attribute vectors); Higgins et al., β-VAE, ICLR 2017 (one latent, one
  factor).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
from jax.typing import ArrayLike

from vae_jax import inference
from vae_jax.data import sprites
from vae_jax.evaluation.paired import spread
from vae_jax.evaluation.sprite_judge import SpriteJudge, predict_factors

__all__ = ["EDITED_FACTORS", "KEPT_FACTORS", "factor_edits", "summarize_factor_edits"]

EDITED_FACTORS = ("scale", "pos_x", "pos_y")  # ordinal: "moved in the intended direction" has a meaning
KEPT_FACTORS = ("shape", "scale", "pos_x", "pos_y")  # read reliably by the judge (orientation is not, at 32×32)


def factor_edits(key: jax.Array, judge: SpriteJudge, model, params, importance: ArrayLike, *,
                 factors: Sequence[str] = EDITED_FACTORS, kept: Sequence[str] = KEPT_FACTORS, num_sources: int = 500,
                 delta: float = 2.0, alpha: float = 1.0, batch_size: int = 500) -> dict[str, float]:
  """Latent and pixel-space edits of ``num_sources`` fresh sprites (drawn with ``key``), read by the judge.

  Args:
    key: draws the sprites edited (at the judge's resolution).
    judge: a trained :class:`~vae_jax.evaluation.SpriteJudge`.
    model, params: the trained autoencoder whose codes are edited.
    importance: ``[latent, 5]`` DCI importance (:func:`vae_jax.evaluation.evaluate_disentanglement`'s); the latent
      edited for factor ``k`` is ``argmax importance[:, k]``.
    factors: the factors edited (names of ``sprites.FACTOR_NAMES``); kept: the factors that should not move.
    delta: how far the latent is moved (prior standard deviations); alpha: the pixel edit's strength.

  Returns:
    Per factor ``f``: ``f/latent``, ``f/pixel`` (fraction of sprites the judge reads as moved in the intended
    direction), ``f/latent_kept``, ``f/pixel_kept`` (fraction whose other ``kept`` factors the judge reads unchanged)
    and ``f/latent_index`` (the latent edited).
  """
  names, imp = tuple(sprites.FACTOR_NAMES), np.asarray(importance)
  if imp.ndim != 2 or imp.shape[1] != len(names):
    raise ValueError(f"factor_edits: importance must be [latent, {len(names)}], got {list(imp.shape)}.")
  unknown = sorted(set(factors) - set(EDITED_FACTORS))
  if unknown:
    raise ValueError(f"factor_edits: factors {unknown} have no direction; edit some of {EDITED_FACTORS}.")
  images, truth = (np.asarray(a) for a in sprites.sample(key, num_sources, resolution=judge.resolution))
  z = inference.encode(model, params, images, batch_size=batch_size).mean
  read = lambda x: predict_factors(judge, x, batch_size=batch_size)  # noqa: E731
  read_recon, read_real = read(inference.decode(model, params, z, batch_size=batch_size)), read(images)
  out = {}
  for name in factors:
    k = names.index(name)
    mid = (sprites.FACTOR_SIZES[k] - 1) / 2
    direction = np.where(truth[:, k] < mid, 1, -1)  # towards the side with room
    others = [names.index(n) for n in kept if n != name]
    d = int(np.argmax(imp[:, k]))
    corr = np.corrcoef(z[:, d], truth[:, k])[0, 1] if np.std(z[:, d]) > 0 else 0.0
    moved = z.copy()
    moved[:, d] += direction * (1.0 if corr >= 0 else -1.0) * delta
    upper = truth[:, k] > mid
    shift = images[upper].mean(0) - images[~upper].mean(0)
    edits = {"latent": (read(inference.decode(model, params, moved, batch_size=batch_size)), read_recon),
             "pixel": (read(np.clip(images + direction[:, None, None, None] * alpha * shift, 0.0, 1.0)), read_real)}
    for kind, (after, before) in edits.items():
      out[f"{name}/{kind}"] = float(np.mean(np.sign(after[:, k] - before[:, k]) == direction))
      out[f"{name}/{kind}_kept"] = float(np.mean(np.all(after[:, others] == before[:, others], axis=1)))
    out[f"{name}/latent_index"] = d
  return out


def summarize_factor_edits(per_seed: list[dict], factors: Sequence[str] = EDITED_FACTORS
                           ) -> tuple[list[list], list[str]]:
  """:func:`factor_edits` results of one setting over seeds: per factor, the latents edited, ``latent``, ``pixel``,
  ``latent_kept``, ``pixel_kept`` (``{"mean", "std", "n", "values"}`` over seeds) and ``"<seeds where latent >
  pixel>/<seeds>"``; and the factors where the latent edit beats the pixel baseline on every seed."""
  rows, wins = [], []
  for name in factors:
    higher = sum(o[f"{name}/latent"] > o[f"{name}/pixel"] for o in per_seed)
    latents = ", ".join(f"z{int(o[f'{name}/latent_index'])}" for o in per_seed)
    rows.append([name, latents, *[spread([o[f"{name}/{c}"] for o in per_seed])
                                  for c in ("latent", "pixel", "latent_kept", "pixel_kept")],
                 f"{higher}/{len(per_seed)}"])
    if per_seed and higher == len(per_seed):
      wins.append(name)
  return rows, wins
