"""What the dataset size does in β-TCVAE's minibatch-weighted-sampling estimator (issue #17's question for
procedural sprites, whose "dataset" is the 737,280 factor combinations drawn afresh every step)."""

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import losses


def _batch(seed=0, m=16, d=5):
  k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
  mean = jax.random.normal(k1, (m, d))
  logvar = 0.3 * jax.random.normal(k2, (m, d))
  z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(k3, (m, d))
  return z, mean, logvar


def test_dataset_size_only_shifts_the_terms_by_constants():
  """log N enters as −log(N·M) in every log q estimate: TC moves by (D−1)·log(N2/N1), MI by log(N2/N1), the
  dimension-wise KL by −D·log(N2/N1); the gradients of all three do not depend on N at all."""
  z, mean, logvar = _batch()
  d = z.shape[1]
  a = losses.tc_decomposition(z, mean, logvar, dataset_size=60_000)
  b = losses.tc_decomposition(z, mean, logvar, dataset_size=737_280)
  shift = np.log(737_280 / 60_000)
  np.testing.assert_allclose(b["tc"] - a["tc"], (d - 1) * shift, rtol=1e-4)
  np.testing.assert_allclose(b["mi"] - a["mi"], shift, rtol=1e-4)
  np.testing.assert_allclose(b["dwkl"] - a["dwkl"], -d * shift, rtol=1e-4)

  for term in ("tc", "mi", "dwkl"):
    grads = [jax.grad(lambda mu, lv, n=n: jnp.sum(losses.tc_decomposition(z, mu, lv, dataset_size=n)[term]),
                      argnums=(0, 1))(mean, logvar) for n in (60_000, 737_280)]
    for g_a, g_b in zip(*grads):
      np.testing.assert_allclose(np.asarray(g_a), np.asarray(g_b), rtol=1e-5, atol=1e-6)
