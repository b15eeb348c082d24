"""Semi-supervised Fashion-MNIST: does unsupervised pre-training (AE, DAE, VAE, stacked AE) help with few labels?

Protocol. The four encoders of ``experiments/configs/fashion_pretrain.py`` (AE, DAE with 25 % masking noise, VAE
with its posterior mean as the code, each trained with the one loop, and the stacked AE of the same layer sizes,
greedily pre-trained and fine-tuned end to end; MLP 784-500-20, the same number of updates) are pre-trained
without labels on the 60 000 training images. For 100, 1000 and all 60 000 labels (a class-balanced random subset
per seed, :func:`vae_jax.evaluation.balanced_subset`) each encoder is used as

* **fine-tuned**: encoder + a softmax head on the 20-d code (:func:`vae_jax.evaluation.fine_tuned_accuracy`),
  every weight trained with Adam 1e-3 for a fixed number of steps (below);
* **linear probe**: a multinomial logistic regression on the frozen code (:func:`vae_jax.evaluation.linear_probe`);

against the **same network from random init**, fine-tuned with the same steps. The table is test accuracy on the
10 000 test images, mean ± std over seeds (each seed re-draws the pre-training, the label subset and the head).

Sizes: ``full``: pre-training 2000 steps (4.3 epochs; the stacked AE: 600 per stage, then 800 end to end);
fine-tuning 150 / 300 / 1000 steps for 100 / 1000 / 60 000 labels (batch min(128, labels)); 3 seeds. ``quick``:
300 pre-training steps, 100 / 1000 / 10,000 labels with 40 / 80 / 200 fine-tuning steps, 2000 test images.
``smoke``: 256 training images, a 32-unit MLP, a few steps, 20 labels only, no DAE.

Expected result (the usual story): pre-trained encoders help most with 100 labels, the gap shrinks with more
labels, and fine-tuning beats a linear probe on the frozen code. Whether the gain from pre-training exceeds the
seed noise at this budget is what the table shows: test accuracy of every encoder, fine-tuned and probed, against
random init, per label count (mean ± std over 3 seeds): ``experiments/results/semi_supervised.json``, the
"Semi-supervised" section of ``experiments/REPORT.md``; reading: ``experiments/NOTES.md`` (Semi-supervised). The
pre-trained encoders are reused by attribute_vectors and interpolation.
"""

from __future__ import annotations

import ml_collections

from experiments import configs
from experiments.configs import fashion_pretrain
from vae_jax.configs import Config

SIZES = fashion_pretrain.SIZES


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """The pre-training (``pretrain``: :mod:`fashion_pretrain`), the label counts (0 = all) with the fine-tuning
  updates of each, the fine-tuning learning rate and batch, and the number of classes."""
  return configs.sized(
      size,
      full=dict(pretrain=fashion_pretrain.get_config(size), label_counts=(100, 1000, 0),
                finetune_steps=(150, 300, 1000), finetune_lr=1e-3, finetune_batch=128, num_classes=10),
      quick=dict(label_counts=(100, 1000, 10_000), finetune_steps=(40, 80, 200)),
      smoke=dict(label_counts=(20,), finetune_steps=(2,)))


def variants(cfg: ml_collections.ConfigDict) -> dict[str, Config]:
  """The encoders trained with the loop (:func:`fashion_pretrain.variants`); the stacked AE is
  :func:`fashion_pretrain.stacked_variant`."""
  return fashion_pretrain.variants(cfg.pretrain)
