"""evaluation.attribute_edits and its helpers: shapes, the unedited diagonal, and α = 0 as the plain decode."""

import jax
import numpy as np
import optax

from vae_jax import evaluation, inference, models, modules

SHAPE = (4, 4, 1)


def test_edits_are_judged_for_every_ordered_pair():
  labels = np.arange(30) % 3
  images = np.asarray(jax.random.uniform(jax.random.key(0), (30, *SHAPE)), np.float32)
  vae = models.VAE(modules.MLPEncoder((8,)), modules.MLPDecoder((8,), SHAPE), latent_dim=2, image_shape=SHAPE)
  params = vae.init(jax.random.key(1), images[:2])["params"]
  judge, judge_params = evaluation.train_judge(jax.random.key(2), images, labels, hidden=(8,), num_steps=2,
                                               tx=optax.adam(1e-3), num_classes=3)
  rows = evaluation.pick_sources(jax.random.key(3), labels, 4, num_classes=3)
  assert all(len(r) == 4 and np.all(labels[r] == c) for c, r in rows.items())
  sources = {c: images[r] for c, r in rows.items()}
  codes = inference.encode(vae, params, images).mean
  means = np.stack([images[labels == c].mean(0) for c in range(3)])
  out = evaluation.attribute_edits(vae, params, judge, judge_params, codes, labels, means, sources,
                                   alphas=(0.0, 1.0), keep=[(0, 1)], num_shown=2)
  for method in ("latent", "pixel"):
    assert out["success"][method].shape == out["drift"][method].shape == (2, 3, 3)
    assert np.all(np.diagonal(out["drift"][method], axis1=1, axis2=2) == 0)
  # α = 0 in pixel space is the source itself; in latent space the reconstruction
  assert np.all(out["drift"]["pixel"][0] == 0)
  recon_drift = np.mean((inference.reconstruct(vae, params, sources[0]) - sources[0]) ** 2)
  np.testing.assert_allclose(out["drift"]["latent"][0, 0, 1], recon_drift, rtol=1e-5)
  x, latent_edits, pixel_edit = out["shown"][(0, 1)]
  assert x.shape == (2, *SHAPE) and latent_edits.shape == (2, 2, *SHAPE) and pixel_edit.shape == (2, *SHAPE)
