"""`python -m experiments.evaluate` on tiny trained runs: a VAE on Fashion-MNIST and a β-VAE on sprites."""

import dataclasses
import functools
import gzip
import json
import os
import struct

import numpy as np
import pytest

from experiments import evaluate
from experiments import main as cli
from vae_jax import configs, evaluation, train
from vae_jax.evaluation import trained_run
from vae_jax.methods import beta_vae

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_evaluate_vae_on_fashion_mnist(tmp_path):
  config = dataclasses.replace(cli.load_config_file(os.path.join(ROOT, "experiments", "configs", "tiny.py")),
                               num_devices=1)
  train.train_and_evaluate(config, str(tmp_path))
  evaluate.main(["--workdir", str(tmp_path), "--num-samples", "20", "--num-images", "64", "--probe-train", "128"])
  res = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
  lik = res["likelihood"]
  assert lik["num_samples"] == 20 and lik["is_nll"] > 0
  assert -lik["elbo"] >= lik["is_nll"] - 5.0  # the IWAE bound is (up to MC noise) tighter than the ELBO
  assert 0 <= res["linear_probe"]["code_accuracy"] <= 1 and res["linear_probe"]["pixel_accuracy"] > 0.3
  if "skipped" in res["outliers_vs_mnist"]:  # no MNIST test set beside the repository (../shared/data/mnist)
    assert "MNIST test set not available" in res["outliers_vs_mnist"]["skipped"]
  else:
    assert {"reconstruction_mse", "negative_elbo"} <= set(res["outliers_vs_mnist"])
  assert np.isfinite(res["reconstruction"]["psnr"])
  for fig in ("reconstructions.png", "samples.png", "traversal.png", "kl_per_dim.png", "latent_scatter.png",
              "curves.png"):
    assert (tmp_path / "evaluation" / fig).stat().st_size > 1000, fig


def write_idx_images(directory, images: np.ndarray, *, gz: bool = True) -> None:
  """``t10k-images-idx3-ubyte[.gz]`` of uint8 ``[N, H, W]`` images (the IDX header of vae_jax.data.idx)."""
  os.makedirs(directory, exist_ok=True)
  payload = bytes([0, 0, 8, 3]) + struct.pack(">3I", *images.shape) + images.astype(np.uint8).tobytes()
  name = os.path.join(directory, "t10k-images-idx3-ubyte" + (".gz" if gz else ""))
  with (gzip.open if gz else open)(name, "wb") as f:
    f.write(payload)


@pytest.mark.parametrize("gz", [True, False])
def test_outlier_images_from_any_idx_directory(tmp_path, gz):
  images = np.random.default_rng(0).integers(0, 256, (5, 16, 16), dtype=np.uint8)
  write_idx_images(tmp_path, images, gz=gz)
  out = evaluation.outlier_images(str(tmp_path), (16, 16, 1), num=3)
  assert out.shape == (3, 16, 16, 1) and out.dtype == np.float32
  np.testing.assert_array_equal(out[..., 0], images[:3] / np.float32(255.0))


def test_outlier_images_errors(tmp_path):
  with pytest.raises(FileNotFoundError, match=r"No test images in .*t10k-images-idx3-ubyte.gz.*holds none of them"):
    evaluation.outlier_images(str(tmp_path), (16, 16, 1))
  with pytest.raises(FileNotFoundError, match="is not a directory"):
    evaluation.outlier_images(str(tmp_path / "missing"), (16, 16, 1))
  write_idx_images(tmp_path, np.zeros((4, 28, 28), np.uint8))
  with pytest.raises(ValueError, match=r"are \[28, 28, 1\] .* in-distribution images are \[16, 16, 1\]"):
    evaluation.outlier_images(str(tmp_path), (16, 16, 1))


def test_evaluate_beta_vae_on_sprites_and_denoising(tmp_path, monkeypatch):
  # DCI with evaluate_run's 100 boosting stages fits 100 trees per value of each factor (3 + 6 + 40 + 32 + 32), ~12 s
  # of this test for a range check; 5 stages reach the same code path. DCI's own scores: test_eval_disentanglement.
  monkeypatch.setattr(trained_run, "dci", functools.partial(trained_run.dci, n_estimators=5))
  config = configs.Config(
      model=configs.ModelConfig(kind="vae", architecture="mlp", hidden=(32,), latent_dim=3),
      method=beta_vae.Config(beta=4.0, corruption="masking", noise_level=0.2),
      data=configs.DataConfig(name="sprites", resolution=16, num_test=64),
      batch_size=16, num_steps=4, log_every=2, eval_every=4, checkpoint_every=4, eval_batch_size=32,
      figures=False, tensorboard=False, progress=False, num_devices=1)
  train.train_and_evaluate(config, str(tmp_path))
  wrong = tmp_path / "mnist_sized"
  write_idx_images(wrong, np.zeros((8, 28, 28), np.uint8))
  with pytest.raises(ValueError, match=r"outlier images .* are \[28, 28, 1\]"):  # before any metric is computed
    trained_run.evaluate_run(str(tmp_path), ood_dir=str(wrong))
  ood = tmp_path / "ood"
  write_idx_images(ood, np.random.default_rng(1).integers(0, 256, (40, 16, 16), dtype=np.uint8))
  res = trained_run.evaluate_run(str(tmp_path), num_samples=10, num_images=32, disentanglement_samples=200,
                                 ood_dir=str(ood))
  assert res["outliers"]["ood_dir"] == str(ood) and res["outliers"]["num_outliers"] == 40
  assert all(0 <= res["outliers"][s]["auroc"] <= 1 for s in ("reconstruction_mse", "negative_elbo"))
  d = res["disentanglement"]
  assert set(d) == {"beta_vae_metric", "factor_vae_metric", "mig", "dci_disentanglement", "dci_completeness",
                    "dci_informativeness_test"}
  assert all(0 <= v <= 1 for v in d.values()), d
  assert res["denoising"]["corruption"] == "masking" and "linear_probe" not in res
  assert (tmp_path / "evaluation" / "denoising.png").exists()
