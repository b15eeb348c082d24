"""What a small bottleneck loses: AE test reconstruction error on Fashion-MNIST against the latent size.

    python -m experiments.bottleneck                # full: the report's numbers
    python -m experiments.bottleneck --size quick   # 234 steps, latent sizes 2, 8, 32 only
    python -m experiments.bottleneck --size smoke   # seconds (CI)

Protocol (full): a deterministic MLP autoencoder 784-500-d-500-784 (ReLU, linear code) for each latent size d ∈ {2,
4, 8, 16, 32, 64}, trained with the Bernoulli cross-entropy of the grey-level pixels (``method.name='ae'``,
``model.likelihood='bernoulli'``: the decoder emits logits, the reconstruction is their sigmoid) — cross-entropy
rather than squared error so that these AEs match the other Fashion-MNIST experiments (denoising, outliers,
pre-training) and the Flax example's loss; the table reports the squared error too. Adam 1e-3, batch 128, 1872 steps
(4 epochs), 3 seeds. Measured on the whole 10,000-image test set: mean squared error per pixel, PSNR (dB, mean over
images), SSIM and the cross-entropy in nats per image. Figure: 10 test images (one per class) and their
reconstructions, one row per latent size (seed 0).

Expected result: the error falls monotonically with d, fastest from 2 to 8 dimensions, and keeps falling slowly up
to 64. Measured MSE, PSNR, SSIM and cross-entropy per latent size (mean ± std over 3 seeds):
``experiments/results/bottleneck.json``, section 1 of ``experiments/REPORT.md``; what the reconstruction figure shows
at each size: ``experiments/NOTES.md`` (Bottleneck). The wall time is ``wall_time_s`` in the results file.
"""

from __future__ import annotations

import logging
import os

import jax
import numpy as np

from experiments import fashion, sweeps
from vae_jax import evaluation, inference, plots
from vae_jax.configs import Config, DataConfig, ModelConfig
from vae_jax.methods import ae

NAME = "bottleneck"
logger = logging.getLogger(__name__)

# Per size: latent sizes, training steps, MLP width, batch, fused steps per host sync, train/test subset (0 = all).
SIZES = {
    "full": dict(latent_sizes=(2, 4, 8, 16, 32, 64), num_steps=1872, hidden=(500,), batch_size=128, log_every=117,
                 num_train=0, num_test=0),
    "quick": dict(latent_sizes=(2, 8, 32), num_steps=234, hidden=(500,), batch_size=128, log_every=117,
                  num_train=0, num_test=2000),
    "smoke": dict(latent_sizes=(2, 8), num_steps=4, hidden=(32,), batch_size=32, log_every=2, num_train=256,
                  num_test=128),
}


def make_config(latent_dim: int, s: dict) -> Config:
  return Config(
      model=ModelConfig(kind="ae", hidden=s["hidden"], latent_dim=latent_dim, likelihood="bernoulli"),
      method=ae.Config(),
      data=DataConfig(name="fashion_mnist", num_train=s["num_train"], num_test=s["num_test"]),
      batch_size=s["batch_size"], num_steps=s["num_steps"], log_every=s["log_every"], eval_every=s["num_steps"],
      checkpoint_every=s["num_steps"], eval_batch_size=min(1000, s["num_test"] or 1000), figures=False,
      tensorboard=False, progress=False)


def test_metrics(model, params, images: np.ndarray) -> dict[str, float]:
  logits = inference.reconstruct(model, params, images, raw=True)
  recon = np.asarray(jax.nn.sigmoid(logits))
  return {
      "mse": float(np.mean(evaluation.per_image_mse(recon, images))),
      "psnr": float(np.mean(evaluation.psnr(recon, images))),
      "ssim": float(np.mean(evaluation.ssim(recon, images))),
      "bce": float(np.mean(evaluation.per_image_bce(logits, images, from_logits=True))),
  }


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  s = SIZES[args.size]
  images, labels = fashion.test_set(s["num_test"])

  variants = {f"latent{d}": make_config(d, s) for d in s["latent_sizes"]}
  metrics: dict[str, dict[int, dict[str, float]]] = {v: {} for v in variants}
  shown = fashion.one_per_class(labels)
  grid_rows = [("original", images[shown])]

  def on_done(variant, seed, res):
    params = jax.device_get(res["state"].params)
    metrics[variant][seed] = test_metrics(res["model"], params, images)
    logger.info("%s seed %d: %s", variant, seed, metrics[variant][seed])
    if seed == seed_list[0]:
      recon = inference.reconstruct(res["model"], params, images[shown], batch_size=len(shown))
      grid_rows.append((f"d = {variant.removeprefix('latent')}", recon))

  sweeps.train_runs(NAME, variants, seed_list, args.runs_root, size=args.size, on_done=on_done, workers=args.workers)

  rows = []
  for variant in variants:
    per_seed = list(metrics[variant].values())
    scale = {"mse": 1e3, "psnr": 1.0, "ssim": 1.0, "bce": 1.0}  # MSE shown ×10⁻³
    stat = {k: sweeps.mean_std([c * m[k] for m in per_seed]) for k, c in scale.items()}
    rows.append([int(variant.removeprefix("latent")), stat["mse"], stat["psnr"], stat["ssim"], stat["bce"]])
  table = sweeps.table(["latent size", "MSE per pixel (×10⁻³)", "PSNR (dB)", "SSIM", "cross-entropy (nats/image)"],
                       rows)
  fig = plots.labelled_rows(
      grid_rows, os.path.join(setup.figures_dir, "bottleneck_reconstructions.png"), cell_inches=0.7,
      title=f"AE reconstructions of Fashion-MNIST test images by latent size (seed {seed_list[0]})")
  n_steps = s["num_steps"]
  notes = [f"MLP AE 784-{s['hidden'][0]}-d-{s['hidden'][0]}-784, Bernoulli cross-entropy on grey pixels, Adam 1e-3, "
           f"batch {s['batch_size']}, {n_steps} steps ({n_steps * s['batch_size'] / 60000:.1f} epochs); "
           f"metrics on {len(images)} test images; mean ± std over seeds {seed_list}."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={"Test reconstruction error vs latent size (AE)": table}, figures=[fig],
                              notes=notes)
  logger.info("wrote %s", path)
  return path


if __name__ == "__main__":
  logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", force=True)
  logger.setLevel(logging.INFO)
  main()
