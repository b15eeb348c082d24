"""Semi-supervised Fashion-MNIST: does unsupervised pre-training (AE, DAE, VAE, stacked AE) help with few labels?

Protocol. The four encoders of ``experiments/configs/fashion_pretrain.py`` (AE, DAE with 25 % masking noise, VAE
with its posterior mean as the code, each trained with the one loop, and the stacked AE of the same layer sizes,
greedily pre-trained and fine-tuned end to end; MLP 784-500-20, the same number of updates) are pre-trained
without labels on the 60 000 training images, one encoder of each kind per seed. For 100, 1000 and all 60 000
labels, ``label_draws`` class-balanced random subsets per seed (:func:`vae_jax.evaluation.balanced_subset`), each
encoder is used as

* **fine-tuned**: encoder + a softmax head on the 20-d code (:func:`vae_jax.evaluation.fine_tuned_accuracy`),
  every weight trained with Adam 1e-3 for a fixed number of steps (below);
* **linear probe**: a multinomial logistic regression on the frozen code (:func:`vae_jax.evaluation.linear_probe`);

against the **same network from random init**, fine-tuned with the same steps. Within one label draw every network
gets the same labelled examples, the same head initialisation and the same batch order, so the difference between
a pre-trained encoder and random init on that draw is a paired sample; the paired table gives the mean difference
over all (seed, draw) pairs with its standard error (std / √n, treating the pairs as independent: draws of one seed
share its pre-trained encoder, so this is a lower bound on the error of the "any pre-training" question and exact
for "this protocol's encoders"). Accuracy is on the 10 000 test images.

Sizes: ``full``: pre-training 23,400 updates (50 epochs; the stacked AE: 4,680 per stage, then 14,040 end to end);
10 label draws of 100 and of 1000 labels (one of all 60 000), fine-tuned 150 / 300 / 1000 steps (batch
min(128, labels)); 3 seeds, so 30 pairs per label count. ``quick``: 300 pre-training steps, one draw of 100 / 1000 /
10,000 labels per seed with 40 / 80 / 200 fine-tuning steps, 2000 test images (2 draws took 141 s instead of ~96).
``smoke``: 256 training images, a 32-unit MLP, a few steps, 2 draws of 20 labels, no DAE.

Expected result (the usual story): pre-trained encoders help most with 100 labels, the gap shrinks with more
labels, and fine-tuning beats a linear probe on the frozen code. At 2,000 pre-training updates and 3 draws the gain
was within seed noise (0.696 random init vs 0.698–0.702); the paired table says whether 50-epoch encoders change
that: ``experiments/results/semi_supervised.json``, the "Semi-supervised" section of ``experiments/REPORT.md``;
reading: ``experiments/NOTES.md`` (Semi-supervised). The pre-trained encoders are reused by attribute_vectors and
interpolation.
"""

from __future__ import annotations

import ml_collections

from experiments import configs
from experiments.configs import fashion_pretrain
from vae_jax.configs import Config

SIZES = fashion_pretrain.SIZES


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """The pre-training (``pretrain``: :mod:`fashion_pretrain`), the label counts (0 = all) with the label draws per
  seed and the fine-tuning updates of each, the fine-tuning learning rate and batch, and the number of classes."""
  return configs.sized(
      size,
      full=dict(pretrain=fashion_pretrain.get_config(size), label_counts=(100, 1000, 0),
                label_draws=(10, 10, 1), finetune_steps=(150, 300, 1000), finetune_lr=1e-3, finetune_batch=128,
                num_classes=10),
      quick=dict(label_counts=(100, 1000, 10_000), label_draws=(1, 1, 1), finetune_steps=(40, 80, 200)),
      smoke=dict(label_counts=(20,), label_draws=(2,), finetune_steps=(2,)))


def variants(cfg: ml_collections.ConfigDict) -> dict[str, Config]:
  """The encoders trained with the loop (:func:`fashion_pretrain.variants`); the stacked AE is
  :func:`fashion_pretrain.stacked_variant`."""
  return fashion_pretrain.variants(cfg.pretrain)


def notes(cfg: ml_collections.ConfigDict, count_names: list[str], seeds: list[int]) -> list[str]:
  """The results file's notes on the protocol; ``count_names``: the label counts as the tables name them."""
  pre = cfg.pretrain
  return [f"Stacked AE: 784-{pre.hidden[0]}-{pre.latent_dim} ReLU stack, greedy layer-wise pre-training "
          f"({pre.stage_steps} updates per stage) then end-to-end fine-tuning for the rest of the "
          f"{pre.num_steps}-update budget (vae_jax.stacked.greedy_pretrain).",
          f"Pre-training {pre.num_steps} updates (batch {pre.batch_size}); fine-tuning "
          + ", ".join(f"{st} steps for {n} labels" for st, n in zip(cfg.finetune_steps, count_names))
          + f" (Adam {cfg.finetune_lr:g}, batch min({cfg.finetune_batch}, labels)); linear probe: L-BFGS logistic "
          "regression, l2 = 1e-4, on the frozen code of the same labelled examples.",
          "Label draws per seed: " + ", ".join(f"{d} of {n} labels" for d, n in zip(cfg.label_draws, count_names))
          + f"; seeds {seeds}. Paired table: accuracy minus the random-init network's on the same draw (same "
          "labelled rows, head initialisation and batch order); ± the standard error over the pairs."]
