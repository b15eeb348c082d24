"""A 784-500-250-30 ReLU stacked autoencoder on grey-level Fashion-MNIST (Bernoulli logits, Adam 1e-3, batch 128).

Greedy layer-wise pre-training (500 updates per stage) and end-to-end fine-tuning for the rest of the 3000-update
budget (1500); ``experiments/stacked.py`` runs it against end-to-end training and greedy-only training::

    .venv/bin/python -m experiments.stacked --size full

Through ``experiments.main`` the same config trains the stack end to end from a random initialisation for all
3000 updates (the loop ignores ``config.stacked``)::

    python -m experiments.main --config experiments/configs/stacked_fashion.py --workdir runs/stacked_e2e
"""

from vae_jax.configs import Config, DataConfig, ModelConfig, OptimizerConfig, StackedConfig
from vae_jax.methods import ae


def get_config() -> Config:
  return Config(
      model=ModelConfig(kind="stacked_ae", stacked_sizes=(500, 250, 30), activation="relu", likelihood="bernoulli"),
      method=ae.Config(),
      optimizer=OptimizerConfig(name="adam", learning_rate=1e-3),
      data=DataConfig(name="fashion_mnist", binarize="none"),
      stacked=StackedConfig(stage_steps=(500,)),
      batch_size=128, num_steps=3000, log_every=100, eval_every=500, checkpoint_every=500,
      figures=False, tensorboard=False, progress=False,
  )
