"""evaluation.reconstruction_scores: a model's per-image BCE, MSE, PSNR and SSIM, batched like the unbatched ones."""

import jax
import numpy as np
import pytest

from vae_jax import evaluation, models, modules

SHAPE = (12, 12, 1)  # SSIM needs an 11×11 window


def _ae(likelihood="bernoulli"):
  return models.AutoEncoder(modules.MLPEncoder((8,)), modules.MLPDecoder((8,), SHAPE), latent_dim=2,
                            image_shape=SHAPE, likelihood=likelihood)


def test_scores_equal_the_metrics_of_the_unbatched_reconstruction():
  images = np.asarray(jax.random.uniform(jax.random.key(0), (5, *SHAPE)), np.float32)
  model = _ae()
  params = model.init(jax.random.key(1), images[:2])["params"]
  scores = evaluation.reconstruction_scores(model, params, images, batch_size=2)  # last batch padded
  logits = model.apply({"params": params}, images).outputs
  recon = jax.nn.sigmoid(logits)
  expected = {"bce": evaluation.per_image_bce(logits, images, from_logits=True),
              "mse": evaluation.per_image_mse(recon, images), "psnr": evaluation.psnr(recon, images),
              "ssim": evaluation.ssim(recon, images)}
  assert set(scores) == set(expected)
  for k, v in expected.items():
    assert scores[k].shape == (5,)
    np.testing.assert_allclose(scores[k], v, rtol=1e-5, atol=1e-6, err_msg=k)


def test_needs_logits():
  model = _ae("gaussian")
  images = np.zeros((2, *SHAPE), np.float32)
  params = model.init(jax.random.key(1), images)["params"]
  with pytest.raises(ValueError, match="Bernoulli"):
    evaluation.reconstruction_scores(model, params, images)
