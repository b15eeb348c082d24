"""Losses against NumPy / closed forms, through jax.jit; batched and single example; shape errors; gradients."""

import math

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from vae_jax import losses, noise

RNG = np.random.default_rng(0)


def _np_bernoulli_nll(logits, targets):
  p = special.expit(logits.astype(np.float64))
  ll = targets * np.log(p) + (1 - targets) * np.log1p(-p)
  return -ll.reshape(len(ll), -1).sum(-1)


@pytest.mark.parametrize("shape", [(1, 5), (4, 3, 3, 2)])
def test_bernoulli_nll_matches_numpy(shape):
  logits = RNG.normal(size=shape).astype(np.float32) * 3
  targets = RNG.uniform(size=shape).astype(np.float32)  # continuous targets are allowed
  got = jax.jit(losses.bernoulli_nll)(logits, targets)
  assert got.shape == (shape[0],)
  np.testing.assert_allclose(got, _np_bernoulli_nll(logits, targets), rtol=1e-5, atol=1e-4)


def test_bernoulli_nll_stable_at_extreme_logits():
  logits = jnp.array([[200.0, -200.0, 200.0, -200.0]])
  targets = jnp.array([[1.0, 0.0, 0.0, 1.0]])
  value = losses.bernoulli_nll(logits, targets)
  np.testing.assert_allclose(value, [400.0], rtol=1e-6)  # two perfect, two wrong by 200 nats each
  grad = jax.grad(lambda l: losses.bernoulli_nll(l, targets).sum())(logits)
  assert np.all(np.isfinite(grad))
  np.testing.assert_allclose(grad, [[0.0, 0.0, 1.0, -1.0]], atol=1e-6)


@pytest.mark.parametrize("scale_kind", ["scalar", "per_pixel", "full"])
def test_gaussian_nll_matches_scipy(scale_kind):
  mean = RNG.normal(size=(3, 4, 2)).astype(np.float32)
  x = RNG.normal(size=(3, 4, 2)).astype(np.float32)
  log_scale = {"scalar": np.float32(-0.3), "per_pixel": RNG.normal(size=(4, 2)).astype(np.float32) * 0.2,
               "full": RNG.normal(size=(3, 4, 2)).astype(np.float32) * 0.2}[scale_kind]
  got = jax.jit(lambda m, t, s: losses.gaussian_nll(m, t, log_scale=s))(mean, x, log_scale)
  want = -stats.norm.logpdf(x, mean, np.exp(np.broadcast_to(log_scale, x.shape))).reshape(3, -1).sum(-1)
  np.testing.assert_allclose(got, want, rtol=1e-5)


def test_gaussian_nll_includes_half_log_2pi():
  value = losses.gaussian_nll(jnp.zeros((1, 1)), jnp.zeros((1, 1)), log_scale=0.0)
  np.testing.assert_allclose(value, [0.5 * math.log(2 * math.pi)], rtol=1e-6)


def test_gaussian_nll_bad_log_scale_shape():
  with pytest.raises(ValueError, match=r"log_scale must be"):
    losses.gaussian_nll(jnp.zeros((2, 3)), jnp.zeros((2, 3)), log_scale=jnp.zeros((5,)))


def test_squared_error():
  a = RNG.normal(size=(2, 3, 3, 1)).astype(np.float32)
  b = RNG.normal(size=(2, 3, 3, 1)).astype(np.float32)
  np.testing.assert_allclose(jax.jit(losses.squared_error)(a, b), ((a - b) ** 2).reshape(2, -1).sum(-1), rtol=1e-5)


@pytest.mark.parametrize("fn", [losses.bernoulli_nll, losses.squared_error,
                                lambda a, b: losses.gaussian_nll(a, b, log_scale=0.0)])
def test_shape_mismatch_names_shapes(fn):
  with pytest.raises(ValueError, match=r"\[2, 3\].*\[2, 4\]"):
    fn(jnp.zeros((2, 3)), jnp.zeros((2, 4)))


def test_kl_standard_normal_closed_form_and_mc():
  mean = RNG.normal(size=(2, 3)).astype(np.float32)
  logvar = RNG.normal(size=(2, 3)).astype(np.float32) * 0.5
  kl = jax.jit(losses.kl_standard_normal)(mean, logvar)
  var = np.exp(logvar)
  want = 0.5 * (var + mean**2 - 1 - logvar).sum(-1)
  np.testing.assert_allclose(kl, want, rtol=1e-5)
  # Monte Carlo: E_q[log q − log p]
  z = noise.reparameterize(jax.random.key(0), mean, logvar, num_samples=200_000)
  log_q = losses.gaussian_log_density(z, mean[None], logvar[None])
  log_p = losses.gaussian_log_density(z, jnp.zeros_like(z), jnp.zeros_like(z))
  np.testing.assert_allclose(jnp.mean(log_q - log_p, axis=0), want, atol=0.02)
  # single example (no batch axis)
  np.testing.assert_allclose(losses.kl_standard_normal(mean[0], logvar[0]), want[0], rtol=1e-5)


