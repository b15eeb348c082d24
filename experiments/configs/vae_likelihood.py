"""VAE and IWAE test log-likelihood on binarized Fashion-MNIST, samples, interpolations and a β rate–distortion sweep.

    python -m experiments.vae_likelihood                # full: the report's numbers
    python -m experiments.vae_likelihood --size quick   # 117 steps, β ∈ {1, 4}, K = 500 on 50 images
    python -m experiments.vae_likelihood --size smoke   # seconds (CI)

Protocol (full): the Flax example's MLP VAE (784-500-20, Bernoulli, ``experiments/configs/flax_vae_fashion.py``) on
dynamically binarized Fashion-MNIST (a fresh Bernoulli sample of the grey image every step), Adam 1e-3, batch 128,
936 steps (2 epochs — the IWAE objective costs ~5× a VAE step and 21 runs must fit the ~20-minute budget), 3 seeds,
trained with (a) the VAE's ELBO, (b) the IWAE bound with k = 5 samples, (c) β·KL for β ∈ {0.5, 2, 4, 8} (β = 1 is
run (a)). The test set is binarized **once** (key 1000) and shared by every model.

  * ELBO: one-sample ELBO with the analytic KL, on all 10,000 test images.
  * NLL: importance-sampled −log p(x) with K = 5000 samples of q(z|x) (Burda et al. 2016) on the **first 300** test
    images only (K = 5000 per image and model is the expensive part of this script on a CPU); the ELBO on
    the same 300 images, estimated from the same 5000 samples, is given next to it, so the gap is measured on
    identical images, and the IWAE − VAE difference is paired over the same images.
  * β sweep: rate = KL(q(z|x) ‖ p(z)) and distortion = −log p(x|z) (one sample), nats per image on the 10,000 test
    images, and the number of latent dimensions with a mean KL above 0.01 nats.

Figures (seed 0): 64 samples of the VAE and of the IWAE; latent interpolations of the VAE (decoded linear paths
between the posterior means of test images of different classes); the rate–distortion curve of the β sweep.

Expected result: the IWAE has the better likelihood and the worse ELBO, with a larger gap −ELBO − NLL — it trains
for a tighter importance-weighted bound, not for an encoder q(z|x) close to the true posterior. The β sweep should
trace a monotone rate–distortion curve (rate falls and distortion rises with β, the −ELBO lowest near β = 1) and
switch latent dimensions off at large β. Measured −ELBO, NLL, gap, KL and ESS per objective, the paired IWAE − VAE
NLL difference and the β sweep (mean ± std over 3 seeds): ``experiments/results/vae_likelihood.json``, section 3 of
``experiments/REPORT.md``. Note that the first 300 test images are not a random sample (compare their −ELBO with the
10k mean in the same table); the NLL of a VAE of this kind on all 10,000 test images is in
``experiments/results/evaluate/README.md``. Readings of the samples and interpolations: ``experiments/NOTES.md``
(VAE likelihood). The wall time is ``wall_time_s`` in the results file.
"""

from __future__ import annotations

import dataclasses

import ml_collections

from experiments import configs
from experiments.configs import flax_vae_fashion
from vae_jax.configs import Config
from vae_jax.methods import beta_vae, iwae, vae

SIZES = configs.SIZES


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """The protocol at ``size`` (``smoke``, ``quick`` or ``full``)."""
  return configs.sized(
      size,
      full=dict(num_steps=936, hidden=(500,), latent_dim=20, batch_size=128, log_every=117, num_train=0, num_test=0,
                num_samples=5000, num_nll_images=300, betas=(0.5, 1.0, 2.0, 4.0, 8.0),
                test_key=1000,  # the one binarization of the test set: jax.random.key(test_key)
                active_kl=0.01,  # nats: a latent dimension with a larger mean KL counts as active
                # The likelihood table's rows: (variant, label); each also gets its samples figure (first seed).
                likelihood_rows=(("vae", "VAE (ELBO)"), ("iwae", "IWAE (k = 5)")),
                paired=("iwae", "vae"),  # the paired NLL difference: first − second
                interpolation_variant="vae"),  # the model whose latent interpolations are drawn
      quick=dict(num_steps=117, num_test=2000, num_samples=500, num_nll_images=50, betas=(1.0, 4.0)),
      smoke=dict(num_steps=4, hidden=(32,), latent_dim=4, batch_size=32, log_every=2, num_train=256, num_test=128,
                 num_samples=16, num_nll_images=16, betas=(1.0, 4.0)))


def beta_variant(beta: float) -> str:
  """The variant of the β sweep at ``beta``: β = 1 is the plain VAE."""
  return "vae" if beta == 1.0 else f"beta{beta:g}"


def _config(cfg, method) -> Config:
  base = flax_vae_fashion.get_config()
  return dataclasses.replace(
      base, model=dataclasses.replace(base.model, hidden=tuple(cfg.hidden), latent_dim=cfg.latent_dim),
      method=method, data=dataclasses.replace(base.data, num_train=cfg.num_train, num_test=cfg.num_test),
      batch_size=cfg.batch_size, num_steps=cfg.num_steps, log_every=cfg.log_every, eval_every=cfg.num_steps,
      checkpoint_every=cfg.num_steps, eval_batch_size=min(1000, cfg.num_test or 1000), figures=False,
      tensorboard=False, progress=False)


def variants(cfg) -> dict[str, Config]:
  """The VAE, the IWAE (k = 5) and the β-VAEs of the sweep (β ≠ 1), by name."""
  out = {"vae": _config(cfg, vae.Config()), "iwae": _config(cfg, iwae.Config(num_samples=5))}
  out.update({beta_variant(b): _config(cfg, beta_vae.Config(beta=b)) for b in cfg.betas if b != 1.0})
  return out


def notes(cfg, seeds: list[int], num_test: int, paired: str) -> list[str]:
  """The results file's notes; ``paired``: the formatted paired NLL difference IWAE − VAE."""
  return [f"MLP VAE 784-{cfg.hidden[0]}-{cfg.latent_dim}, Bernoulli, dynamically binarized training data, "
          f"Adam 1e-3, batch {cfg.batch_size}, {cfg.num_steps} steps "
          f"({cfg.num_steps * cfg.batch_size / 60000:.1f} epochs); mean ± std over seeds {seeds}.",
          f"Test set binarized once (key {cfg.test_key}), shared by all models. NLL: importance sampling with "
          f"K={cfg.num_samples} on the first {cfg.num_nll_images} test images; ELBO: one sample, analytic KL, "
          f"{num_test} images.",
          f"Paired NLL difference IWAE − VAE on the same {cfg.num_nll_images} images: {paired} nats "
          "(negative: the IWAE assigns higher likelihood).",
          "All nats per image; bits/dim = nats / (784 · ln 2)."]
