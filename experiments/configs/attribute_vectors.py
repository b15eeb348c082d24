"""Attribute vectors on Fashion-MNIST: move a VAE code by a class-mean difference and ask a classifier what it sees.

Protocol. The VAE is the ``vae`` of ``experiments/configs/fashion_pretrain.py`` (MLP 784-500-20, grey
Fashion-MNIST, Bernoulli; the run semi_supervised trains, reused). Per seed
(:func:`vae_jax.evaluation.attribute_edits`):

1. The posterior means of the 60 000 training images give one attribute vector per ordered class pair,
   ``v(s→t) = mean code of class t − mean code of class s`` (:func:`vae_jax.latent.attribute_vector`).
2. Test images of class ``s`` are encoded, moved by ``α·v(s→t)`` (:func:`vae_jax.latent.apply_attribute`) for
   α ∈ {0, 0.5, 1, 1.5, 2} and decoded (the Bernoulli mean). α = 0 is the plain reconstruction.
3. A judge — an MLP classifier (784-512-256-10, :func:`vae_jax.evaluation.train_judge`) trained on the real
   training images — labels each edited image. **Success** = the judge says ``t``; **drift** = pixel MSE between the
   edited image and the source image. Averaged over all 90 ordered pairs.
4. Baseline on the same images: the same arithmetic in pixel space, ``clip(x + α·(mean image of t − mean image of
   s), 0, 1)``.

Sizes: ``full``: the VAE of ``semi_supervised --size full`` (23,400 steps, 50 epochs), the judge trained 1500
steps (3.2 epochs), 100 test images per source class, 3 seeds. ``quick``: its quick VAE, judge 300 steps, 30
images per class.
``smoke``: a few steps of everything.

Expected result: at α = 1 most edited codes decode to images the judge assigns to the target class (success far
above the α = 0 rate, which is just the judge's confusion between s and t), rising with α at the price of more
drift. Compare with the pixel-space baseline: a judge may accept pixel-space superpositions, which still visibly
contain the source garment, as the target about as often as latent edits — the success rate measures evidence for
the target under this judge, not realism, and the drift shows what each edit costs. Measured success and drift per
α for both edits, the judge's accuracy on real test images and the success rate per class pair (mean ± std over 3
seeds; per pair: seed 0): ``experiments/results/attribute_vectors.json``, the "Attribute vectors" section of
``experiments/REPORT.md``; reading: ``experiments/NOTES.md`` (Attribute vectors).
"""

from __future__ import annotations

import ml_collections

from experiments import configs
from experiments.configs import fashion_pretrain
from vae_jax.configs import Config

SIZES = fashion_pretrain.SIZES
CLASS_NAMES = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot")


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """The VAE's pre-training (``pretrain``), the judge (MLP widths, updates, Adam learning rate), the test images per
  source class, the edit strengths and the (source, target) pairs shown in the figure."""
  return configs.sized(
      size,
      full=dict(pretrain=fashion_pretrain.get_config(size), judge_hidden=(512, 256), judge_steps=1500, judge_lr=1e-3,
                per_class=100, alphas=(0.0, 0.5, 1.0, 1.5, 2.0),
                figure_pairs=((7, 9), (9, 5), (1, 3), (2, 4), (0, 6), (5, 8))),
      quick=dict(judge_steps=300, per_class=30),
      smoke=dict(judge_hidden=(16,), judge_steps=2, per_class=4))


def variants(cfg: ml_collections.ConfigDict) -> dict[str, Config]:
  """The VAE only, in the shared runs folder ``fashion_pretrain.RUNS``."""
  return {"vae": fashion_pretrain.variants(cfg.pretrain)["vae"]}
