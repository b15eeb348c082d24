"""Hostile inputs to the public API (issue #13): each raises a ValueError/TypeError naming the argument, its
shape/dtype and the fix — or, where the value is legitimate, gives the documented (sklearn-equal) answer."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as skm

from vae_jax import configs, evaluation, factory, losses, noise

KEY = jax.random.key(0)
NAN = float("nan")
INF = float("inf")


# --- outlier scores ---------------------------------------------------------------------------------------------------

SCORES_REFUSED = [
    ("nan-in-inliers", [0.1, NAN, 0.3], [0.9, 1.0], ValueError, r"auroc: scores_in holds 1 NaN scores of 3 "
                                                                  r"\(first at index 1\)"),
    ("nan-in-outliers", [0.1, 0.2], [NAN, NAN], ValueError, r"auroc: scores_out holds 2 NaN scores of 2"),
    ("all-nan", [NAN], [NAN], ValueError, r"NaN scores"),
    ("complex", np.array([1 + 1j, 2]), [3.0], TypeError, r"scores_in must be real scores .*complex64|complex128"),
    ("strings", np.array(["a", "b"]), [3.0], TypeError, r"scores_in must be real scores"),
    ("2-d", np.zeros((2, 2)), [1.0], ValueError, r"expected two non-empty 1-D score arrays, got scores_in\[2, 2\]"),
    ("empty", [], [1.0], ValueError, r"got scores_in\[0\]"),
]


@pytest.mark.parametrize("metric", [evaluation.auroc, evaluation.auprc], ids=["auroc", "auprc"])
@pytest.mark.parametrize("s_in, s_out, error, match", [c[1:] for c in SCORES_REFUSED],
                         ids=[c[0] for c in SCORES_REFUSED])
def test_bad_scores_are_refused_not_ranked(metric, s_in, s_out, error, match):
  match = match.replace("auroc", metric.__name__)
  with pytest.raises(error, match=match):
    metric(s_in, s_out)


LEGIT = [
    ("float64-near-ties", np.array([1.0, 1.0 + 1e-12]), np.array([1.0 + 2e-12, 1.0 + 3e-12])),
    ("exact-ties", np.array([0.5, 0.5, 0.5]), np.array([0.5, 0.5])),
    ("infinite-scores", np.array([-INF, 0.0, 1.0]), np.array([INF, 0.5])),
    ("integer-scores", np.array([1, 2, 3]), np.array([2, 4])),
    ("one-each", np.array([0.2]), np.array([0.1])),
]


@pytest.mark.parametrize("s_in, s_out", [c[1:] for c in LEGIT], ids=[c[0] for c in LEGIT])
def test_legitimate_scores_match_sklearn(s_in, s_out):
  y = np.r_[np.zeros(len(s_in)), np.ones(len(s_out))]
  s = np.r_[s_in, s_out].astype(np.float64)
  finite = np.nan_to_num(s, posinf=1e300, neginf=-1e300)  # sklearn refuses inf; the same order
  assert float(evaluation.auroc(s_in, s_out)) == pytest.approx(skm.roc_auc_score(y, finite), abs=1e-6)
  assert float(evaluation.auprc(s_in, s_out)) == pytest.approx(skm.average_precision_score(y, finite), abs=1e-6)


def test_near_ties_in_float64_are_not_collapsed_to_one_half():
  assert float(evaluation.auroc(np.array([1.0, 1.0]), np.array([1.0 + 1e-12, 1.0 + 2e-12]))) == 1.0


@pytest.mark.parametrize("metric", [evaluation.auroc, evaluation.auprc], ids=["auroc", "auprc"])
def test_under_jit_nan_scores_give_nan_not_a_perfect_score(metric):
  value = jax.jit(metric)(jnp.array([0.1, jnp.nan]), jnp.array([0.9, 1.0]))
  assert math.isnan(float(value))


DETECTOR_SCORES = [
    ("nan", lambda x: np.array([0.1, NAN, 0.3]), ValueError, r"score_fn returned 1 NaN scores of 3 \(first at "
                                                             r"index 1\)"),
    ("complex", lambda x: np.array([0.1 + 1j, 0.2]), TypeError, r"score_fn must return real scores, got dtype complex"),
    ("2-d", lambda x: np.zeros((3, 2)), ValueError, r"score_fn must return \[N\] scores .*got shape \[3, 2\]"),
    ("empty", lambda x: np.zeros((0,)), ValueError, r"got shape \[0\]"),
]


@pytest.mark.parametrize("score_fn, error, match", [c[1:] for c in DETECTOR_SCORES],
                         ids=[c[0] for c in DETECTOR_SCORES])
def test_outlier_detector_refuses_bad_scores_on_fit(score_fn, error, match):
  with pytest.raises(error, match=match):
    evaluation.OutlierDetector(score_fn).fit(np.zeros(3))


def test_outlier_detector_refuses_nan_scores_on_predict():
  det = evaluation.OutlierDetector(lambda x: np.asarray(x, np.float64), contamination=0.2).fit(np.arange(10.0))
  with pytest.raises(ValueError, match=r"NaN scores"):
    det.predict(np.array([1.0, NAN]))


@pytest.mark.parametrize("contamination", [0.0, 0.6, NAN, -0.1], ids=["zero", "above-half", "nan", "negative"])
def test_outlier_detector_contamination_out_of_range(contamination):
  with pytest.raises(ValueError, match=r"contamination must be in \(0, 0.5\]"):
    evaluation.OutlierDetector(lambda x: x, contamination=contamination)


# --- losses -----------------------------------------------------------------------------------------------------------

X = np.full((2, 3), 0.5, np.float32)
LOSS_REFUSED = [
    ("iwae-K-0", lambda: losses.iwae_bound(np.zeros((0, 4), np.float32)), ValueError,
     r"iwae_bound: log_weights\[0, 4\] holds no samples \(K = 0\)"),
    ("iwae-1-d", lambda: losses.iwae_bound(np.zeros((4,), np.float32)), ValueError,
     r"log_weights must be \[num_samples, batch\], got \[4\]"),
    ("iwae-complex", lambda: losses.iwae_bound(np.zeros((2, 4), np.complex64)), TypeError,
     r"iwae_bound: log_weights must be real, got complex dtype complex64"),
    ("bernoulli-targets-negative", lambda: losses.bernoulli_nll(X, X - 1.0), ValueError,
     r"bernoulli_nll: targets must be in \[0, 1\] .*got values in \[-0.5, -0.5\] \(shape \[2, 3\]\)"),
    ("bernoulli-targets-above-one", lambda: losses.bernoulli_nll(X, X * 255.0), ValueError,
     r"targets must be in \[0, 1\] .*127.5.*rescale them"),
    ("bernoulli-complex-logits", lambda: losses.bernoulli_nll(X.astype(np.complex64), X), TypeError,
     r"bernoulli_nll: logits must be real, got complex dtype complex64 \(shape \[2, 3\]\)"),
    ("bernoulli-complex-targets", lambda: losses.bernoulli_nll(X, X.astype(np.complex64)), TypeError,
     r"bernoulli_nll: targets must be real"),
    ("bernoulli-empty-batch", lambda: losses.bernoulli_nll(np.zeros((0, 3), np.float32), np.zeros((0, 3))),
     ValueError, r"bernoulli_nll: logits is an empty batch \(shape \[0, 3\]\)"),
    ("bernoulli-scalar", lambda: losses.bernoulli_nll(np.float32(0.0), np.float32(1.0)), ValueError,
     r"must have a leading batch axis"),
    ("bernoulli-shape-mismatch", lambda: losses.bernoulli_nll(X, X[:, :2]), ValueError, r"shapes must match"),
    ("gaussian-complex-targets", lambda: losses.gaussian_nll(X, X.astype(np.complex64)), TypeError,
     r"gaussian_nll: targets must be real"),
    ("gaussian-empty-batch", lambda: losses.gaussian_nll(np.zeros((0, 3), np.float32), np.zeros((0, 3))),
     ValueError, r"gaussian_nll: mean is an empty batch"),
    ("gaussian-bad-log-scale", lambda: losses.gaussian_nll(X, X, log_scale=np.zeros((5,), np.float32)), ValueError,
     r"log_scale must be a scalar"),
    ("squared-error-complex", lambda: losses.squared_error(X.astype(np.complex64), X), TypeError,
     r"squared_error: predictions must be real"),
    ("squared-error-empty", lambda: losses.squared_error(np.zeros((0, 3), np.float32), np.zeros((0, 3))),
     ValueError, r"empty batch"),
    ("kl-complex", lambda: losses.kl_standard_normal(X.astype(np.complex64), X), TypeError,
     r"kl_standard_normal: mean must be real"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in LOSS_REFUSED], ids=[c[0] for c in LOSS_REFUSED])
def test_bad_loss_inputs_are_refused(call, error, match):
  with pytest.raises(error, match=match):
    call()


def test_bernoulli_targets_in_range_and_booleans_are_fine_and_jit_has_no_value_check():
  assert np.all(np.asarray(losses.bernoulli_nll(X, X)) > 0)
  assert np.all(np.isfinite(losses.bernoulli_nll(X, X > 0.2)))
  assert np.all(np.isfinite(jax.jit(losses.bernoulli_nll)(X, X)))


# --- noise ------------------------------------------------------------------------------------------------------------

IMG = np.full((2, 4), 0.5, np.float32)
NOISE_REFUSED = [
    ("gaussian-negative", lambda: noise.gaussian_noise(KEY, IMG, stddev=-1.0), ValueError,
     r"gaussian_noise: stddev must be finite and >= 0, got -1.0"),
    ("gaussian-nan", lambda: noise.gaussian_noise(KEY, IMG, stddev=NAN), ValueError, r"stddev must be finite"),
    ("gaussian-inf", lambda: noise.gaussian_noise(KEY, IMG, stddev=INF), ValueError, r"stddev must be finite"),
    ("gaussian-negative-array", lambda: noise.gaussian_noise(KEY, IMG, stddev=np.array([0.1, -0.2, 0.1, 0.1])),
     ValueError, r"stddev must be finite and >= 0, got shape \[4\], 1 bad values, e.g. -0.2"),
    ("gaussian-nan-jax-array", lambda: noise.gaussian_noise(KEY, IMG, stddev=jnp.array(jnp.nan)), ValueError,
     r"stddev must be finite"),
    ("gaussian-complex", lambda: noise.gaussian_noise(KEY, IMG, stddev=1j), TypeError,
     r"stddev must be a real number or array, got dtype complex"),
    ("masking-above-one", lambda: noise.masking_noise(KEY, IMG, rate=1.5), ValueError,
     r"masking_noise: rate must be finite and in \[0, 1\], got 1.5"),
    ("masking-nan-array", lambda: noise.masking_noise(KEY, IMG, rate=np.array([NAN])), ValueError,
     r"masking_noise: rate must be finite"),
    ("masking-negative-jax-array", lambda: noise.masking_noise(KEY, IMG, rate=jnp.array(-0.1)), ValueError,
     r"rate must be finite and in \[0, 1\]"),
    ("salt-pepper-negative-array", lambda: noise.salt_and_pepper(KEY, IMG, rate=np.array([-0.1, 0.2])), ValueError,
     r"salt_and_pepper: rate must be finite and in \[0, 1\], got shape \[2\]"),
    ("salt-pepper-nan", lambda: noise.salt_and_pepper(KEY, IMG, rate=NAN), ValueError, r"rate must be finite"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in NOISE_REFUSED], ids=[c[0] for c in NOISE_REFUSED])
def test_bad_noise_levels_are_refused(call, error, match):
  with pytest.raises(error, match=match):
    call()


def test_traced_noise_levels_still_work_under_jit():
  out = jax.jit(lambda s: noise.gaussian_noise(KEY, IMG, stddev=s))(jnp.float32(0.0))
  np.testing.assert_array_equal(out, IMG)


# --- models and likelihood evaluation ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vae():
  model = factory.make_model(configs.ModelConfig(kind="vae", hidden=(8,), latent_dim=2), (4, 4, 1))
  params = model.init(KEY, jnp.zeros((1, 4, 4, 1)))["params"]
  return model, params


@pytest.mark.parametrize("num", [-2, 0, 2.5, True, "3", None], ids=["negative", "zero", "float", "bool", "str", "none"])
def test_vae_sample_needs_a_positive_int(vae, num):
  model, params = vae
  with pytest.raises(ValueError, match=r"VAE.sample: num_samples must be a positive int, got"):
    model.apply({"params": params}, num, key=KEY, method="sample")


def test_vae_sample_of_a_positive_int_works(vae):
  model, params = vae
  assert model.apply({"params": params}, 3, key=KEY, method="sample").shape == (3, 4, 4, 1)


LIKELIHOOD_REFUSED = [
    ("no-images", dict(images=np.zeros((0, 4, 4, 1), np.float32)), r"got no images \(shape \[0, 4, 4, 1\]\)"),
    ("wrong-shape", dict(images=np.zeros((2, 5, 5, 1), np.float32)), r"expected images \[N, 4, 4, 1\]"),
    ("integer-images", dict(images=np.zeros((2, 4, 4, 1), np.uint8)), r"images must be floating point"),
    ("complex-images", dict(images=np.zeros((2, 4, 4, 1), np.complex64)), r"images must be floating point"),
    ("nan-images", dict(images=np.full((2, 4, 4, 1), NAN, np.float32)), r"images contain NaN"),
    ("zero-samples", dict(num_samples=0), r"num_samples must be an integer >= 1, got 0"),
    ("nan-samples", dict(num_samples=NAN), r"num_samples must be an integer >= 1, got nan"),
    ("string-batch", dict(batch_size="8"), r"batch_size must be an integer >= 1, got 8"),
    ("fractional-chunk", dict(sample_chunk=2.5), r"sample_chunk must be an integer >= 1, got 2.5"),
]


@pytest.mark.parametrize("kw", [c[1] for c in LIKELIHOOD_REFUSED], ids=[c[0] for c in LIKELIHOOD_REFUSED])
def test_importance_sampled_nll_refuses_bad_arguments(vae, kw):
  model, params = vae
  match = next(c[2] for c in LIKELIHOOD_REFUSED if c[1] is kw)
  args = {"images": np.full((2, 4, 4, 1), 0.5, np.float32), "num_samples": 4, **kw}
  images = args.pop("images")
  with pytest.raises(ValueError, match=match):
    evaluation.importance_sampled_nll(KEY, model, params, images, **args)


# --- configs ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
def test_non_finite_learning_rate_is_refused_at_construction(value):
  with pytest.raises(ValueError, match=r"optimizer.learning_rate must be a finite number"):
    configs.OptimizerConfig(learning_rate=value)


@pytest.mark.parametrize("value", ["1e-3", None, True], ids=["str", "none", "bool"])
def test_non_numeric_learning_rate_is_a_type_error(value):
  with pytest.raises(TypeError, match=r"optimizer.learning_rate must be a number"):
    configs.OptimizerConfig(learning_rate=value)
