"""The β-VAE (β = 4) of the sprites experiments as one training config, for ``experiments.main``.

    python -m experiments.main --config experiments/configs/sprites_vae.py --workdir runs/bvae_sprites

32×32 sprites drawn fresh every step, MLP VAE 1024-512-256-10, Bernoulli, Adam 5e-4, batch 64, 5000 updates: the
``beta4`` model of ``experiments/beta_vae_sprites.py`` at its full size (protocol and the reasons for these choices:
``experiments/configs/beta_vae_sprites.py``). Another method is a flag away, e.g. ``--config.method.name factor_vae``.
"""

from experiments.configs import beta_vae_sprites
from vae_jax.configs import Config


def get_config() -> Config:
  return beta_vae_sprites.base(beta_vae_sprites.get_config("full"))
