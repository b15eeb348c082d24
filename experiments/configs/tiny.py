"""A tiny VAE on 256 Fashion-MNIST images, for tests and smoke runs (seconds on a laptop CPU).

    python -m experiments.main --config experiments/configs/tiny.py --workdir /tmp/tiny
"""

from vae_jax.configs import Config, DataConfig, ModelConfig
from vae_jax.methods import vae


def get_config() -> Config:
  return Config(
      model=ModelConfig(kind="vae", hidden=(32,), latent_dim=2),
      method=vae.Config(),
      data=DataConfig(name="fashion_mnist", binarize="dynamic", num_train=256, num_test=128),
      batch_size=32, num_steps=8, log_every=2, eval_every=4, checkpoint_every=4, eval_batch_size=64,
      figures=False, tensorboard=False, progress=False,
  )
