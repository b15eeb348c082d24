"""Outlier detection with AE, DAE and VAE scores: a held-out Fashion-MNIST class, and MNIST vs Fashion-MNIST.

    python -m experiments.outliers                # full: the report's numbers
    python -m experiments.outliers --size quick   # 234 steps, K = 20, 1300 test images
    python -m experiments.outliers --size smoke   # seconds (CI)

Protocol (full). Every model is trained on the Fashion-MNIST training set **without class 0 (T-shirt/top)**
(``data.exclude_label=0``; 54,000 images), Adam 1e-3, batch 128, 42,200 steps (100 epochs, issue #18: the budget of
the likelihood study's models, ``experiments/configs/fashion_likelihood.py``), 3 seeds:
  * AE: MLP 784-500-20-500-784, Bernoulli cross-entropy on grey pixels;
  * DAE: the same, trained with additive Gaussian noise σ = 0.3;
  * VAE: the Flax example's MLP VAE (784-500-20, Bernoulli) on dynamically binarized images;
  * background VAE (for the likelihood ratio of Ren et al. 2019): the same VAE trained on the same images with 20 %
    of the pixels replaced by uniform random grey levels (``vae_jax.noise.uniform_replacement``, drawn once per
    seed), then dynamically binarized.
Test sets: inliers = all 9000 Fashion-MNIST test images of the nine training classes; (a) outliers = the 1000 test
images of the held-out class 0; (b) outliers = the first 10,000 images of the outlier set
``ood_dir`` — any MNIST-format IDX directory holding ``t10k-images-idx3-ubyte[.gz]`` of 28×28 images; empty (the
default) means the MNIST test set (``--config.ood_dir DIR``). Models that train on dynamically binarized data score
binarized images (binarized once, key 1000), the others grey images. One held-out class only: several classes in
turn would multiply that budget. (b) reuses the class-0-less models, so its inliers are the nine classes
those models were trained on.
Scores (higher = more outlying): reconstruction MSE per pixel (AE, DAE, VAE posterior mean); for a model with a
stochastic encoder also −ELBO (mean of the K log-weights) and the importance-sampled NLL with **K = 100** samples
(not 5000: 20,000 images × 2 models × 3 seeds); the complexity-corrected NLL (NLL in bits minus the PNG length of
the binarized image, Serrà et al. 2020), the likelihood ratio NLL − NLL_background (Ren et al. 2019) and the
likelihood regret (Xiao et al. 2020: how much one image's ELBO rises when its posterior is optimised for it alone,
100 Adam steps, :func:`vae_jax.evaluation.likelihood_regret`) on the first 2000 images of each test set (per image
it costs about 17 times the K = 100 NLL). The PNG length alone (no model) is given as a reference. AUROC, AUPRC
(outliers = the positive class; AUPRC's chance level is the outlier fraction: 0.1 in (a), 0.53 in (b), 1/3 and 1/2
for the regret's subsets) and the false-positive rate at 95 % true-positive rate.

Expected result: (a) is hard — T-shirts look like shirts, pullovers and dresses — and (b) splits by score. What to
look for in (b): whether the raw likelihood ranks MNIST as *more* likely than Fashion-MNIST (Nalisnick et al. 2019:
binarized digits have few ink pixels and are simple, which the PNG length alone shows), whether subtracting the PNG
length fixes (b) at the cost of (a) (T-shirts are more complex than the average inlier, so the correction pushes
them further in), and whether the grey-level AE and DAE separate MNIST's saturated strokes — a contrast that is
partly the input representation (grey for the AEs, binarized for the VAE), not only the model. Measured AUROC,
AUPRC and FPR at 95 % TPR for every model and score, and the mean score per test set (mean ± std over 3 seeds):
``experiments/results/outliers.json``, section 5 of ``experiments/REPORT.md``; the reading of those numbers:
``experiments/NOTES.md`` (Outliers). The wall time is ``wall_time_s`` in the results file.
"""

from __future__ import annotations

import dataclasses
import os

import ml_collections

from experiments import configs
from experiments.configs import flax_vae_fashion
from vae_jax.configs import Config, DataConfig, ModelConfig
from vae_jax.methods import ae

SIZES = configs.SIZES


