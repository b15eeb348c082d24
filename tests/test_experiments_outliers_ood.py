"""The outlier experiment's outlier set (b) from any MNIST-format IDX directory (``ood_dir`` / ``--ood-dir``)."""

import gzip
import struct

import numpy as np
import pytest

from experiments.configs import outliers

from helpers import datasets_available

def _write_test_images(directory, images):
  directory.mkdir(parents=True, exist_ok=True)
  with gzip.open(directory / "t10k-images-idx3-ubyte.gz", "wb") as f:
    f.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", *images.shape) + images.tobytes())



@pytest.mark.skipif(not datasets_available("fashion_mnist"), reason="Fashion-MNIST IDX files not available")
def test_outlier_set_from_any_idx_directory(tmp_path):
  from experiments import outliers as script

  images = np.random.default_rng(0).integers(0, 256, (80, 28, 28), dtype=np.uint8)
  _write_test_images(tmp_path / "ood", images)
  cfg = outliers.get_config("smoke")
  cfg.ood_dir = str(tmp_path / "ood")
  sets = script.test_sets(cfg)
  np.testing.assert_array_equal(sets["grey"]["ood"][..., 0], images[:cfg.num_out_ood] / np.float32(255.0))
  assert set(np.unique(sets["binary"]["ood"])) <= {0.0, 1.0}

  _write_test_images(tmp_path / "small", images[:, :16, :16].copy())
  cfg.ood_dir = str(tmp_path / "small")
  with pytest.raises(ValueError, match=r"are \[16, 16, 1\].*in-distribution images are \[28, 28, 1\]"):
    script.test_sets(cfg)
  cfg.ood_dir = str(tmp_path / "empty")
  with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
    script.test_sets(cfg)
