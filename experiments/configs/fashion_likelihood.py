"""Fashion-MNIST likelihood at the literature's budget (issue #18, part 1): VAE and IWAE, two architectures.

Run by ``experiments/fashion_likelihood.py``. Protocol (``full``):

* Data: Fashion-MNIST, the 60,000 training images dynamically binarized (a fresh Bernoulli draw per update,
  Salakhutdinov & Murray 2008); the 10,000 test images binarized **once** with ``test_binarization_seed`` and the
  same binary test set for every model, so per-image likelihoods of two models can be paired.
* Architectures: ``h500`` — the Flax example's 784-500-20 MLP (ReLU); ``burda`` — Burda et al. 2016's one-stochastic-
  layer model, 784-200-200-50 (two deterministic tanh layers each way). Bernoulli decoder.
* Methods: the VAE (one sample) and the IWAE with k = 5 and k = 50 importance samples in its training bound.
* Schedule: Adam 1e-3, constant, batch 128, ``epochs`` × 468.75 updates (100 epochs = 46,800 updates); Burda et
  al.'s 3,280-epoch schedule with decaying learning rate and batch 20 is out of reach of a 2-core CPU.
* Seeds: every (architecture, method) is one sweep (``vae_jax.sweep``) whose members are the seeds.
* Evaluation: IS-NLL with K = ``is_nll_samples`` on ``is_nll_images`` test images (0 = all 10,000), the ELBO from
  the same samples, bits/dim; the IWAE − VAE per-image paired difference (same architecture and seed) with its
  standard error; test NLL against epochs at every kept checkpoint of the first seed (K = ``curve_samples`` on the
  first ``curve_images`` test images: cheaper than the final estimate, so the curve is slightly above it).

Sizes: ``full`` as above; ``quick`` two epochs of the VAE and the IWAE-5 on ``h500``, one seed, K = 200 on 1,000
images (minutes on a CPU); ``smoke`` a few updates of a tiny model (CI).
"""

from __future__ import annotations

import dataclasses

import ml_collections

from experiments import configs
from vae_jax.configs import Config, DataConfig, ModelConfig, OptimizerConfig
from vae_jax.methods import iwae, vae

SIZES = configs.SIZES
SEEDS = {"full": 3, "quick": 1, "smoke": 1}  # the default number of seeds per size (``--seeds`` overrides)

ARCHITECTURES = {
    "h500": dict(hidden=(500,), latent_dim=20, activation="relu"),
    "burda": dict(hidden=(200, 200), latent_dim=50, activation="tanh"),
    "tiny": dict(hidden=(32,), latent_dim=4, activation="relu"),
}
METHODS = {"vae": vae.Config(), "iwae5": iwae.Config(num_samples=5), "iwae50": iwae.Config(num_samples=50)}


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """Models (``<method>_<architecture>``, trained in this order), updates, checkpoints and the estimators' sizes."""
  return configs.sized(
      size,
      full=dict(models=("vae_h500", "iwae5_h500", "vae_burda", "iwae5_burda", "iwae50_burda", "iwae50_h500"),
                num_steps=46_800, checkpoint_every=4680, log_every=117, batch_size=128, num_train=0, num_test=0,
                test_binarization_seed=0, eval_seed=1, is_nll_samples=5000, is_nll_images=0, curve_samples=1000,
                curve_images=1000),
      quick=dict(models=("vae_h500", "iwae5_h500"), num_steps=936, checkpoint_every=468, is_nll_samples=200,
                 is_nll_images=1000, curve_samples=100, curve_images=500),
      smoke=dict(models=("vae_tiny", "iwae5_tiny"), num_steps=8, checkpoint_every=4, log_every=2, batch_size=32,
                 num_train=256, num_test=256, is_nll_samples=8, is_nll_images=64, curve_samples=4, curve_images=32))


def model_config(name: str, c: ml_collections.ConfigDict) -> Config:
  """The training config of model ``<method>_<architecture>`` (e.g. ``iwae5_burda``) at the protocol ``c``."""
  method, _, arch = name.partition("_")
  if method not in METHODS or arch not in ARCHITECTURES:
    raise ValueError(f"fashion_likelihood: unknown model {name!r}; models are <method>_<architecture> with methods "
                     f"{sorted(METHODS)} and architectures {sorted(ARCHITECTURES)}.")
  a = ARCHITECTURES[arch]
  return Config(
      model=ModelConfig(kind="vae", architecture="mlp", hidden=a["hidden"], latent_dim=a["latent_dim"],
                        activation=a["activation"], likelihood="bernoulli"),
      method=dataclasses.replace(METHODS[method]),
      optimizer=OptimizerConfig(name="adam", learning_rate=1e-3),
      data=DataConfig(name="fashion_mnist", binarize="dynamic", num_train=c.num_train, num_test=c.num_test),
      batch_size=c.batch_size, num_steps=c.num_steps, log_every=c.log_every, eval_every=c.checkpoint_every,
      checkpoint_every=c.checkpoint_every, keep_checkpoints=c.num_steps // c.checkpoint_every + 1, figures=False,
      tensorboard=False, progress=False)


def estimates_note(c: ml_collections.ConfigDict, num_test: int, first_seed: int) -> str:
  """The results' note on how the likelihoods were estimated."""
  return (f"IS-NLL with K = {c.is_nll_samples} on {num_test} test images binarized once (seed "
          f"{c.test_binarization_seed}), the same for every model; curve: K = {c.curve_samples} on the first "
          f"{c.curve_images} images at every kept checkpoint of seed {first_seed}.")


def variants(c: ml_collections.ConfigDict) -> dict[str, Config]:
  return {name: model_config(name, c) for name in c.models}
