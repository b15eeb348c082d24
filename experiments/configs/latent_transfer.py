"""Factor transfer by latent swapping on procedural sprites: β-VAE vs VAE.

Protocol. A β-VAE (β = 4) and a plain VAE (β = 1) are trained with the one loop on procedural dSprites
(``data.name="sprites"``) at 32×32: MLP encoder 1024-512-256 → 10-d Gaussian posterior, mirrored decoder,
Bernoulli likelihood, Adam 1e-3, batch 64, fresh sprites every step. Then, per model and seed
(:func:`vae_jax.evaluation.factor_swap`):

1. DCI (:func:`vae_jax.evaluation.dci`, gradient-boosted trees) on posterior means of random sprites gives the
   importance matrix; factors with more than 8 values (orientation, pos_x, pos_y) are binned to 8 classes first,
   which keeps the trees affordable and only coarsens which dimension is found to carry the factor.
   :func:`vae_jax.latent.factor_latents` (``threshold=0.2``: every dimension holding ≥ 20 % of the factor's
   importance) turns it into the latent dimensions of each factor.
2. For each factor, random pairs (source, target) that differ in that factor: the source code with the factor's
   dimensions copied from the target (:func:`vae_jax.latent.swap_factors`) is decoded and compared with the
   ground-truth rendering of the source's factors with that one factor taken from the target:
   **IoU** of the decode binarized at 0.5 against the truth, and **BCE** (nats per image) of the decoder logits.
3. References on the same pairs: *source* (the unedited source decode: no transfer), *random dims* (as many
   randomly chosen dimensions swapped: is the DCI choice better than chance?), and *oracle* (the reconstruction of
   the ground-truth image itself: the best a decoder of this quality can do).

Sizes: ``full``: 8000 training steps (512 k sprites), DCI on 2000 + 1000 codes with 30 boosting stages, 500 pairs
per factor, 3 seeds. ``quick``: 1000 steps, DCI 1000 + 500 codes × 10 stages, 200 pairs. ``smoke``: 4 steps of a
32-unit MLP.

Expected result (if the β-VAE disentangles): its position factors sit in one latent each, so swapping them moves
the sprite to the target's position (IoU well above the *source* and *random dims* references, towards the
*oracle*), while the VAE's entangled code transfers less. Whether either model is disentangled at this length is
what the DCI table and the latent dimensions chosen per factor show; IoU and BCE per factor and reference, DCI and
the chosen dimensions per seed (3 seeds): ``experiments/results/latent_transfer.json`` (per-seed importance matrices
in ``experiments/results/latent_transfer_details.json``), the "Latent factor transfer" section of
``experiments/REPORT.md``; reading: ``experiments/NOTES.md`` (Latent transfer). The β-VAE papers train ≈ 10⁵–10⁶
steps; expect the separation only with far longer runs (``--size full`` here is 8000 steps because of the CPU
budget).
"""

from __future__ import annotations

import dataclasses

import ml_collections

from experiments import configs
from vae_jax.configs import Config, DataConfig, ModelConfig, OptimizerConfig
from vae_jax.methods import beta_vae, vae

SIZES = configs.SIZES


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """Training (steps, host syncs, MLP, code, batch, sprite side, eval set and batch) and the transfer measurement
  (DCI codes and boosting stages, pairs per factor, factors binned to ``max_classes`` for DCI, the
  ``factor_latents`` threshold)."""
  return configs.sized(
      size,
      full=dict(num_steps=8000, log_every=250, hidden=(512, 256), latent_dim=10, batch_size=64, resolution=32,
                num_test=500, eval_batch_size=250, dci_train=2000, dci_test=1000, dci_estimators=30, num_pairs=500,
                max_classes=8, threshold=0.2),
      quick=dict(num_steps=1000, dci_train=1000, dci_test=500, dci_estimators=10, num_pairs=200),
      smoke=dict(num_steps=4, log_every=2, hidden=(32,), latent_dim=4, batch_size=32, num_test=64, eval_batch_size=64,
                 dci_train=200, dci_test=100, dci_estimators=2, num_pairs=16))


def variants(cfg: ml_collections.ConfigDict) -> dict[str, Config]:
  """The β-VAE (β = 4) and the plain VAE, otherwise the same."""
  base = Config(
      model=ModelConfig(kind="vae", architecture="mlp", hidden=tuple(cfg.hidden), latent_dim=cfg.latent_dim,
                        likelihood="bernoulli"),
      method=vae.Config(),
      optimizer=OptimizerConfig(name="adam", learning_rate=1e-3),
      data=DataConfig(name="sprites", resolution=cfg.resolution, num_test=cfg.num_test),
      batch_size=cfg.batch_size, num_steps=cfg.num_steps, log_every=cfg.log_every, eval_every=cfg.num_steps,
      checkpoint_every=cfg.num_steps, keep_checkpoints=1, eval_batch_size=cfg.eval_batch_size,
      figures=False, tensorboard=False, progress=cfg.size == "full")
  return {"beta_vae": dataclasses.replace(base, method=beta_vae.Config(beta=4.0)), "vae": base}
