"""vae_jax: autoencoders from the plain AE to the disentangled β-VAE, in JAX/Flax.

Sub-modules (import them explicitly): ``losses``, ``noise``, ``modules``, ``depth_to_space``, ``models``,
``likelihoods``, ``methods``, ``configs``, ``train``, ``stacked``, ``data``, ``evaluation``, ``plots``,
``latent``, ``classifier``, ``inference``, ``fused_adam`` (the CPU step's one-pass Adam).
"""

from vae_jax import depth_to_space, likelihoods, losses, methods, models, modules, noise
from vae_jax.models import AEOutput, AutoEncoder, Posterior, StackedAutoEncoder, VAE, VAEOutput

__version__ = "0.1.0"

__all__ = [
    "AEOutput",
    "AutoEncoder",
    "Posterior",
    "StackedAutoEncoder",
    "VAE",
    "VAEOutput",
    "depth_to_space",
    "likelihoods",
    "losses",
    "methods",
    "models",
    "modules",
    "noise",
]
