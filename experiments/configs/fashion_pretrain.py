"""The unsupervised Fashion-MNIST encoders that several experiments share: MLP 784-500-20, grey images, Bernoulli.

A plain autoencoder (``ae``), a denoising autoencoder (``dae``, 25 % masking noise) and a VAE (``vae``, posterior
mean as the code), each trained with the one loop on the 60,000 training images (ReLU, Bernoulli cross-entropy,
Adam 1e-3, batch 128, the same number of updates), plus a stacked autoencoder of the same layer sizes, greedily
pre-trained layer by layer (``stage_steps`` per stage) and fine-tuned end to end for the rest of the budget
(:func:`vae_jax.stacked.greedy_pretrain`). ``semi_supervised`` fine-tunes and probes all of them;
``attribute_vectors`` and ``interpolation`` use the ``vae``. Their runs live in ``<runs_root>/fashion_pretrain``
(:data:`RUNS`), so every experiment that uses a model reuses the run another trained.

Sizes: ``full`` 23,400 updates (50 epochs of the 60,000 images, issue #18; the stacked AE 4,680 per stage — 10
epochs — then 14,040 end to end); ``quick`` 300 updates, 2000 test images; ``smoke`` 256 training images, a
32-unit MLP, a few steps, no DAE (it differs from the AE only in its corruption).
"""

from __future__ import annotations

import dataclasses

import ml_collections

from experiments import configs
from vae_jax.configs import Config, DataConfig, ModelConfig, OptimizerConfig, StackedConfig
from vae_jax.methods import ae, vae

SIZES = configs.SIZES
RUNS = "fashion_pretrain"  # the runs' folder under the runs root, shared by the experiments that use these models


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """Updates, fused updates per host sync, MLP widths, code size, batch, train/test subset (0 = all), the encoders
  trained with the loop, greedy updates per stage of the stacked AE."""
  return configs.sized(
      size,
      full=dict(num_steps=23_400, log_every=468, hidden=(500,), latent_dim=20, batch_size=128, num_train=0,
                num_test=0, encoders=("ae", "dae", "vae"), stage_steps=4680),
      quick=dict(num_steps=300, log_every=100, num_test=2000, stage_steps=100),
      smoke=dict(num_steps=4, log_every=2, hidden=(32,), latent_dim=4, batch_size=32, num_train=256, num_test=128,
                 encoders=("ae", "vae"), stage_steps=2))


def architecture(cfg: ml_collections.ConfigDict) -> ModelConfig:
  """The deterministic MLP autoencoder every encoder shares (the VAE swaps in a Gaussian posterior)."""
  return ModelConfig(kind="ae", architecture="mlp", hidden=tuple(cfg.hidden), latent_dim=cfg.latent_dim,
                     likelihood="bernoulli")


def variants(cfg: ml_collections.ConfigDict) -> dict[str, Config]:
  """The encoders trained with the loop, ``cfg.encoders`` of ``ae``, ``dae``, ``vae``."""
  base = Config(
      model=architecture(cfg), method=ae.Config(), optimizer=OptimizerConfig(name="adam", learning_rate=1e-3),
      data=DataConfig(name="fashion_mnist", binarize="none", num_train=cfg.num_train, num_test=cfg.num_test),
      batch_size=cfg.batch_size, num_steps=cfg.num_steps, log_every=cfg.log_every, eval_every=cfg.num_steps,
      checkpoint_every=cfg.num_steps, keep_checkpoints=1, eval_batch_size=min(1000, cfg.num_test or 1000),
      figures=False, tensorboard=False, progress=cfg.size == "full")
  every = {
      "ae": base,
      "dae": dataclasses.replace(base, method=ae.Config(corruption="masking", noise_level=0.25)),
      "vae": dataclasses.replace(base, model=dataclasses.replace(base.model, kind="vae"), method=vae.Config()),
  }
  return {name: every[name] for name in cfg.encoders}


def stacked_variant(cfg: ml_collections.ConfigDict) -> Config:
  """The stacked AE with the AE's layer sizes, greedily pre-trained for ``cfg.stage_steps`` updates per stage, then
  fine-tuned end to end for the rest of the same budget."""
  base = variants(cfg)["ae"]
  model = dataclasses.replace(base.model, kind="stacked_ae", stacked_sizes=(*cfg.hidden, cfg.latent_dim))
  return dataclasses.replace(base, model=model, stacked=StackedConfig(stage_steps=(cfg.stage_steps,)))
