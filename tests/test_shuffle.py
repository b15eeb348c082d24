"""The host-sorted epoch shuffle is ``jax.random.permutation`` bit for bit (vae_jax.train.shuffle)."""

import jax
import numpy as np
import pytest

from vae_jax import train
from vae_jax.train import batches, shuffle

# Sizes across the round count's steps (0 rounds at n ≤ 1, 1 up to 1,625, 2 above) and the 16-bit digit boundary,
# and the datasets' own sizes (MNIST/Fashion-MNIST train, a 55,000/5,000 split).
SIZES = (0, 1, 2, 7, 100, 1625, 1626, 65_535, 65_536, 70_001, 60_000, 55_000)


@pytest.mark.parametrize("impl, sizes", [("threefry2x32", SIZES), ("rbg", (100, 1626)), ("unsafe_rbg", (100, 1626)),
                                         ("fast", (1626, 60_000))])
def test_permutation_is_jax_random_permutation(impl, sizes):
  base = train.fast_key(jax.random.key(3)) if impl == "fast" else jax.random.key(3, impl=impl)
  for n in sizes:
    for e in range(2):
      key = jax.random.fold_in(base, e)
      want = np.asarray(jax.random.permutation(key, n))
      got = shuffle.permutation(key, n)
      assert got.dtype == want.dtype == np.int32, (impl, n)
      np.testing.assert_array_equal(got, want, err_msg=f"{impl}, n={n}, fold {e}")


def test_raw_keys_too():
  raw = jax.random.PRNGKey(11)
  np.testing.assert_array_equal(shuffle.permutation(raw, 5000), np.asarray(jax.random.permutation(raw, 5000)))


def test_round_count_is_jax_s():
  # jax's _shuffle: ceil(3 ln n / ln(2**32 − 1)) rounds, i.e. a new round where n passes (2**32 − 1)**(k/3)
  assert [shuffle.num_rounds(n) for n in (0, 1, 2, 1625, 1626, 2_642_245, 2_642_246)] == [0, 0, 1, 1, 2, 2, 3]


def test_ties_keep_their_order_as_a_stable_sort_does():
  keys = np.array([5, 3, 5, 3, 0xFFFF0000, 0x0000FFFF, 0xFFFF0000, 0], dtype=np.uint32)
  np.testing.assert_array_equal(shuffle._stable_argsort_u32(keys), np.argsort(keys, kind="stable"))
  big = np.random.default_rng(0).integers(0, 2**32, size=100_000, dtype=np.uint64).astype(np.uint32)
  big[::7] = big[0]  # many ties
  np.testing.assert_array_equal(shuffle._stable_argsort_u32(big), np.argsort(big, kind="stable"))


def test_epoch_shuffle_is_the_in_program_one():
  src = train.ArrayBatches(shuffle_key=jax.random.key(4), num_examples=3000, batch_size=100)
  for epoch in (0, 1, 17):
    want = np.asarray(jax.jit(src.permutation)(np.int32(epoch)))
    np.testing.assert_array_equal(batches._epoch_permutation(src.shuffle_key, epoch, 3000), want)


def test_negative_size_is_refused():
  with pytest.raises(ValueError, match="n=-1 must be ≥ 0"):
    shuffle.permutation(jax.random.key(0), -1)
