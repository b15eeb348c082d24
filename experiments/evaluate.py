"""Evaluates a trained run: every applicable metric (JSON) and figure, written to ``<workdir>/evaluation/``.

    python -m experiments.evaluate --workdir runs/vae_fashion              # a VAE on Fashion-MNIST
    python -m experiments.evaluate --workdir runs/bvae_sprites --num-samples 100

What applies depends on the run:
  * every model: per-image BCE / MSE / PSNR / SSIM of the reconstructions; reconstruction grid; training curves;
  * a VAE: importance-sampled NLL (``--num-samples`` K, default 1000; 5000 is the literature's setting), ELBO,
    bits/dim; samples; per-dimension KL bars; latent traversals ordered by KL;
  * a denoising objective: PSNR/SSIM of noisy vs denoised at the run's corruption; before/after grid;
  * labelled data: linear-probe accuracy of the code (vs raw pixels) and a 2-D latent scatter by class;
  * Fashion-MNIST: outlier AUROC/AUPRC against the MNIST test set (when present) from reconstruction error and,
    for a VAE, the negative ELBO;
  * sprites / dSprites: the β-VAE metric, FactorVAE metric, MIG and DCI on freshly rendered sprites.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import evaluation, inference, methods, plots, train


def _reconstruction(model, params, test, out_dir, n_ssim: int) -> dict:
  x = test.images
  recon = inference.reconstruct(model, params, x)
  metrics = {
      "mse_per_image": float(np.mean(evaluation.per_image_mse(recon, x))),
      "bce_per_image": float(np.mean(evaluation.per_image_bce(np.clip(recon, 1e-6, 1 - 1e-6), x,
                                                               from_logits=False))),
      "psnr": float(np.mean(evaluation.psnr(recon, x))),
      "ssim": float(np.mean(evaluation.ssim(recon[:n_ssim], x[:n_ssim]))),
  }
  plots.reconstruction_grid(x[:12], recon[:12], os.path.join(out_dir, "reconstructions.png"))
  return metrics


def _likelihood(model, params, test, key, out_dir, num_samples: int, num_images: int) -> dict:
  images = test.images[:num_images]
  t0 = time.perf_counter()
  isnll = evaluation.importance_sampled_nll(key, model, params, images, num_samples=num_samples, progress=True)
  elbo = evaluation.elbo(jax.random.fold_in(key, 1), model, params, images)
  metrics = {"is_nll": isnll["nll_mean"], "is_bits_per_dim": isnll["bits_per_dim_mean"], "num_samples": num_samples,
             "num_images": len(images), "elbo": float(np.mean(elbo)), "is_nll_seconds": time.perf_counter() - t0}
  # KL per latent dimension, averaged over the test images; traversal rows ordered by it.
  mean, logvar = inference.encode(model, params, test.images[:2000])
  kl_dim = np.mean(0.5 * (np.exp(logvar) + mean**2 - 1 - logvar), axis=0)
  metrics["kl_per_dim"] = [float(v) for v in kl_dim]
  metrics["active_dims"] = int(np.sum(kl_dim > 0.01))
  order = np.argsort(-kl_dim)
  plots.kl_per_dim_bars(kl_dim, os.path.join(out_dir, "kl_per_dim.png"))
  plots.latent_traversal(lambda z: inference.decode(model, params, z, batch_size=len(z)), mean[0], os.path.join(out_dir, "traversal.png"),
                         dims_order=order[:min(10, len(order))],
                         row_labels=[f"z{d} KL={kl_dim[d]:.2f}" for d in order[:min(10, len(order))]])
  samples = model.apply({"params": params}, 64, key=jax.random.fold_in(key, 2), method="sample")
  plots.image_grid(np.asarray(samples), os.path.join(out_dir, "samples.png"), ncols=8)
  return metrics


def _denoising(model, params, test, key, config, out_dir) -> dict:
  obj = config.method
  corrupt = methods.make_corruption(obj.corruption, obj.noise_level)
  clean = test.images[:2000]
  noisy = np.asarray(corrupt(key, jnp.asarray(clean)))
  denoised = inference.reconstruct(model, params, noisy)
  report = evaluation.denoising_report(clean, np.clip(noisy, 0, 1), denoised)
  plots.denoising_grid(clean[:10], np.clip(noisy[:10], 0, 1), denoised[:10], os.path.join(out_dir, "denoising.png"))
  return {"corruption": obj.corruption, "level": obj.noise_level, **{k: float(v) for k, v in report.items()}}


def _probe(model, params, config, test, key, out_dir, num_train: int) -> dict:
  train_split, _ = train.load_splits(config, key)
  tr_x, tr_y = train_split.images[:num_train], train_split.labels[:num_train]
  tr_c, te_c = inference.encode(model, params, tr_x).mean, inference.encode(model, params, test.images).mean
  probe = evaluation.linear_probe(tr_c, tr_y, te_c, test.labels)
  pixels = evaluation.linear_probe(tr_x.reshape(len(tr_x), -1), tr_y, test.images.reshape(len(test.images), -1),
                                   test.labels)
  dims = (0, 1)
  if inference.is_stochastic(model, params, test.images):
    var = np.var(te_c, axis=0)
    dims = tuple(int(d) for d in np.argsort(-var)[:2])
  if te_c.shape[1] >= 2:
    plots.latent_scatter_2d(te_c[:3000], test.labels[:3000], os.path.join(out_dir, "latent_scatter.png"), dims=dims)
  return {"code_accuracy": float(probe["accuracy"]), "pixel_accuracy": float(pixels["accuracy"]),
          "num_train": int(len(tr_x))}


def _outliers(model, params, config, test, key) -> dict:
  from vae_jax import data as data_lib

  try:
    mnist = data_lib.load("mnist", split="test")
  except (FileNotFoundError, ValueError) as e:
    return {"skipped": f"MNIST test set not available: {e}"[:300]}
  out_x = mnist.images[:len(test.images)]
  if config.data.binarize == "dynamic":
    out_x = np.asarray(data_lib.binarize_dynamic(jax.random.fold_in(key, 5), out_x))
  scores = {}
  err_in = np.asarray(evaluation.per_image_mse(inference.reconstruct(model, params, test.images), test.images))
  err_out = np.asarray(evaluation.per_image_mse(inference.reconstruct(model, params, out_x), out_x))
  scores["reconstruction_mse"] = (err_in, err_out)
  if inference.is_stochastic(model, params, test.images):
    e_in = -evaluation.elbo(key, model, params, test.images)
    e_out = -evaluation.elbo(key, model, params, out_x)
    scores["negative_elbo"] = (e_in, e_out)
    scores["negative_elbo_complexity_corrected"] = (
        np.asarray(evaluation.complexity_corrected_score(e_in, test.images)),
        np.asarray(evaluation.complexity_corrected_score(e_out, out_x)))
  return {name: {"auroc": float(evaluation.auroc(a, b)), "auprc": float(evaluation.auprc(a, b))}
          for name, (a, b) in scores.items()}


def _disentanglement(model, params, config, key, num_train: int) -> dict:
  from vae_jax.data import sprites

  res = config.data.resolution if config.data.name == "sprites" else 64
  sampler = evaluation.GroundTruthSampler(sprites.FACTOR_SIZES, functools.partial(sprites.render, resolution=res))
  rep = inference.code_fn(model, params)
  k = jax.random.split(key, 4)
  out = {
      "beta_vae_metric": evaluation.beta_vae_metric(k[0], rep, sampler, num_train=num_train,
                                                    num_eval=num_train // 2)["eval_accuracy"],
      "factor_vae_metric": evaluation.factor_vae_metric(k[1], rep, sampler, num_train=num_train,
                                                        num_eval=num_train // 2,
                                                        num_variance_estimate=num_train)["eval_accuracy"],
  }
  codes, factors = evaluation.sample_codes(k[2], rep, sampler, num_train)
  out["mig"] = float(evaluation.mig(np.asarray(codes), np.asarray(factors))["mig"])
  tr = num_train * 4 // 5
  d = evaluation.dci(np.asarray(codes[:tr]), np.asarray(factors[:tr]), np.asarray(codes[tr:]),
                     np.asarray(factors[tr:]))
  out.update({f"dci_{k}": float(d[k]) for k in ("disentanglement", "completeness", "informativeness_test")})
  return {k: float(v) for k, v in out.items()}


def evaluate(workdir: str, *, num_samples: int = 1000, num_images: int = 10_000, probe_train: int = 10_000,
             disentanglement_samples: int = 5000, out_dir: str | None = None, command: str | None = None) -> dict:
  config, model, params, test = train.load_run(workdir)
  out_dir = out_dir or os.path.join(workdir, "evaluation")
  os.makedirs(out_dir, exist_ok=True)
  key = jax.random.fold_in(train.run_keys(config.seed).eval, 1000)
  keys = jax.random.split(key, 6)
  t0 = time.perf_counter()
  results = {"workdir": os.path.abspath(workdir), "config": config.method.name, "model": config.model.kind,
             "command": command, "xla_flags": os.environ.get("XLA_FLAGS", "")}
  results["reconstruction"] = _reconstruction(model, params, test, out_dir, n_ssim=2000)
  if inference.is_stochastic(model, params, test.images):
    results["likelihood"] = _likelihood(model, params, test, keys[0], out_dir, num_samples, num_images)
  if getattr(config.method, "corruption", "none") != "none":
    results["denoising"] = _denoising(model, params, test, keys[1], config, out_dir)
  if test.labels is not None:
    results["linear_probe"] = _probe(model, params, config, test, keys[2], out_dir, probe_train)
  if config.data.name == "fashion_mnist":
    results["outliers_vs_mnist"] = _outliers(model, params, config, test, keys[3])
  if test.factors is not None:
    results["disentanglement"] = _disentanglement(model, params, config, keys[4], disentanglement_samples)
  metrics_file = os.path.join(workdir, "metrics.jsonl")
  if os.path.exists(metrics_file):
    with open(metrics_file) as f:
      records = [json.loads(line) for line in f if line.strip()]
    plots.training_curves(records, os.path.join(out_dir, "curves.png"))
  results["environment"] = train.environment()
  results["seconds"] = time.perf_counter() - t0
  results["figures"] = sorted(p for p in os.listdir(out_dir) if p.endswith(".png"))
  with open(os.path.join(out_dir, "evaluation.json"), "w") as f:
    json.dump(results, f, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o))
  return results


def main(argv: list[str] | None = None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True, help="a run directory written by experiments.main")
  p.add_argument("--num-samples", type=int, default=1000, help="importance samples K for the IS-NLL")
  p.add_argument("--num-images", type=int, default=10_000, help="test images for the IS-NLL")
  p.add_argument("--probe-train", type=int, default=10_000, help="training codes for the linear probe")
  p.add_argument("--disentanglement-samples", type=int, default=5000)
  p.add_argument("--out", default=None, help="output folder (default <workdir>/evaluation)")
  args = p.parse_args(argv)
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
  logging.getLogger("absl").setLevel(logging.WARNING)
  if not os.path.exists(os.path.join(args.workdir, "config.json")):
    raise SystemExit(f"--workdir {args.workdir!r} is not a vae_jax run (no config.json); train one with "
                     "python -m experiments.main first.")
  results = evaluate(args.workdir, num_samples=args.num_samples, num_images=args.num_images,
                     probe_train=args.probe_train, disentanglement_samples=args.disentanglement_samples,
                     out_dir=args.out, command="python -m experiments.evaluate " + " ".join(
                         sys.argv[1:] if argv is None else argv))
  summary = {k: v for k, v in results.items() if k not in ("environment",)}
  print(json.dumps(summary, indent=1, default=str)[:4000])
  return results


if __name__ == "__main__":
  main()
