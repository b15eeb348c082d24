"""What a small bottleneck loses: AE test reconstruction error on Fashion-MNIST against the latent size.

Protocol (full): a deterministic MLP autoencoder 784-500-d-500-784 (ReLU, linear code) for each latent size d ∈ {2,
4, 8, 16, 32, 64}, trained with the Bernoulli cross-entropy of the grey-level pixels (``method.name='ae'``,
``model.likelihood='bernoulli'``: the decoder emits logits, the reconstruction is their sigmoid) — cross-entropy
rather than squared error so that these AEs match the other Fashion-MNIST experiments (denoising, outliers,
pre-training) and the Flax example's loss; the table reports the squared error too. Adam 1e-3, batch 128, 1872 steps
(4 epochs), 3 seeds. Measured on the whole 10,000-image test set: mean squared error per pixel, PSNR (dB, mean over
images), SSIM and the cross-entropy in nats per image. Figure: 10 test images (one per class) and their
reconstructions, one row per latent size (seed 0). ``quick``: 234 steps, latent sizes 2, 8, 32, 2000 test images;
``smoke``: a few steps of a tiny net (CI).

Expected result: the error falls monotonically with d, fastest from 2 to 8 dimensions, and keeps falling slowly up
to 64. Measured MSE, PSNR, SSIM and cross-entropy per latent size (mean ± std over 3 seeds):
``experiments/results/bottleneck.json``, section 1 of ``experiments/REPORT.md``; what the reconstruction figure shows
at each size: ``experiments/NOTES.md`` (Bottleneck). The wall time is ``wall_time_s`` in the results file.
"""

from __future__ import annotations

import ml_collections

from experiments import configs
from vae_jax.configs import Config, DataConfig, ModelConfig
from vae_jax.methods import ae

SIZES = configs.SIZES


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """Latent sizes, training steps, MLP width, batch, fused steps per host sync, train/test subset (0 = all)."""
  return configs.sized(
      size,
      full=dict(latent_sizes=(2, 4, 8, 16, 32, 64), num_steps=1872, hidden=(500,), batch_size=128, log_every=117,
                num_train=0, num_test=0),
      quick=dict(latent_sizes=(2, 8, 32), num_steps=234, num_test=2000),
      smoke=dict(latent_sizes=(2, 8), num_steps=4, hidden=(32,), batch_size=32, log_every=2, num_train=256,
                 num_test=128))


def variants(cfg: ml_collections.ConfigDict) -> dict[str, Config]:
  """One AE per latent size: ``latent<d>``."""
  return {f"latent{d}": Config(
      model=ModelConfig(kind="ae", hidden=tuple(cfg.hidden), latent_dim=d, likelihood="bernoulli"),
      method=ae.Config(),
      data=DataConfig(name="fashion_mnist", num_train=cfg.num_train, num_test=cfg.num_test),
      batch_size=cfg.batch_size, num_steps=cfg.num_steps, log_every=cfg.log_every, eval_every=cfg.num_steps,
      checkpoint_every=cfg.num_steps, eval_batch_size=min(1000, cfg.num_test or 1000), figures=False,
      tensorboard=False, progress=False) for d in cfg.latent_sizes}
