"""Denoising autoencoder vs plain autoencoder under Gaussian and masking corruption of Fashion-MNIST.

Protocol (full): three MLP autoencoders 784-500-32-500-784 (ReLU, Bernoulli cross-entropy on grey pixels, Adam 1e-3,
batch 128, 2340 steps = 5 epochs, 3 seeds): a plain AE, a DAE trained with additive Gaussian noise σ = 0.3
(unclipped) and a DAE trained with masking noise at rate 0.3 (each pixel zeroed with probability 0.3). One DAE per
corruption family, trained at the middle level and tested at every level — five DAEs per family would not fit the
20-minute budget. Test: the whole 10,000-image test set, corrupted at σ ∈ {0.1, …, 0.5} and at masking rates
{10 %, …, 50 %} (the same noise for every model of a seed: key ``1000 + seed``), plus the clean input (level 0).
PSNR (dB, mean over images) and SSIM against the clean image, of the corrupted input itself (the baseline; for
Gaussian noise also clipped to [0, 1], the trivial denoiser), of the AE and of both DAEs. Figures: clean / noisy /
AE / DAE rows at three levels, one figure per family (seed 0). ``quick``: 234 steps, 2000 test images; ``smoke``:
a few steps of a tiny net (CI).

Expected result: the matching DAE beats the AE at every level from 0.2 up, by more as the noise grows. At the lowest
Gaussian level nothing should beat the clipped noisy input, because the 32-d code's own reconstruction error is
larger than the noise. Across families, look at whether each DAE helps or hurts under the other family's noise and
on clean inputs. Measured PSNR and SSIM (mean ± std over 3 seeds) for every model, family and level:
``experiments/results/denoising.json``, section 2 of ``experiments/REPORT.md``; readings of the figures and the
masking DAE's brightness shift: ``experiments/NOTES.md`` (Denoising). The wall time of each run is ``wall_time_s``
in the results file.
"""

from __future__ import annotations

import ml_collections

from experiments import configs
from vae_jax.configs import Config, DataConfig, ModelConfig
from vae_jax.methods import ae

SIZES = configs.SIZES


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """Training (steps, MLP, code, batch, host syncs, train/test subset with 0 = all) and the test corruptions: the
  families, their levels (the same for each), the DAEs' training level, the levels shown in the figures and the
  offset of the test-noise key (seed ``s`` corrupts with ``key(eval_key_offset + s)``)."""
  return configs.sized(
      size,
      full=dict(num_steps=2340, hidden=(500,), latent_dim=32, batch_size=128, log_every=117, num_train=0, num_test=0,
                families=("gaussian", "masking"), levels=(0.1, 0.2, 0.3, 0.4, 0.5), train_level=0.3,
                figure_levels=(0.1, 0.3, 0.5), eval_key_offset=1000),
      quick=dict(num_steps=234, num_test=2000),
      smoke=dict(num_steps=4, hidden=(32,), latent_dim=8, batch_size=32, log_every=2, num_train=256, num_test=128))


def labels(cfg: ml_collections.ConfigDict) -> dict[str, str]:
  """Variant → table column: ``ae`` and one ``dae_<family>`` per corruption family."""
  names = {"gaussian": f"Gaussian σ={cfg.train_level}", "masking": f"masking {cfg.train_level:.0%}"}
  return {"ae": "AE", **{f"dae_{f}": f"DAE ({names.get(f, f'{f} {cfg.train_level}')})" for f in cfg.families}}


def figure_rows(family: str) -> tuple[tuple[str, str], ...]:
  """(row label, variant) of the models shown under ``family``'s noise: the AE and that family's DAE."""
  return (("AE", "ae"), ("DAE", f"dae_{family}"))


def variants(cfg: ml_collections.ConfigDict) -> dict[str, Config]:
  """The plain AE and one DAE per family, trained at ``train_level`` (keys as in :func:`labels`)."""
  methods = {"ae": ae.Config(), **{f"dae_{f}": ae.Config(corruption=f, noise_level=cfg.train_level)
                                   for f in cfg.families}}
  return {name: Config(
      model=ModelConfig(kind="ae", hidden=tuple(cfg.hidden), latent_dim=cfg.latent_dim, likelihood="bernoulli"),
      method=method, data=DataConfig(name="fashion_mnist", num_train=cfg.num_train, num_test=cfg.num_test),
      batch_size=cfg.batch_size, num_steps=cfg.num_steps, log_every=cfg.log_every, eval_every=cfg.num_steps,
      checkpoint_every=cfg.num_steps, eval_batch_size=min(1000, cfg.num_test or 1000), figures=False,
      tensorboard=False, progress=False) for name, method in methods.items()}
