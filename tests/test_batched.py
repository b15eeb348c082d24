"""experiments.batched.map_batches: the same result as one call, whatever the batch size."""

import numpy as np

from experiments import batched


def test_map_batches_matches_one_call():
  x = np.arange(14 * 3, dtype=np.float32).reshape(14, 3)
  fn = lambda a: 2.0 * a[:, :2]  # noqa: E731
  for batch_size in (1, 4, 14, 100):
    np.testing.assert_array_equal(batched.map_batches(fn, x, batch_size=batch_size), fn(x))
