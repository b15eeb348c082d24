"""The Flax example's MLP VAE (784-500-20, Bernoulli, Adam 1e-3, batch 128) on dynamically binarized Fashion-MNIST.

    python -m experiments.main --config experiments/configs/flax_vae_fashion.py --workdir runs/vae_fashion

30 epochs (14 040 steps). Expected: a test negative ELBO between the 2-epoch run's (``README.md``, Quickstart) and the
100-epoch runs' (``experiments/results/fashion100/README.md``), roughly 235–245 nats.
"""

from vae_jax.configs import Config, DataConfig, ModelConfig, OptimizerConfig
from vae_jax.methods import vae


def get_config() -> Config:
  return Config(
      model=ModelConfig(kind="vae", architecture="mlp", hidden=(500,), latent_dim=20, likelihood="bernoulli"),
      method=vae.Config(),
      optimizer=OptimizerConfig(name="adam", learning_rate=1e-3),
      data=DataConfig(name="fashion_mnist", binarize="dynamic"),
      batch_size=128, num_steps=14_040, log_every=117, eval_every=2340, checkpoint_every=2340,
  )