def test_kl_diag_gaussians_against_reference_and_special_case():
  mq, lq, mp, lp = (RNG.normal(size=(4, 5)).astype(np.float32) for _ in range(4))
  got = jax.jit(losses.kl_diag_gaussians)(mq, lq, mp, lp)
  vq, vp = np.exp(lq), np.exp(lp)
  want = 0.5 * (np.log(vp / vq) + (vq + (mq - mp) ** 2) / vp - 1).sum(-1)
  np.testing.assert_allclose(got, want, rtol=1e-4)
  zeros = np.zeros_like(mq)
  np.testing.assert_allclose(losses.kl_diag_gaussians(mq, lq, zeros, zeros), losses.kl_standard_normal(mq, lq),
                             rtol=1e-5)
  assert np.all(np.asarray(losses.kl_diag_gaussians(mq, lq, mq, lq)) == 0)


def test_kl_shape_mismatch():
  with pytest.raises(ValueError, match=r"mean\[2, 3\].*logvar\[2, 4\]"):
    losses.kl_standard_normal(jnp.zeros((2, 3)), jnp.zeros((2, 4)))


def test_gaussian_log_density_matches_scipy_and_broadcasts():
  z = RNG.normal(size=(3, 1, 2)).astype(np.float32)
  m = RNG.normal(size=(1, 4, 2)).astype(np.float32)
  lv = RNG.normal(size=(1, 4, 2)).astype(np.float32)
  got = jax.jit(losses.gaussian_log_density)(z, m, lv)
  want = stats.norm.logpdf(z, m, np.exp(0.5 * lv)).sum(-1)
  assert got.shape == (3, 4)
  np.testing.assert_allclose(got, want, rtol=1e-5)
  with pytest.raises(ValueError, match="same rank"):
    losses.gaussian_log_density(jnp.zeros((2, 3)), jnp.zeros((3,)), jnp.zeros((3,)))


def test_iwae_bound_is_log_mean_exp():
  lw = RNG.normal(size=(7, 3)).astype(np.float32) * 10 - 500  # far below exp's range: needs log-sum-exp
  got = jax.jit(losses.iwae_bound)(lw)
  want = special.logsumexp(lw.astype(np.float64), axis=0) - np.log(7)
  np.testing.assert_allclose(got, want, rtol=1e-6)
  with pytest.raises(ValueError, match=r"\[num_samples, batch\]"):
    losses.iwae_bound(jnp.zeros((3,)))


def test_linear_capacity_schedule():
  c = jax.jit(lambda s: losses.linear_capacity(s, capacity_max=25.0, num_steps=100))
  np.testing.assert_allclose([c(jnp.int32(s)) for s in (0, 50, 100, 1000)], [0.0, 12.5, 25.0, 25.0])


def test_tc_decomposition_sums_to_kl_in_expectation():
  """mi + tc + dwkl = log q(z|x) − log p(z) exactly; its mean over z ~ q is the analytic KL."""
  key = jax.random.key(1)
  mean = jnp.asarray(RNG.normal(size=(16, 3)).astype(np.float32))
  logvar = jnp.asarray(RNG.normal(size=(16, 3)).astype(np.float32) * 0.3 - 1)
  fn = jax.jit(lambda z: losses.tc_decomposition(z, mean, logvar, dataset_size=1000))
  z = noise.reparameterize(key, mean, logvar, num_samples=4000)
  parts = jax.vmap(fn)(z)
  total = parts["mi"] + parts["tc"] + parts["dwkl"]
  np.testing.assert_allclose(total, parts["log_qz_x"] - parts["log_pz"], atol=1e-4)
  np.testing.assert_allclose(total.mean(0), losses.kl_standard_normal(mean, logvar), atol=0.06)
  assert float(parts["tc"].mean()) > -1e-3  # TC ≥ 0 up to estimator slack for a product-form batch


def test_losses_have_finite_gradients():
  x = jnp.asarray(RNG.uniform(size=(2, 4)).astype(np.float32))

  def total(logits, mean, logvar):
    return (losses.bernoulli_nll(logits, x).sum() + losses.gaussian_nll(mean, x, log_scale=logvar[:, :1].mean()).sum()
            + losses.kl_standard_normal(mean, logvar).sum())

  grads = jax.grad(total, argnums=(0, 1, 2))(jnp.full((2, 4), 150.0), jnp.zeros((2, 4)), jnp.zeros((2, 4)))
  for g in grads:
    assert np.all(np.isfinite(g))


def test_vmap_over_examples_equals_batched():
  logits = RNG.normal(size=(5, 6)).astype(np.float32)
  t = RNG.uniform(size=(5, 6)).astype(np.float32)
  per = jax.vmap(lambda a, b: losses.bernoulli_nll(a[None], b[None])[0])(logits, t)
  np.testing.assert_allclose(per, losses.bernoulli_nll(logits, t), rtol=1e-6)


def test_bernoulli_nll_flattens_images_before_the_elementwise_work():
  # A speed property (XLA:CPU ran the per-pixel work over [H, W, C] under vmap slower than over one
  # flat axis: losses._flat); the values are the NumPy reference's above, whatever the layout.
  images = np.zeros((2, 3, 3, 1), np.float32)
  fn = jax.vmap(lambda l, t: losses.bernoulli_nll(l, t), in_axes=(0, None))  # samples × images, as the IS-NLL
  jaxpr = jax.make_jaxpr(fn)(np.zeros((4, *images.shape), np.float32), images)
  high_rank = {e.primitive.name for e in helpers.jaxpr_eqns(jaxpr.jaxpr) if any(v.aval.ndim > 3 for v in e.outvars)}
  assert high_rank <= {"reshape"}, f"elementwise work on [..., H, W, C] arrays: {sorted(high_rank)}"
