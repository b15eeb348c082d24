"""vae_jax.train.batches: the one dynamic binarizer, the uint8 packing and the run's batch source."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import data, train
from vae_jax.train import batches

from helpers import tiny


def test_the_loop_binarizes_with_data_binarize_dynamic_bit_for_bit():
  key = jax.random.key(3)
  images = jax.random.uniform(jax.random.key(0), (4, 8, 8, 1))
  batch = {"image": images, "label": jnp.arange(4)}
  out = jax.jit(train.binarize_batch)(key, batch)
  np.testing.assert_array_equal(out["image"], data.binarize_dynamic(key, images))
  np.testing.assert_array_equal(out["label"], batch["label"])
  assert out["image"].dtype == jnp.float32 and set(np.unique(out["image"]).tolist()) <= {0.0, 1.0}


def test_make_source_binarizes_only_when_the_config_says_dynamic():
  images = np.round(np.random.default_rng(0).random((32, 4, 4, 1)) * 255) / 255
  for binarize, preprocess in (("dynamic", train.binarize_batch), ("none", None)):
    config = tiny(batch_size=8, data=dataclasses.replace(tiny().data, binarize=binarize))
    source, held, n = batches.make_source(config, images.astype(np.float32), jax.random.key(0), None)
    assert source.preprocess is preprocess and n == 32
    assert held["image"].dtype == np.uint8  # 8-bit images are held as uint8 ...
    rows = source.indices(jnp.int32(0), 1)[0]
    if preprocess is None:  # ... and come back as the same float32 values
      np.testing.assert_array_equal(source.batch(held, rows, jax.random.key(1))["image"],
                                    images.astype(np.float32)[np.asarray(rows)])
