"""Every metric and figure that applies to one trained run, from its run directory (``experiments.evaluate``).

What applies is read from the run itself, never from a model class or method name:
  * every model: per-image BCE / MSE / PSNR / SSIM of the reconstructions; reconstruction grid; training curves;
  * a stochastic encoder (a posterior with a log-variance): importance-sampled NLL, ELBO, bits/dim; samples;
    per-dimension KL bars; latent traversals ordered by KL;
  * a method config with a corruption other than ``"none"``: PSNR/SSIM of noisy vs denoised; before/after grid;
  * labelled data: linear-probe accuracy of the code (vs raw pixels) and a 2-D latent scatter by class;
  * an outlier set (``ood_dir``, any MNIST-format IDX directory; by default the MNIST test set for a Fashion-MNIST
    run): AUROC/AUPRC from the reconstruction error and, with a stochastic encoder, the negative ELBO;
  * ground-truth factors (sprites / dSprites): the β-VAE metric, FactorVAE metric, MIG and DCI on fresh sprites.
"""

from __future__ import annotations

import functools
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import inference, methods, plots
from vae_jax.evaluation import likelihood, outliers, probe, reconstruction
from vae_jax.evaluation._sampling import GroundTruthSampler, sample_codes
from vae_jax.evaluation.beta_vae_metric import beta_vae_metric
from vae_jax.evaluation.dci import dci
from vae_jax.evaluation.disentanglement import ACTIVE_KL, kl_per_dim
from vae_jax.evaluation.factor_vae_metric import factor_vae_metric
from vae_jax.evaluation.mig import mig

__all__ = ["evaluate_run"]


def _reconstruction(model, params, test, out_dir, n_ssim: int) -> dict:
  x = test.images
  recon = inference.reconstruct(model, params, x)
  plots.reconstruction_grid(x[:12], recon[:12], os.path.join(out_dir, "reconstructions.png"))
  return {"mse_per_image": float(np.mean(reconstruction.per_image_mse(recon, x))),
          "bce_per_image": float(np.mean(reconstruction.per_image_bce(np.clip(recon, 1e-6, 1 - 1e-6), x,
                                                                      from_logits=False))),
          "psnr": float(np.mean(reconstruction.psnr(recon, x))),
          "ssim": float(np.mean(reconstruction.ssim(recon[:n_ssim], x[:n_ssim])))}


def _likelihood(model, params, test, key, out_dir, num_samples: int, num_images: int) -> dict:
  images = test.images[:num_images]
  t0 = time.perf_counter()
  isnll = likelihood.importance_sampled_nll(key, model, params, images, num_samples=num_samples, progress=True)
  elbo = likelihood.elbo(jax.random.fold_in(key, 1), model, params, images)
  metrics = {"is_nll": isnll["nll_mean"], "is_bits_per_dim": isnll["bits_per_dim_mean"], "num_samples": num_samples,
             "num_images": len(images), "elbo": float(np.mean(elbo)), "is_nll_seconds": time.perf_counter() - t0}
  post = inference.encode(model, params, test.images[:2000])
  kl_dim = kl_per_dim(post.mean, post.logvar)  # averaged over the test images; traversal rows ordered by it
  metrics["kl_per_dim"] = [float(v) for v in kl_dim]
  metrics["active_dims"] = int(np.sum(kl_dim > ACTIVE_KL))
  order = np.argsort(-kl_dim)[:10]
  plots.kl_per_dim_bars(kl_dim, os.path.join(out_dir, "kl_per_dim.png"))
  plots.latent_traversal(lambda z: inference.decode(model, params, z, batch_size=len(z)), post.mean[0],
                         os.path.join(out_dir, "traversal.png"), dims_order=order,
                         row_labels=[f"z{d} KL={kl_dim[d]:.2f}" for d in order])
  samples = model.apply({"params": params}, 64, key=jax.random.fold_in(key, 2), method="sample")
  plots.image_grid(np.asarray(samples), os.path.join(out_dir, "samples.png"), ncols=8)
  return metrics


