"""The README's first run: the Flax example's MLP VAE on Fashion-MNIST for 2 epochs (936 steps), printing its losses.

    python -m experiments.main --config experiments/configs/quickstart.py --workdir runs/quickstart

Under a minute on a 2-core CPU. Expected: test negative ELBO ≈ 250–255 nats after 2 epochs; the measured value and
wall time are in ``README.md`` (Quickstart), the GPU's in ``experiments/results/gpu/README.md``.
"""

import dataclasses

from experiments.configs import flax_vae_fashion


def get_config():
  return dataclasses.replace(flax_vae_fashion.get_config(), num_steps=936, log_every=117, eval_every=468,
                             checkpoint_every=468)