def get_config(size: str = "full") -> ml_collections.ConfigDict:
  """The protocol at ``size`` (``smoke``, ``quick`` or ``full``)."""
  return configs.sized(
      size,
      full=dict(num_steps=42_200, hidden=(500,), latent_dim=20, batch_size=128, log_every=422, num_train=0,
                num_in=9000, num_out_class=1000, num_out_ood=10_000, num_samples=100,
                held_out=0,  # the Fashion-MNIST class left out of training: outliers of (a)
                dae_sigma=0.3,
                background_rate=0.2,  # fraction of pixels replaced by uniform grey levels in the background's data
                test_key=1000,  # binarization of the test sets: fold_in(jax.random.key(test_key), set index)
                background_key=2000,  # perturbation of the background model's data for seed s: key(background_key + s)
                regret_steps=100,  # the VAE's likelihood regret (Xiao et al. 2020): steps per image ...
                regret_images=2000,  # ... on the first images of each test set (it costs ~17× the K = 100 NLL)
                ood_dir="",  # outliers of (b): an MNIST-format IDX directory; "" = the MNIST test set
                ood_name="",  # its name in the tables; "": MNIST, or the directory's name
                background_of="vae",  # the variant whose likelihood the background model's divides (its config)
                # The score histograms of the figure (first seed): (variant, score key of the script, axis label[,
                # "log" for a log x-axis]).
                histograms=(("ae", "mse", "AE reconstruction MSE"), ("vae", "nll", "VAE NLL (K={k}), nats"),
                            ("vae", "corrected", "VAE complexity-corrected NLL, bits"),
                            ("vae", "ratio", "VAE likelihood ratio, nats"),
                            ("vae", "regret", "VAE likelihood regret, nats (log axis)", "log"))),
      quick=dict(num_steps=234, log_every=117, num_in=500, num_out_class=300, num_out_ood=500, num_samples=20,
                 regret_steps=50, regret_images=300),
      smoke=dict(num_steps=4, hidden=(32,), latent_dim=4, batch_size=32, log_every=2, num_train=256, num_in=64,
                 num_out_class=64, num_out_ood=64, num_samples=4, regret_steps=3, regret_images=16))


def _run_fields(cfg) -> dict:
  return dict(batch_size=cfg.batch_size, num_steps=cfg.num_steps, log_every=cfg.log_every,
              eval_every=cfg.num_steps, checkpoint_every=cfg.num_steps,
              eval_batch_size=64 if cfg.num_train else 1000, figures=False, tensorboard=False, progress=False)


def _data(cfg, base: DataConfig) -> DataConfig:
  return dataclasses.replace(base, exclude_label=cfg.held_out, num_train=cfg.num_train,
                             num_test=128 if cfg.num_train else 0)


def _ae(cfg, **method) -> Config:
  return Config(model=ModelConfig(kind="ae", hidden=tuple(cfg.hidden), latent_dim=cfg.latent_dim,
                                  likelihood="bernoulli"),
                method=ae.Config(**method), data=_data(cfg, DataConfig(name="fashion_mnist")), **_run_fields(cfg))


def vae_config(cfg) -> Config:
  """The Flax example's VAE at this size: the ``vae`` variant, and the background model (on perturbed data)."""
  base = flax_vae_fashion.get_config()
  return dataclasses.replace(
      base, model=dataclasses.replace(base.model, hidden=tuple(cfg.hidden), latent_dim=cfg.latent_dim),
      data=_data(cfg, base.data), **_run_fields(cfg))


def variants(cfg) -> dict[str, Config]:
  """The three scored models, by name (upper-cased in the tables)."""
  return {"ae": _ae(cfg), "dae": _ae(cfg, corruption="gaussian", noise_level=cfg.dae_sigma), "vae": vae_config(cfg)}


def ood_name(cfg) -> str:
  """The outlier set (b)'s name in the tables: ``ood_name``, else MNIST or the directory's name."""
  return cfg.ood_name or (os.path.basename(os.path.normpath(cfg.ood_dir)) if cfg.ood_dir else "MNIST")


def notes(cfg, seeds: list[int], counts: dict[str, int], held: str) -> list[str]:
  """The results file's notes; ``counts``: the number of images of each test set (``in``, ``class``, ``ood``);
  ``held``: the held-out class's name."""
  return [f"Models trained without Fashion-MNIST class {cfg.held_out} ({held}), {cfg.num_steps} steps of batch "
          f"{cfg.batch_size}; mean ± std over seeds {seeds}.",
          f"Test sets: {counts['in']} inliers (Fashion-MNIST test, classes ≠ {cfg.held_out}), {counts['class']} "
          f"held-out-class and {counts['ood']} {ood_name(cfg)} test images (the first of each). VAE scores on "
          "binarized images (binarized once), AE/DAE on grey images.",
          f"IS-NLL and −ELBO from K={cfg.num_samples} importance samples; complexity correction with PNG lengths "
          f"(Serrà et al. 2020); background VAE trained on {cfg.background_rate:.0%}-perturbed images (Ren et al. "
          "2019).",
          "Every score is 'higher = more outlying'; an AUROC below 0.5 means the score ranks the outliers as *more* "
          "typical than the inliers."]
