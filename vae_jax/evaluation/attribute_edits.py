"""Attribute-vector edits judged by a classifier: does moving a code by a class-mean difference change the class?

For every ordered class pair ``(s, t)``, images of class ``s`` are encoded, moved by ``α·v(s→t)``
(:func:`vae_jax.latent.attribute_vector`, :func:`vae_jax.latent.apply_attribute`) and decoded; a classifier (the
*judge*, trained on real images) labels each edited image. **Success** = the judge says ``t``; **drift** = pixel MSE
between the edited image and the source. The same arithmetic in pixel space, ``clip(x + α·(mean image of t − mean
image of s), 0, 1)``, is the baseline.

References:
  White, "Sampling Generative Networks", 2016 (attribute vectors); Larsen et al., "Autoencoding beyond pixels
  using a learned similarity metric", ICML 2016.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
import optax
from jax.typing import ArrayLike

from vae_jax import classifier, inference, latent, modules


def train_judge(key: jax.Array, images: ArrayLike, labels: ArrayLike, *, hidden: Sequence[int], num_steps: int,
                tx: optax.GradientTransformation, batch_size: int = 128, num_classes: int = 10) -> tuple[Any, Any]:
  """An MLP classifier trained on real labelled images: ``(model, params)``."""
  k_init, k_train = jax.random.split(key)
  model = classifier.Classifier(modules.MLPEncoder(tuple(hidden)), num_classes=num_classes)
  params = classifier.init_params(model, k_init, images[:2])
  params, _ = classifier.fit(k_train, model, params, images, labels, tx=tx, num_steps=num_steps,
                             batch_size=batch_size)
  return model, params


def pick_sources(key: jax.Array, labels: ArrayLike, per_class: int, *, num_classes: int = 10) -> dict[int, np.ndarray]:
  """``per_class`` random rows of every class (class ``c`` permutes its rows with ``fold_in(key, c)``)."""
  labels = np.asarray(labels)
  out = {}
  for c in range(num_classes):
    rows = np.flatnonzero(labels == c)
    out[c] = rows[np.asarray(jax.random.permutation(jax.random.fold_in(key, c), len(rows)))[:per_class]]
  return out


def attribute_edits(model, params, judge, judge_params, train_codes: ArrayLike, train_labels: ArrayLike,
                    mean_images: ArrayLike, sources: dict[int, np.ndarray], *, alphas: Sequence[float],
                    keep: Sequence[tuple[int, int]] = (), num_shown: int = 2) -> dict[str, Any]:
  """Judge every latent and pixel-space edit of ``sources`` towards every other class.

  Args:
    model, params: the autoencoder whose codes are edited.
    judge, judge_params: the classifier that labels the edited images (:func:`train_judge`).
    train_codes, train_labels: ``[N, latent]`` codes and labels that define the attribute vectors.
    mean_images: ``[classes, H, W, C]`` the mean training image of each class (the pixel-space baseline).
    sources: ``{class: [m, H, W, C] images}`` to edit.
    alphas: the edit strengths; 0 is the plain reconstruction.
    keep: ``(source, target)`` pairs whose images to return for a figure; ``num_shown`` images each.

  Returns:
    ``success`` and ``drift`` (``{"latent" | "pixel": [len(alphas), classes, classes]}``, the diagonal zero) and
    ``shown`` (``{pair: (sources [k], latent edits [A, k], pixel edit at α = 1 [k])}``).
  """
  num_classes, alphas = len(sources), tuple(alphas)
  mean_images = np.asarray(mean_images)
  success = {m: np.zeros((len(alphas), num_classes, num_classes)) for m in ("latent", "pixel")}
  drift = {m: np.zeros((len(alphas), num_classes, num_classes)) for m in ("latent", "pixel")}
  shown = {}
  for src, x in sources.items():
    z = inference.encode(model, params, x, batch_size=len(x)).mean
    for tgt in (t for t in sources if t != src):
      v = latent.attribute_vector(train_codes, train_labels, source=src, target=tgt)
      moved = np.stack([latent.apply_attribute(z, v, alpha=a) for a in alphas])  # [A, m, latent]
      edited = {"latent": inference.decode(model, params, moved, batch_size=len(alphas) * len(z)),
                "pixel": np.stack([np.clip(x + a * (mean_images[tgt] - mean_images[src])[None], 0.0, 1.0)
                                   for a in alphas])}  # [A, m, H, W, C]
      for method, imgs in edited.items():
        flat = imgs.reshape(-1, *imgs.shape[2:])
        pred = np.argmax(classifier.predict(judge, judge_params, flat, batch_size=len(flat)), -1)
        success[method][:, src, tgt] = np.mean(pred.reshape(len(alphas), -1) == tgt, axis=1)
        drift[method][:, src, tgt] = np.mean((imgs - x[None]) ** 2, axis=(1, 2, 3, 4))
      if (src, tgt) in keep:
        shown[(src, tgt)] = (x[:num_shown], edited["latent"][:, :num_shown],
                             edited["pixel"][alphas.index(1.0), :num_shown])
  return {"success": success, "drift": drift, "shown": shown}
