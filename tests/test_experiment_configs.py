"""The experiment configs of outliers, pretraining, vae_likelihood, beta_vae_sprites and the disentanglement study:
sizes, validation, variants; and the outlier experiment's outlier set from any IDX directory (``ood_dir``)."""

import gzip
import struct

import numpy as np
import pytest

from experiments.configs import beta_vae_sprites, disentanglement_study, outliers, pretraining, vae_likelihood
from vae_jax import configs as vae_configs
from vae_jax import data

MODULES = {outliers: (), pretraining: (), vae_likelihood: (), beta_vae_sprites: ("higgins",),
           disentanglement_study: ("cpu",)}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_every_size_builds_and_an_unknown_one_names_the_valid_ones(module):
  for size in ("smoke", "quick", "full", *MODULES[module]):
    cfg = module.get_config(size)
    assert cfg.size == size
    built = module.sweeps(cfg) if module is disentanglement_study else module.variants(cfg).values()
    for config in built:
      assert isinstance(config if module is not disentanglement_study else config[2], vae_configs.Config)
  with pytest.raises(ValueError, match=r"unknown size 'huge'; valid sizes: .*smoke"):
    module.get_config("huge")


def _write_test_images(directory, images):
  directory.mkdir(parents=True, exist_ok=True)
  with gzip.open(directory / "t10k-images-idx3-ubyte.gz", "wb") as f:
    f.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", *images.shape) + images.tobytes())


def _fashion_available() -> bool:
  try:
    data.load("fashion_mnist", split="test", num_examples=1)
  except data.DatasetNotFoundError:
    return False
  return True


@pytest.mark.skipif(not _fashion_available(), reason="Fashion-MNIST IDX files not available")
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
