"""Where interpolation paths between codes go: their code norms against the endpoints' and the prior's.

Two independent draws from a high-dimensional N(0, I) are nearly orthogonal with norm ≈ √d, so the linear midpoint
of two such codes has norm ≈ √(d/2): inside the shell where the prior's mass lies, a region the decoder rarely sees.
:func:`norm_profile` measures that for any paths (e.g. :func:`vae_jax.latent.interpolate`'s ``linear`` and
``slerp``); :func:`different_class_pairs` draws the endpoints' images.
"""

from __future__ import annotations

import jax
import numpy as np
import scipy.stats
from jax.typing import ArrayLike


def different_class_pairs(key: jax.Array, labels: ArrayLike, num: int) -> tuple[np.ndarray, np.ndarray]:
  """Row pairs ``(a, b)``: ``num`` uniform draws of two rows, keeping the pairs whose labels differ (so fewer than
  ``num``)."""
  labels = np.asarray(labels)
  k_a, k_b = jax.random.split(key)
  a = np.asarray(jax.random.randint(k_a, (num,), 0, len(labels)))
  b = np.asarray(jax.random.randint(k_b, (num,), 0, len(labels)))
  keep = labels[a] != labels[b]
  return a[keep], b[keep]


def norm_profile(path: ArrayLike) -> dict[str, float]:
  """Code-norm statistics of ``[steps, pairs, latent]`` paths, averaged over pairs.

  Returns:
    ``midpoint_norm_ratio``: the midpoint's norm over the endpoints' mean norm; ``min_norm_ratio``: the smallest
    norm on the path over the shorter endpoint's (1 = never shorter than both ends); ``midpoint_prior_percentile``:
    ``P(‖ε‖² ≤ ‖z_mid‖²)`` for ε ~ N(0, I) (a χ² CDF; prior draws sit near 0.5, a value near 0 means the midpoint
    lies inside the prior's shell); ``endpoint_norm``: the endpoints' mean norm.
  """
  path = np.asarray(path, dtype=np.float64)
  if path.ndim != 3 or path.shape[0] < 2:
    raise ValueError(f"norm_profile: paths must be [steps >= 2, pairs, latent], got {list(path.shape)}")
  norms = np.linalg.norm(path, axis=-1)  # [steps, pairs]
  ends = 0.5 * (norms[0] + norms[-1])
  mid = path.shape[0] // 2
  return {"midpoint_norm_ratio": float(np.mean(norms[mid] / ends)),
          "min_norm_ratio": float(np.mean(norms.min(axis=0) / np.minimum(norms[0], norms[-1]))),
          "midpoint_prior_percentile": float(np.mean(scipy.stats.chi2.cdf(norms[mid] ** 2, df=path.shape[-1]))),
          "endpoint_norm": float(np.mean(ends))}
