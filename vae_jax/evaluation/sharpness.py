"""How sharp images are: gradient magnitude, Laplacian variance, and a Fréchet distance between feature sets.

The article claims a β-VAE's generated images are sharper than a VAE's. Blur removes high spatial frequencies,
which both :func:`gradient_magnitude` (mean |∇x| by central differences) and :func:`laplacian_variance` (variance
of the 4-neighbour Laplacian, the classic focus measure) measure; divide by the same score of real images for a
ratio where 1 means "as sharp as the data". :func:`frechet_distance` compares two sets of features as Gaussians
(the FID formula, here in the feature space of any network the caller chooses, e.g. a factor classifier trained on
real sprites).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
from jax.typing import ArrayLike


def _images(x: ArrayLike, who: str) -> np.ndarray:
  x = np.asarray(x)
  if x.ndim != 4 or x.shape[1] < 3 or x.shape[2] < 3:
    raise ValueError(f"{who}: expected images [N, H, W, C] with H, W >= 3, got {list(x.shape)}.")
  if not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
    raise TypeError(f"{who}: expected real-valued images, got dtype {x.dtype}.")
  x = x.astype(np.float64)
  if not np.all(np.isfinite(x)):
    raise ValueError(f"{who}: images hold non-finite values.")
  return x


def gradient_magnitude(images: ArrayLike) -> np.ndarray:
  """``[N]`` mean gradient magnitude ``sqrt(dx² + dy²)`` (central differences, interior pixels, summed over
  channels' squares) per image, in intensity units per pixel."""
  x = _images(images, "gradient_magnitude")
  dy = (x[:, 2:, 1:-1] - x[:, :-2, 1:-1]) / 2.0
  dx = (x[:, 1:-1, 2:] - x[:, 1:-1, :-2]) / 2.0
  return np.sqrt(np.sum(dx ** 2 + dy ** 2, axis=-1)).mean(axis=(1, 2))


def laplacian_variance(images: ArrayLike) -> np.ndarray:
  """``[N]`` variance over interior pixels (and channels) of the 4-neighbour Laplacian of each image."""
  x = _images(images, "laplacian_variance")
  lap = (x[:, :-2, 1:-1] + x[:, 2:, 1:-1] + x[:, 1:-1, :-2] + x[:, 1:-1, 2:] - 4.0 * x[:, 1:-1, 1:-1])
  return lap.reshape(len(x), -1).var(axis=1)


def frechet_distance(features_a: ArrayLike, features_b: ArrayLike) -> float:
  """``|μa − μb|² + Tr(Σa + Σb − 2 (Σa Σb)^½)``: the Fréchet distance of Gaussians fitted to two feature sets.

  Args:
    features_a, features_b: ``[N, F]`` and ``[M, F]`` features (N, M >= 2).

  References:
    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", NeurIPS
    2017 (the FID); Dowson & Landau 1982 (the Fréchet distance of Gaussians).
  """
  a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
  if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
    raise ValueError(f"frechet_distance: expected features [N, F] and [M, F] with N, M >= 2, got {list(a.shape)} "
                     f"and {list(b.shape)}.")
  if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
    raise ValueError("frechet_distance: features hold non-finite values.")
  mu_a, mu_b = a.mean(0), b.mean(0)
  cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
  with warnings.catch_warnings():
    warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
    try:
      root = scipy.linalg.sqrtm(cov_a @ cov_b)
      if np.iscomplexobj(root):  # numerical noise from a near-singular product: the imaginary part is spurious
        root = root.real
      trace_root = np.trace(root)
    except scipy.linalg.LinAlgWarning:  # a singular product (a constant feature, say): sqrtm is unreliable there
      trace_root = _trace_sqrt_of_product(cov_a, cov_b)
  return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b) - 2.0 * trace_root)


def _trace_sqrt_of_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
  """``Tr((Σa Σb)^½)`` for covariances (symmetric, positive semi-definite), also singular ones: the eigenvalues of
  ``Σa Σb`` are those of the symmetric ``Σa^½ Σb Σa^½``, so the trace is the sum of their square roots."""
  w, v = np.linalg.eigh(cov_a)
  root_a = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
  inner = root_a @ cov_b @ root_a
  return float(np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2.0), 0.0, None))))


def relative_sharpness(key, model, params, real: ArrayLike, *, batch_size: int = 500) -> dict[str, float]:
  """Sharpness of a model's generated samples and reconstructions relative to real images (1 = as sharp as them).

  Args:
    key: draws the ``len(real)`` prior codes ``z ~ N(0, I)`` that are decoded into the generated samples.
    model, params: a trained model with a ``latent_dim`` (anything :mod:`vae_jax.inference` accepts).
    real: ``[N, H, W, C]`` real images; they are also the images reconstructed.

  Returns:
    ``sharp_gen_grad``, ``sharp_gen_lap`` (generated samples) and ``sharp_rec_grad``, ``sharp_rec_lap``
    (reconstructions): mean gradient magnitude / Laplacian variance over that of ``real``.
  """
  import jax  # deferred: the measures above are NumPy only

  from vae_jax import inference

  real = np.asarray(real)
  recon = inference.reconstruct(model, params, real, batch_size=batch_size)
  z = np.asarray(jax.random.normal(key, (len(real), model.latent_dim)))
  generated = inference.decode(model, params, z, batch_size=batch_size)
  grad_real, lap_real = gradient_magnitude(real).mean(), laplacian_variance(real).mean()
  return {"sharp_gen_grad": float(gradient_magnitude(generated).mean() / grad_real),
          "sharp_gen_lap": float(laplacian_variance(generated).mean() / lap_real),
          "sharp_rec_grad": float(gradient_magnitude(recon).mean() / grad_real),
          "sharp_rec_lap": float(laplacian_variance(recon).mean() / lap_real)}
