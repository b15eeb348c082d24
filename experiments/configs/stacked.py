"""Stacked autoencoder on Fashion-MNIST: greedy layer-wise pre-training vs end-to-end training (issue #6).

One architecture, 784-500-250-30 with ReLU hidden layers, a linear 30-d code and Bernoulli logits on grey levels
(``experiments/configs/stacked_fashion.py``), and one budget of T = 3000 Adam updates (batch 128, ≈ 6.4 epochs)
per run, spent three ways (:func:`variants`):

  (a) ``greedy + fine-tune``: T/6 updates per greedy stage (``vae_jax.stacked.greedy_pretrain``), then T/2 end to
      end from the stacked stages;
  (b) ``end-to-end``: T updates end to end from a random initialisation;
  (c) ``greedy only``: T/3 updates per stage, no fine-tuning.

The row ``greedy, before fine-tuning`` is (a)'s stack before its fine-tuning (T/2 updates, no extra training).
Metrics on the 10k test images: per-image BCE (nats/image, summed over pixels) and MSE (per pixel, ×10⁻³) of the
reconstructions, and the accuracy of a linear probe (``evaluation.linear_probe``) of the 30-d code fitted on 10k
training codes, tested on the 10k test codes; mean ± sample std over seeds. An update of an upper stage is much
cheaper than an end-to-end one, so the train time (seconds of fused steps, compilation included) is listed too.
``quick``: a 256-64-16 stack, a 300-update budget, 10k training / 2000 test images; ``smoke``: seconds (tests).

Expected result (full): end-to-end training and greedy + fine-tune reach similar reconstruction errors (with
Adam and ReLU, greedy pre-training is not needed to train a 3-layer autoencoder); greedy only is clearly worse
at reconstruction, because each stage above the first only reconstructs codes and the errors compound, while
its code is about as linearly informative. Measured BCE, MSE, probe accuracy and train time per variant (mean ± std
over 3 seeds): ``experiments/results/stacked.json``, the "Stacked autoencoder" section of
``experiments/REPORT.md``; its wall time is ``wall_time_s`` there.
"""

from __future__ import annotations

import dataclasses

import ml_collections

from experiments import configs
from experiments.configs import stacked_fashion
from vae_jax.configs import Config, StackedConfig

SIZES = configs.SIZES
LABELS = {"greedy_finetune": "(a) greedy + fine-tune", "end_to_end": "(b) end-to-end",
          "greedy_only": "(c) greedy only", "pretrained": "greedy, before fine-tuning"}


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """The stack's widths, train/test subset (0 = all), batch, budget, host syncs, evaluations, checkpoints and eval
  batch (full: ``stacked_fashion``'s), and the train/test codes of the linear probe."""
  return configs.sized(
      size,
      full=dict(stacked_sizes=(500, 250, 30), num_train=0, num_test=0, batch_size=128, num_steps=3000, log_every=100,
                eval_every=500, checkpoint_every=500, eval_batch_size=1000, num_probe=10_000),
      quick=dict(stacked_sizes=(256, 64, 16), num_train=10_000, num_test=2000, num_steps=300, log_every=50,
                 eval_every=300, checkpoint_every=300, num_probe=2000),
      smoke=dict(stacked_sizes=(32, 8), num_train=256, num_test=128, batch_size=32, num_steps=12, log_every=3,
                 eval_every=12, checkpoint_every=12, eval_batch_size=64, num_probe=128))


def variants(cfg: ml_collections.ConfigDict) -> dict[str, Config]:
  """The three ways to spend the budget (see the module doc); ``end_to_end`` has no greedy stages."""
  config = stacked_fashion.get_config()
  config = dataclasses.replace(
      config, model=dataclasses.replace(config.model, stacked_sizes=tuple(cfg.stacked_sizes)),
      data=dataclasses.replace(config.data, num_train=cfg.num_train, num_test=cfg.num_test),
      batch_size=cfg.batch_size, num_steps=cfg.num_steps, log_every=cfg.log_every, eval_every=cfg.eval_every,
      checkpoint_every=cfg.checkpoint_every, eval_batch_size=cfg.eval_batch_size, stacked=StackedConfig())
  t, k = config.num_steps, len(config.model.stacked_sizes)
  return {
      "greedy_finetune": dataclasses.replace(config, stacked=StackedConfig(stage_steps=(t // (2 * k),))),
      "end_to_end": dataclasses.replace(config, stacked=StackedConfig()),
      "greedy_only": dataclasses.replace(config, stacked=StackedConfig(stage_steps=(t // k,))),
  }
