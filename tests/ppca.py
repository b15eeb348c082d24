"""Probabilistic PCA as a VAE: the test model whose exact log p(x) and exact posterior are known in closed form.

p(z) = N(0, I), p(x|z) = N(Wz + b, σ²I) with W = Q·diag(s) (orthogonal columns), so the exact posterior is the
diagonal Gaussian N(M⁻¹Wᵀ(x−b), σ²M⁻¹), M = WᵀW + σ²I, and p(x) = N(b, WWᵀ + σ²I). :func:`ppca_vae` sets a VAE's
linear encoder and decoder to these values; shifting the encoder's mean and log-variance biases gives a posterior
that is wrong by a known amount.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from vae_jax import models, modules

P, D, SIGMA = 6, 2, 0.5
SHAPE = (P, 1, 1)


def ppca(num_images: int = 32):
  """``(W [P, D], b [P], diag(M) [D], x [num_images, P], log p(x) [num_images])``, from a fixed NumPy seed."""
  rng = np.random.default_rng(0)
  q, _ = np.linalg.qr(rng.normal(size=(P, D)))
  s = np.array([2.0, 1.0])
  w = q * s
  b = rng.normal(size=P) * 0.3
  cov = w @ w.T + SIGMA**2 * np.eye(P)
  x = rng.multivariate_normal(b, cov, size=num_images).astype(np.float32)
  log_px = stats.multivariate_normal(b, cov).logpdf(x)
  m_diag = s**2 + SIGMA**2
  return w, b, m_diag, x, log_px


def ppca_vae(mean_shift: float = 0.0, logvar_shift: float = 0.0, num_images: int = 32):
  """``(model, params, images [num_images, P, 1, 1], log p(x) [num_images])``: a Gaussian VAE with a linear encoder
  and decoder set to the exact posterior and generative model, its mean and log-variance biases shifted by
  ``mean_shift`` and ``logvar_shift`` (0: the exact posterior)."""
  w, b, m_diag, x, log_px = ppca(num_images)
  model = models.VAE(modules.MLPEncoder(()), modules.MLPDecoder((), SHAPE), latent_dim=D, image_shape=SHAPE,
                     likelihood="gaussian", log_scale_init=math.log(SIGMA))
  params = jax.tree_util.tree_map(np.asarray, model.init(jax.random.key(0), jnp.zeros((1, *SHAPE)))["params"])
  enc_kernel = w / m_diag  # [P, D] = (M⁻¹Wᵀ)ᵀ
  params["decoder"]["out"] = {"kernel": w.T.astype(np.float32), "bias": b.astype(np.float32)}
  params["mean"] = {"kernel": enc_kernel.astype(np.float32),
                    "bias": (-(b @ enc_kernel) + mean_shift).astype(np.float32)}
  params["logvar"] = {"kernel": np.zeros((P, D), np.float32),
                      "bias": (np.log(SIGMA**2 / m_diag) + logvar_shift).astype(np.float32)}
  return model, params, x.reshape(-1, *SHAPE), log_px
