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


def test_batches_gather_whole_rows_with_the_values_of_plain_indexing():
  rng = np.random.default_rng(0)
  data_ = {"image": jnp.asarray(rng.integers(0, 256, (50, 6, 5, 1), dtype=np.uint8)),
           "label": jnp.arange(50), "pair": jnp.asarray(rng.random((50, 3)), jnp.float32)}
  for rows in (jnp.asarray([7, 0, 49, 7]), jnp.asarray(rng.permutation(50)[:12].reshape(3, 4))):
    got = jax.jit(lambda d, r: jax.tree_util.tree_map(lambda a: batches._rows(a, r), d))(data_, rows)
    for k, a in data_.items():
      np.testing.assert_array_equal(got[k], np.asarray(a)[np.asarray(rows)])
      assert got[k].shape == rows.shape + a.shape[1:] and got[k].dtype == a.dtype
  source = batches.ArrayBatches(shuffle_key=jax.random.key(1), num_examples=50, batch_size=4)
  out = source.batch(data_, jnp.asarray([3, 1, 4, 1]), jax.random.key(2))  # uint8 images back to k/255 float32
  exact = np.asarray(data_["image"])[[3, 1, 4, 1]].astype(np.float32) / np.float32(255.0)
  np.testing.assert_array_max_ulp(np.asarray(out["image"]), exact, maxulp=1)
  # the same values as the plain gather's: the flattened gather changes nothing downstream
  plain = jax.jit(lambda d, r: d[r].astype(jnp.float32) / 255.0)(data_["image"], jnp.asarray([3, 1, 4, 1]))
  np.testing.assert_array_equal(out["image"], plain)
