"""evaluation.balanced_subset and fine_tuned_accuracy: the few-label protocol of the semi-supervised experiment."""

import jax
import numpy as np
import optax
import pytest

from vae_jax import evaluation, models, modules


def test_balanced_subset_takes_count_per_class_at_random():
  labels = np.repeat(np.arange(10), 30)
  rows = evaluation.balanced_subset(jax.random.key(0), labels, 50)
  assert len(rows) == 50 and np.all(np.diff(rows) > 0)
  assert np.all(np.bincount(labels[rows], minlength=10) == 5)
  assert not np.array_equal(rows, evaluation.balanced_subset(jax.random.key(1), labels, 50))
  np.testing.assert_array_equal(rows, evaluation.balanced_subset(jax.random.key(0), labels, 50))
  np.testing.assert_array_equal(evaluation.balanced_subset(jax.random.key(0), labels, 0), np.arange(300))
  with pytest.raises(ValueError, match=">= 0"):
    evaluation.balanced_subset(jax.random.key(0), labels, -1)


def test_fine_tuning_learns_a_separable_task():
  shape = (4, 4, 1)
  key = jax.random.key(0)
  labels = np.arange(64) % 2
  images = np.asarray(jax.random.uniform(key, (64, *shape)), np.float32) * 0.2 + labels[:, None, None, None] * 0.8
  ae = models.AutoEncoder(modules.MLPEncoder((8,)), modules.MLPDecoder((8,), shape), latent_dim=2, image_shape=shape)
  pretrained = ae.init(jax.random.key(1), images[:2])["params"]
  for params in (None, pretrained):
    acc = evaluation.fine_tuned_accuracy(jax.random.key(2), jax.random.key(3), ae, params, images, labels, images,
                                         labels, tx=optax.adam(1e-2), num_steps=100, batch_size=32, num_classes=2)
    assert acc > 0.9
