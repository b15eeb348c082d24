"""Linear vs spherical interpolation between VAE codes on Fashion-MNIST, as figures and code-norm profiles.

Protocol. The VAE is the ``vae`` of ``experiments/configs/fashion_pretrain.py`` (MLP 784-500-20, grey
Fashion-MNIST, Bernoulli; the run semi_supervised trains, reused). Between two codes,
:func:`vae_jax.latent.interpolate` gives ``linear`` and ``slerp`` paths (great circle of the directions, norm
interpolated linearly), each decoded to images:

* **test pairs**: posterior means of two test images of different classes;
* **prior pairs**: two draws from the prior N(0, I), where the two methods differ most: independent Gaussian
  vectors in 20-d are nearly orthogonal with norm ≈ √20, so the linear midpoint has norm ≈ √10, a region the prior
  (and so the decoder) rarely sees; slerp keeps the norm.

Reported per method, mean ± std over seeds (each seed: its own VAE and pairs): the path's code norm relative to its
endpoints (at the midpoint, and the minimum along the path), and where the midpoint's squared norm falls in the
prior's χ² distribution (≈ 0.5 for a typical prior draw; :func:`vae_jax.evaluation.norm_profile`). Figures: one row
per path, linear above slerp.

Sizes: ``full``: the VAE of ``semi_supervised --size full``, 1000 pairs of each kind for the statistics, 11 steps
per path, 3 seeds. ``quick``: its quick VAE, 200 pairs (seconds once that VAE is trained). ``smoke``: a few
training steps, 16 pairs.

Expected result: linear midpoints are ≈ 1/√2 ≈ 0.71 as long as their endpoints for both kinds of pairs (posterior
means of different-class images are nearly orthogonal too), which puts a midpoint at a low χ² percentile: off the
prior's typical shell. Slerp keeps the norm (ratio 1, percentile ≈ 0.5 for prior pairs). Measured norm ratios,
percentiles and endpoint norms (mean ± std over 3 seeds): ``experiments/results/interpolation.json``, the "Latent
interpolation" section of ``experiments/REPORT.md``.
"""

from __future__ import annotations

import ml_collections

from experiments import configs
from experiments.configs import fashion_pretrain
from vae_jax.configs import Config

SIZES = fashion_pretrain.SIZES


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """The VAE's pre-training (``pretrain``), pairs of each kind, points per path, paths of each kind in the figures."""
  return configs.sized(size, full=dict(pretrain=fashion_pretrain.get_config(size), num_pairs=1000, num_steps=11,
                                       figure_pairs=4),
                       quick=dict(num_pairs=200), smoke=dict(num_pairs=16))


def variants(cfg: ml_collections.ConfigDict) -> dict[str, Config]:
  """The VAE only, in the shared runs folder ``fashion_pretrain.RUNS``."""
  return {"vae": fashion_pretrain.variants(cfg.pretrain)["vae"]}
