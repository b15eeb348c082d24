"""Factor transfer by latent swapping on sprites, scored against the ground truth (the article's style transfer).

For a trained model: DCI on posterior means gives which latents carry each factor
(:func:`vae_jax.latent.factor_latents`); then, for random (source, target) pairs that differ in one factor, the
source code with that factor's latents copied from the target is decoded and compared with the rendering of the
source's factors with that one factor taken from the target — IoU of the decode binarized at 0.5, and the BCE of
the decoder's logits. References on the same pairs: ``source`` (the unedited source: no transfer), ``random dims``
(as many randomly chosen latents swapped: is the DCI choice better than chance?) and ``oracle`` (the reconstruction
of the true image: the best this decoder can do). A swap that beats ``source`` transfers the factor.

Factors with more than ``max_classes`` values (orientation, pos_x, pos_y) are binned evenly before DCI, which keeps
the boosted trees affordable and only coarsens which latent is found to carry the factor.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from vae_jax import inference, latent
from vae_jax.data import sprites
from vae_jax.evaluation.dci import dci
from vae_jax.evaluation.paired import spread
from vae_jax.evaluation.reconstruction import per_image_bce

EDITS = ("swap", "random dims", "source", "oracle")


def bin_factors(factors: np.ndarray, max_classes: int = 8) -> np.ndarray:
  """Factor indices ``[N, 5]`` with every factor of more than ``max_classes`` values binned evenly into that many."""
  sizes = np.asarray(sprites.FACTOR_SIZES)
  bins = np.minimum(sizes, max_classes)
  return (np.asarray(factors) * bins[None, :]) // sizes[None, :]


def transfer_pairs(key: jax.Array, factor: int, num: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """``(source, target, truth)`` factors ``[num, 5]``: the target differs from the source in ``factor``; the truth
  is the source with that factor taken from the target."""
  k_src, k_tgt, k_shift = jax.random.split(key, 3)
  src = np.array(sprites.sample_factors(k_src, num))  # writable host copies
  tgt = np.array(sprites.sample_factors(k_tgt, num))
  size = sprites.FACTOR_SIZES[factor]
  shift = np.asarray(jax.random.randint(k_shift, (num,), 1, size))
  tgt[:, factor] = (src[:, factor] + shift) % size  # always a different value
  truth = src.copy()
  truth[:, factor] = tgt[:, factor]
  return src, tgt, truth


def iou(probs: np.ndarray, truth: np.ndarray) -> np.ndarray:
  """Per-image IoU ``[N]`` of ``probs > 0.5`` against binary ``truth`` (both ``[N, H, W, C]``)."""
  pred = probs > 0.5
  gt = truth > 0.5
  inter = np.sum(pred & gt, axis=(1, 2, 3))
  union = np.sum(pred | gt, axis=(1, 2, 3))
  return inter / np.maximum(union, 1)


def factor_swap(key: jax.Array, model, params, *, resolution: int, dci_train: int = 2000, dci_test: int = 1000,
                dci_estimators: int = 30, num_pairs: int = 500, threshold: float = 0.2,
                max_classes: int = 8, num_examples: int = 6) -> dict:
  """Swaps each factor's latents between sprite pairs and scores the decodes against the ground truth.

  Args:
    key: a typed key (DCI codes, pairs and random dimensions are drawn from it).
    model, params: a trained VAE-family model of ``resolution``×``resolution`` sprites with a Bernoulli decoder.
    resolution: the sprites' side in pixels.
    dci_train, dci_test, dci_estimators: DCI's codes and boosting stages (to find each factor's latents).
    num_pairs: pairs per factor.
    threshold: :func:`vae_jax.latent.factor_latents`' share of a factor's importance that selects a latent.
    max_classes: factors with more values are binned to this many classes for DCI.
    num_examples: example images kept per factor (for a figure).

  Returns:
    ``dci`` (disentanglement, completeness, informativeness_test), ``importance_matrix`` ``[D, K]``,
    ``factor_latents`` (factor name → chosen latents), ``factors`` (factor name → edit → ``{"iou", "bce"}`` means
    over the pairs, edits in :data:`EDITS`), ``examples`` (factor name → source, target, swapped decode, truth).
  """
  render = functools.partial(sprites.render, resolution=resolution)
  k_dci, k_pairs, k_random = jax.random.split(key, 3)
  images, factors = sprites.sample(k_dci, dci_train + dci_test, resolution=resolution)
  codes = inference.encode(model, params, images, batch_size=len(images)).mean  # posterior means
  binned = bin_factors(np.asarray(factors), max_classes)
  scores = dci(codes[:dci_train], binned[:dci_train], codes[dci_train:], binned[dci_train:],
               n_estimators=dci_estimators)
  dims = latent.factor_latents(scores["importance_matrix"], threshold=threshold)
  latent_dim = codes.shape[1]
  out = {"dci": {k: scores[k] for k in ("disentanglement", "completeness", "informativeness_test")},
         "importance_matrix": np.asarray(scores["importance_matrix"]).tolist(), "factor_latents": {}, "factors": {},
         "examples": {}}
  for k, name in enumerate(sprites.FACTOR_NAMES):
    src, tgt, truth = transfer_pairs(jax.random.fold_in(k_pairs, k), k, num_pairs)
    x_src, x_tgt, x_truth = render(src), render(tgt), render(truth)
    z_src, z_tgt, z_truth = (inference.encode(model, params, x, batch_size=num_pairs).mean
                             for x in (x_src, x_tgt, x_truth))
    chosen = dims[k] or ()
    perm = np.asarray(jax.random.permutation(jax.random.fold_in(k_random, k), latent_dim))
    random_dims = tuple(int(d) for d in perm[:max(len(chosen), 1)])
    edits = {
        "swap": latent.swap_factors(z_src, z_tgt, chosen),
        "random dims": latent.swap_factors(z_src, z_tgt, random_dims),
        "source": z_src,
        "oracle": z_truth,
    }
    truth_np = np.asarray(x_truth)
    row = {}
    for edit, z in edits.items():
      logits = inference.decode(model, params, z, raw=True, batch_size=len(z))
      probs = np.asarray(jax.nn.sigmoid(logits))
      row[edit] = {"iou": float(np.mean(iou(probs, truth_np))),
                   "bce": float(np.mean(per_image_bce(logits, x_truth, from_logits=True)))}
      if edit == "swap":
        out["examples"][name] = (np.asarray(x_src[:num_examples]), np.asarray(x_tgt[:num_examples]),
                                 probs[:num_examples], truth_np[:num_examples])
    out["factors"][name] = row
    out["factor_latents"][name] = [int(d) for d in chosen]
  return out


def summarize_swaps(per_seed: list[dict], factor_names) -> tuple[list[list], list[str]]:
  """:func:`factor_swap` results of one setting over seeds: per factor, the IoU of every edit in :data:`EDITS`
  (``{"mean", "std", "n", "values"}`` over seeds) and ``"<seeds where swap > source>/<seeds>"``; and the factors where
  the swap beats no transfer on every seed."""
  rows, wins = [], []
  for name in factor_names:
    cells = [spread([o["factors"][name][e]["iou"] for o in per_seed]) for e in EDITS]
    higher = sum(o["factors"][name]["swap"]["iou"] > o["factors"][name]["source"]["iou"] for o in per_seed)
    rows.append([name, *cells, f"{higher}/{len(per_seed)}"])
    if higher == len(per_seed):
      wins.append(name)
  return rows, wins
