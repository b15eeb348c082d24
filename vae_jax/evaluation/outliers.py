"""Outlier detection: ranking metrics, a PyOD-style detector around any score function, and corrected scores.

Sign convention everywhere in this file: a **higher score means more outlying**, and outliers are the
**positive class**. A reconstruction error or a negative log-likelihood (NLL) is such a score as it stands.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from PIL import Image


def _scores_and_labels(name: str, scores_in: ArrayLike, scores_out: ArrayLike) -> tuple[jax.Array, jax.Array]:
  scores_in = jnp.asarray(scores_in, dtype=jnp.float32)
  scores_out = jnp.asarray(scores_out, dtype=jnp.float32)
  if scores_in.ndim != 1 or scores_out.ndim != 1 or scores_in.size == 0 or scores_out.size == 0:
    raise ValueError(f"{name}: expected two non-empty 1-D score arrays, got scores_in{list(scores_in.shape)} "
                     f"and scores_out{list(scores_out.shape)}.")
  return scores_in, scores_out


def _host_scores(name: str, scores_in: ArrayLike, scores_out: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
  """Checked float64 host copies: real, 1-D, non-empty, no NaN. float64 keeps near-ties of float64 scores apart."""
  out = []
  for arg, scores in (("scores_in", scores_in), ("scores_out", scores_out)):
    scores = np.asarray(scores)
    if scores.dtype.kind not in "iuf":
      raise TypeError(f"{name}: {arg} must be real scores (integer or float), got dtype {scores.dtype}.")
    out.append(scores.astype(np.float64))
  s_in, s_out = out
  if s_in.ndim != 1 or s_out.ndim != 1 or s_in.size == 0 or s_out.size == 0:
    raise ValueError(f"{name}: expected two non-empty 1-D score arrays, got scores_in{list(s_in.shape)} "
                     f"and scores_out{list(s_out.shape)}.")
  for arg, scores in (("scores_in", s_in), ("scores_out", s_out)):
    nan = np.isnan(scores)
    if nan.any():
      raise ValueError(f"{name}: {arg} holds {int(nan.sum())} NaN scores of {scores.size} (first at index "
                       f"{int(np.argmax(nan))}); a NaN has no rank. Drop or fix those examples (a diverged model?).")
  return s_in, s_out


def _traced(*xs) -> bool:
  return any(isinstance(x, jax.core.Tracer) for x in xs)


def auroc(scores_in: ArrayLike, scores_out: ArrayLike) -> jax.Array:
  """Area under the ROC curve for separating outliers (positives) from inliers by their scores.

  Computed as the Mann–Whitney statistic ``P(s_out > s_in) + ½·P(s_out = s_in)``, so ties count one half —
  the same value as ``sklearn.metrics.roc_auc_score``, in the scores' own precision (float64 scores are compared
  as float64, so near-ties stay apart). ``O((n_in + n_out)·log n_in)``. Under ``jit`` it runs in float32 and
  returns NaN if a score is NaN; called eagerly it raises instead.

  Args:
    scores_in: ``[n_in]`` scores of inliers (negatives).
    scores_out: ``[n_out]`` scores of outliers (positives).

  Returns:
    Scalar in ``[0, 1]``: 1 for perfect separation, 0.5 for uninformative scores.

  Raises:
    ValueError: empty or non-1-D scores, or NaN scores. TypeError: complex or non-numeric scores.

  References:
    Hanley & McNeil, "The meaning and use of the area under a ROC curve", Radiology 1982.
  """
  if _traced(scores_in, scores_out):
    return _auroc_jit(scores_in, scores_out)
  s_in, s_out = _host_scores("auroc", scores_in, scores_out)
  sorted_in = np.sort(s_in)
  wins = (np.searchsorted(sorted_in, s_out, side="left") + np.searchsorted(sorted_in, s_out, side="right"))
  return jnp.asarray(np.mean(wins / (2.0 * s_in.size)), jnp.float32)


@jax.jit
def _auroc_jit(scores_in: ArrayLike, scores_out: ArrayLike) -> jax.Array:
  scores_in, scores_out = _scores_and_labels("auroc", scores_in, scores_out)
  sorted_in = jnp.sort(scores_in)
  below = jnp.searchsorted(sorted_in, scores_out, side="left")
  below_or_equal = jnp.searchsorted(sorted_in, scores_out, side="right")
  # Fraction of inliers each outlier beats, ties counting one half (counts stay exact in int32).
  wins = (below + below_or_equal).astype(jnp.float32) / (2.0 * scores_in.shape[0])
  nan = jnp.any(jnp.isnan(scores_in)) | jnp.any(jnp.isnan(scores_out))
  return jnp.where(nan, jnp.float32(jnp.nan), jnp.mean(wins))


def auprc(scores_in: ArrayLike, scores_out: ArrayLike) -> jax.Array:
  """Area under the precision–recall curve, as average precision, with outliers as the positive class.

  ``AP = Σ_t (R_t − R_{t−1})·P_t`` over the distinct score thresholds ``t`` in decreasing order; tied scores
  form one threshold. This is the step-wise (not interpolated) definition of
  ``sklearn.metrics.average_precision_score``. Checks and precision as :func:`auroc` (jit-safe, NaN under jit).

  Args:
    scores_in: ``[n_in]`` scores of inliers (negatives).
    scores_out: ``[n_out]`` scores of outliers (positives).

  Returns:
    Scalar in ``[0, 1]``: 1 for perfect separation; about ``n_out / (n_in + n_out)`` for uninformative scores.
  """
  if _traced(scores_in, scores_out):
    return _auprc_jit(scores_in, scores_out)
  s_in, s_out = _host_scores("auprc", scores_in, scores_out)
  scores = np.concatenate([s_out, s_in])
  positive = np.concatenate([np.ones(s_out.shape, np.int64), np.zeros(s_in.shape, np.int64)])
  order = np.argsort(-scores, kind="stable")
  neg_sorted = -scores[order]
  true_positives = np.cumsum(positive[order])
  group_end = np.searchsorted(neg_sorted, neg_sorted, side="right") - 1
  precision = true_positives[group_end] / (group_end + 1)
  return jnp.asarray(np.sum(np.where(positive[order] == 1, precision, 0.0)) / s_out.size, jnp.float32)


@jax.jit
def _auprc_jit(scores_in: ArrayLike, scores_out: ArrayLike) -> jax.Array:
  scores_in, scores_out = _scores_and_labels("auprc", scores_in, scores_out)
  scores = jnp.concatenate([scores_out, scores_in])
  positive = jnp.concatenate([jnp.ones(scores_out.shape, jnp.int32), jnp.zeros(scores_in.shape, jnp.int32)])
  order = jnp.argsort(-scores)
  neg_sorted = -scores[order]
  true_positives = jnp.cumsum(positive[order])
  # Each example is ranked at the end of its tie group: the threshold that first includes it.
  group_end = jnp.searchsorted(neg_sorted, neg_sorted, side="right") - 1
  precision = true_positives[group_end].astype(jnp.float32) / (group_end + 1).astype(jnp.float32)
  ap = jnp.sum(jnp.where(positive[order] == 1, precision, 0.0)) / scores_out.shape[0]
  return jnp.where(jnp.any(jnp.isnan(scores)), jnp.float32(jnp.nan), ap)


def fpr_at_tpr(scores_in: ArrayLike, scores_out: ArrayLike, *, tpr: float = 0.95) -> float:
  """False-positive rate at the threshold that flags a ``tpr`` fraction of the outliers ("FPR at 95 % TPR").

  The threshold ``t`` is the highest score with ``P(s_out ≥ t) ≥ tpr`` — the ``⌈tpr·n_out⌉``-th largest outlier
  score — and the result is ``P(s_in ≥ t)``, the fraction of inliers flagged with it (lower is better; 0 for
  perfect separation). Tied inliers count as flagged, the first point of ``sklearn.metrics.roc_curve`` with
  ``tpr ≥ 0.95``. Host NumPy in float64 (not jit-able), checks as :func:`auroc`.

  Args:
    scores_in: ``[n_in]`` scores of inliers (negatives).
    scores_out: ``[n_out]`` scores of outliers (positives).
    tpr: the true-positive rate in ``(0, 1]``.

  References:
    Hendrycks & Gimpel, "A Baseline for Detecting Misclassified and Out-of-Distribution Examples", ICLR 2017.
  """
  if not 0.0 < tpr <= 1.0:
    raise ValueError(f"fpr_at_tpr: tpr must be in (0, 1], got {tpr}.")
  s_in, s_out = _host_scores("fpr_at_tpr", scores_in, scores_out)
  m = max(1, math.ceil(tpr * s_out.size - 1e-9))  # outliers to flag; -1e-9: 0.95 * 20 is 19, not 19.000000000000004
  threshold = np.sort(s_out)[::-1][m - 1]
  return float(np.mean(s_in >= threshold))


class OutlierDetector:
  """PyOD-style detector around any score function, e.g. a trained autoencoder's reconstruction error.

  ``fit`` scores the (mostly clean) training data and puts the threshold at the ``1 − contamination``
  quantile of those scores, so about a ``contamination`` fraction of the training data is flagged. Attribute
  names follow PyOD: ``decision_scores_``, ``threshold_``, ``labels_``.

  Example::

    detector = OutlierDetector(lambda x: per_image_mse(reconstruct(x), x), contamination=0.05).fit(x_train)
    flags = detector.predict(x_test)            # [N] int 0/1, 1 = outlier
    scores = detector.decision_function(x_test)  # [N] float, higher = more outlying

  Args:
    score_fn: ``score_fn(x) -> [N]`` outlier scores, higher = more outlying.
    contamination: expected fraction of outliers in the training data, in ``(0, 0.5]``.

  References:
    Zhao, Nasrullah & Li, "PyOD: A Python Toolbox for Scalable Outlier Detection", JMLR 2019.
  """

  def __init__(self, score_fn: Callable[[ArrayLike], ArrayLike], *, contamination: float = 0.1):
    if not 0.0 < contamination <= 0.5:
      raise ValueError(f"OutlierDetector: contamination must be in (0, 0.5], got {contamination}.")
    self.score_fn = score_fn
    self.contamination = contamination
    self.decision_scores_: np.ndarray | None = None
    self.threshold_: float | None = None
    self.labels_: np.ndarray | None = None

  def decision_function(self, x: ArrayLike) -> np.ndarray:
    """Returns ``[N]`` outlier scores of ``x`` (higher = more outlying)."""
    raw = self.score_fn(x)
    if jnp.iscomplexobj(raw):
      raise TypeError(f"OutlierDetector: score_fn must return real scores, got dtype {jnp.result_type(raw)}.")
    scores = np.asarray(raw, dtype=np.float64)
    if scores.ndim != 1 or scores.size == 0:
      raise ValueError(f"OutlierDetector: score_fn must return [N] scores (N >= 1), got shape {list(scores.shape)}.")
    nan = np.isnan(scores)
    if nan.any():
      raise ValueError(f"OutlierDetector: score_fn returned {int(nan.sum())} NaN scores of {scores.size} (first at "
                       f"index {int(np.argmax(nan))}); a NaN is neither above nor below the threshold. Fix the "
                       "score function or drop those inputs.")
    return scores

  def fit(self, x: ArrayLike) -> OutlierDetector:
    """Scores the training data and sets ``threshold_`` at its ``1 − contamination`` quantile."""
    self.decision_scores_ = self.decision_function(x)
    self.threshold_ = float(np.quantile(self.decision_scores_, 1.0 - self.contamination))
    self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)
    return self

  def predict(self, x: ArrayLike) -> np.ndarray:
    """Returns ``[N]`` int labels: 1 where the score exceeds ``threshold_`` (outlier), else 0."""
    if self.threshold_ is None:
      raise ValueError("OutlierDetector: call fit before predict.")
    return (self.decision_function(x) > self.threshold_).astype(np.int64)


def likelihood_ratio_score(nll_model: ArrayLike, nll_background: ArrayLike) -> jax.Array:
  """Likelihood-ratio outlier score: ``NLL_model(x) − NLL_background(x)`` (higher = more outlying).

  This is minus the log-likelihood ratio ``LLR(x) = log p_model(x) − log p_background(x)`` of Ren et al.: the
  background model (e.g. trained on perturbed inputs) explains the population-level statistics shared by
  inliers and outliers, so subtracting it leaves the semantic part of the likelihood.

  Args:
    nll_model: ``[N]`` negative log-likelihoods under the in-distribution model (nats).
    nll_background: ``[N]`` negative log-likelihoods under the background model (same units).

  Returns:
    ``[N]`` scores, same units as the inputs.

  References:
    Ren et al., "Likelihood Ratios for Out-of-Distribution Detection", NeurIPS 2019 (the LLR statistic).
  """
  nll_model = jnp.asarray(nll_model, dtype=jnp.float32)
  nll_background = jnp.asarray(nll_background, dtype=jnp.float32)
  if nll_model.shape != nll_background.shape or nll_model.ndim != 1:
    raise ValueError(f"likelihood_ratio_score: expected two [N] arrays, got nll_model{list(nll_model.shape)} and "
                     f"nll_background{list(nll_background.shape)}.")
  return nll_model - nll_background


def png_complexity_bits(images: ArrayLike) -> np.ndarray:
  """Complexity ``L(x)``: the PNG-compressed length in bits of each image quantised to 8 bits.

  Args:
    images: ``[N, H, W, C]`` intensities in ``[0, 1]``, ``C`` in ``{1, 3}``. Host-side (not jit-able).

  Returns:
    ``[N]`` float64 bits, PNG container overhead included (a constant that does not change rankings).

  References:
    Serrà et al., "Input Complexity and Out-of-distribution Detection with Likelihood-based Generative Models",
    ICLR 2020 (PNG is one of the paper's complexity estimates).
  """
  images = np.asarray(images, dtype=np.float64)
  if images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise ValueError(f"png_complexity_bits: expected [N, H, W, C] with C in {{1, 3}}, got {list(images.shape)}.")
  quantised = np.round(np.clip(images, 0.0, 1.0) * 255.0).astype(np.uint8)
  bits = np.empty(images.shape[0], dtype=np.float64)
  for i, image in enumerate(quantised):
    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG", compress_level=9)
    bits[i] = 8.0 * buffer.getbuffer().nbytes
  return bits


def complexity_corrected_score(nll: ArrayLike, images: ArrayLike) -> np.ndarray:
  """Input-complexity-corrected outlier score ``S(x) = NLL_bits(x) − L(x)`` (higher = more outlying).

  Generative models give simple inputs (e.g. constant or smooth images) high likelihood regardless of the
  training data. Subtracting the compressed length ``L(x)`` (a universal-code stand-in for the input's
  complexity) turns the likelihood into a likelihood-ratio test against a generic image model. Both terms
  are totals per image in bits; divide by the number of dimensions for bits/dim (a constant factor).

  Args:
    nll: ``[N]`` negative log-likelihood of each image under the model, in **nats** per image (the project's
      convention; converted here to bits by dividing by ln 2).
    images: ``[N, H, W, C]`` the same images in ``[0, 1]``, ``C`` in ``{1, 3}``.

  Returns:
    ``[N]`` float64 scores in bits per image.

  References:
    Serrà et al., ICLR 2020 (the score ``S(x) = −ℓ_M(x) − L(x)``, ``ℓ_M`` the log-likelihood in bits).
  """
  nll = np.asarray(nll, dtype=np.float64)
  if nll.ndim != 1 or np.ndim(images) != 4 or np.shape(images)[0] != nll.shape[0]:
    raise ValueError(f"complexity_corrected_score: expected nll [N] and images [N, H, W, C], got "
                     f"nll{list(nll.shape)} and images{list(np.shape(images))}.")
  return nll / math.log(2.0) - png_complexity_bits(images)


def outlier_images(directory: str | os.PathLike | None, image_shape: Sequence[int], *,
                   num: int | None = None) -> np.ndarray:
  """An outlier test set: the test images of any MNIST-format IDX directory, checked against the inliers' shape.

  Args:
    directory: a directory holding ``t10k-images-idx3-ubyte`` (plain or ``.gz``); ``None`` or ``""`` means the
      MNIST test set, found as :func:`vae_jax.data.load` finds it (the default outlier set of Fashion-MNIST models).
    image_shape: the in-distribution images' ``[H, W, C]``; the outliers must have the same.
    num: keep the first ``num`` images (all when ``None`` or larger than the set).

  Returns:
    float32 ``[n, H, W, 1]`` in [0, 1].

  Raises:
    FileNotFoundError: the directory holds no ``t10k-images-idx3-ubyte[.gz]`` (``DatasetNotFoundError`` when the
      default MNIST test set is not available).
    ValueError: the images' shape differs from ``image_shape``.
  """
  from vae_jax import data  # deferred: the metrics above need no data loader

  if directory:
    raw = data.idx.read_images(directory, "test")
    images = np.divide(raw[..., None], np.float32(255.0), dtype=np.float32)
    source = f"{directory}"
  else:
    images, source = data.load("mnist", split="test").images, "the MNIST test set"
  if tuple(images.shape[1:]) != tuple(image_shape):
    raise ValueError(f"The outlier images of {source} are {list(images.shape[1:])} (H, W, C), but the model's "
                     f"in-distribution images are {list(image_shape)}; pick an IDX directory of the same image size.")
  return images if num is None else images[:num]


def model_outlier_scores(key: jax.Array, model, params, sets: dict[str, ArrayLike], *, num_samples: int,
                         regret_steps: int | None = None, regret_images: int | None = None
                         ) -> dict[str, dict[str, np.ndarray]]:
  """Every outlier score of one model on named image sets (higher = more outlying), per image.

  Args:
    key: the importance sampler's key (the same for every set, so two models are scored on the same draws); the
      likelihood regret uses ``split(key)[1]``.
    model, params: a trained model; the likelihood scores need a stochastic encoder and are skipped otherwise.
    sets: ``{name: [n, H, W, C] images}``.
    num_samples: importance samples K per image.
    regret_steps: optimisation steps per image of the likelihood regret; ``None`` (the default) skips it (at 100
      steps it takes about 0.6× the time of an IS-NLL with K = 5,000: see :mod:`vae_jax.evaluation.likelihood_regret`).
    regret_images: score only the first ``regret_images`` images of each set with the regret (its arrays are then
      that long); ``None``: all.

  Returns:
    ``{score: {set name: [n] scores}}`` for ``mse`` (reconstruction of the posterior mean, per pixel) and, with a
    stochastic encoder, ``elbo`` (−ELBO as the mean of the K log-weights), ``nll`` (importance-sampled NLL, nats),
    ``corrected`` (:func:`complexity_corrected_score` of the NLL, bits) and, with ``regret_steps``, ``regret``
    (:func:`vae_jax.evaluation.likelihood_regret`, nats; its other settings at their defaults).
  """
  from vae_jax import inference  # deferred: the metrics above need no model
  from vae_jax.evaluation import likelihood, reconstruction
  from vae_jax.evaluation.likelihood_regret import likelihood_regret

  if regret_steps is not None and (isinstance(regret_steps, bool) or not isinstance(regret_steps, int)
                                   or regret_steps < 1):
    raise ValueError(f"model_outlier_scores: regret_steps must be None or an integer >= 1, got {regret_steps!r}.")
  if regret_images is not None and (isinstance(regret_images, bool) or not isinstance(regret_images, int)
                                    or regret_images < 1):
    raise ValueError(f"model_outlier_scores: regret_images must be None or an integer >= 1, got {regret_images!r}.")
  out = {"mse": {k: np.asarray(reconstruction.per_image_mse(inference.reconstruct(model, params, x), x))
                 for k, x in sets.items()}}
  if inference.is_stochastic(model, params, next(iter(sets.values()))):
    nll = {k: likelihood.importance_sampled_nll(key, model, params, x, num_samples=num_samples)
           for k, x in sets.items()}
    out["elbo"] = {k: -o["elbo"] for k, o in nll.items()}
    out["nll"] = {k: o["nll"] for k, o in nll.items()}
    out["corrected"] = {k: complexity_corrected_score(o["nll"], sets[k]) for k, o in nll.items()}
    if regret_steps is not None:
      regret_key = jax.random.split(key)[1]
      out["regret"] = {k: likelihood_regret(regret_key, model, params, x[:regret_images], num_steps=regret_steps)
                       for k, x in sets.items()}
  return out