def _denoising(model, params, test, key, method, out_dir) -> dict:
  corrupt = methods.make_corruption(method.corruption, method.noise_level)
  clean = test.images[:2000]
  noisy = np.clip(np.asarray(corrupt(key, jnp.asarray(clean))), 0, 1)
  denoised = inference.reconstruct(model, params, noisy)
  report = reconstruction.denoising_report(clean, noisy, denoised)
  plots.denoising_grid(clean[:10], noisy[:10], denoised[:10], os.path.join(out_dir, "denoising.png"))
  return {"corruption": method.corruption, "level": method.noise_level, **{k: float(v) for k, v in report.items()}}


def _probe(model, params, train_split, test, out_dir, num_train: int, stochastic: bool) -> dict:
  tr_x, tr_y = train_split.images[:num_train], train_split.labels[:num_train]
  tr_c, te_c = inference.encode(model, params, tr_x).mean, inference.encode(model, params, test.images).mean
  codes = probe.linear_probe(tr_c, tr_y, te_c, test.labels)
  pixels = probe.linear_probe(tr_x.reshape(len(tr_x), -1), tr_y, test.images.reshape(len(test.images), -1),
                              test.labels)
  dims = tuple(int(d) for d in np.argsort(-np.var(te_c, axis=0))[:2]) if stochastic else (0, 1)
  if te_c.shape[1] >= 2:
    plots.latent_scatter_2d(te_c[:3000], test.labels[:3000], os.path.join(out_dir, "latent_scatter.png"), dims=dims)
  return {"code_accuracy": float(codes["accuracy"]), "pixel_accuracy": float(pixels["accuracy"]),
          "num_train": int(len(tr_x))}


def _outlier_set(config, test, key, ood_dir: str | None) -> np.ndarray | str | None:
  """The outlier images (binarized like the run's data), a reason they are skipped, or ``None`` when none apply.

  Read before any metric is computed, so a wrong ``ood_dir`` fails at once."""
  from vae_jax import data  # deferred: only this section loads a second dataset

  if not ood_dir and config.data.name != "fashion_mnist":
    return None
  try:
    out_x = outliers.outlier_images(ood_dir, test.images.shape[1:], num=len(test.images))
  except data.DatasetNotFoundError as e:  # the default MNIST set only; an explicit ood_dir that is wrong raises
    return f"MNIST test set not available: {e}"[:300]
  if config.data.binarize == "dynamic":
    out_x = np.asarray(data.binarize_dynamic(jax.random.fold_in(key, 5), out_x))
  return out_x


def _outliers(model, params, test, key, out_x: np.ndarray, stochastic: bool) -> dict:
  sets = (test.images, out_x)
  scores = {"reconstruction_mse": [np.asarray(reconstruction.per_image_mse(inference.reconstruct(model, params, x), x))
                                   for x in sets]}
  if stochastic:
    scores["negative_elbo"] = [-likelihood.elbo(key, model, params, x) for x in sets]
    scores["negative_elbo_complexity_corrected"] = [
        np.asarray(outliers.complexity_corrected_score(e, x)) for e, x in zip(scores["negative_elbo"], sets)]
  return {"num_outliers": len(out_x),
          **{name: {"auroc": float(outliers.auroc(a, b)), "auprc": float(outliers.auprc(a, b))}
             for name, (a, b) in scores.items()}}


