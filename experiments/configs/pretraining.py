"""Unsupervised pre-training as feature learning: linear-probe accuracy on AE, DAE, VAE and β-VAE codes vs raw pixels.

    python -m experiments.pretraining                # full: the report's numbers
    python -m experiments.pretraining --size quick   # 234 steps, probe on 10,000 codes
    python -m experiments.pretraining --size smoke   # seconds (CI)

Protocol (full): four MLP models 784-500-20(-500-784), ReLU, Bernoulli cross-entropy on the grey Fashion-MNIST pixels
(no binarization, so all four see the same inputs), Adam 1e-3, batch 128, 2340 steps (5 epochs), 3 seeds, no
labels: an AE, a DAE with masking noise at rate 0.3 (Vincent et al. 2010's corruption for feature learning), a VAE
and a β-VAE with β = 4. Codes: the AE code, the VAE posterior mean, of all 60,000 training and 10,000 test images.
Probe: ``vae_jax.evaluation.linear_probe`` — multinomial logistic regression on standardised codes, L2 = 1e-4,
full-batch L-BFGS, at most 200 iterations — trained on the 60,000 training codes with their labels, accuracy on the
10,000 test codes. Raw pixels (784-d) are the baseline; the probe is deterministic, so that row has no spread.

Expected result: no 20-d code beats the raw pixels, but all keep most of their linear separability, and the
stronger the pull towards the prior, the less is kept (the β-VAE lowest). Measured test and train accuracy per
representation (mean ± std over 3 seeds), including the stacked AE's 30-d codes under their own protocol (probe
fitted on 10,000 codes): ``experiments/results/pretraining.json``, section 6 of ``experiments/REPORT.md``. Which
classes lose most is not measured.

Stacked autoencoder: the rows of the stacked-AE experiment (``experiments/stacked.py``, issue #6) are read from
``experiments/results/stacked.json`` when it exists; until then a placeholder row marks their place. Run that
experiment first to have them in this table.

The wall time is ``wall_time_s`` in ``experiments/results/pretraining.json``.
"""

from __future__ import annotations

import ml_collections

from experiments import configs
from vae_jax import methods
from vae_jax.configs import Config, DataConfig, ModelConfig
from vae_jax.methods import ae, beta_vae, vae

SIZES = configs.SIZES


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """The protocol at ``size`` (``smoke``, ``quick`` or ``full``)."""
  return configs.sized(
      size,
      full=dict(num_steps=2340, hidden=(500,), latent_dim=20, batch_size=128, log_every=117, num_train=0,
                num_test=0, probe_train=60000, beta=4.0, masking_rate=0.3,
                # experiments/stacked.py's table and its column of probe accuracies in [0, 1]
                stacked_table="Fashion-MNIST, stacked AE", stacked_probe_column="linear probe accuracy"),
      quick=dict(num_steps=234, num_test=2000, probe_train=10000),
      smoke=dict(num_steps=4, hidden=(32,), latent_dim=4, batch_size=32, log_every=2, num_train=256, num_test=128,
                 probe_train=256))


def labels(cfg) -> dict[str, str]:
  """The table's row label of each variant, in table order."""
  return {"ae": "AE", "dae": f"DAE (masking {cfg.masking_rate:.0%})", "vae": "VAE (posterior mean)",
          "beta_vae": f"β-VAE, β={cfg.beta:g} (posterior mean)"}


def variants(cfg) -> dict[str, Config]:
  """The four models; each trains the model kind its method needs (``vae_jax.methods`` registry)."""
  method_configs = {"ae": ae.Config(), "dae": ae.Config(corruption="masking", noise_level=cfg.masking_rate),
                    "vae": vae.Config(), "beta_vae": beta_vae.Config(beta=cfg.beta)}
  return {name: Config(
      model=ModelConfig(kind=methods.get(method.name).model_kinds[0], hidden=tuple(cfg.hidden),
                        latent_dim=cfg.latent_dim, likelihood="bernoulli"),
      method=method,
      data=DataConfig(name="fashion_mnist", num_train=cfg.num_train, num_test=cfg.num_test),
      batch_size=cfg.batch_size, num_steps=cfg.num_steps, log_every=cfg.log_every, eval_every=cfg.num_steps,
      checkpoint_every=cfg.num_steps, eval_batch_size=min(1000, cfg.num_test or 1000), figures=False,
      tensorboard=False, progress=False) for name, method in method_configs.items()}
