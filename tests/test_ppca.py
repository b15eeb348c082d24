"""The VAE machinery on probabilistic PCA, whose exact log p(x) and exact posterior are known in closed form.

p(z) = N(0, I), p(x|z) = N(Wz + b, σ²I) with W = Q·diag(s) (orthogonal columns), so the exact posterior is the
diagonal Gaussian N(M⁻¹Wᵀ(x−b), σ²M⁻¹), M = WᵀW + σ²I, and p(x) = N(b, WWᵀ + σ²I). The VAE's linear encoder and
decoder are set to these values (tests/ppca.py), and the library's IWAE log-weights are checked against the exact
likelihood.
"""


import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import losses
from ppca import ppca_vae
from vae_jax.methods import iwae, vae


def test_exact_posterior_makes_every_log_weight_equal_log_px():
  model, params, x, log_px = ppca_vae()
  lw = jax.jit(lambda k: iwae.log_weights(model, params, x, k, num_samples=8))(jax.random.key(1))
  np.testing.assert_allclose(lw, np.broadcast_to(log_px, lw.shape), atol=2e-4)
  # ... so the ELBO equals log p(x) (here via the analytic-KL form of the VAE objective's metrics).
  # (The recon term is a one-sample estimate: average it over many keys.)
  loss_fn = vae.make_loss(model, vae.Config(), dataset_size=1)
  elbo_fn = jax.jit(lambda k: loss_fn(params, {"image": x}, k, jnp.int32(0))[1]["elbo"])
  elbo = np.mean([elbo_fn(k) for k in jax.random.split(jax.random.key(2), 500)])
  np.testing.assert_allclose(elbo, log_px.mean(), atol=0.03)


def test_iwae_bounds_are_ordered_and_converge():
  model, params, x, log_px = ppca_vae(mean_shift=0.6, logvar_shift=0.8)
  bound = jax.jit(lambda k, n: losses.iwae_bound(iwae.log_weights(model, params, x, k, num_samples=n)),
                  static_argnums=1)
  ks = (1, 10, 100, 1000, 5000)
  reps = {1: 200, 10: 50, 100: 20, 1000: 4, 5000: 2}
  est = []
  for k in ks:
    keys = jax.random.split(jax.random.key(k), reps[k])
    est.append(float(np.mean([bound(kk, k).mean() for kk in keys])))
  truth = float(log_px.mean())
  assert est[0] < truth - 0.3, (est, truth)  # a visibly loose ELBO for this posterior
  assert all(a <= b + 1e-3 for a, b in zip(est, est[1:])), est  # non-decreasing in k
  assert all(e <= truth + 0.01 for e in est), (est, truth)  # below log p(x)
  assert abs(est[-1] - truth) < 0.05, (est[-1], truth)