def _disentanglement(model, params, config, key, num_train: int) -> dict:
  from vae_jax.data import sprites  # deferred: only runs with ground-truth factors render sprites

  res = config.data.resolution if config.data.name == "sprites" else 64
  sampler = GroundTruthSampler(sprites.FACTOR_SIZES, functools.partial(sprites.render, resolution=res))
  rep = inference.code_fn(model, params)
  k = jax.random.split(key, 4)
  out = {"beta_vae_metric": beta_vae_metric(k[0], rep, sampler, num_train=num_train,
                                            num_eval=num_train // 2)["eval_accuracy"],
         "factor_vae_metric": factor_vae_metric(k[1], rep, sampler, num_train=num_train, num_eval=num_train // 2,
                                                num_variance_estimate=num_train)["eval_accuracy"]}
  codes, factors = (np.asarray(a) for a in sample_codes(k[2], rep, sampler, num_train))
  out["mig"] = float(mig(codes, factors)["mig"])
  tr = num_train * 4 // 5
  d = dci(codes[:tr], factors[:tr], codes[tr:], factors[tr:])
  out.update({f"dci_{k}": float(d[k]) for k in ("disentanglement", "completeness", "informativeness_test")})
  return {k: float(v) for k, v in out.items()}


def evaluate_run(workdir: str, *, num_samples: int = 1000, num_images: int = 10_000, probe_train: int = 10_000,
                 disentanglement_samples: int = 5000, ood_dir: str | None = None, out_dir: str | None = None,
                 command: str | None = None) -> dict:
  """Evaluates the run in ``workdir`` and writes ``<out_dir>/evaluation.json`` and the figures.

  Args:
    workdir: a run directory written by ``vae_jax.train.train_and_evaluate`` (holds ``config.json``).
    num_samples: importance samples K for the IS-NLL (5000 is the literature's setting).
    num_images: test images for the IS-NLL.
    probe_train: training codes for the linear probe.
    disentanglement_samples: codes for the disentanglement metrics.
    ood_dir: an MNIST-format IDX directory whose ``t10k-images-idx3-ubyte[.gz]`` is the outlier set; ``None``:
      the MNIST test set, for Fashion-MNIST runs only.
    out_dir: where the outputs go (default ``<workdir>/evaluation``).
    command: the command line to record.

  Returns:
    The results dict (also written as JSON).

  Raises:
    FileNotFoundError: ``ood_dir`` holds no test images. ValueError: their shape differs from the run's images.
  """
  from vae_jax import train  # deferred: the training stack imports nothing from evaluation, and stays light

  config, model, params, test = train.load_run(workdir)
  out_dir = out_dir or os.path.join(workdir, "evaluation")
  os.makedirs(out_dir, exist_ok=True)
  keys = jax.random.split(jax.random.fold_in(train.run_keys(config.seed).eval, 1000), 6)
  stochastic = inference.is_stochastic(model, params, test.images)
  out_x = _outlier_set(config, test, keys[3], ood_dir)
  t0 = time.perf_counter()
  results = {"workdir": os.path.abspath(workdir), "config": config.method.name, "model": config.model.kind,
             "command": command, "xla_flags": os.environ.get("XLA_FLAGS", "")}
  results["reconstruction"] = _reconstruction(model, params, test, out_dir, n_ssim=2000)
  if stochastic:
    results["likelihood"] = _likelihood(model, params, test, keys[0], out_dir, num_samples, num_images)
  if getattr(config.method, "corruption", "none") != "none":
    results["denoising"] = _denoising(model, params, test, keys[1], config.method, out_dir)
  if test.labels is not None:
    train_split, _ = train.load_splits(config, keys[2])
    results["linear_probe"] = _probe(model, params, train_split, test, out_dir, probe_train, stochastic)
  if out_x is not None:  # the default set keeps the key of the files already committed (experiments/results/evaluate)
    results["outliers" if ood_dir else "outliers_vs_mnist"] = (
        {"skipped": out_x} if isinstance(out_x, str) else
        {"ood_dir": ood_dir or "MNIST test set", **_outliers(model, params, test, keys[3], out_x, stochastic)})
  if test.factors is not None:
    results["disentanglement"] = _disentanglement(model, params, config, keys[4], disentanglement_samples)
  if os.path.exists(os.path.join(workdir, "metrics.jsonl")):
    plots.training_curves(train.run_dir.read_history(workdir), os.path.join(out_dir, "curves.png"))
  results["environment"] = train.environment()
  results["seconds"] = time.perf_counter() - t0
  results["figures"] = sorted(p for p in os.listdir(out_dir) if p.endswith(".png"))
  with open(os.path.join(out_dir, "evaluation.json"), "w") as f:
    json.dump(results, f, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o))
  return results
