"""`python -m experiments.evaluate` on tiny trained runs: a VAE on Fashion-MNIST and a β-VAE on sprites."""

import dataclasses
import json
import os

import numpy as np

from experiments import evaluate
from experiments import main as cli
from vae_jax import configs, train
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


def test_evaluate_beta_vae_on_sprites_and_denoising(tmp_path):
  config = configs.Config(
      model=configs.ModelConfig(kind="vae", architecture="mlp", hidden=(32,), latent_dim=3),
      method=beta_vae.Config(beta=4.0, corruption="masking", noise_level=0.2),
      data=configs.DataConfig(name="sprites", resolution=16, num_test=64),
      batch_size=16, num_steps=4, log_every=2, eval_every=4, checkpoint_every=4, eval_batch_size=32,
      figures=False, tensorboard=False, progress=False, num_devices=1)
  train.train_and_evaluate(config, str(tmp_path))
  res = evaluate.evaluate(str(tmp_path), num_samples=10, num_images=32, disentanglement_samples=200)
  d = res["disentanglement"]
  assert set(d) == {"beta_vae_metric", "factor_vae_metric", "mig", "dci_disentanglement", "dci_completeness",
                    "dci_informativeness_test"}
  assert all(0 <= v <= 1 for v in d.values()), d
  assert res["denoising"]["corruption"] == "masking" and "linear_probe" not in res
  assert (tmp_path / "evaluation" / "denoising.png").exists()
